"""A second fit with the same shapes and configuration must not trace or compile again;
xglm's programs compile with the fast-compile options without changing results."""

import equinox as eqx
import jax
import numpy as np
import pytest
import statsmodels.api as sm

import xglm
from xglm._compile import (
    FAST_COMPILE,
    NO_TREE_REDUCTIONS,
    SPLIT_OPTION,
    codegen_parts,
    compiler_options,
)
from xglm._inference import check_statistics, information_matrices, summary_statistics
from xglm._solvers import TRACE_COUNT, _fit_arrays_jit
from xglm.errors import SelectionInferenceWarning


def _data(seed, n=300, p=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = rng.poisson(np.exp(0.1 + X @ np.linspace(-0.3, 0.3, p)))
    return X, y


def test_second_fit_does_not_retrace():
    X, y = _data(0)
    xglm.GLM(regularizer="Ridge", regularizer_strength=0.1).fit(X, y).summary()
    before = dict(TRACE_COUNT)
    X2, y2 = _data(1)
    m = xglm.GLM(regularizer="Ridge", regularizer_strength=0.5).fit(X2, y2)
    m.summary()
    assert m.converged_
    assert TRACE_COUNT == before


def test_statistics_are_traced_on_first_use():
    # a fit settles its checks; the statistics program runs when a statistic is read
    X, y = _data(2, n=321, p=3)
    before = dict(TRACE_COUNT)
    m = xglm.GLM().fit(X, y)
    assert TRACE_COUNT == {**before, "fit": before["fit"] + 1, "checks": before["checks"] + 1}
    assert "deviance_" not in vars(m)
    deviance = m.deviance_
    assert TRACE_COUNT["stats"] == before["stats"] + 1
    assert vars(m)["deviance_"] == deviance
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit(tol=1e-12)
    np.testing.assert_allclose(deviance, ref.deviance, rtol=1e-8)
    np.testing.assert_allclose(m.aic_, ref.aic, rtol=1e-8)
    # a Gaussian Lasso has nothing to check: no boundary, no rank check
    before = dict(TRACE_COUNT)
    lasso = xglm.GLM("gaussian", "Lasso", 0.01).fit(X, y)
    assert TRACE_COUNT == {**before, "fit": before["fit"] + 1}
    assert np.isfinite(lasso.deviance_) and TRACE_COUNT["stats"] == before["stats"] + 1


def test_population_second_fit_does_not_retrace():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 3))
    Y = rng.poisson(np.exp(X @ rng.normal(scale=0.3, size=(3, 4))))
    xglm.PopulationGLM().fit(X, Y)
    before = dict(TRACE_COUNT)
    xglm.PopulationGLM().fit(X + 0.1, Y[::-1])
    assert TRACE_COUNT == before


_COMPILES = [0]


def _count_compiles(event, duration, **kwargs):
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES[0] += 1


jax.monitoring.register_event_duration_secs_listener(_count_compiles)


def test_second_fit_does_not_compile():
    X, y = _data(7, n=500, p=5)
    with pytest.warns(SelectionInferenceWarning):  # (inference on a Lasso fit)
        xglm.GLM(regularizer="Lasso", regularizer_strength=0.01).fit(X, y).summary()
    before = _COMPILES[0]
    m = xglm.GLM(regularizer="Lasso", regularizer_strength=0.02).fit(X[::-1], y[::-1])
    with pytest.warns(SelectionInferenceWarning):
        m.summary()
    assert m.converged_
    assert _COMPILES[0] == before


def _every_option():
    return {**FAST_COMPILE, **NO_TREE_REDUCTIONS, SPLIT_OPTION: codegen_parts()}


def test_compiler_options(monkeypatch):
    # on the CPU backend xglm's programs compile with the fast-compile options, unless
    # XGLM_XLA_DEFAULTS asks for XLA's defaults
    try:
        compiler_options.cache_clear()
        assert compiler_options() == _every_option()
        monkeypatch.setenv("XGLM_XLA_DEFAULTS", "1")
        compiler_options.cache_clear()
        assert compiler_options() == {}
    finally:
        monkeypatch.delenv("XGLM_XLA_DEFAULTS", raising=False)
        compiler_options.cache_clear()


def test_compiler_options_without_an_option_the_jax_lacks(monkeypatch):
    # an installed JAX that does not know the split option keeps the others
    monkeypatch.setattr("xglm._compile.SPLIT_OPTION", "xla_cpu_no_such_option")
    try:
        compiler_options.cache_clear()
        assert compiler_options() == {**FAST_COMPILE, **NO_TREE_REDUCTIONS}
    finally:
        monkeypatch.undo()
        compiler_options.cache_clear()
    assert compiler_options() == _every_option()


def test_codegen_parts_follow_the_cpus(monkeypatch):
    # one LLVM module per CPU the process may run on, between 1 and XLA's default 32
    for cpus, parts in ((set(), 1), ({3}, 1), ({0, 5}, 2), (set(range(64)), 32)):
        monkeypatch.setattr("os.sched_getaffinity", lambda pid, cpus=cpus: cpus, raising=False)
        assert codegen_parts() == parts


def test_compiler_options_do_not_change_results(monkeypatch):
    # the same fit and statistics compiled with XLA's default options agree to rounding
    # (40 features: the sums over the coefficients are long enough for the reduction
    # rewrite that xglm's options turn off)
    X, y = _data(5, n=2000, p=40)
    w = np.random.default_rng(5).uniform(0.5, 2.0, size=len(y))

    def fit():
        m = xglm.GLM(regularizer="Ridge", regularizer_strength=0.01)
        return m.fit(X, y, sample_weight=w)

    assert compiler_options() == _every_option()
    fast = fit()
    fast_se = fast.summary()["std_err"]  # (the covariance may be computed on first use)
    for program in (_fit_arrays_jit, check_statistics, summary_statistics, information_matrices):
        monkeypatch.setattr(program, "compiled", eqx.filter_jit(program.fn))
    default = fit()
    np.testing.assert_allclose(default.coef_, fast.coef_, rtol=1e-10)
    np.testing.assert_allclose(default.intercept_, fast.intercept_, rtol=1e-10)
    np.testing.assert_allclose(default.summary()["std_err"], fast_se, rtol=1e-10)
    np.testing.assert_allclose(default.deviance_, fast.deviance_, rtol=1e-12)
