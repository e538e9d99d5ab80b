"""Solver behaviour not covered by the reference tests: stopping rules, start values,
population bookkeeping and compilation reuse."""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm

import xglm
from xglm._solvers import TRACE_COUNT


@pytest.fixture(scope="module")
def star98():
    d = sm.datasets.star98.load_pandas()
    trials = (d.endog["NABOVE"] + d.endog["NBELOW"]).to_numpy(float)
    y = d.endog["NABOVE"].to_numpy(float) / trials
    return d.exog.to_numpy(float), y, trials


@pytest.mark.parametrize("tol", [1e-8, 1e-12, 1e-15])
def test_tolerance_below_round_off_still_converges(star98, tol):
    X, y, trials = star98
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = xglm.GLM(family="binomial", solver_kwargs={"tol": tol}).fit(X, y, sample_weight=trials)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial(), var_weights=trials).fit(
        tol=1e-13
    )
    assert m.converged_ and m.n_iter_ < 20
    np.testing.assert_allclose(np.r_[m.intercept_, m.coef_], ref.params, rtol=1e-6)


def test_population_neurons_report_their_own_iterations():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    B = np.array([[0.0, 0.8], [0.0, -0.6], [0.0, 0.5]])
    Y = rng.poisson(np.exp(0.2 + X @ B))
    m = xglm.PopulationGLM().fit(X, Y)
    singles = [xglm.GLM().fit(X, Y[:, j]) for j in range(2)]
    assert m.n_iter_.shape == (2,)
    for j, s in enumerate(singles):
        np.testing.assert_allclose(m.coef_[:, j], s.coef_, rtol=1e-10, atol=1e-12)
        assert m.n_iter_[j] == s.n_iter_


@pytest.mark.parametrize("offset_shape", ["shared", "per_neuron"])
def test_population_in_batches_equals_single_neuron_fits(monkeypatch, offset_shape):
    # 5 neurons x 300 samples in batches of at most 2 neurons (the last one padded),
    # for the solver and the statistics: every neuron's fit, statistics, standard
    # errors and mask equal its own single-neuron fit
    import xglm._solvers as solvers

    monkeypatch.setattr(solvers, "MAX_BATCH_ELEMENTS", 600)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 3))
    B = rng.normal(0, 0.4, size=(3, 5))
    off = (
        rng.normal(0, 0.2, size=(300, 5))
        if offset_shape == "per_neuron"
        else rng.normal(0, 0.2, size=300)
    )
    w = rng.uniform(0.5, 2.0, size=300)
    Y = rng.poisson(np.exp(0.1 + X @ B + (off if off.ndim == 2 else off[:, None])))
    mask = np.ones((3, 5))
    mask[1, 3] = 0
    m = xglm.PopulationGLM(feature_mask=mask, regularizer="Ridge", regularizer_strength=0.01)
    m.fit(X, Y, sample_weight=w, offset=off)
    assert m.coef_[1, 3] == 0
    for j in range(5):
        cols = [c for c in range(3) if mask[c, j]]
        o = off[:, j] if off.ndim == 2 else off
        s = xglm.GLM(regularizer="Ridge", regularizer_strength=0.01).fit(
            X[:, cols], Y[:, j], sample_weight=w, offset=o
        )
        np.testing.assert_allclose(m.coef_[cols, j], s.coef_, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(m.intercept_[j], s.intercept_[0], rtol=1e-8)
        for attr in ("deviance_", "loglik_", "null_deviance_", "objective_"):
            assert getattr(m, attr)[j] == pytest.approx(getattr(s, attr), rel=1e-9), attr
        np.testing.assert_allclose(
            np.asarray(m.bse_[j])[[0] + [c + 1 for c in cols]], s.bse_, rtol=1e-7
        )
        assert m.n_iter_[j] == s.n_iter_


def test_feature_mask_as_nested_lists_for_a_list_design():
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(300, 2)), rng.normal(size=(300, 3))
    Y = rng.poisson(np.exp(0.1 + 0.3 * A[:, :1] + 0.2 * B[:, 1:2] * np.array([1.0, -1.0])))
    m = xglm.PopulationGLM(feature_mask=[[1, 0], [0, 1]]).fit([A, B], Y)
    coef_a, coef_b = m.coef_
    assert np.all(coef_a[:, 1] == 0) and np.all(coef_b[:, 0] == 0)
    assert np.all(coef_a[:, 0] != 0) and np.all(coef_b[:, 1] != 0)


def test_negative_binomial_alpha_does_not_recompile():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(250, 2))
    y = rng.poisson(np.exp(0.5 + X @ [0.3, -0.2]))
    xglm.GLM(family=xglm.NegativeBinomial(alpha=0.5)).fit(X, y)
    before = dict(TRACE_COUNT)
    m = xglm.GLM(family=xglm.NegativeBinomial(alpha=2.0)).fit(X, y)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.NegativeBinomial(alpha=2.0)).fit(
        tol=1e-13
    )
    np.testing.assert_allclose(np.r_[m.intercept_, m.coef_], ref.params, rtol=1e-6)
    assert TRACE_COUNT["fit"] == before["fit"]


