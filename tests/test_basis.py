"""Neuroscience bases: raised cosines, cyclic B-splines, causal history/stimulus filters,
and their use inside formulas with ``term_effect``.

Fits use 1500 samples and 3 features (the shape shared with the formula tests).
"""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import xglm
from xglm._design import prepare, prepare_new
from xglm.basis import (
    causal_filter,
    cyclic_bspline_basis,
    filter_kernel,
    raised_cosine_basis,
    raised_cosine_kernel,
)
from xglm.errors import DesignError

T = 1500


def _columns(values):
    return np.column_stack(list(values.values()))


# ----------------------------------------------------------------------------- math
def test_raised_cosine_basis_properties():
    x = np.linspace(0, 1, 1001)
    B1 = raised_cosine_basis(x, 5, width=1.0)
    np.testing.assert_allclose(B1.sum(axis=1), 1.0, atol=1e-12)  # partition of unity
    np.testing.assert_allclose(B1[[0, 250, 500, 750, 1000]], np.eye(5), atol=1e-12)
    B2 = raised_cosine_basis(x, 5)  # width 2: smoother, sums to 2 inside
    np.testing.assert_allclose(B2[400:600].sum(axis=1), 2.0, atol=1e-12)
    assert np.all(B2 >= 0) and np.all(B2 <= 1)
    # log spacing: peaks crowd towards 0
    peaks = x[raised_cosine_basis(x, 5, kind="log", width=1.0).argmax(axis=0)]
    gaps = np.diff(peaks)
    assert np.all(np.diff(gaps) > 0)
    # decay to zero: the last bump ends at 1
    Bd = raised_cosine_basis(x, 4, decay_to_zero=True)
    np.testing.assert_allclose(Bd[-1], 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="n_basis got 0"):
        raised_cosine_basis(x, 0)
    with pytest.raises(ValueError, match="width got 0.5"):
        raised_cosine_basis(x, 3, width=0.5)
    with pytest.raises(ValueError, match="kind got 'cubic'"):
        raised_cosine_basis(x, 3, kind="cubic")


def test_raised_cosine_kernel_lags():
    lags, K = raised_cosine_kernel(30, 5)
    assert lags[0] == 1 and lags[-1] == 30 and K.shape == (30, 5)
    assert K[0, 0] == 1.0 and np.allclose(K[-1], 0.0)
    lags0, _ = raised_cosine_kernel(30, 5, include_current=True)
    assert lags0[0] == 0 and lags0[-1] == 29
    with pytest.raises(ValueError, match="window got 1"):
        raised_cosine_kernel(1, 3)


