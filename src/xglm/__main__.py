"""Demo: ``python -m xglm`` fits a real locust auditory-receptor spike train.

The recording ships with the ``nitime`` package. Spikes are counted in 1 ms bins and
modelled as Poisson with a log link, from the recent stimulus (a 40 ms filter) and the
neuron's own recent spikes (a 20 ms history filter), with a light Ridge penalty.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd


def lagged(x: np.ndarray, lags: range) -> np.ndarray:
    """Columns ``x[t - lag]`` for each lag (zero before the start)."""
    out = np.zeros((x.shape[0], len(lags)))
    for j, lag in enumerate(lags):
        out[lag:, j] = x[: x.shape[0] - lag] if lag else x
    return out


def main() -> None:
    import xglm
    from xglm.datasets import grasshopper

    ds = grasshopper(trial=1, bin_ms=1.0)
    spikes = ds.spikes.values
    stim = (ds.stimulus.values - ds.stimulus.values.mean()) / ds.stimulus.values.std()
    X = {
        "stimulus": lagged(stim, range(0, 40)),
        "history": lagged(spikes, range(1, 21)),
    }
    print(f"grasshopper receptor: {spikes.size} bins of 1 ms, {int(spikes.sum())} spikes")
    model = xglm.GLM(family="poisson", regularizer="Ridge", regularizer_strength=1e-4)
    t0 = time.perf_counter()
    model.fit(X, spikes)
    t1 = time.perf_counter()
    model.fit(X, spikes)
    t2 = time.perf_counter()
    print(
        f"fit: first call {t1 - t0:.2f} s (with compilation), second call {1e3 * (t2 - t1):.1f} ms"
    )
    print(
        f"converged={model.converged_} in {model.n_iter_} iterations; deviance="
        f"{model.deviance_:.2f} (null {model.null_deviance_:.2f}); AIC={model.aic_:.2f}"
    )
    with pd.option_context("display.max_rows", 80, "display.width", 120):
        print(model.summary().round(4))


if __name__ == "__main__":
    main()
