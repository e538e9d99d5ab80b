"""Executes the labelled-data tutorials (jupytext MyST markdown) with matplotlib's Agg
backend and checks what they show."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "tutorials"

needs = [
    m
    for m in ("jupytext", "nbclient", "ipykernel", "matplotlib", "nitime")
    if not importlib.util.find_spec(m)
]

CHECK = (
    "import matplotlib, matplotlib.pyplot as plt\n"
    "print('BACKEND', matplotlib.get_backend().lower())\n"
    "print('FIGURES', len(plt.get_fignums()))"
)


def _run(name: str, tmp_path, monkeypatch) -> tuple[str, list]:
    import jupytext
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell

    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = jupytext.read(TUTORIALS / name)
    nb.cells.append(new_code_cell(CHECK))
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    text += "".join(o.get("data", {}).get("text/plain", "") for o in outputs if "data" in o)
    assert "BACKEND agg" in text
    return text, outputs


@pytest.mark.skipif(bool(needs), reason=f"missing {needs} to run the tutorials")
def test_population_tuning_tutorial(tmp_path, monkeypatch):
    text, _ = _run("population_tuning.md", tmp_path, monkeypatch)
    assert "FIGURES 3" in text  # gains, tuning curves with bands, held-out prediction
    assert "PopulationGLM" in text
    assert "(feature: 10, neuron: 8)" in text  # coef_ straight from the formula


@pytest.mark.skipif(bool(needs), reason=f"missing {needs} to run the tutorials")
def test_grasshopper_filters_tutorial(tmp_path, monkeypatch):
    text, _ = _run("grasshopper_filters.md", tmp_path, monkeypatch)
    assert "FIGURES 3" in text  # data, both filters with bands, prediction
    assert "peak of the STA at lag 6 ms" in text
    assert "lag_time" in text  # the filters are labelled by lag in seconds
    assert os.environ.get("MPLBACKEND") == "Agg"
