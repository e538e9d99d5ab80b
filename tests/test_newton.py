"""The Newton solver: its products over the samples equal the whole products when run in
chunks, its compiled program holds no batched LAPACK call, a population fit that once
hung XLA's CPU runtime on two CPUs completes, a large fit whose subsample information
shapes the steps poorly switches to every row, and wide L1 fits on working sets reach
glum's optimum (or, when the solution outgrows the working set, are finished on every
feature)."""

import re
import subprocess
import sys
import textwrap
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xglm
from xglm._families import get_family
from xglm._penalties import PenaltyArrays
from xglm._solvers._information import SUBSAMPLE_INFO_N, information
from xglm._solvers._newton import (
    FULL_INFO_MIN_ITER,
    LARGE_N,
    WORKING_SET,
    newton_population,
    working_set,
)
from xglm._solvers._passes import (
    SAMPLE_CHUNK,
    xt_dot,
)


# fewer samples than two chunks (one product), a whole number of chunks, and a remainder
@pytest.mark.parametrize("n", [SAMPLE_CHUNK + 5, 3 * SAMPLE_CHUNK, 3 * SAMPLE_CHUNK + 17])
def test_products_over_the_samples_in_chunks_equal_the_whole_products(n):
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, 7))
    R = rng.standard_normal((3, n))
    np.testing.assert_allclose(xt_dot(jnp.asarray(X.T), jnp.asarray(R)), R @ X, rtol=1e-12)
    eta = 0.3 * rng.standard_normal((2, n))
    w = rng.uniform(0.5, 2.0, (1, n))
    mask = np.ones((2, 7))
    mask[1, 2] = 0.0  # a masked feature: a unit row and column
    info = information(
        jnp.asarray(X.T), eta, np.zeros((2, n)), w, mask, get_family("poisson"), True
    )
    for i in range(2):
        Z = np.column_stack([np.ones(n), X * mask[i]])
        ref = Z.T @ (Z * (w[0] * np.exp(eta[i]))[:, None])
        if i == 1:
            ref[3, :] = ref[:, 3] = 0.0
            ref[3, 3] = 1.0
        np.testing.assert_allclose(info[i], ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


def _penalty(kind, p, k):
    zeros = jnp.zeros((p, k))
    if kind == "ridge":
        return PenaltyArrays(zeros + 1e-3, zeros, jnp.zeros((0, k)), -jnp.ones((p,), jnp.int32))
    if kind == "lasso":
        return PenaltyArrays(
            zeros, zeros + 1e-3, jnp.zeros((0, k)), -jnp.ones((p,), jnp.int32), True
        )
    index = jnp.arange(p, dtype=jnp.int32) // 2
    l1 = zeros + 1e-3 if kind == "sparse_group" else zeros
    return PenaltyArrays(
        zeros, l1, jnp.full((p // 2, k), 1e-3), index, kind == "sparse_group", True
    )


def _lapack_operand_shapes(text):
    """The operand shape of every LAPACK custom call in a lowered program."""
    calls = re.findall(r"custom_call @(lapack_\w+)\((.*?)\).*?: \((tensor<[^>]*>)", text)
    return [(name, ty) for name, _, ty in calls]


@pytest.mark.parametrize("kind", ["ridge", "lasso", "group"])
@pytest.mark.parametrize("n", [300, LARGE_N])  # the plain path; the presolve and subsample
@pytest.mark.parametrize("family", ["poisson", "gaussian"])
def test_population_program_calls_lapack_one_matrix_at_a_time(kind, n, family):
    # jaxlib spreads a batched LAPACK call over XLA's intra-op thread pool; programs with
    # two of them that XLA could run at once hung on two CPUs. Every call is unbatched.
    p, k = 6, 3
    Xt = jnp.zeros((p, n))
    Y = jnp.ones((k, n))
    one = jnp.ones((1, n))

    def fit(Xt, Y, W, OFF, M, T0):
        return newton_population(
            Xt, Y, W, OFF, M, get_family(family), _penalty(kind, p, k), T0, True, True
        )

    text = jax.jit(fit).lower(Xt, Y, one, one * 0, jnp.ones((k, p)), jnp.zeros((k, p + 1)))
    shapes = _lapack_operand_shapes(text.as_text())
    expected = {"ridge": "lapack_dpotrf_ffi", "lasso": None, "group": "lapack_dsyevd_ffi"}[kind]
    names = {name for name, _ in shapes}
    assert expected is None or expected in names, names
    assert shapes == [(name, f"tensor<{p + 1}x{p + 1}xf64>") for name, _ in shapes]


def test_population_fit_that_hung_on_two_cpus_completes():
    # 16 neurons x 3,000 samples x 60 features, Poisson Ridge: with batched Cholesky calls
    # this hung in every run on two CPUs (it completes on one); run in a fresh process so
    # that a hang fails the test instead of stalling the suite
    script = textwrap.dedent(
        """
        import numpy as np, xglm
        rng = np.random.default_rng(0)
        X = rng.standard_normal((3000, 60)) / np.sqrt(60)
        Y = rng.poisson(np.exp(0.25 * X @ rng.standard_normal((60, 16)) - 1.0))
        for _ in range(3):
            m = xglm.PopulationGLM(regularizer="Ridge", regularizer_strength=1e-3).fit(X, Y)
        assert bool(np.all(m.converged_)), m.converged_
        print("completed")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "completed"


def test_large_fit_with_strongly_varying_weights_switches_to_every_row():
    # Gamma with the inverse link has working weights mu^2, which vary strongly here: the
    # information estimated from a row subsample shaped the steps so poorly that this fit
    # took 337 iterations. After FULL_INFO_MIN_ITER iterations a neuron still running
    # takes its information from every row.
    rng = np.random.default_rng(1)
    n, p = 12_000, 20
    assert n >= SUBSAMPLE_INFO_N
    X = rng.standard_normal((n, p)) / np.sqrt(p)
    y = rng.gamma(2.0, np.exp(X @ rng.standard_normal(p) * 0.6) / 2.0)
    m = xglm.GLM("gamma").fit(X, y)
    assert m.converged_ and FULL_INFO_MIN_ITER < m.n_iter_ <= FULL_INFO_MIN_ITER + 15
    # the canonical link: the score is [1 X]^T (y - mu), zero at the maximum
    mu = 1.0 / (m.intercept_ + X @ m.coef_)
    assert np.all(mu > 0)
    score = np.r_[np.sum(y - mu), X.T @ (y - mu)] / n
    assert np.max(np.abs(score)) < 1e-7 * np.mean(y), score


# ---------------------------------------------------------------- given starts
def _start_data():
    rng = np.random.default_rng(4)
    n, p = 3000, 5
    X = rng.normal(size=(n, p)) * 0.5
    Y = rng.poisson(np.exp(0.3 + X @ (rng.normal(size=(p, 2)) * 0.4))).astype(float)
    return X, Y


def test_population_neurons_from_given_and_default_starts_each_equal_their_own_fit():
    # neuron 0's start overflows (it takes the starting means, R's first IRLS step),
    # neuron 1 starts near its solution: each runs its own first model, iterations and
    # all, as in its single-neuron fit
    X, Y = _start_data()
    p = X.shape[1]
    near = xglm.GLM().fit(X, Y[:, 1])
    coef0 = np.column_stack([np.full(p, 800.0), near.coef_ + 0.01])
    b0 = np.array([800.0, near.intercept_[0] - 0.01])
    m = xglm.PopulationGLM().fit(X, Y, init_params=(coef0, b0))
    default = xglm.GLM().fit(X, Y[:, 0])
    given = xglm.GLM().fit(X, Y[:, 1], init_params=(coef0[:, 1], b0[1:]))
    assert list(m.n_iter_) == [default.n_iter_, given.n_iter_]
    np.testing.assert_allclose(m.coef_[:, 0], default.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(m.coef_[:, 1], given.coef_, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("solver", ["irls", "lbfgs", "fista"])
def test_a_start_worse_than_the_null_model_is_replaced_by_the_default_start(solver):
    # at this start eta reaches about 150: finite, but Newton steps on the log link
    # gain about one unit of eta each (the fit hit maxiter); the null model replaces it
    X, Y = _start_data()
    p = X.shape[1]
    default = xglm.GLM(solver=solver).fit(X, Y[:, 0])
    m = xglm.GLM(solver=solver).fit(X, Y[:, 0], init_params=(np.full(p, 50.0), np.array([50.0])))
    assert m.converged_
    assert m.n_iter_ == default.n_iter_
    np.testing.assert_allclose(m.coef_, default.coef_, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- working sets (wide L1 fits)
def _wide_data(family, n, p, nonzero, frac, seed=0):
    """A wide design with ``nonzero`` true effects and the L1 strength ``frac`` times
    the smallest one that zeroes every coefficient."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = np.zeros(p)
    beta[:nonzero] = 0.3 / np.sqrt(max(nonzero / 5, 1))
    eta = 0.2 + X @ beta
    y = rng.poisson(np.exp(eta)).astype(float) if family == "poisson" else eta + rng.normal(size=n)
    return X, y, frac * np.max(np.abs(X.T @ (y - y.mean()))) / n


def _half_deviance_gradient(family, X, y, coef, b):
    """Mean half deviance and its gradient in ``(b, coef)`` (canonical links)."""
    eta = b + X @ coef
    if family == "poisson":
        mu = np.exp(eta)
        logs = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
        loss = np.mean(logs - (y - mu))
    else:
        mu = eta
        loss = 0.5 * np.mean((y - mu) ** 2)
    return loss, np.mean(mu - y), X.T @ (mu - y) / len(y)


def _objective_and_kkt(family, X, y, coef, b, l1, l2):
    loss, g0, g = _half_deviance_gradient(family, X, y, coef, b)
    g = g + l2 * coef
    viol = np.where(coef != 0, np.abs(g + l1 * np.sign(coef)), np.maximum(np.abs(g) - l1, 0.0))
    obj = loss + np.sum(l1 * np.abs(coef)) + 0.5 * np.sum(l2 * coef**2)
    return obj, max(abs(g0), float(np.max(viol)))


def _glum(family, X, y, alpha, ratio):
    glum = pytest.importorskip("glum")
    m = glum.GeneralizedLinearRegressor(
        family=family, alpha=alpha, l1_ratio=ratio, gradient_tol=1e-9, max_iter=200
    )
    with warnings.catch_warnings():
        # glum's line search reports round-off near its optimum
        warnings.simplefilter("ignore")
        m.fit(X, y)
    return m.coef_, float(m.intercept_)


def _fits_recorded(monkeypatch, calls=None):
    """Record what the estimator's solver core returns (and, into ``calls``, its
    arguments)."""
    from xglm import _model

    outs = []
    real = _model.fit_arrays

    def recording(*args, **kwargs):
        if calls is not None:
            calls.append(args)
        outs.append(real(*args, **kwargs))
        return outs[-1]

    monkeypatch.setattr(_model, "fit_arrays", recording)
    return outs


@pytest.mark.parametrize(
    ("family", "pen", "ratio"),
    [("poisson", "Lasso", 1.0), ("gaussian", "Lasso", 1.0), ("poisson", "ElasticNet", 0.7)],
)
def test_wide_l1_fit_on_working_sets_reaches_glums_optimum(family, pen, ratio, monkeypatch):
    n, p = 2000, 300
    assert working_set(p, _penalty("lasso", p, 1)) == WORKING_SET < p
    X, y, alpha = _wide_data(family, n, p, nonzero=5, frac=0.1)
    outs = _fits_recorded(monkeypatch)
    strength = alpha if pen == "Lasso" else (alpha, ratio)
    m = xglm.GLM(family, regularizer=pen, regularizer_strength=strength).fit(X, y)
    assert m.solver_ == "irls" and m.converged_
    assert not np.any(np.asarray(outs[-1].overflow))  # finished on its working sets
    l1, l2 = alpha * ratio, alpha * (1 - ratio)
    coef, b = np.asarray(m.coef_), float(m.intercept_[0])
    ours, kkt = _objective_and_kkt(family, X, y, coef, b, l1, l2)
    assert kkt <= 1e-6
    # the statistics take the linear predictor from the nonzero features' rows alone
    assert m.objective_ == pytest.approx(ours, rel=1e-12)
    g_coef, g_b = _glum(family, X, y, alpha, ratio)
    theirs, _ = _objective_and_kkt(family, X, y, g_coef, g_b, l1, l2)
    assert abs(ours - theirs) <= 1e-7 * abs(theirs)
    # the same features are nonzero, far fewer than the working set holds
    assert np.array_equal(coef != 0, np.abs(g_coef) > 1e-8)
    assert 0 < np.sum(coef != 0) < WORKING_SET


def test_solution_denser_than_the_working_set_is_finished_on_every_feature(monkeypatch):
    # about 250 nonzero coefficients: more than the working set holds, so the Newton fit
    # overflows and is finished by the Newton solver on every feature (300 <= 1000)
    n, p = 2000, 300
    X, y, alpha = _wide_data("poisson", n, p, nonzero=250, frac=0.005, seed=1)
    outs = _fits_recorded(monkeypatch)
    m = xglm.GLM("poisson", regularizer="Lasso", regularizer_strength=alpha).fit(X, y)
    assert np.all(np.asarray(outs[-1].overflow))
    assert m.solver_ == "irls" and m.converged_
    coef, b = np.asarray(m.coef_), float(m.intercept_[0])
    assert np.sum(coef != 0) > WORKING_SET
    ours, kkt = _objective_and_kkt("poisson", X, y, coef, b, alpha, 0.0)
    assert kkt <= 1e-6
    # more nonzero coefficients than the statistics read row by row (a quarter of p)
    assert m.objective_ == pytest.approx(ours, rel=1e-12)
    g_coef, g_b = _glum("poisson", X, y, alpha, 1.0)
    theirs, _ = _objective_and_kkt("poisson", X, y, g_coef, g_b, alpha, 0.0)
    assert abs(ours - theirs) <= 1e-7 * abs(theirs)


def test_population_on_working_sets_equals_its_single_neuron_fits():
    # three neurons with per-neuron strengths, the last one with a solution denser than
    # its working set: the population is finished without working sets from where it
    # stopped, and every neuron equals its single-neuron fit
    n, p = 2000, 300
    rng = np.random.default_rng(2)
    X = rng.standard_normal((n, p))
    effects = np.zeros((p, 3))
    effects[:5, 0], effects[10:30, 1], effects[:, 2] = 0.3, 0.15, 0.03
    Y = rng.poisson(np.exp(0.2 + X @ effects)).astype(float)
    amax = np.max(np.abs(X.T @ (Y - Y.mean(0))), axis=0) / n
    alpha = amax * np.array([0.1, 0.1, 0.005])
    pop = xglm.PopulationGLM(regularizer="Lasso", regularizer_strength=alpha).fit(X, Y)
    assert np.all(pop.converged_)
    for i in range(Y.shape[1]):
        one = xglm.GLM(regularizer="Lasso", regularizer_strength=alpha[i]).fit(X, Y[:, i])
        assert one.converged_
        coef, b = np.asarray(one.coef_), float(one.intercept_[0])
        np.testing.assert_allclose(np.asarray(pop.coef_)[:, i], coef, rtol=0, atol=1e-6)
        assert float(np.asarray(pop.intercept_)[i]) == pytest.approx(b, abs=1e-6)
        obj, kkt = _objective_and_kkt("poisson", X, Y[:, i], coef, b, alpha[i], 0.0)
        assert kkt <= 1e-6
        assert np.asarray(pop.objective_)[i] == pytest.approx(obj, rel=1e-10)
    nonzero = np.sum(np.asarray(pop.coef_) != 0, axis=0)
    assert max(nonzero[:2]) < WORKING_SET < nonzero[2], nonzero


def test_default_solver_by_penalty_and_width():
    from xglm._solvers import default_solver, overflow_solver

    kinds = ("lasso", "group", "ridge", "sparse_group")
    for p, expected in [
        (200, ["irls"] * 4),
        (600, ["irls", "irls", "irls", "fista"]),
        (5000, ["irls", "irls", "lbfgs", "fista"]),
    ]:
        assert [default_solver(_penalty(kind, p, 1), p) for kind in kinds] == expected, p
    # a working-set fit that overflows is finished on every feature, or by FISTA when the
    # solver was chosen automatically for a design too wide for a full information matrix
    lasso, group = _penalty("lasso", 1200, 1), _penalty("group", 1200, 1)
    assert overflow_solver(None, lasso, 1200) == "fista"
    assert overflow_solver("irls", lasso, 1200) == "irls"
    assert overflow_solver(None, lasso, 600) == "irls"
    assert overflow_solver(None, group, 600) == "fista"
    assert overflow_solver(None, group, 200) == "irls"


def _group_kkt(X, y, coef, b, alpha, size):
    """The largest violation of the group-lasso optimality conditions (Poisson, groups of
    ``size`` consecutive features, strength ``alpha sqrt(size)`` each)."""
    _, g0, g = _half_deviance_gradient("poisson", X, y, coef, b)
    a = alpha * np.sqrt(size)
    worst = abs(g0)
    for start in range(0, len(coef), size):
        bg, gg = coef[start : start + size], g[start : start + size]
        norm = np.linalg.norm(bg)
        v = max(np.linalg.norm(gg) - a, 0.0) if norm == 0 else np.linalg.norm(gg + a * bg / norm)
        worst = max(worst, v)
    return worst


def _group_data(n, p, size, active, frac, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = np.zeros(p)
    for g in rng.choice(p // size, active, replace=False):
        beta[g * size : (g + 1) * size] = rng.normal(0, 0.4 / np.sqrt(active * size), size)
    y = rng.poisson(np.exp(0.1 + X @ beta)).astype(float)
    grad = X.T @ (y - y.mean()) / n
    amax = max(np.linalg.norm(grad[s : s + size]) for s in range(0, p, size)) / np.sqrt(size)
    return X, y, frac * amax, np.arange(p) // size


@pytest.mark.parametrize(("active", "frac"), [(6, 0.5), (30, 0.02)])
def test_wide_group_fit_on_working_sets_meets_the_group_conditions(active, frac, monkeypatch):
    # 320 features in 40 groups of 8: a sparse solution finishes on its working set; a
    # dense one (more nonzero groups than 128 features hold) overflows and is finished by
    # FISTA. Both reach a tight FISTA fit's objective; the optimality conditions hold.
    n, p, size = 2000, 320, 8
    X, y, alpha, ids = _group_data(n, p, size, active, frac, seed=5)
    pen = xglm.GroupLasso(mask=ids)
    assert working_set(p, _penalty("group", p, 1)) == WORKING_SET
    calls = []
    outs = _fits_recorded(monkeypatch, calls)
    m = xglm.GLM(regularizer=pen, regularizer_strength=alpha).fit(X, y)
    dense = active * size > WORKING_SET
    assert bool(np.all(np.asarray(outs[-1].overflow))) == dense
    # FISTA would finish with its own default tolerance and iteration limit
    assert calls[-1][14] == ("fista", 1e-9, 10000)  # the overflow argument
    assert calls[-1][15] == 0  # penalized: no rank screen
    # chosen automatically, a group fit of more than 255 features that overflows is
    # finished by FISTA
    assert m.solver_ == ("fista" if dense else "irls") and m.converged_
    coef, b = np.asarray(m.coef_), float(m.intercept_[0])
    assert _group_kkt(X, y, coef, b, alpha, size) <= 1e-6
    loss = _half_deviance_gradient("poisson", X, y, coef, b)[0]
    norms = np.linalg.norm(coef.reshape(-1, size), axis=1)
    assert m.objective_ == pytest.approx(loss + alpha * np.sqrt(size) * norms.sum(), rel=1e-12)
    nonzero = np.sum(coef != 0)
    assert (nonzero > WORKING_SET) == dense and nonzero > 0
    # whole groups are zero or nonzero
    groups = coef.reshape(-1, size) != 0
    assert np.array_equal(groups.any(axis=1), groups.all(axis=1))
    ref = xglm.GLM(
        regularizer=pen, regularizer_strength=alpha, solver="fista", solver_kwargs={"tol": 1e-12}
    ).fit(X, y)
    assert m.objective_ <= ref.objective_ + 1e-7 * abs(ref.objective_)
    assert abs(m.objective_ - ref.objective_) <= 1e-7 * abs(ref.objective_)


def test_population_group_fit_on_working_sets_equals_its_single_neuron_fits():
    n, p, size = 2000, 320, 8
    # two neurons with per-neuron strengths, each sparse enough for its working set
    X, y1, a1, ids = _group_data(n, p, size, 5, 0.5, seed=6)
    rng = np.random.default_rng(8)
    y2 = rng.poisson(np.exp(0.2 + X[:, 8:24] @ rng.normal(0, 0.1, 16))).astype(float)
    Y = np.column_stack([y1, y2])
    alpha = np.array([a1, 0.8 * a1])
    pen = xglm.GroupLasso(mask=ids)
    pop = xglm.PopulationGLM(regularizer=pen, regularizer_strength=alpha).fit(X, Y)
    assert np.all(pop.converged_) and pop.solver_ == "irls"
    for i in range(2):
        one = xglm.GLM(regularizer=pen, regularizer_strength=alpha[i]).fit(X, Y[:, i])
        coef, b = np.asarray(one.coef_), float(one.intercept_[0])
        assert one.converged_ and 0 < np.sum(coef != 0) < WORKING_SET
        assert _group_kkt(X, Y[:, i], coef, b, alpha[i], size) <= 1e-6
        np.testing.assert_allclose(np.asarray(pop.coef_)[:, i], coef, rtol=0, atol=1e-6)
        assert float(np.asarray(pop.intercept_)[i]) == pytest.approx(b, abs=1e-6)


def test_feature_mask_on_working_sets_equals_fits_on_the_unmasked_features():
    # every neuron of a wide Lasso population sees its own half of the features
    n, p = 2000, 320
    X, y1, alpha = _wide_data("poisson", n, p, nonzero=5, frac=0.1, seed=11)
    rng = np.random.default_rng(12)
    y2 = rng.poisson(np.exp(0.1 + X[:, 1::2][:, :4] @ np.full(4, 0.25))).astype(float)
    Y = np.column_stack([y1, y2])
    mask = np.zeros((p, 2))
    mask[::2, 0] = mask[1::2, 1] = 1
    pop = xglm.PopulationGLM(
        regularizer="Lasso", regularizer_strength=alpha, feature_mask=mask
    ).fit(X, Y)
    assert np.all(pop.converged_) and pop.solver_ == "irls"
    coef = np.asarray(pop.coef_)
    assert np.all(coef[mask == 0] == 0)
    for i in range(2):
        cols = mask[:, i] == 1
        assert working_set(int(cols.sum()), _penalty("lasso", int(cols.sum()), 1)) is None
        one = xglm.GLM(regularizer="Lasso", regularizer_strength=alpha).fit(X[:, cols], Y[:, i])
        np.testing.assert_allclose(coef[cols, i], one.coef_, rtol=0, atol=1e-6)
        assert float(np.asarray(pop.intercept_)[i]) == pytest.approx(
            float(one.intercept_[0]), abs=1e-6
        )


def test_observed_information_converges_fast_for_misspecified_non_canonical_fits():
    # rates exp(1 + x b) fitted with the softplus link and no intercept: the residuals
    # stay large, where Fisher scoring converges linearly (statsmodels' IRLS took 237
    # iterations on these data; this solver took 140 on the Fisher information). The
    # observed information, clipped at zero, gives Newton's convergence.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2)) * 0.3
    y = rng.poisson(np.exp(1 + X @ [0.5, -0.4])).astype(float)
    fam = xglm.Poisson(link="softplus")
    m = xglm.GLM(family=fam, fit_intercept=False).fit(X, y)
    assert m.converged_ and m.n_iter_ <= 10
    ref = xglm.GLM(family=fam, fit_intercept=False, solver="lbfgs", solver_kwargs={"tol": 1e-12})
    ref.fit(X, y)
    assert m.objective_ <= ref.objective_ * (1 + 1e-14)
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-6)
    # the gradient of the objective at the solution
    mu, r, _ = fam.score_terms(jnp.asarray(y), jnp.asarray(X @ m.coef_), jnp.ones(300))
    assert np.max(np.abs(X.T @ np.asarray(r) / 300)) < 1e-10