def test_cyclic_bspline_is_a_periodic_cubic_bspline():
    from scipy.interpolate import BSpline

    n, period = 6, 2 * np.pi
    x = np.linspace(-1.0, 3 * np.pi, 777)
    B = cyclic_bspline_basis(x, n, period=period)
    np.testing.assert_allclose(B.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(cyclic_bspline_basis(x + period, n), B, atol=1e-12)
    h = period / n
    cardinal = BSpline.basis_element(np.arange(5.0), extrapolate=False)
    for j in range(n):
        u = np.mod(x / h - j + 2.0, n)
        want = np.nan_to_num(cardinal(u))
        np.testing.assert_allclose(B[:, j], want, atol=1e-12)
    # function j peaks at j * period / n
    grid = np.linspace(0, period, 6 * 50, endpoint=False)
    peaks = grid[cyclic_bspline_basis(grid, n).argmax(axis=0)]
    np.testing.assert_allclose(peaks, np.arange(n) * h, atol=period / 300)
    with pytest.raises(ValueError, match="df got 3"):
        cyclic_bspline_basis(x, 3)


def test_history_is_strictly_causal_and_convolve_includes_the_present():
    x = np.zeros(12)
    x[[2, 9]] = 1.0
    H = _columns(xglm.basis.history(x, window=3, basis="identity"))
    want = np.zeros((12, 3))
    for t in (2, 9):
        for lag in (1, 2, 3):
            if t + lag < 12:
                want[t + lag, lag - 1] = 1.0
    np.testing.assert_array_equal(H, want)
    C = _columns(xglm.basis.convolve(x, window=3, basis="identity"))
    assert C[2, 0] == 1.0 and C[3, 1] == 1.0 and C[4, 2] == 1.0
    # with a basis: the features are the lagged matrix times the basis
    rng = np.random.default_rng(0)
    s = rng.poisson(0.3, 200).astype(float)
    lags, K = filter_kernel(20, 4)
    F = _columns(xglm.basis.history(s, window=20, n_basis=4))
    L = _columns(xglm.basis.history(s, window=20, basis="identity"))
    np.testing.assert_allclose(F, L @ K, atol=1e-12)
    # the FFT path (long series) agrees with the direct one
    long = rng.poisson(0.3, 300_000).astype(float)
    direct = np.zeros((300_000, 1, 4))
    for lag, row in zip(lags, K, strict=True):
        direct[lag:, 0, :] += long[:-lag, None] * row
    np.testing.assert_allclose(causal_filter(long, lags, K), direct, atol=1e-9)


def test_history_by_trial_and_coupling():
    x = np.ones(6)
    H = _columns(xglm.basis.history(x, window=2, basis="identity", by=[1, 1, 1, 2, 2, 2]))
    np.testing.assert_array_equal(H[:, 0], [0, 1, 1, 0, 1, 1])
    np.testing.assert_array_equal(H[:, 1], [0, 0, 1, 0, 0, 1])
    two = np.column_stack([np.arange(6.0), 10 * np.arange(6.0)])
    cols = xglm.basis.history(two, window=2, basis="identity")
    assert list(cols) == ["0,0", "0,1", "1,0", "1,1"]
    np.testing.assert_array_equal(cols["1,0"], [0, 0, 10, 20, 30, 40])


# ----------------------------------------------------------------------------- formulas
@pytest.fixture(scope="module")
def neuron():
    """A neuron driven by a filtered stimulus, with refractoriness and a head-direction
    tuning; simulated sample by sample."""
    rng = np.random.default_rng(2)
    stim = rng.normal(size=T)
    hd = rng.uniform(0, 2 * np.pi, T)
    lags, K = filter_kernel(10, 3, include_current=True)
    true_w = np.array([0.6, 0.3, -0.2])
    drive = causal_filter(stim, lags, K)[:, 0, :] @ true_w
    spikes = np.zeros(T)
    for t in range(T):
        refractory = -1.5 if t > 0 and spikes[t - 1] > 0 else 0.0
        spikes[t] = rng.poisson(np.exp(-0.5 + drive[t] + refractory + 0.5 * np.cos(hd[t])))
    driven = rng.poisson(np.exp(-0.5 + drive)).astype(float)  # the stimulus alone
    ds = xr.Dataset(
        {
            "spikes": ("time", spikes),
            "driven": ("time", driven),
            "stim": ("time", stim),
            "hd": ("time", hd),
        },
        coords={"time": np.arange(T) * 0.001},
    )
    return ds, lags, K @ true_w


def test_stimulus_filter_is_recovered_with_confidence_band(neuron):
    ds, lags, true_filter = neuron
    m = xglm.glm("driven ~ convolve(stim, window=10, n_basis=3)", data=ds)
    eff = m.term_effect("stim")
    assert eff.dims == ("lag",)
    np.testing.assert_array_equal(eff.lag.values, lags)
    np.testing.assert_allclose(eff.lag_time.values, lags * 0.001)
    assert eff.attrs["term"] == "convolve(stim, window=10, n_basis=3)"
    inside = (eff.ci_lower.values <= true_filter) & (true_filter <= eff.ci_upper.values)
    assert inside.mean() >= 0.8
    np.testing.assert_allclose(eff.values, true_filter, atol=0.1)
    # the band is effect -/+ 1.96 se
    np.testing.assert_allclose(eff.ci_upper - eff, 1.959963984540054 * eff.std_err, rtol=1e-12)


def test_spike_history_sees_refractoriness(neuron):
    ds, _, _ = neuron
    m = xglm.glm("spikes ~ history(spikes, window=12, n_basis=3)", data=ds)
    eff = m.term_effect("history(spikes, window=12, n_basis=3)")
    np.testing.assert_array_equal(eff.lag.values, np.arange(1, 13))
    assert eff.sel(lag=1) < -0.5 and eff.sel(lag=1).ci_upper < 0
    # new data: history is rebuilt from the new data's own spikes
    d = prepare_new(m.design_, ds.isel(time=slice(0, 50)))
    np.testing.assert_allclose(d.X, m.design_.X[:50], atol=1e-12)


def test_cyclic_tuning_curve_is_periodic(neuron):
    ds, _, _ = neuron
    m = xglm.glm("spikes ~ cyclic_bs(hd, df=4)", data=ds)
    assert m.coef_.sizes["feature"] == 3  # one function is absorbed by the intercept
    eff = m.term_effect("hd")
    assert eff.dims == ("hd",) and eff.sizes["hd"] == 200
    np.testing.assert_allclose(eff.hd.values[[0, -1]], [0.0, 2 * np.pi])
    np.testing.assert_allclose(eff.values[0], eff.values[-1], atol=1e-12)
    centred = eff - eff.mean()
    truth = 0.5 * np.cos(eff.hd) - float((0.5 * np.cos(eff.hd)).mean())
    np.testing.assert_allclose(centred.values, truth.values, atol=0.2)
    d, _ = prepare(ds, None, formula="spikes ~ cyclic_bs(hd, df=4) - 1")
    assert d.X.shape[1] == 4


def test_raised_cosine_tuning_term_and_range_errors(neuron):
    ds, _, _ = neuron
    # with width 2, an odd number of bumps spans the constant: one is dropped
    m = xglm.glm("spikes ~ raised_cosine(stim, n_basis=3) + hd", data=ds)
    assert m.coef_.sizes["feature"] == 3
    lo, hi = float(ds.stim.min()), float(ds.stim.max())
    eff = m.term_effect("stim")
    np.testing.assert_allclose(eff.stim.values[[0, -1]], [lo, hi])
    new = ds.isel(time=slice(0, 3)).copy(deep=True)
    new["stim"][0] = hi + 1
    with pytest.raises(DesignError, match=r"data\['stim'\]: 1 value\(s\) outside the range"):
        m.predict(new)
    clip, _ = prepare(
        ds, None, formula="spikes ~ raised_cosine(stim, n_basis=3, extrapolation='clip') + hd"
    )
    np.testing.assert_array_equal(prepare_new(clip, new).X[1:], m.design_.X[1:3])


def test_register_a_custom_formula_function():
    xglm.basis.register("double_it", lambda v: 2 * np.asarray(v, dtype=float))
    d, _ = prepare(
        pd.DataFrame({"y": [1.0, 2.0, 3.0], "x": [1.0, 2.0, 4.0]}), None, formula="y ~ double_it(x)"
    )
    np.testing.assert_array_equal(d.X[:, 0], [2.0, 4.0, 8.0])
    with pytest.raises(ValueError, match="valid Python identifier"):
        xglm.basis.register("not a name", abs)
