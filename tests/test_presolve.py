"""The presolve (plain Newton on a row subsample) that starts large smooth fits."""

import jax.numpy as jnp
import numpy as np
import pytest
import statsmodels.api as sm

import xglm
from xglm._solvers._presolve import presolve


def _data(family, n=3000, p=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * np.linspace(0.2, 1.0, p)
    off = rng.normal(0.0, 0.2, size=n)
    w = rng.integers(1, 4, size=n).astype(float)
    eta = 0.2 + X @ rng.normal(0.0, 0.4, size=p) + off
    if family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    else:
        y = rng.binomial(1, 1.0 / (1.0 + np.exp(-eta))).astype(float)
    return X, y, w, off


def _run(X, Y, W, OFF, M, L2, B0, family, fit_intercept=True, tol=1e-12):
    return np.asarray(
        presolve(
            jnp.asarray(X.T.copy()),
            jnp.asarray(Y),
            jnp.asarray(W),
            jnp.asarray(OFF),
            jnp.asarray(M),
            jnp.asarray(L2),
            jnp.asarray(B0),
            xglm.Poisson() if family == "poisson" else xglm.Bernoulli(),
            fit_intercept,
            tol,
            40,
        )
    )


@pytest.mark.parametrize(
    ("family", "sm_family", "fit_intercept"),
    [
        ("poisson", sm.families.Poisson(), True),
        ("binomial", sm.families.Binomial(), False),
    ],
)
def test_presolve_solved_tightly_matches_statsmodels(family, sm_family, fit_intercept):
    X, y, w, off = _data(family)
    p = X.shape[1]
    B0 = np.zeros(1)
    T = _run(
        X,
        y[None],
        w[None],
        off[None],
        np.ones((1, p)),
        np.zeros((1, p + 1)),
        B0,
        family,
        fit_intercept,
    )[0]
    design = sm.add_constant(X) if fit_intercept else X
    ref = sm.GLM(y, design, family=sm_family, offset=off, var_weights=w).fit(tol=1e-13)
    got = T if fit_intercept else T[1:]
    np.testing.assert_allclose(got, ref.params, rtol=1e-8, atol=1e-10)
    if not fit_intercept:
        assert T[0] == 0.0


def test_presolve_ridge_population_each_neuron_its_own_optimum():
    # shared weights, per-neuron offsets, a masked feature: every neuron's result is its
    # own fit (the ridge gradient vanishes) and a masked coefficient stays at zero
    X, y, w, off = _data("poisson", seed=1)
    n, p = X.shape
    rng = np.random.default_rng(2)
    OFF = np.stack([off, off * 0.5, -off])
    Y = np.stack([y, rng.poisson(np.exp(0.1 + OFF[1])), rng.poisson(np.exp(-0.3 + OFF[2]))])
    M = np.ones((3, p))
    M[1, 2] = 0.0
    L2 = np.concatenate([np.zeros((3, 1)), np.full((3, p), 0.05) * M], axis=1)
    B0 = np.zeros(3)
    T = _run(X, Y.astype(float), w[None], OFF, M, L2, B0, "poisson")
    assert T[1, 3] == 0.0
    for i in range(3):
        one = _run(
            X,
            Y[i : i + 1].astype(float),
            w[None],
            OFF[i : i + 1],
            M[i : i + 1],
            L2[i : i + 1],
            B0[i : i + 1],
            "poisson",
        )[0]
        np.testing.assert_allclose(T[i], one, rtol=1e-12, atol=1e-14)
        mu = np.exp(T[i, 0] + X @ (T[i, 1:] * M[i]) + OFF[i])
        r = w * (Y[i] - mu)
        grad = L2[i] * T[i] - np.r_[r.sum(), (X.T @ r) * M[i]] / w.sum()
        assert np.max(np.abs(grad)) < 1e-10, grad


def test_presolve_keeps_a_start_whose_objective_is_not_finite():
    # exp overflows at this intercept: there is nothing to descend from, the start comes
    # back unchanged (the full solver then starts from the null model)
    X, y, w, off = _data("poisson")
    p = X.shape[1]
    B0 = np.full(1, 800.0)
    T = _run(X, y[None], w[None], off[None], np.ones((1, p)), np.zeros((1, p + 1)), B0, "poisson")
    np.testing.assert_array_equal(T, np.r_[800.0, np.zeros(p)][None])
