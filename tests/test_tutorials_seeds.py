"""The fine-grained regularization tutorial runs top to bottom and says what it shows."""

from __future__ import annotations

import pathlib

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

TUTORIAL = pathlib.Path(__file__).parents[1] / "tutorials" / "fine_grained_regularization.md"


def code_cells(path):
    jupytext = pytest.importorskip("jupytext")
    notebook = jupytext.read(path)
    assert notebook.metadata["jupytext"]["text_representation"]["format_name"] == "myst"
    cells = [c.source for c in notebook.cells if c.cell_type == "code"]
    # drop IPython magics, which plain Python cannot run
    return ["\n".join(l for l in src.splitlines() if not l.lstrip().startswith("%")) for src in cells]  # noqa: E741  # fmt: skip


def test_fine_grained_regularization_tutorial_runs():
    import matplotlib.pyplot as plt

    ns: dict = {"__name__": "__tutorial__"}
    cells = code_cells(TUTORIAL)
    assert len(cells) > 10
    for i, src in enumerate(cells):
        try:
            exec(compile(src, f"{TUTORIAL.name}[cell {i}]", "exec"), ns)
        except Exception as exc:  # pragma: no cover - the message names the cell
            raise AssertionError(f"cell {i} failed:\n{src}") from exc
    plt.close("all")
    # what the prose claims
    assert list(ns["model"].coef_.shape) == [3, 2]
    assert ns["model"].coef_[2, 0] == 0 and ns["model"].coef_[0, 1] == 0
    assert list(ns["group"].coef_) == ["position", "speed", "head_direction"]
    assert np.all(ns["group"].coef_["speed"] == 0)
    assert np.all(ns["strong"].coef_["f2"] == 0)
    assert ns["glm"].coef_["f1"].shape == (5, 2)
    np.testing.assert_allclose(ns["glm"].coef_["f1"][:, 0], ns["glm"].coef_["f1"][:, 1], atol=1e-6)
    np.testing.assert_allclose(np.diff(ns["glm"].intercept_), np.log(2), atol=1e-6)
    assert ns["warm"].coef_.shape == (3, 2)
