"""Bad input gets a clear error that names the argument, what was given, what was
expected and how to fix it. The important messages are asserted whole."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import xglm
from xglm.errors import (
    BoundaryWarning,
    ConvergenceWarning,
    DesignError,
    NotFittedError,
    RankDeficientError,
    ResponseError,
    XglmError,
)

N = 20
_rng = np.random.default_rng(3)
X = _rng.normal(size=(N, 2))
COUNTS = _rng.poisson(2.0, size=N).astype(float)
POSITIVE = _rng.gamma(2.0, size=N)
BINARY = np.r_[np.zeros(N // 2), np.ones(N // 2)]


def _message(exc_type, fn):
    with pytest.raises(exc_type) as err:
        fn()
    return str(err.value)


def _with(values, first):
    """``values`` with its first element replaced."""
    out = np.array(values, dtype=float)
    out[0] = first
    return out


# ------------------------------------------------------------------------- X and y shapes
@pytest.mark.parametrize(("shape", "ndim"), [((N, 2, 1), 3), ((N,), 1)], ids=["3d", "1d"])
def test_x_dimensions(shape, ndim):
    Xbad = np.zeros(shape)
    msg = _message(DesignError, lambda: xglm.GLM().fit(Xbad, COUNTS))
    assert msg == (
        f"X: got an array with {ndim} dimension(s) (shape {shape}); expected 2 dimensions "
        "(n_samples, n_features). Fix: reshape, e.g. X.reshape(-1, 1) for one feature, or "
        "pass a dict of named arrays."
    )


def test_mismatched_samples():
    msg = _message(DesignError, lambda: xglm.GLM().fit(X, COUNTS[:-1]))
    assert msg == (
        "y: has 19 samples but X has 20; expected the same number of rows. Fix: align X "
        "and y in time."
    )


def test_y_with_two_columns_for_glm():
    msg = _message(ResponseError, lambda: xglm.GLM().fit(X, np.c_[COUNTS, COUNTS]))
    assert msg == (
        "y: got shape (20, 2); GLM expects 1 dimension (n_samples,). Fix: pass one neuron, "
        "or use PopulationGLM for (n_samples, n_neurons)."
    )


# ------------------------------------------------------------------------- y support
def test_negative_poisson_counts():
    msg = _message(ResponseError, lambda: xglm.GLM().fit(X, _with(COUNTS, -1.0)))
    assert msg == (
        "y: the poisson family needs non-negative values; got 1 invalid value(s) (first: "
        "-1.0 at position 0). Fix: pass counts >= 0 or choose another family."
    )


def test_non_integer_poisson_counts():
    msg = _message(ResponseError, lambda: xglm.GLM().fit(X, _with(COUNTS, 0.5)))
    assert msg == (
        "y: the poisson family needs integer counts; got a non-integer value 0.5 at "
        "position 0. Fix: pass spike counts (integers), or use family='gaussian' / 'gamma' "
        "for continuous responses."
    )


def test_non_integer_count_beyond_the_first_block_of_a_population():
    # the integer check runs in blocks of 65,536 values: a bad count far into a
    # population's response is still found and located
    rng = np.random.default_rng(0)
    Y = rng.poisson(1.0, size=(40_000, 3)).astype(float)
    Y[30_000, 2] = 2.5
    Xbig = rng.normal(size=(40_000, 2))
    msg = _message(ResponseError, lambda: xglm.PopulationGLM().fit(Xbig, Y))
    assert msg == (
        "y: the poisson family needs integer counts; got a non-integer value 2.5 at "
        "position 90002. Fix: pass spike counts (integers), or use family='gaussian' / "
        "'gamma' for continuous responses."
    )


def test_negative_binomial_counts():
    msg = _message(
        ResponseError,
        lambda: xglm.GLM(family=xglm.NegativeBinomial(alpha=0.5)).fit(X, _with(COUNTS, -3)),
    )
    assert msg == (
        "y: the negative_binomial family needs non-negative values; got 1 invalid value(s) "
        "(first: -3.0 at position 0). Fix: pass counts >= 0 or choose another family."
    )


@pytest.mark.parametrize("bad", [2.0, -0.5])
def test_bernoulli_outside_unit_interval(bad):
    msg = _message(ResponseError, lambda: xglm.GLM(family="bernoulli").fit(X, _with(BINARY, bad)))
    assert msg == (
        f"y: the bernoulli family needs values in [0, 1]; got 1 value(s) outside (first: "
        f"{bad!r} at position 0). Fix: pass 0/1 outcomes, or proportions successes/trials "
        "with sample_weight=trials."
    )


def test_binomial_proportion_above_one():
    msg = _message(ResponseError, lambda: xglm.GLM(family="binomial").fit(X, _with(BINARY, 1.5)))
    assert msg.startswith("y: the binomial family needs values in [0, 1]; got 1 value(s)")


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_gamma_needs_positive_y(bad):
    msg = _message(ResponseError, lambda: xglm.GLM(family="gamma").fit(X, _with(POSITIVE, bad)))
    assert msg == (
        "y: the gamma family needs strictly positive values; got 1 value(s) <= 0 or "
        f"non-finite (first: {bad!r} at position 0). Fix: remove or shift those rows, or "
        "use another family."
    )


def test_inverse_gaussian_needs_positive_y():
    msg = _message(
        ResponseError,
        lambda: xglm.GLM(family="inverse_gaussian").fit(X, _with(POSITIVE, 0.0)),
    )
    assert msg.startswith("y: the inverse_gaussian family needs strictly positive values")


# ------------------------------------------------------------------------- NaN / inf
@pytest.mark.parametrize(
    ("bad", "counts"), [(np.nan, "1 NaN and 0 infinite"), (np.inf, "0 NaN and 1 infinite")]
)
def test_non_finite_x(bad, counts):
    Xbad = X.copy()
    Xbad[3, 1] = bad
    msg = _message(DesignError, lambda: xglm.GLM().fit(Xbad, COUNTS))
    assert msg == (
        f"X: found {counts} value(s) in column(s) ['x1']; expected finite numbers. Fix: "
        "remove or impute those rows (formula and labelled input also accept "
        "na_action='drop')."
    )


def test_huge_finite_x_is_accepted():
    # the finiteness check sums X first; a sum that overflows must not be taken for
    # a non-finite value
    Xhuge = X.copy()
    Xhuge[:, 1] = 1e306 * (1.0 + np.arange(len(X)))  # finite; the sum overflows
    with np.errstate(over="ignore"):
        assert np.isfinite(Xhuge).all() and not np.isfinite(Xhuge.sum())
    with warnings.catch_warnings():
        # the check itself must not warn about its overflowing sum
        warnings.filterwarnings("error", message="overflow encountered in reduce")
        warnings.filterwarnings("error", message="overflow encountered in matmul")
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        m = xglm.GLM(regularizer="Ridge", regularizer_strength=1.0)
        try:
            m.fit(Xhuge, COUNTS)
        except DesignError as exc:  # pragma: no cover - the defect this test guards
            raise AssertionError(f"finite X rejected: {exc}") from exc
        except XglmError:
            pass  # the solver may give up on such a column; the check must not


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_design_checksum_is_the_sum_and_not_finite_with_nan_or_inf(order, dtype):
    from xglm._design._arrays import design_checksum

    A = np.asarray(np.random.default_rng(0).normal(size=(501, 7)), dtype=dtype, order=order)
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(design_checksum(A), np.sum(A, dtype=np.float64), rtol=rtol)
    for bad in (np.nan, np.inf, -np.inf):
        B = A.copy(order=order)
        B[17, 3] = bad
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert not np.isfinite(design_checksum(B))
    B = A.copy(order=order)
    B[17, 3], B[40, 5] = np.inf, -np.inf  # opposite infinities: NaN, still not finite
    assert np.isnan(design_checksum(B))
    # a strided view is summed as it is
    np.testing.assert_allclose(design_checksum(A[::2]), np.sum(A[::2], dtype=np.float64), rtol=rtol)


@pytest.mark.parametrize("family", ["gaussian", "poisson", "gamma"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_y(family, bad):
    y = {"gaussian": POSITIVE, "poisson": COUNTS, "gamma": POSITIVE}[family]
    msg = _message(ResponseError, lambda: xglm.GLM(family=family).fit(X, _with(y, bad)))
    assert msg == (
        "y: found 1 NaN or infinite value(s); expected finite numbers. Fix: remove or "
        "impute those samples."
    )


# ------------------------------------------------------------------------- names
def test_unknown_family_name():
    msg = _message(XglmError, lambda: xglm.GLM(family="poison").fit(X, COUNTS))
    assert msg == (
        "family: got 'poison'; expected one of 'gaussian', 'poisson', 'binomial', "
        "'bernoulli', 'gamma', 'inverse_gaussian', 'negative_binomial' or an xglm family "
        "object such as xglm.Poisson(link='softplus'). Fix: pass a supported family name."
    )


def test_family_names_are_case_and_dash_insensitive():
    assert isinstance(xglm._families.get_family("Inverse-Gaussian"), xglm.InverseGaussian)
    assert isinstance(xglm._families.get_family("NEGATIVE BINOMIAL"), xglm.NegativeBinomial)


def test_unknown_link_name():
    msg = _message(XglmError, lambda: xglm.Gamma(link="logit2"))
    assert msg == (
        "link: got 'logit2'; expected one of 'identity', 'log', 'logit', 'probit', "
        "'cloglog', 'inverse', 'inverse_squared', 'sqrt', 'softplus' or an xglm link "
        "object. Fix: pass a supported link name, e.g. link='log'."
    )


@pytest.mark.parametrize(
    ("alpha", "expected"),
    [
        (
            "est",
            "alpha: got 'est'; expected a positive number or 'estimate'. Fix: "
            "NegativeBinomial(alpha=1.0) or NegativeBinomial(alpha='estimate').",
        ),
        (
            -1.0,
            "alpha: got -1.0; expected a positive dispersion (variance is mu + alpha * "
            "mu**2). Fix: pass alpha > 0 or alpha='estimate'.",
        ),
    ],
)
def test_negative_binomial_alpha(alpha, expected):
    assert _message(XglmError, lambda: xglm.NegativeBinomial(alpha=alpha)) == expected


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (
            {"tol": -1},
            "solver_kwargs['tol']: got -1; expected a finite number > 0. Fix: e.g. "
            "solver_kwargs={'tol': 1e-8} (smaller is more accurate and slower).",
        ),
        (
            {"tol": "1e-6"},
            "solver_kwargs['tol']: got '1e-6'; expected a finite number > 0. Fix: e.g. "
            "solver_kwargs={'tol': 1e-8} (smaller is more accurate and slower).",
        ),
        (
            {"tol": float("nan")},
            "solver_kwargs['tol']: got nan; expected a finite number > 0. Fix: e.g. "
            "solver_kwargs={'tol': 1e-8} (smaller is more accurate and slower).",
        ),
        (
            {"maxiter": 0},
            "solver_kwargs['maxiter']: got 0; expected an integer >= 1. Fix: e.g. "
            "solver_kwargs={'maxiter': 500}.",
        ),
        (
            {"maxiter": 10.5},
            "solver_kwargs['maxiter']: got 10.5; expected an integer >= 1. Fix: e.g. "
            "solver_kwargs={'maxiter': 500}.",
        ),
    ],
)
def test_solver_option_values(kwargs, expected):
    assert _message(XglmError, lambda: xglm.GLM(solver_kwargs=kwargs).fit(X, COUNTS)) == expected


def test_nested_list_of_numbers():
    rows = np.asarray(X).tolist()
    assert _message(DesignError, lambda: xglm.GLM().fit(rows, COUNTS)) == (
        f"X: got a list of {len(rows)} rows of numbers; a list or tuple X is a pytree of "
        "predictors, one array per variable whose first axis is the sample axis. Fix: pass "
        "np.asarray(X) for a (n_samples, n_features) table, or a list of arrays, one per "
        "variable."
    )


def test_na_action_value():
    assert _message(XglmError, lambda: xglm.GLM(na_action="omit").fit(X, COUNTS)) == (
        "na_action: got 'omit'; expected 'raise' or 'drop'. Fix: na_action='drop' to drop "
        "rows with missing values, 'raise' to be told."
    )


def test_fit_intercept_value():
    for value in ("yes", 1, None):
        assert _message(XglmError, lambda v=value: xglm.GLM(fit_intercept=v).fit(X, COUNTS)) == (
            f"fit_intercept: got {value!r}; expected True or False. Fix: fit_intercept=True "
            "(the default) to fit an intercept, False for none."
        )


def test_unknown_solver_options():
    msg = _message(XglmError, lambda: xglm.GLM(solver_kwargs={"maxiters": 3}).fit(X, COUNTS))
    assert msg == (
        "solver_kwargs: unknown key(s) ['maxiters']; expected keys among ['maxiter', 'tol']. "
        "Fix: e.g. solver_kwargs={'tol': 1e-8, 'maxiter': 500}."
    )
    msg = _message(XglmError, lambda: xglm.GLM(solver="newtonn").fit(X, COUNTS))
    assert msg.startswith("solver: got 'newtonn'; expected None (automatic) or one of ")
    msg = _message(XglmError, lambda: xglm.GLM(dtype="float16").fit(X, COUNTS))
    assert msg == (
        "dtype: got 'float16'; expected 'float64' or 'float32'. Fix: dtype='float64' "
        "(default) or 'float32' for speed."
    )


# ------------------------------------------------------------------------- weights, offset
@pytest.mark.parametrize("shape", [(N - 1,), (N, 1)])
def test_sample_weight_shape(shape):
    msg = _message(DesignError, lambda: xglm.GLM().fit(X, COUNTS, sample_weight=np.ones(shape)))
    assert msg == (
        f"sample_weight: got shape {shape}; expected (20,), one weight per sample. Fix: "
        "pass a 1-D array of prior weights (trials for Binomial)."
    )


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_sample_weight_values(bad):
    w = _with(np.ones(N), bad)
    msg = _message(DesignError, lambda: xglm.GLM().fit(X, COUNTS, sample_weight=w))
    assert msg == (
        "sample_weight: got negative or non-finite weight(s); expected finite weights >= 0. "
        "Fix: use 0 to exclude a sample."
    )


def test_all_zero_weights():
    msg = _message(DesignError, lambda: xglm.GLM().fit(X, COUNTS, sample_weight=np.zeros(N)))
    assert msg == (
        "sample_weight: all weights are 0; expected some > 0. Fix: give the samples to fit "
        "a weight > 0 (0 excludes a sample)."
    )


@pytest.mark.parametrize("shape", [(N - 1,), (N, 2)])
def test_offset_shape(shape):
    msg = _message(DesignError, lambda: xglm.GLM().fit(X, COUNTS, offset=np.zeros(shape)))
    assert msg == (
        f"offset: got shape {shape}; expected (20,). Fix: one value per sample on the "
        "linear-predictor scale (e.g. np.log(exposure))."
    )


@pytest.mark.parametrize("bad", [np.nan, -np.inf])
def test_offset_values(bad):
    off = _with(np.zeros(N), bad)
    msg = _message(DesignError, lambda: xglm.GLM().fit(X, COUNTS, offset=off))
    assert msg == (
        "offset: found NaN or infinite value(s); expected finite numbers. Fix: an exposure "
        "of 0 gives log(0) = -inf; drop those samples."
    )


# ------------------------------------------------------------------------- rank deficiency
# every fit below uses a (20, 3) design: one compilation
X3 = np.c_[X, X[:, 0] ** 2]


def test_rank_deficient_design_names_the_collinear_columns():
    Xr = np.c_[X, X[:, 0] + 2 * X[:, 1]]
    msg = _message(RankDeficientError, lambda: xglm.GLM().fit(Xr, COUNTS))
    assert msg == (
        "X: the design is rank deficient; these columns are linearly dependent: "
        "x0 ~ x1 ~ x2. Fix: drop one column of each set, or add a Ridge penalty "
        "(regularizer='Ridge')."
    )


def test_rank_deficiency_with_the_intercept_and_labels():
    # a constant column duplicates the intercept; a DataFrame gives readable labels
    df = pd.DataFrame({"speed": X[:, 0], "const": 3.0, "pos": X[:, 1]})
    msg = _message(RankDeficientError, lambda: xglm.GLM().fit(df, COUNTS))
    assert msg == (
        "X: the design is rank deficient; these columns are linearly dependent: "
        "Intercept ~ const. Fix: drop one column of each set, or add a Ridge penalty "
        "(regularizer='Ridge')."
    )
    df = pd.DataFrame({"a": X[:, 0], "zero": 0.0, "b": X[:, 1]})
    msg = _message(RankDeficientError, lambda: xglm.GLM().fit(df, COUNTS))
    assert msg.startswith("X: the design is rank deficient; these columns are linearly "
                          "dependent: zero.")  # fmt: skip


# ------------------------------------------------------------------------- convergence
def test_non_converged_fit_warns():
    with pytest.warns(ConvergenceWarning) as record:
        m = xglm.GLM(solver_kwargs={"maxiter": 2}).fit(X3, COUNTS)
    assert str(record[0].message) == (
        "The 'irls' solver did not converge within maxiter=2 iterations. Fix: raise "
        "solver_kwargs['maxiter'], loosen solver_kwargs['tol'], standardise the "
        "predictors, or add a penalty."
    )
    assert m.converged_ is False


def test_converged_fit_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m = xglm.GLM().fit(X3, COUNTS)
    assert m.converged_ is True


# ------------------------------------------------------------------------- use before fit
@pytest.mark.parametrize("what", ["predict", "summary", "bse_", "coef_"])
def test_not_fitted(what):
    def use():
        m = xglm.GLM()
        attr = getattr(m, what)
        if callable(attr):
            attr(X) if what == "predict" else attr()

    msg = _message(NotFittedError, use)
    assert msg == (
        f"GLM is not fitted yet; expected a fitted model before using {what}. Fix: call "
        "fit(...) first."
    )


def test_predict_type_and_features():
    m = xglm.GLM().fit(X3, COUNTS)
    msg = _message(XglmError, lambda: m.predict(X3, type="mean"))
    assert msg == (
        "type: got 'mean'; expected 'response' (the mean) or 'link' (the linear predictor). "
        "Fix: type='link' for the linear predictor, the default for the mean."
    )
    with pytest.raises(DesignError):
        m.predict(X3[:, :2])


def _fit_warnings(model, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    return [(w.category, str(w.message)) for w in caught]


def test_separated_outcomes_warn_as_r_does_not_rank_deficient():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 1))
    caught = _fit_warnings(xglm.GLM(family="bernoulli"), x, (x[:, 0] > 0).astype(float))
    assert caught == [
        (
            BoundaryWarning,
            "The fitted means reach the boundary of the bernoulli family's support (fitted "
            "probabilities numerically 0 or 1: the predictors separate the outcomes); the "
            "maximum-likelihood estimates are infinite there, so those coefficients and "
            "standard errors are not meaningful. Fix: add a Ridge penalty "
            "(regularizer='Ridge'), or drop the predictors or neurons concerned.",
        )
    ]
    # with a penalty the estimates exist and nothing is reported
    m = xglm.GLM(family="bernoulli", regularizer="Ridge", regularizer_strength=0.1)
    assert _fit_warnings(m, x, (x[:, 0] > 0).astype(float)) == []


def test_a_silent_neuron_is_named_and_the_others_are_unaffected():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 2))
    Y = np.column_stack(
        [rng.poisson(np.exp(0.3 * X[:, 0])), np.zeros(400), rng.poisson(np.exp(-0.2 * X[:, 1]))]
    )
    pop = xglm.PopulationGLM()
    caught = _fit_warnings(pop, X, Y)
    assert caught == [
        (
            BoundaryWarning,
            "The fitted means reach the boundary of the poisson family's support for 1 of 3 "
            "neurons (1) (fitted rates numerically 0: a neuron without spikes, or predictors "
            "that separate the zero counts); the maximum-likelihood estimates are infinite "
            "there, so those coefficients and standard errors are not meaningful. Fix: add a "
            "Ridge penalty (regularizer='Ridge'), or drop the predictors or neurons concerned.",
        )
    ]
    for i in (0, 2):
        one = xglm.GLM().fit(X, Y[:, i])
        np.testing.assert_allclose(pop.coef_[:, i], one.coef_, rtol=1e-10)
        assert pop.converged_[i]
    # the silent neuron stops at once, at the boundary (its rate is eps), and does not
    # hold the others' loop to maxiter
    assert pop.n_iter_[1] == 0 and np.max(pop.n_iter_) < 20
    np.testing.assert_array_equal(pop.coef_[:, 1], 0.0)
    assert pop.intercept_[1] == np.log(np.finfo(float).eps)


def test_negative_binomial_alpha_needs_a_positive_count():
    family = xglm.NegativeBinomial(alpha="estimate")
    msg = _message(ResponseError, lambda: xglm.GLM(family=family).fit(X, np.zeros(len(X))))
    assert msg == (
        "y: every counted response is 0; alpha cannot be estimated without a positive count "
        "(its likelihood is flat in alpha). Fix: pass a fixed alpha, e.g. "
        "NegativeBinomial(alpha=1.0), or use the Poisson family."
    )


def test_negative_binomial_alpha_estimate_is_for_single_neurons():
    family = xglm.NegativeBinomial(alpha="estimate")
    Y = np.ones((len(X), 2))
    msg = _message(XglmError, lambda: xglm.PopulationGLM(family=family).fit(X, Y))
    assert msg == (
        "family: NegativeBinomial(alpha='estimate') is supported for GLM only. Fix: fit "
        "each neuron with GLM, or fix alpha for PopulationGLM."
    )


def test_feature_mask_nested_as_x():
    rng = np.random.default_rng(5)
    n = 200
    Xn = {
        "z": rng.normal(size=(n, 2)),
        "a": {"q": rng.normal(size=n), "b": rng.normal(size=(n, 2))},
    }
    Y = rng.poisson(1.0, (n, 2)).astype(float)
    nested = xglm.PopulationGLM(feature_mask={"z": [1, 0], "a": {"b": [0, 1], "q": [1, 1]}})
    dotted = xglm.PopulationGLM(feature_mask={"z": [1, 0], "a.q": [1, 1], "a.b": [0, 1]})
    nested.fit(Xn, Y)
    dotted.fit(Xn, Y)
    expected = np.array([[1, 0], [1, 0], [1, 1], [0, 1], [0, 1]], float)
    np.testing.assert_array_equal(nested.feature_mask_, expected)
    np.testing.assert_array_equal(dotted.feature_mask_, expected)
    assert np.all(nested.coef_["z"][:, 1] == 0) and np.all(nested.coef_["a"]["b"][:, 0] == 0)
    np.testing.assert_array_equal(nested.coef_["a"]["q"], dotted.coef_["a"]["q"])
    assert _message(
        XglmError,
        lambda: xglm.PopulationGLM(feature_mask={"z": [1, 0], "a": [[1, 1], [0, 1]]}).fit(Xn, Y),
    ) == (
        "feature_mask: got a list of length 2 where X.a has a dict with the keys ['q', 'b']; "
        "expected a pytree with the structure of X, one entry of shape (n_neurons,) per "
        "leaf. Fix: match the structure of X (its leaves: ['z', 'a.q', 'a.b'])."
    )
    # a list is not matched to a dict's entries by position
    Xd = {"x": X[:, 0], "w": X[:, 1]}
    Yd = np.stack([COUNTS, COUNTS[::-1]], axis=1)
    assert _message(
        XglmError, lambda: xglm.PopulationGLM(feature_mask=[[1, 0], [1, 1], [0, 1]]).fit(Xd, Yd)
    ) == (
        "feature_mask: got a list of length 3 where X has a dict with the keys ['x', 'w']; "
        "expected a pytree with the structure of X, one entry of shape (n_neurons,) per "
        "leaf. Fix: match the structure of X (its leaves: ['x', 'w'])."
    )


def test_feature_mask_dict_for_an_array_design():
    Y = np.stack([COUNTS, COUNTS[::-1]], axis=1)
    assert _message(
        XglmError, lambda: xglm.PopulationGLM(feature_mask={"a": np.ones(2)}).fit(X, Y)
    ) == (
        "feature_mask: got a dict with the keys ['a'], but X is a plain array without named "
        "leaves; expected an array of shape (2, 2) = (n_features, n_neurons). Fix: pass a "
        "0/1 array, or pass X as a dict of named arrays to mask by name."
    )


def test_confidence_level_and_random_key_values():
    m = xglm.GLM().fit(X, COUNTS)
    expected = (
        "level: got 1.5; expected a number in (0, 1), e.g. 0.95. Fix: pass the confidence "
        "level as a fraction, e.g. level=0.95 for 95%."
    )
    assert _message(XglmError, lambda: m.summary(level=1.5)) == expected
    assert _message(XglmError, lambda: m.summary_text(level=1.5)) == expected
    assert _message(XglmError, lambda: m.simulate(X, random_key="x")) == (
        "random_key: got 'x'; expected an integer seed or a JAX random key. Fix: e.g. "
        "random_key=0, or random_key=jax.random.PRNGKey(0)."
    )
    import jax

    a, _ = m.simulate(X, random_key=np.int64(3))
    b, _ = m.simulate(X, random_key=jax.random.PRNGKey(3))
    np.testing.assert_array_equal(a, b)
