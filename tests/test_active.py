"""Active-set fits of wide single-neuron L1 penalties: the same solution as the Newton
solver on every feature (and glum's optimum), the optimality conditions at it, starts,
budgets and masks, one compile, and the copy of the set's rows into a reused buffer."""

import warnings

import jax
import numpy as np
import pytest

import xglm
import xglm._solvers as solvers
from xglm._penalties import PenaltyArrays
from xglm._solvers import TRACE_COUNT, _active
from xglm._solvers._active import ACTIVE_MAX, ACTIVE_MIN_ELEMENTS, ACTIVE_SIZE, active_size
from xglm._solvers._newton import WORKING_SET
from xglm.errors import ConvergenceWarning


def _pen(p, l1=False, group=False):
    z = np.zeros(p)
    return PenaltyArrays(z, z, np.zeros(1), -np.ones(p, int), l1, group)


def test_active_size():
    # L1 penalties alone, at least twice the set's features and ACTIVE_MIN_ELEMENTS
    # elements; sets of about p / 8, at least ACTIVE_SIZE, at most ACTIVE_MAX (the set's
    # solve then has no working sets of its own)
    n = 10_000
    assert active_size(n, 2 * ACTIVE_SIZE - 1, _pen(63, l1=True)) is None
    assert active_size(n, 2 * ACTIVE_SIZE, _pen(64, l1=True)) == ACTIVE_SIZE == 32
    assert active_size(n, 200, _pen(200, l1=True)) == 32
    assert active_size(n, 400, _pen(400, l1=True)) == 56
    assert active_size(n, 1200, _pen(1200, l1=True)) == ACTIVE_MAX == 128
    assert 2 * ACTIVE_MAX <= 2 * WORKING_SET
    assert active_size(ACTIVE_MIN_ELEMENTS // 200 - 1, 200, _pen(200, l1=True)) is None
    assert active_size(ACTIVE_MIN_ELEMENTS // 200, 200, _pen(200, l1=True)) == 32
    assert active_size(n, 1200, _pen(1200)) is None  # smooth
    assert active_size(n, 1200, _pen(1200, group=True)) is None
    assert active_size(n, 1200, _pen(1200, l1=True, group=True)) is None


def _data(family, n=3000, p=160, nonzero=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = np.zeros(p)
    beta[rng.choice(p, nonzero, replace=False)] = 0.25
    off = rng.uniform(-0.2, 0.2, n)
    w = rng.uniform(0.5, 2.0, n)
    eta = 0.3 + X @ beta + off
    if family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    elif family == "bernoulli":
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    else:
        y = eta + rng.normal(size=n)
    alpha = 0.15 * np.max(np.abs(X.T @ (w * (y - np.average(y, weights=w))))) / w.sum()
    return X, y, w, off, alpha


def _rounds(monkeypatch):
    """Count the active-set rounds of the fits that follow."""
    calls = [0]
    real = _active._round

    def counting(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(_active, "_round", counting)
    return calls


def _fit_both(monkeypatch, family, reg, strength, fit_intercept=True, **data):
    X, y, w, off = data["X"], data["y"], data["w"], data["off"]
    kw = dict(regularizer=reg, regularizer_strength=strength, fit_intercept=fit_intercept)
    kw["solver_kwargs"] = {"tol": 1e-10}
    rounds = _rounds(monkeypatch)
    active = xglm.GLM(family, **kw).fit(X, y, sample_weight=w, offset=off)
    assert rounds[0] >= 2  # a look at the start, a solve, and a look at its solution
    monkeypatch.setattr(solvers, "active_size", lambda n, p, pen: None)
    full = xglm.GLM(family, **kw).fit(X, y, sample_weight=w, offset=off)
    return active, full


@pytest.mark.parametrize(
    ("family", "reg", "ratio"),
    [("poisson", "Lasso", 1.0), ("gaussian", "Lasso", 1.0), ("bernoulli", "ElasticNet", 0.6)],
)
def test_active_sets_reach_the_solution_of_every_feature(monkeypatch, family, reg, ratio):
    X, y, w, off, alpha = _data(family)
    strength = alpha if reg == "Lasso" else (3 * alpha, ratio)
    active, full = _fit_both(monkeypatch, family, reg, strength, X=X, y=y, w=w, off=off)
    assert active.converged_ and full.converged_
    a, f = np.asarray(active.coef_), np.asarray(full.coef_)
    assert 0 < np.count_nonzero(a) < ACTIVE_SIZE
    np.testing.assert_array_equal(a != 0, f != 0)
    np.testing.assert_allclose(a, f, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(active.intercept_, full.intercept_, rtol=1e-8)
    # the optimality conditions at the solution, in numpy
    eta = active.intercept_[0] + X @ a + off
    mu = {"poisson": np.exp, "gaussian": lambda e: e, "bernoulli": lambda e: 1 / (1 + np.exp(-e))}
    resid = w * (mu[family](eta) - y) / w.sum()
    l1, l2 = (alpha, 0.0) if reg == "Lasso" else (3 * alpha * ratio, 3 * alpha * (1 - ratio))
    g = X.T @ resid + l2 * a
    viol = np.where(a != 0, np.abs(g + l1 * np.sign(a)), np.maximum(np.abs(g) - l1, 0.0))
    assert abs(resid.sum()) <= 1e-9 and viol.max() <= 1e-9
    assert active.objective_ == pytest.approx(full.objective_, rel=1e-12)


def test_against_glums_optimum(monkeypatch):
    glum = pytest.importorskip("glum")
    X, y, w, off, alpha = _data("poisson", seed=3)
    rounds = _rounds(monkeypatch)
    m = xglm.GLM("poisson", "Lasso", alpha).fit(X, y, sample_weight=w, offset=off)
    assert rounds[0] >= 2 and m.converged_
    g = glum.GeneralizedLinearRegressor(
        family="poisson", alpha=alpha, l1_ratio=1.0, gradient_tol=1e-10, max_iter=300
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g.fit(X, y, sample_weight=w / w.mean(), offset=off)

    def objective(coef, b):
        mu = np.exp(b + X @ coef + off)
        dev = 2 * (np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu), 0) - (y - mu))
        return 0.5 * np.sum(w * dev) / w.sum() + alpha * np.abs(coef).sum()

    ours = objective(np.asarray(m.coef_), m.intercept_[0])
    theirs = objective(g.coef_, g.intercept_)
    assert ours <= theirs * (1 + 1e-7)


def test_unpenalized_masked_and_no_intercept(monkeypatch):
    # features of strength zero must be in every set; with no intercept the rounds
    # keep it at zero
    X, y, w, off, alpha = _data("poisson", seed=5)
    strength = np.full(X.shape[1], alpha)
    strength[[3, 70, 150]] = 0.0
    active, full = _fit_both(
        monkeypatch, "poisson", "Lasso", strength, fit_intercept=False, X=X, y=y, w=w, off=off
    )
    a, f = np.asarray(active.coef_), np.asarray(full.coef_)
    assert np.all(a[[3, 70, 150]] != 0)
    np.testing.assert_allclose(a, f, rtol=1e-7, atol=1e-9)
    assert active.converged_ and active.intercept_[0] == 0.0


def test_starts(monkeypatch):
    X, y, w, off, alpha = _data("poisson", seed=7)
    ref = xglm.GLM("poisson", "Lasso", alpha, solver_kwargs={"tol": 1e-10}).fit(X, y)
    rounds = _rounds(monkeypatch)
    # a sparse start (the solution at a larger strength) is solved on the set of its
    # nonzero coefficients first, then looked at
    sparse = xglm.GLM("poisson", "Lasso", 1.5 * alpha).fit(X, y)
    before = rounds[0]
    m = xglm.GLM("poisson", "Lasso", alpha, solver_kwargs={"tol": 1e-10})
    m.fit(X, y, init_params=(sparse.coef_, sparse.intercept_))
    assert rounds[0] >= before + 1 and m.converged_
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-7, atol=1e-9)
    # a sparse start whose means overflow is replaced by the null model in its solve
    bad = np.zeros(X.shape[1])
    bad[:3] = 50.0
    m.fit(X, y, init_params=(bad, 0.0))
    assert m.converged_
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-7, atol=1e-9)
    # a dense start (more nonzero coefficients than a set holds) is finished by the
    # Newton solver on every feature at once
    before = rounds[0]
    dense = np.full(X.shape[1], 1e-3)
    m.fit(X, y, init_params=(dense, np.log(y.mean())))
    assert rounds[0] == before and m.converged_
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-7, atol=1e-9)


def test_iterations_are_bounded_by_maxiter():
    X, y, w, off, alpha = _data("poisson", seed=9)
    m = xglm.GLM("poisson", "Lasso", alpha, solver_kwargs={"maxiter": 2})
    with pytest.warns(ConvergenceWarning):
        m.fit(X, y)
    assert not m.converged_ and m.n_iter_ == 2


def test_second_fit_neither_traces_nor_copies_into_fresh_memory():
    X, y, w, off, alpha = _data("gaussian", seed=11)
    xglm.GLM("gaussian", "Lasso", alpha).fit(X, y)
    (buf,) = _active._BUFFERS.values()
    ptr = buf.unsafe_buffer_pointer()
    before = dict(TRACE_COUNT)
    compiles = []

    def listener(event, duration, **kw):
        if event == "/jax/core/compile/backend_compile_duration":
            compiles.append(kw)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        m = xglm.GLM("gaussian", "Lasso", 2 * alpha).fit(X[::-1], y[::-1])
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert m.converged_
    assert TRACE_COUNT == before and compiles == []
    # the set's rows were written into the buffer of the first fit (donated)
    (buf,) = _active._BUFFERS.values()
    assert buf.unsafe_buffer_pointer() == ptr


def test_a_long_set_solve_is_handed_to_the_full_solver(monkeypatch):
    # a set's solve that stops at INNER_MAXITER unconverged is finished by the Newton
    # solver on every feature, from where it stopped; the iterations add up
    X, y, w, off, alpha = _data("poisson", seed=13)
    kw = dict(solver_kwargs={"tol": 1e-10})
    ref = xglm.GLM("poisson", "Lasso", alpha, **kw).fit(X, y)
    monkeypatch.setattr(_active, "INNER_MAXITER", 1)
    finishes = []
    real = _active._finish

    def recording(data, beta, b, iters, *args):
        finishes.append(iters)
        return real(data, beta, b, iters, *args)

    monkeypatch.setattr(_active, "_finish", recording)
    m = xglm.GLM("poisson", "Lasso", alpha, **kw).fit(X, y)
    assert finishes == [1] and m.converged_ and m.n_iter_ > 1
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-7, atol=1e-9)


def test_a_large_buffer_is_not_kept(monkeypatch):
    X, y, w, off, alpha = _data("gaussian", seed=15)
    size = active_size(*X.shape, _pen(X.shape[1], l1=True))
    monkeypatch.setattr(_active, "KEEP_MAX_BYTES", size * X.shape[0] * 8 - 1)
    m = xglm.GLM("gaussian", "Lasso", alpha).fit(X, y)
    assert m.converged_ and _active._BUFFERS == {}
    monkeypatch.setattr(_active, "KEEP_MAX_BYTES", size * X.shape[0] * 8)
    m = xglm.GLM("gaussian", "Lasso", alpha).fit(X, y)
    ((shape, dtype),) = _active._BUFFERS
    assert shape == (size, X.shape[0]) and dtype == np.float64
