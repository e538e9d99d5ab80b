"""A second fit with the same shapes and configuration must not trace or compile again."""

import numpy as np

import xglm
from xglm._solvers import TRACE_COUNT


def _data(seed, n=300, p=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = rng.poisson(np.exp(0.1 + X @ np.linspace(-0.3, 0.3, p)))
    return X, y


def test_second_fit_does_not_retrace():
    X, y = _data(0)
    xglm.GLM(regularizer="Ridge", regularizer_strength=0.1).fit(X, y)
    before = dict(TRACE_COUNT)
    X2, y2 = _data(1)
    m = xglm.GLM(regularizer="Ridge", regularizer_strength=0.5).fit(X2, y2)
    assert m.converged_
    assert TRACE_COUNT == before


def test_population_second_fit_does_not_retrace():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 3))
    Y = rng.poisson(np.exp(X @ rng.normal(scale=0.3, size=(3, 4))))
    xglm.PopulationGLM().fit(X, Y)
    before = dict(TRACE_COUNT)
    xglm.PopulationGLM().fit(X + 0.1, Y[::-1])
    assert TRACE_COUNT == before