def test_fit_from_a_poor_start_has_no_nans():
    rng = np.random.default_rng(3)
    X = np.c_[rng.normal(size=500) * 1e3, rng.normal(size=500)]
    y = rng.poisson(np.exp(0.2 + X @ [2e-4, 0.3]))
    m = xglm.GLM().fit(X, y, init_params=(np.array([5.0, -5.0]), np.array([3.0])))
    ref = xglm.GLM().fit(X, y)
    assert m.converged_
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-6)


def test_start_at_the_solution_stops_after_one_step():
    # the step from the solution is within tol before any pass over the data, so the
    # fit takes one step (a start is never certified unmoved) and stops
    rng = np.random.default_rng(5)
    X = rng.normal(size=(500, 3))
    y = rng.poisson(np.exp(0.3 + X @ [0.4, -0.2, 0.1]))
    ref = xglm.GLM(regularizer="Ridge", regularizer_strength=0.01).fit(X, y)
    m = xglm.GLM(regularizer="Ridge", regularizer_strength=0.01).fit(
        X, y, init_params=(ref.coef_, ref.intercept_)
    )
    assert m.converged_ and m.n_iter_ == 1 and ref.n_iter_ > 2
    # both within tol = 1e-8 of the solution
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-8)
    np.testing.assert_allclose(m.intercept_, ref.intercept_, rtol=1e-8)


# ---- large data: row-subsampled information, conjugate-gradient chord steps, presolve
@pytest.mark.parametrize(
    "family, sm_family",
    [
        ("poisson", sm.families.Poisson()),
        ("binomial", sm.families.Binomial()),
        ("gamma", sm.families.Gamma(sm.families.links.Log())),
    ],
)
def test_large_data_path_matches_statsmodels(family, sm_family):
    # n >= 50,000 takes the subsample presolve and the subsampled information matrix
    rng = np.random.default_rng(7)
    n = 60_000
    X = rng.normal(size=(n, 4)) * np.array([1.0, 3.0, 0.2, 1.0])
    off = rng.normal(0.0, 0.2, size=n)
    w = rng.integers(1, 4, size=n).astype(float)
    eta = 0.1 + X @ np.array([0.3, -0.05, 1.0, -0.4]) + off
    if family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    elif family == "binomial":
        y = rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(float)
    else:
        y = rng.gamma(2.0, np.exp(eta) / 2.0)
    fam = xglm.Gamma(link="log") if family == "gamma" else family
    m = xglm.GLM(family=fam).fit(X, y, sample_weight=w, offset=off)
    ref = sm.GLM(y, sm.add_constant(X), family=sm_family, offset=off, var_weights=w).fit(tol=1e-13)
    assert m.converged_
    np.testing.assert_allclose(np.r_[m.intercept_, m.coef_], ref.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(m.deviance_, ref.deviance, rtol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(m.cov_params())), ref.bse, rtol=1e-6)


def test_large_data_rare_events_fall_back_to_the_starting_means():
    # the subsample (every 64th row) sees no event, its fit is useless as a start
    rng = np.random.default_rng(3)
    n = 64_000
    X = rng.normal(size=(n, 2))
    y = np.zeros(n)
    y[rng.choice(np.flatnonzero(np.arange(n) % 64 != 0), size=40, replace=False)] = 1.0
    m = xglm.GLM(family="binomial").fit(X, y)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit(tol=1e-13)
    assert m.converged_
    np.testing.assert_allclose(np.r_[m.intercept_, m.coef_], ref.params, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("solver", ["lbfgs", "bfgs", "fista"])
def test_first_order_population_with_shared_weights_and_per_neuron_offsets(solver):
    # the quasi-Newton minimisers run the neurons in sequence, FISTA vmaps them: shared
    # (1, n) weights are used by every neuron, per-neuron offsets each by its own; each
    # neuron matches its own fit
    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 3))
    off = rng.normal(0, 0.2, size=(400, 3))
    w = rng.uniform(0.5, 2.0, size=400)
    Y = rng.poisson(np.exp(0.1 + X @ rng.normal(0, 0.3, size=(3, 3)) + off))
    kw = dict(solver=solver, regularizer="Ridge", regularizer_strength=0.05)
    m = xglm.PopulationGLM(**kw).fit(X, Y, sample_weight=w, offset=off)
    for j in range(3):
        s = xglm.GLM(**kw).fit(X, Y[:, j], sample_weight=w, offset=off[:, j])
        np.testing.assert_allclose(m.coef_[:, j], s.coef_, rtol=1e-6, atol=1e-8)
        assert m.objective_[j] == pytest.approx(s.objective_, rel=1e-10)
