"""Population Poisson Ridge (n=50,000, p=60, 100 neurons).

xglm.PopulationGLM against NeMoS PopulationGLM (LBFGS, float32 and float64) and
per-neuron loops of glum and scikit-learn (newton-cholesky and lbfgs). The objective is
summed over neurons. Run ``python benchmarks/bench_population.py [--quick]``.
"""

from __future__ import annotations

import _common  # noqa: F401  (sets the one-thread environment first)
from _common import bench_main

PEERS = [
    "nemos-float32",
    "nemos-float64",
    "sklearn-newton-cholesky",
    "sklearn-lbfgs",
    "glum",
]


def problems(quick: bool):
    prob = {
        "name": "population_ridge",
        "family": "poisson",
        "penalty": "ridge",
        "alpha": 1e-3,
        "n": 5_000 if quick else 50_000,
        "p": 60,
        "k": 10 if quick else 100,
        "seed": 3,
        # xglm runs keep a time limit as a guard
        "xglm_timeout": 240,
        "retries": 0,
        "note": (
            "xglm fits all neurons together in one batched Newton program (the shared "
            "design is streamed once per pass for every neuron); each xglm run has a 240 s "
            "limit as a guard. xglm-lbfgs (the optimistix path, vmapped over neurons) is "
            "given as well."
        ),
    }
    return [
        (
            "Population (100 neurons), Poisson Ridge",
            prob,
            ["xglm", "xglm-rowmajor", "xglm-lbfgs", "xglm-float32"] + PEERS,
            ["xglm-ref"],
        )
    ]


if __name__ == "__main__":
    bench_main("population", problems)
