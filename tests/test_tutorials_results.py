"""Executes tutorials/inspect_compare_keep.md and checks it renders the HTML repr and plots."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parents[1] / "tutorials" / "inspect_compare_keep.md"

needs = [
    m
    for m in ("jupytext", "nbclient", "ipykernel", "matplotlib")
    if not importlib.util.find_spec(m)
]


@pytest.mark.skipif(bool(needs), reason=f"missing {needs} to run notebooks")
def test_inspect_compare_keep_tutorial_runs(tmp_path):
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(TUTORIAL)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("xglm-model" in h and "Per-neuron fit statistics" in h for h in html)
    assert any("CA1" not in h and "p_value" in h for h in html)  # the comparison tables
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) >= 3  # tuning curves, heatmap, observed vs predicted
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "Generalized Linear Model Results" in text
    assert "is not a readable netCDF/HDF5 file" in text
