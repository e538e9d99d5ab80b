"""Single-neuron Poisson fits: Ridge (n=200,000, p=100) and unpenalized (n=20,000, p=20).

Packages: xglm, scikit-learn (lbfgs, newton-cholesky), glum, statsmodels, NeMoS (LBFGS,
float64 and float32). Run ``python benchmarks/bench_single.py [--quick]``.
"""

from __future__ import annotations

import _common  # noqa: F401  (sets the one-thread environment first)
from _common import bench_main

PEERS = [
    "sklearn-lbfgs",
    "sklearn-newton-cholesky",
    "glum",
    "statsmodels",
    "nemos-float64",
    "nemos-float32",
]


def problems(quick: bool):
    scale = 10 if quick else 1
    ridge = {
        "name": "single_ridge",
        "family": "poisson",
        "penalty": "ridge",
        "alpha": 1e-3,
        "n": 200_000 // scale,
        "p": 100,
        "seed": 1,
    }
    unpen = {
        "name": "single_unpenalized",
        "family": "poisson",
        "penalty": None,
        "n": 20_000 // scale,
        "p": 20,
        "seed": 2,
    }
    return [
        (
            "Single neuron, Poisson Ridge",
            ridge,
            ["xglm", "xglm-rowmajor", "xglm-DataFrame", "xglm-float32"] + PEERS,
            ["xglm-ref"],
        ),
        (
            "Single neuron, Poisson unpenalized (small fit)",
            unpen,
            ["xglm", "xglm-rowmajor", "xglm-DataFrame", "xglm-float32"] + PEERS,
            ["xglm-ref"],
        ),
    ]


if __name__ == "__main__":
    bench_main("single", problems)
