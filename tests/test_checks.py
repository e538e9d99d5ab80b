"""What a fit settles before it returns (``_checks.py``): the rank screen of unpenalized
fits on enough rows for the solver's row subsample (a bound on the conditioning from that
subsample that spares the Gram matrix), the QR refinement of ill-conditioned fits, and the
boundary of the support, from the Newton solver or the check program."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
import statsmodels.api as sm

import xglm
from xglm import _checks
from xglm._families import get_family
from xglm._inference import conditioning, conditioning_bound
from xglm._solvers._information import information, information_screen
from xglm.errors import RankDeficientError

N = 20_000


def _design(kind, rng):
    x = rng.uniform(0, 10, N)
    if kind == "normal":
        return rng.standard_normal((N, 12))
    if kind == "polynomial-5":
        return np.column_stack([x**j for j in range(1, 6)])
    if kind == "polynomial-8":  # conditioning near 1e-11 (see test_qr.py)
        return np.column_stack([x**j for j in range(1, 9)])
    if kind == "dependent":
        X = rng.standard_normal((N, 6))
        return np.column_stack([X, X[:, 0] - 2 * X[:, 3]])
    if kind == "indicator":  # a rare category: few of the subsample's rows see it
        X = rng.standard_normal((N, 4))
        return np.column_stack([X, (rng.random(N) < 0.002).astype(float)])
    raise ValueError(kind)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize(
    "kind", ["normal", "polynomial-5", "polynomial-8", "dependent", "indicator"]
)
def test_conditioning_bound_never_exceeds_the_conditioning(kind, fit_intercept):
    rng = np.random.default_rng(7)
    X = _design(kind, rng)
    p = X.shape[1]
    Xt = jnp.asarray(X.T)
    beta = rng.normal(0, 0.1, p) / np.maximum(X.std(axis=0), 1e-12)
    eta = jnp.asarray(0.3 + (X - X.mean(axis=0)) @ beta)[None, :]
    y = jnp.zeros_like(eta)
    w = jnp.asarray(rng.uniform(0.5, 2.0, N))[None, :]
    mask = np.ones(p)
    mask[1] = 0.0  # a masked feature is outside the active set
    M = jnp.asarray(mask)[None, :]
    family = get_family("poisson")
    info = np.asarray(information(Xt, eta, y, w, M, family, fit_intercept))[0]
    sub, diag = (
        np.asarray(a)[0] for a in information_screen(Xt, eta, y, w, M, family, fit_intercept, 16)
    )
    np.testing.assert_allclose(diag, np.diag(info), rtol=1e-12)
    active = np.concatenate([[fit_intercept], mask > 0])
    l2 = np.zeros(p + 1)
    exact = conditioning(info, active, l2, 1.0)
    bound = conditioning_bound(sub, diag, active, l2, 1.0)
    # rounding: a singular matrix's eigenvalues are zero to about eps
    assert 0.0 <= bound <= exact * (1 + 1e-9) + 1e-14
    if kind == "normal":  # the screen passes on common data, with a wide margin
        assert bound > 1e-3
    if kind in ("polynomial-8", "dependent"):
        assert bound < _checks.QR_CONDITIONING


def test_conditioning_bound_counts_the_ridge():
    rng = np.random.default_rng(3)
    X = _design("dependent", rng)
    p = X.shape[1]
    Xt = jnp.asarray(X.T)
    eta, y, w = jnp.zeros((1, N)), jnp.zeros((1, N)), jnp.ones((1, N))
    M = jnp.ones((1, p))
    family = get_family("poisson")
    info = np.asarray(information(Xt, eta, y, w, M, family, True))[0]
    sub, diag = (np.asarray(a)[0] for a in information_screen(Xt, eta, y, w, M, family, True, 16))
    active = np.ones(p + 1, bool)
    l2 = np.r_[0.0, np.full(p, 0.1)]
    exact = conditioning(info, active, l2, float(N))
    bound = conditioning_bound(sub, diag, active, l2, float(N))
    assert 1e-4 < bound <= exact * (1 + 1e-9)


def test_ill_conditioned_fit_fails_the_screen_and_is_refined():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, N)
    X = np.column_stack([x**j for j in range(1, 9)])
    y = rng.poisson(np.exp(0.5 + 0.3 * x - 0.05 * x**2 + 0.002 * x**3))
    # the reference on unit-scale columns, where the problem is well conditioned
    s = np.linalg.norm(X, axis=0) / np.sqrt(N)
    ref = sm.GLM(y, sm.add_constant(X / s), family=sm.families.Poisson()).fit(tol=1e-14)
    m = xglm.GLM().fit(X, y)
    m.deviance_  # noqa: B018
    assert m._cov_value is not None  # the screen failed: computed with the statistics
    np.testing.assert_allclose(np.r_[m.intercept_, m.coef_], ref.params / np.r_[1, s], rtol=1e-8)
    np.testing.assert_allclose(m.bse_, ref.bse / np.r_[1, s], rtol=1e-8)


def test_dependent_columns_fail_the_screen_and_are_named():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((N, 4))
    X = np.column_stack([X, X[:, 0] - 2 * X[:, 3]])
    y = rng.poisson(np.exp(0.1 + 0.1 * X[:, 0]))
    with pytest.raises(RankDeficientError) as err:
        xglm.GLM().fit(X, y)
    assert str(err.value) == (
        "X: the design is rank deficient; these columns are linearly dependent: "
        "x0 ~ x3 ~ x4. Fix: drop one column of each set, or add a Ridge penalty "
        "(regularizer='Ridge')."
    )


def test_the_solvers_boundary_distance_is_the_check_programs(monkeypatch):
    # a large penalized fit takes the means' approach to the boundary from the Newton
    # solver's last linear predictor instead of a pass of the check program: the same
    # distances, and the same warning naming the silent neuron
    import warnings

    from xglm._device import core_arrays, feature_major
    from xglm._inference import fit_statistics
    from xglm.errors import BoundaryWarning

    rng = np.random.default_rng(14)
    n, p = 30_000, 90
    X = rng.standard_normal((n, p)) * 0.3
    Y = np.column_stack([rng.poisson(np.exp(0.2 + X[:, 0])), np.zeros(n)])
    seen = {}
    real = _checks.fit_checks

    def spy(*args, **kwargs):
        seen["distance"] = kwargs["distance"]
        return real(*args, **kwargs)

    monkeypatch.setattr(xglm._model, "fit_checks", spy)
    messages = []
    for eager in (False, True):
        if eager:  # the check program computes the information and the distances
            monkeypatch.setattr(_checks, "EAGER_INFO_SIZE", 1e12)
        pop = xglm.PopulationGLM(regularizer="Ridge", regularizer_strength=1e-3)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pop.fit(X, Y)
        messages.append([(w.category, str(w.message)) for w in caught])
    assert messages[0] == messages[1]
    assert [c for c, _ in messages[0]] == [BoundaryWarning]
    assert "for 1 of 2 neurons (1)" in messages[0][0][1]
    resp = core_arrays(Y, np.ones((n, 1)), np.zeros((n, 1)), np.float64)
    st = fit_statistics(
        feature_major(X, np.float64),
        resp["y"],
        resp["w"],
        resp["offset"],
        np.ones((p, 2)),
        pop.family_,
        pop.penalty_,
        pop._coef_flat,
        np.asarray(pop._intercept),
        True,
        info=0,
        has_offset=False,
        checks_only=True,
    )
    np.testing.assert_allclose(seen["distance"], st["boundary_distance"], rtol=1e-6)


def test_a_float32_fit_checks_the_boundary_in_float64():
    # probabilities within 1e-8 of 1 are 1 in float32: the solver's float32 distances
    # would report the boundary, so float32 fits are checked in float64, as R's test is
    import warnings

    rng = np.random.default_rng(15)
    x = rng.uniform(-1, 1, size=(3000, 1))
    y = (rng.uniform(size=3000) < 1 / (1 + np.exp(-25 * x[:, 0]))).astype(float)
    caught = {}
    for dtype in ("float64", "float32"):
        m = xglm.GLM("bernoulli", "Lasso", 1e-4, dtype=dtype)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            m.fit(x, y)
        caught[dtype] = [(w.category, str(w.message)) for w in seen]
        eta = m.intercept_[0] + x[:, 0] * np.asarray(m.coef_)[0]
        assert np.max(np.abs(eta)) > 17  # 1 - mu below float32's resolution
    assert caught["float32"] == caught["float64"] == []


@pytest.mark.parametrize("population", [False, True])
def test_the_solvers_rank_screen_is_the_check_programs(population, monkeypatch):
    # an unpenalized Newton fit returns the rank screen at its solution with its
    # coefficients: the same matrices as the check program's, so no pass of its own
    from xglm._device import core_arrays, feature_major
    from xglm._inference import fit_statistics

    rng = np.random.default_rng(16)
    X = rng.standard_normal((N, 5))
    k = 3 if population else None
    Y = rng.poisson(np.exp(0.2 + X @ rng.normal(0, 0.2, (5, k or 1))))
    y = Y if population else Y[:, 0]
    w = rng.uniform(0.5, 2.0, N)
    seen = {}
    real = _checks.fit_checks

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(xglm._model, "fit_checks", spy)
    m = (xglm.PopulationGLM() if population else xglm.GLM()).fit(X, y, sample_weight=w)
    stride = _checks.screen_stride(N, 5, m.penalty_)
    assert stride == 16 and seen["screened"] is not None
    shared = (w, np.zeros(N)) if k is None else (w[:, None], np.zeros((N, 1)))
    resp = core_arrays(y, *shared, np.float64)
    st = fit_statistics(
        feature_major(X, np.float64),
        resp["y"],
        resp["w"],
        resp["offset"],
        np.ones(5) if k is None else np.ones((5, k)),
        m.family_,
        m.penalty_,
        m._coef_flat,
        np.asarray(m._intercept if k else m._intercept[0]),
        True,
        info=stride,
        has_offset=False,
        checks_only=True,
    )
    sub, diag = (np.asarray(a) for a in seen["screened"])
    if k is None:
        sub, diag = sub[None], diag[None]
    else:
        sub, diag = np.moveaxis(sub, -1, 0), np.moveaxis(diag, -1, 0)
    np.testing.assert_allclose(sub, st["info_sub"], rtol=1e-6)
    np.testing.assert_allclose(diag, st["info_diag"], rtol=1e-6)
    np.testing.assert_allclose(seen["distance"], st["boundary_distance"], rtol=1e-6)
    for i in range(k or 1):
        ref = sm.GLM(Y[:, i], sm.add_constant(X), family=sm.families.Poisson(), var_weights=w)
        bse = np.asarray(m.bse_)[i] if k else m.bse_
        np.testing.assert_allclose(bse, ref.fit(tol=1e-14).bse, rtol=1e-5)
