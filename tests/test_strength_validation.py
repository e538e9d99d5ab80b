"""Every accepted form of ``regularizer_strength``, and clear errors for the rest.

Most checks resolve the strength without fitting (``resolve_penalty`` on the design's
layout, which is what ``fit`` does before any compilation); errors are raised through
the public ``fit``. A few fits check that equivalent spellings give identical models.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import xarray as xr

import xglm
from xglm._design import design_from_arrays
from xglm._penalties import get_regularizer
from xglm._strength import resolve_penalty
from xglm.errors import PenaltyError

RNG = np.random.default_rng(0)
N = 500  # the shapes of the seed examples: their compiled solvers are reused
A, B = 0.5 * RNG.normal(size=(N, 5)), 0.5 * RNG.normal(size=(N, 2))
Y = RNG.poisson(np.exp(0.5 + A @ np.full(5, 0.2) - B @ [0.3, 0.1])).astype(float)
Y2 = np.stack([Y, RNG.poisson(np.exp(0.2 + A[:, 0]))], axis=1).astype(float)
XD = {"f1": A, "f2": B}
XA = np.concatenate([A, B], axis=1)


def resolve(reg, strength, X=XD, k=None):
    """``PenaltyArrays`` as a fit would build them, as numpy arrays."""
    pen = resolve_penalty(get_regularizer(reg), strength, design_from_arrays(X).layout, k)
    return {
        "l2": np.asarray(pen.l2),
        "l1": np.asarray(pen.l1),
        "group_alpha": np.asarray(pen.group_alpha),
        "group_index": np.asarray(pen.group_index),
    }


def raises_exactly(message, fn, *args, **kwargs):
    with pytest.raises(PenaltyError) as info:
        fn(*args, **kwargs)
    assert str(info.value) == message
    return info.value


def fit(reg, strength, X=XD, y=Y, population=False, **kw):
    cls = xglm.PopulationGLM if population else xglm.GLM
    model = cls(regularizer=reg, regularizer_strength=strength, **kw)
    return model.fit(X, y)


# ---------------------------------------------------------------- values
def test_negative_and_non_finite_strengths():
    raises_exactly(
        "regularizer_strength: got negative value(s) (min -0.1); expected strengths >= 0. "
        "Fix: use 0 for no penalty and positive numbers otherwise.",
        fit,
        "Ridge",
        -0.1,
    )
    raises_exactly(
        "regularizer_strength: got negative value(s) (min -2); expected strengths >= 0. "
        "Fix: use 0 for no penalty and positive numbers otherwise.",
        fit,
        "Lasso",
        {"f1": 0.1, "f2": [0.1, -2.0]},
    )
    raises_exactly(
        "regularizer_strength: got non-finite value(s); expected finite numbers >= 0. "
        "Fix: replace NaN/inf strengths.",
        fit,
        "Ridge",
        np.array([0.1, np.nan, 0, 0, 0, 0, 0]),
    )
    with pytest.raises(PenaltyError, match=r"negative value\(s\) \(min -1\)"):
        fit("GroupLasso", [0.1, -1.0])
    with pytest.raises(PenaltyError, match="expected numbers"):
        fit("Ridge", "strong")
    # 0 is allowed and means unpenalized
    assert np.all(resolve("Ridge", 0.0)["l2"] == 0)


def test_elastic_net_ratio_outside_unit_interval():
    for ratio in (0, 1.5, -0.5):
        with pytest.raises(PenaltyError) as info:
            xglm.ElasticNet(ratio=ratio)
        assert str(info.value) == (
            f"ratio: got {ratio!r}; expected a number in (0, 1] (the L1 share). Fix: "
            "ElasticNet(ratio=0.5); use Ridge for a pure L2 penalty."
        )
    raises_exactly(
        "regularizer_strength: the ElasticNet ratio must be in (0, 1]; got values in "
        "[1.5, 1.5]. Fix: pass (strength, ratio) with 0 < ratio <= 1; use Ridge for a "
        "pure L2 penalty.",
        fit,
        "ElasticNet",
        (1.0, 1.5),
    )
    raises_exactly(
        "regularizer_strength: the ElasticNet ratio must be in (0, 1]; got values in "
        "[-0.5, 0.5]. Fix: pass (strength, ratio) with 0 < ratio <= 1; use Ridge for a "
        "pure L2 penalty.",
        fit,
        "ElasticNet",
        (1.0, {"f1": 0.5, "f2": [-0.5, 0.5]}),
    )
    with pytest.raises(PenaltyError, match=re.escape("got values in [0, 0.5]")):
        fit("ElasticNet", (1.0, {"f1": 0.5, "f2": [0.0, 0.5]}))
    # ratio 1 is the lasso; the object's ratio applies when no tuple is given
    pen = resolve("ElasticNet", (0.2, 1.0))
    assert np.allclose(pen["l1"], 0.2) and np.all(pen["l2"] == 0)
    pen = resolve(xglm.ElasticNet(ratio=0.25), 0.4)
    assert np.allclose(pen["l1"], 0.1) and np.allclose(pen["l2"], 0.3)
    # per-feature strengths and ratios, as pytrees
    pen = resolve("ElasticNet", ({"f1": 1.0, "f2": [2.0, 4.0]}, {"f1": 0.5, "f2": [0.25, 1.0]}))
    np.testing.assert_allclose(pen["l1"], [0.5] * 5 + [0.5, 4.0])
    np.testing.assert_allclose(pen["l2"], [0.5] * 5 + [1.5, 0.0])


# ---------------------------------------------------------------- structure
def test_strength_pytree_with_wrong_keys_or_shapes():
    raises_exactly(
        "regularizer_strength: the strength pytree has keys ['f1', 'f3'], which do not "
        "match the keys of X ['f1', 'f2'] (missing: ['f2'], unknown: ['f3']). Fix: give "
        "one entry per key of X, or a single number.",
        fit,
        "Ridge",
        {"f1": 0.1, "f3": 0.2},
    )
    raises_exactly(
        "regularizer_strength: the entry for 'f1' has shape (2,); expected a scalar or "
        "shape (5,) to match the 5 coefficient(s) of 'f1'. Fix: give one strength per "
        "coefficient of that term, or a single number.",
        fit,
        "Ridge",
        {"f1": [0.1, 0.2], "f2": 0.1},
    )
    raises_exactly(
        "regularizer_strength: got an array of shape (3,); expected a scalar or shape (7,) "
        "for 7 feature(s). Fix: pass one strength per feature, or a single number, or a "
        "pytree matching X.",
        fit,
        "Ridge",
        [0.1, 0.2, 0.3],
    )
    raises_exactly(
        "regularizer_strength: got a dict of strengths but X is a plain array without "
        "named terms. Fix: pass a scalar or an array with one strength per feature, or "
        "pass X as a dict of named arrays.",
        fit,
        "Ridge",
        {"f1": 0.1},
        X=XA,
    )
    raises_exactly(
        "regularizer_strength: the strength pytree is a list of length 3; expected a list "
        "or tuple of length 2 (one entry per element of X). Fix: pass one strength per "
        "leaf of X, or a single number.",
        fit,
        "Ridge",
        [0.1, [0.2, 0.3], 0.4],
        X=[A, B],
    )
    # nested pytrees: the path of the offending entry is named
    nested = {"a": A, "b": [B, A[:, :1]]}
    raises_exactly(
        "regularizer_strength: the entry ['b'] is a list of length 1; expected a list or "
        "tuple of length 2 (one entry per element of X['b']). Fix: pass one strength per "
        "leaf of X, or a single number.",
        fit,
        "Ridge",
        {"a": 0.1, "b": [0.2]},
        X=nested,
    )
    pen = resolve("Ridge", {"b": [[0.2, 0.3], 0.4], "a": 0.1}, X=nested)
    np.testing.assert_allclose(pen["l2"], [0.1] * 5 + [0.2, 0.3, 0.4])


def test_dict_strengths_in_any_key_order_and_lists_inside():
    ref = resolve("Ridge", np.array([0.1, 0.3, 0.3, 0.1, 1.0, 0.2, 0.1]))["l2"]
    for strength in (
        {"f1": [0.1, 0.3, 0.3, 0.1, 1.0], "f2": [0.2, 0.1]},
        {"f2": (0.2, 0.1), "f1": np.array([0.1, 0.3, 0.3, 0.1, 1.0])},
        [0.1, 0.3, 0.3, 0.1, 1.0, 0.2, 0.1],  # a flat list: one per feature
    ):
        np.testing.assert_array_equal(resolve("Ridge", strength)["l2"], ref)


def test_list_strength_for_list_X():
    # NeMoS raises on this combination; xglm matches leaves by position
    for X, strength in (
        ([A, B], [0.1, 0.4]),
        ((A, B), (0.1, 0.4)),
        ([A, B], [0.1, [0.4, 0.4]]),
        ([A, B], [[0.1] * 5, np.array([0.4, 0.4])]),
    ):
        np.testing.assert_array_equal(resolve("Ridge", strength, X)["l2"], [0.1] * 5 + [0.4] * 2)
    as_list = fit("Ridge", [0.1, 0.4], X=[A, B])
    as_dict = fit("Ridge", {"f1": 0.1, "f2": 0.4})
    assert isinstance(as_list.coef_, list)
    np.testing.assert_allclose(np.concatenate(as_list.coef_), np.concatenate(list(as_dict.coef_.values())), rtol=1e-12)  # fmt: skip
    # GroupLasso on a list X: one group per element
    pen = resolve("GroupLasso", [0.1, 0.4], [A, B])
    np.testing.assert_allclose(pen["group_alpha"], [0.1 * np.sqrt(5), 0.4 * np.sqrt(2)])


# ---------------------------------------------------------------- defaults and warnings
def test_none_strength_with_a_regularizer_warns_and_uses_one():
    for reg in ("Ridge", "Lasso", "ElasticNet", "GroupLasso"):
        with pytest.warns(UserWarning) as record:
            pen = resolve(reg, None)
        assert str(record[0].message) == (
            f"regularizer_strength is None for {reg}; using 1.0. Fix: pass "
            "regularizer_strength explicitly."
        )
        total = pen["l1"] + pen["l2"]
        if reg == "GroupLasso":
            np.testing.assert_allclose(pen["group_alpha"], np.sqrt([5, 2]))
        else:
            np.testing.assert_allclose(total, 1.0)


def test_strength_for_unregularized_warns_and_is_ignored():
    for reg in (None, "UnRegularized", xglm.UnRegularized()):
        with pytest.warns(UserWarning) as record:
            pen = resolve(reg, 0.1)
        assert str(record[0].message) == (
            "regularizer_strength=0.1 is ignored because the regularizer is UnRegularized. "
            "Fix: set regularizer='Ridge' (or another penalty), or leave "
            "regularizer_strength=None."
        )
        assert not pen["l2"].any() and not pen["l1"].any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve(None, None)  # the default: no warning


def test_unknown_regularizer():
    with pytest.raises(PenaltyError) as info:
        fit("Ridges", 0.1)
    assert str(info.value) == (
        "regularizer: got 'Ridges'; expected None or one of 'UnRegularized', 'Ridge', "
        "'Lasso', 'ElasticNet', 'GroupLasso' or an xglm regularizer object. Fix: e.g. "
        "regularizer='Ridge'."
    )


# ---------------------------------------------------------------- per-neuron strengths
def test_per_neuron_strengths_broadcast():
    X = XA[:, :3]  # p = 3, k = 4
    k = 4
    s_neuron = np.array([0.1, 0.2, 0.3, 0.4])
    s_feature = np.array([1.0, 2.0, 3.0])
    full = np.arange(12.0).reshape(3, 4) / 10
    np.testing.assert_array_equal(resolve("Ridge", s_neuron, X, k)["l2"], np.tile(s_neuron, (3, 1)))
    np.testing.assert_array_equal(resolve("Ridge", s_feature, X, k)["l2"], np.repeat(s_feature[:, None], 4, 1))  # fmt: skip
    np.testing.assert_array_equal(resolve("Ridge", full, X, k)["l2"], full)
    np.testing.assert_array_equal(resolve("Ridge", s_neuron[None, :], X, k)["l2"], np.tile(s_neuron, (3, 1)))  # fmt: skip
    np.testing.assert_array_equal(resolve("Ridge", 0.5, X, k)["l2"], np.full((3, 4), 0.5))
    # pytree leaves: scalar, (k,), leaf shape, or leaf shape + (k,)
    pen = resolve("Lasso", {"f1": [0.1, 0.2], "f2": [[1, 2], [3, 4]]}, XD, 2)
    np.testing.assert_array_equal(pen["l1"], [[0.1, 0.2]] * 5 + [[1, 2], [3, 4]])
    # GroupLasso: (G,), (k,), (G, k)
    pen = resolve("GroupLasso", [0.1, 0.2, 0.3], XD, 3)
    np.testing.assert_allclose(pen["group_alpha"], np.sqrt([[5], [2]]) * [0.1, 0.2, 0.3])
    pen = resolve("GroupLasso", [[0.1, 0.2, 0.3], [1, 2, 3]], XD, 3)
    np.testing.assert_allclose(pen["group_alpha"], np.sqrt([[5], [2]]) * [[0.1, 0.2, 0.3], [1, 2, 3]])  # fmt: skip
    with pytest.raises(PenaltyError, match=r"got shape \(4,\); expected a scalar or one strength"):
        resolve("GroupLasso", [0.1, 0.2, 0.3, 0.4], XD, 3)


def test_ambiguous_per_feature_or_per_neuron_strength():
    # as many features as neurons: a 1-D strength could mean either
    raises_exactly(
        "regularizer_strength: got shape (2,), but X has 2 features and the fit has 2 "
        "neurons, so it could mean one strength per feature or one per neuron. Fix: pass "
        "the full shape (2, 2): np.repeat(s[:, None], 2, axis=1) for per-feature strengths "
        "s, or np.tile(s, (2, 1)) for per-neuron strengths s.",
        fit,
        "Ridge",
        np.array([0.1, 0.2]),
        X=B,
        y=Y2,
        population=True,
    )
    with pytest.raises(PenaltyError, match=r"but 'f2' has 2 coefficient\(s\) and the fit"):
        resolve("Ridge", {"f1": 0.1, "f2": [0.1, 0.2]}, XD, 2)
    with pytest.raises(PenaltyError, match="but there are 2 groups and the fit has 2 neurons"):
        resolve("GroupLasso", [0.1, 0.2], XD, 2)
    # the full shape is unambiguous
    pen = resolve("Ridge", {"f1": 0.1, "f2": [[0.1, 0.2], [0.1, 0.2]]}, XD, 2)
    np.testing.assert_array_equal(pen["l2"][5:], [[0.1, 0.2], [0.1, 0.2]])


def test_per_neuron_fit_equals_single_fits():
    kw = {}  # default solver settings, as in the seed examples
    pop = fit("Ridge", np.array([0.05, 0.5]), y=Y2, population=True, **kw)
    for i, s in enumerate([0.05, 0.5]):
        one = fit("Ridge", s, y=Y2[:, i], **kw)
        for key in ("f1", "f2"):
            np.testing.assert_allclose(pop.coef_[key][:, i], one.coef_[key], atol=1e-8)


# ---------------------------------------------------------------- DataArray strengths
def test_dataarray_strengths():
    by_term = xr.DataArray([0.4, 0.1], dims="term", coords={"term": ["f2", "f1"]})
    np.testing.assert_array_equal(resolve("Ridge", by_term)["l2"], [0.1] * 5 + [0.4] * 2)
    labels = [f"f1[{i}]" for i in range(5)] + ["f2[0]", "f2[1]"]
    values = np.arange(7) / 10
    by_feature = xr.DataArray(values[::-1], dims="feature", coords={"feature": labels[::-1]})
    np.testing.assert_array_equal(resolve("Lasso", by_feature)["l1"], values)
    by_neuron = xr.DataArray([0.1, 0.2], dims="neuron")
    np.testing.assert_array_equal(resolve("Ridge", by_neuron, XD, 2)["l2"], [[0.1, 0.2]] * 7)
    term_neuron = xr.DataArray(
        [[1.0, 2.0], [3.0, 4.0]], dims=("neuron", "term"), coords={"term": ["f1", "f2"]}
    )
    np.testing.assert_array_equal(
        resolve("Ridge", term_neuron, XD, 2)["l2"], [[1.0, 3.0]] * 5 + [[2.0, 4.0]] * 2
    )
    # ElasticNet: (strength, ratio) with DataArray parts
    pen = resolve("ElasticNet", (by_term, 0.5))
    np.testing.assert_allclose(pen["l1"], [0.05] * 5 + [0.2] * 2)
    # the same model as the equivalent dict
    kw = {}  # default solver settings, as in the seed examples
    a = fit("Ridge", by_term, **kw)
    b = fit("Ridge", {"f1": 0.1, "f2": 0.4}, **kw)
    np.testing.assert_array_equal(a.coef_["f2"], b.coef_["f2"])


def test_dataarray_strengths_with_labelled_data():
    """DataFrame predictors and responses: strengths aligned by feature and neuron label."""
    import pandas as pd

    from xglm._design import prepare

    X = pd.DataFrame({"speed": A[:, 0], "position": A[:, 1]})
    Yd = pd.DataFrame({"n1": Y2[:, 0], "n2": Y2[:, 1]})
    design, response = prepare(X, Yd, population=True)
    strength = xr.DataArray(
        [[0.2, 0.1], [2.0, 1.0]],
        dims=("feature", "neuron"),
        coords={"feature": ["position", "speed"], "neuron": ["n2", "n1"]},
    )
    pen = resolve_penalty(
        get_regularizer("Ridge"), strength, design.layout, 2,
        neuron_labels=response.neuron_labels,
    )  # fmt: skip
    # rows in X's column order (speed, position), columns in y's neuron order (n1, n2)
    np.testing.assert_array_equal(np.asarray(pen.l2), [[1.0, 2.0], [0.1, 0.2]])
    bad = strength.assign_coords(neuron=["n2", "n3"])
    with pytest.raises(PenaltyError, match=r"neuron labels \['n2', 'n3'\] do not match"):
        resolve_penalty(
            get_regularizer("Ridge"), bad, design.layout, 2, neuron_labels=response.neuron_labels
        )


def test_dataarray_strength_errors():
    raises_exactly(
        "regularizer_strength: got a DataArray with dims ('time',); expected dims among "
        "('feature' or 'term', 'neuron'). Fix: label strengths by feature, by term and/or "
        "by neuron.",
        resolve,
        "Ridge",
        xr.DataArray([0.1, 0.2], dims="time"),
    )
    raises_exactly(
        "regularizer_strength: the DataArray's terms ['f1', 'f3'] do not match the model's "
        "terms ['f1', 'f2'] (missing: ['f2'], unknown: ['f3']). Fix: give one strength per "
        "term, labelled by term name.",
        resolve,
        "Ridge",
        xr.DataArray([0.1, 0.2], dims="term", coords={"term": ["f1", "f3"]}),
    )
    with pytest.raises(PenaltyError, match="feature labels"):
        resolve("Ridge", xr.DataArray([0.1] * 7, dims="feature", coords={"feature": list("abcdefg")}))  # fmt: skip
    raises_exactly(
        "regularizer_strength: got a DataArray of sizes {'feature': 3}; expected "
        "{'feature': 7} (or a 'term' dim with one entry per term). Fix: one strength per "
        "feature.",
        resolve,
        "Ridge",
        xr.DataArray([0.1, 0.2, 0.3], dims="feature"),
    )
    with pytest.raises(PenaltyError, match="'neuron' dim for a single-neuron fit"):
        resolve("Ridge", xr.DataArray([0.1, 0.2], dims="neuron"))
    with pytest.raises(PenaltyError, match=r"expected \{'feature': 7, 'neuron': 2\}"):
        resolve("Ridge", xr.DataArray([0.1, 0.2, 0.3], dims="neuron"), XD, 2)


# ---------------------------------------------------------------- GroupLasso masks
def test_group_lasso_masks_and_per_group_strengths():
    ids = np.array([0, 0, 1, 1, 1, 2, -1])
    mask01 = np.array(
        [[1, 1, 0, 0, 0, 0, 0], [0, 0, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 1, 0]], dtype=float
    )
    alpha = [0.1, 0.2, 0.3]
    expected = np.array(alpha) * np.sqrt([2, 3, 1])
    for reg in (xglm.GroupLasso(mask=ids), xglm.GroupLasso(mask=mask01)):
        pen = resolve(reg, alpha, XA)
        np.testing.assert_array_equal(pen["group_index"], ids)
        np.testing.assert_allclose(pen["group_alpha"], expected)
        assert not pen["l1"].any() and not pen["l2"].any()
    # ids need not be contiguous; dict strengths are keyed by id (or its string)
    gappy = xglm.GroupLasso(mask=np.array([3, 3, 7, 7, 7, 9, -1]))
    for strength in ({3: 0.1, 7: 0.2, 9: 0.3}, {"9": 0.3, "3": 0.1, "7": 0.2}):
        pen = resolve(gappy, strength, XA)
        np.testing.assert_array_equal(pen["group_index"], ids)
        np.testing.assert_allclose(pen["group_alpha"], expected)
    # default groups are X's leaves, keyed by name
    pen = resolve("GroupLasso", {"f2": 0.4, "f1": 0.1})
    np.testing.assert_allclose(pen["group_alpha"], [0.1 * np.sqrt(5), 0.4 * np.sqrt(2)])
    np.testing.assert_array_equal(pen["group_index"], [0] * 5 + [1] * 2)
    # the same fit whichever way the groups are given
    kw = {}  # default solver settings, as in the seed examples
    a = fit(xglm.GroupLasso(mask=ids), alpha, X=XA, **kw)
    b = fit(xglm.GroupLasso(mask=mask01), {"0": 0.1, "1": 0.2, "2": 0.3}, X=XA, **kw)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12, atol=1e-15)


def test_group_lasso_mask_and_strength_errors():
    raises_exactly(
        "GroupLasso mask: got a vector of shape (3,); expected 7 integer group ids (-1 for "
        "unpenalized). Fix: one id per feature.",
        resolve,
        xglm.GroupLasso(mask=np.array([0, 1, 1])),
        0.1,
        XA,
    )
    raises_exactly(
        "GroupLasso mask: got shape (2, 6); expected (n_groups, 7) with 0/1 entries. Fix: "
        "one row per group, one column per feature.",
        resolve,
        xglm.GroupLasso(mask=np.ones((2, 6))),
        0.1,
        XA,
    )
    with pytest.raises(PenaltyError, match="entries must be 0 or 1"):
        resolve(xglm.GroupLasso(mask=np.full((2, 7), 0.5)), 0.1, XA)
    raises_exactly(
        "GroupLasso mask: feature 0 belongs to more than one group; expected each feature "
        "in at most one group. Fix: make the groups disjoint.",
        resolve,
        xglm.GroupLasso(mask=np.ones((2, 7))),
        0.1,
        XA,
    )
    raises_exactly(
        "regularizer_strength: got shape (3,); expected a scalar or one strength per group "
        "(2 groups: ['f1', 'f2']). Fix: give the strengths in group order.",
        fit,
        "GroupLasso",
        [0.1, 0.2, 0.3],
    )
    raises_exactly(
        "regularizer_strength: group keys ['f1', 'speed'] do not match the groups ['f1', "
        "'f2'] (missing: ['f2'], unknown: ['speed']). Fix: one strength per group.",
        fit,
        "GroupLasso",
        {"f1": 0.1, "speed": 0.2},
    )


def test_group_strengths_keyed_by_the_short_labels_of_formula_terms():
    # with a formula the default groups are its terms; a dict of strengths may name them
    # by their short labels ("position" for bs(position, df=5)), as Ridge and Lasso
    # strengths may
    import pandas as pd

    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame(
        {
            "position": rng.uniform(0, 1, n),
            "speed": rng.normal(size=n),
            "trial": rng.choice(["a", "b", "c"], n),
        }
    )
    df["spikes"] = rng.poisson(np.exp(0.2 + np.sin(3 * df.position)))
    f = "spikes ~ bs(position, df=5) + speed + C(trial)"
    short = {"position": 0.01, "speed": 0.05, "trial": 0.02}
    full = {"bs(position, df=5)": 0.01, "speed": 0.05, "C(trial)": 0.02}
    a = xglm.glm(f, data=df, regularizer="GroupLasso", regularizer_strength=short)
    b = xglm.glm(f, data=df, regularizer="GroupLasso", regularizer_strength=full)
    np.testing.assert_array_equal(a.coef_.values, b.coef_.values)
    with pytest.raises(PenaltyError) as info:
        xglm.glm(f, data=df, regularizer="GroupLasso", regularizer_strength={**short, **full})
    assert str(info.value) == (
        "regularizer_strength: group keys ['position', 'speed', 'trial', "
        "'bs(position, df=5)', 'C(trial)'] name a group twice (a term and its short label). "
        "Fix: one key per group."
    )


def test_group_strengths_nested_as_x():
    # the default groups are the leaves of X; strengths may be nested as X is, or keyed
    # by the leaves' dotted names
    X = {"z": A[:, :2], "a": {"q": A[:, 2], "b": B}}
    nested = resolve("GroupLasso", {"z": 0.1, "a": {"b": 0.3, "q": 0.2}}, X)
    dotted = resolve("GroupLasso", {"a.b": 0.3, "z": 0.1, "a.q": 0.2}, X)
    np.testing.assert_array_equal(nested["group_alpha"], dotted["group_alpha"])
    # strength times sqrt(group size), groups in the order of X's leaves
    np.testing.assert_allclose(
        nested["group_alpha"], [0.1 * np.sqrt(2), 0.2, 0.3 * np.sqrt(2)], rtol=1e-15
    )
    np.testing.assert_array_equal(nested["group_index"], [0, 0, 1, 2, 2])


def test_group_strengths_are_one_number_per_group():
    raises_exactly(
        "regularizer_strength: the strength of group 'f1' has shape (2,); expected a "
        "scalar: GroupLasso penalizes each group as a whole, with one strength. Fix: give "
        "one number per group; for per-feature strengths use Lasso or Ridge.",
        fit,
        "GroupLasso",
        {"f1": [0.1, 0.2], "f2": 0.1},
    )
    raises_exactly(
        "regularizer_strength: the strength of group 'f2' has shape (3,); expected a "
        "scalar or one per neuron, shape (2,): GroupLasso penalizes each group as a whole, "
        "with one strength. Fix: give one number per group; for per-feature strengths use "
        "Lasso or Ridge.",
        fit,
        "GroupLasso",
        {"f1": [0.1, 0.2], "f2": [0.1, 0.2, 0.3]},
        y=Y2,
        population=True,
    )


def test_elastic_net_tuples_other_than_strength_and_ratio():
    raises_exactly(
        "regularizer_strength: got a tuple of 3 for ElasticNet; expected (strength, ratio), "
        "a single strength, or per-feature strengths as a list or array. Fix: pass "
        "(strength, ratio), e.g. (0.1, 0.5).",
        fit,
        "ElasticNet",
        (0.05, 0.5, 0.2),
        XA,
    )
    # for a tuple X, a tuple of as many entries is one strength per entry of X
    pen = resolve("ElasticNet", (0.1, 0.2, 0.4), (A[:, 0], A[:, 1], B))
    np.testing.assert_allclose(pen["l1"], [0.05, 0.1, 0.2, 0.2])
    np.testing.assert_allclose(pen["l2"], [0.05, 0.1, 0.2, 0.2])


def test_neuron_labels_of_strengths_for_a_plain_response():
    labelled = xr.DataArray([0.1, 0.2], dims=("neuron",), coords={"neuron": ["p", "q"]})
    raises_exactly(
        "regularizer_strength: the DataArray's neuron labels ['p', 'q'] cannot be matched to "
        "y, a plain array whose neurons are the positions [0, 1]. Fix: label the strengths "
        "0..n_neurons-1, drop the neuron coordinate, or pass y as a labelled DataArray or "
        "DataFrame.",
        fit,
        "Ridge",
        labelled,
        y=Y2,
        population=True,
    )
    by_position = xr.DataArray([0.1, 0.2], dims=("neuron",), coords={"neuron": [0, 1]})
    pen = resolve("Ridge", by_position, XD, k=2)
    np.testing.assert_array_equal(pen["l2"], np.tile([0.1, 0.2], (7, 1)))
