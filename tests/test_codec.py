"""The model-file codec: every supported value survives JSON exactly; anything else is
refused with the path to it; the decoder builds allow-listed types only."""

from __future__ import annotations

import json
import math
from collections import namedtuple

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import xglm
from xglm._codec import Unsavable, decode, encode
from xglm.errors import FileFormatError

Pair = namedtuple("Pair", ["left", "right"])


def _through_json(value):
    return decode(json.loads(json.dumps(encode(value), allow_nan=True)))


def _assert_same(a, b):
    assert type(a) is type(b) or (isinstance(a, tuple) and isinstance(b, tuple)), (a, b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        -0.25,
        float("nan"),
        float("inf"),
        "rate",
        np.float32(1.5),
        np.int64(7),
        np.array([[1.0, np.nan], [np.inf, -0.0]]),
        np.array([1, 2, 3], np.int32),
        np.array([True, False]),
        np.array(["a", "bb"]),
        np.zeros((0, 3)),
        (1, "x", (2.0,)),
        [1, [2, [3]]],
        # key order is kept, including keys that do not sort
        {"z": 1, "a": {"y": [1, 2], "b": (3,)}, 2: "int key"},
    ],
    ids=repr,
)
def test_plain_values_round_trip_exactly(value):
    _assert_same(value, _through_json(value))


def test_scalars_keep_their_numpy_type():
    out = _through_json({"a": np.float32(0.1), "b": np.int16(-3)})
    assert type(out["a"]) is np.float32 and out["a"] == np.float32(0.1)
    assert type(out["b"]) is np.int16 and out["b"] == -3


def test_named_tuples_and_jax_arrays():
    out = _through_json(Pair(np.arange(3.0), jnp.asarray([1.0, 2.0])))
    assert out._fields == ("left", "right")
    np.testing.assert_array_equal(out.left, np.arange(3.0))
    assert isinstance(out.right, type(jnp.asarray(0.0)))
    np.testing.assert_array_equal(np.asarray(out.right), [1.0, 2.0])
    kind = _through_json(Pair)
    assert kind._fields == ("left", "right") and kind.__name__ == "Pair"


@pytest.mark.parametrize(
    "obj",
    [
        xglm.Poisson(link="softplus"),
        xglm.Gamma(link="inverse"),
        xglm.NegativeBinomial(alpha=0.7, link="log"),
        xglm.NegativeBinomial(alpha="estimate"),
        xglm.Ridge(),
        xglm.ElasticNet(),
        xglm.GroupLasso(mask=np.array([[1, 1, 0], [0, 0, 1]])),
    ],
    ids=repr,
)
def test_families_and_regularizers_round_trip(obj):
    out = _through_json(obj)
    assert type(out) is type(obj)
    assert repr(out) == repr(obj)
    if hasattr(obj, "link"):
        assert out.link.name == obj.link.name
    if hasattr(obj, "estimate_alpha"):
        assert out.estimate_alpha == obj.estimate_alpha
    if getattr(obj, "mask", None) is not None:
        np.testing.assert_array_equal(np.asarray(out.mask), np.asarray(obj.mask))


def test_labelled_values_round_trip():
    da = xr.DataArray(
        np.array([[1.0, 2.0], [3.0, 4.0]]),
        dims=("feature", "neuron"),
        coords={"feature": ["a", "b"], "neuron": [10, 20], "term": ("feature", ["t", "t"])},
        name="coef",
        attrs={"unit": "Hz"},
    )
    out = _through_json(da)
    xr.testing.assert_identical(out, da)
    for index in (pd.RangeIndex(2, 10, 3, name="t"), pd.Index(["x", "y"], name="trial")):
        back = _through_json(index)
        pd.testing.assert_index_equal(back, index, exact=True)
        assert back.name == index.name


def test_unsavable_values_name_their_path():
    with pytest.raises(Unsavable) as info:
        encode({"ok": 1, "bad": [1, object()]})
    assert info.value.path == "value['bad'][1]"
    with pytest.raises(Unsavable) as info:
        encode(np.array([1 + 2j]), "coef_")
    assert info.value.path == "coef_"
    with pytest.raises(Unsavable):
        encode(lambda x: x)


def test_decoder_refuses_unknown_classes():
    with pytest.raises(FileFormatError, match="refusing to build"):
        decode({"__xglm_dataclass__": "os:system", "fields": {}})
    with pytest.raises(FileFormatError, match="unknown xglm class"):
        decode({"__xglm_object__": "Popen", "fields": {}})
    with pytest.raises(FileFormatError, match="unknown formulaic class"):
        decode({"__formulaic_object__": "Popen", "fields": {}})
    with pytest.raises(FileFormatError, match="unknown tag"):
        decode({"__pickle__": "..."})
    with pytest.raises(FileFormatError, match="unexpected entry"):
        decode({})
