"""Save/load round trips compare every saved value; damaged files raise clear errors."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import re
from collections import namedtuple

import numpy as np
import pandas as pd
import pytest

import xglm
from xglm.errors import FileFormatError, XglmError

N = 120
HAS_ZARR = importlib.util.find_spec("zarr") is not None


def _labelled_available() -> bool:
    try:
        import xglm._design._labelled  # noqa: F401
    except ImportError:
        return False
    return True


# ----------------------------------------------------------------------------- comparison
def _same(a, b, where):
    """Deep equality with types, NaN == NaN, arrays bitwise."""
    import jax
    import xarray as xr

    if isinstance(a, jax.Array) or isinstance(b, jax.Array):
        assert type(a) is type(b), where
        a, b = np.asarray(a), np.asarray(b)
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert a.tobytes() == b.tobytes() or np.array_equal(a, b, equal_nan=True), where
        return
    if isinstance(a, xr.DataArray):
        assert a.identical(b), where
        return
    if isinstance(a, pd.Index):
        assert type(a) is type(b) and a.equals(b) and a.name == b.name, where
        return
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where
        for key in a:
            _same(a[key], b[key], f"{where}[{key!r}]")
        return
    if isinstance(a, (list, tuple)):
        assert type(a) is type(b) or (
            hasattr(a, "_fields") and hasattr(b, "_fields") and a._fields == b._fields
        ), where
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _same(x, y, f"{where}[{i}]")
        return
    if isinstance(a, type):  # namedtuple classes in layout structures
        assert a.__name__ == b.__name__ and a._fields == b._fields, where
        return
    if isinstance(a, (xglm.Family, xglm.Link, xglm.Regularizer)):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
        return
    if type(a).__module__.startswith("formulaic"):
        assert repr(a) == repr(b), where
        return
    if dataclasses.is_dataclass(a):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
        return
    if isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), where
        return
    assert type(a) is type(b), f"{where}: {type(a)} vs {type(b)}"
    assert a == b, f"{where}: {a!r} vs {b!r}"


def assert_same_model(m, m2, X, y=None, offset=None, simulate=False):
    """Every attribute of the loaded model equals the original's, and so do outputs."""
    assert type(m) is type(m2)
    skip = {"design_", "response_", "penalty_"}
    assert set(vars(m)) == set(vars(m2))
    for name, value in vars(m).items():
        if name not in skip:
            _same(value, getattr(m2, name), name)
    for f in ("l2", "l1", "group_alpha", "group_index", "has_l1", "has_group"):
        _same(getattr(m.penalty_, f), getattr(m2.penalty_, f), f"penalty_.{f}")
    for f in dataclasses.fields(m.design_):
        if f.name in ("X", "sample_coords", "offset"):
            continue
        _same(getattr(m.design_, f.name), getattr(m2.design_, f.name), f"design_.{f.name}")
    assert m2.design_.X.shape == (0, m.design_.X.shape[1])
    for f in dataclasses.fields(m.response_):
        if f.name in ("y", "sample_coords"):
            continue
        _same(getattr(m.response_, f.name), getattr(m2.response_, f.name), f"response_.{f.name}")
    # outputs
    _same(m.coef_, m2.coef_, "coef_")
    _same(m.intercept_, m2.intercept_, "intercept_")
    p1, p2 = m.predict(X, offset=offset), m2.predict(X, offset=offset)
    _same(p1, p2, "predict")
    _same(
        m.predict(X, offset=offset, type="link"), m2.predict(X, offset=offset, type="link"), "link"
    )
    pd.testing.assert_frame_equal(m.summary(), m2.summary(), check_exact=True)
    c1, c2 = m.cov_params(), m2.cov_params()
    if isinstance(c1, pd.DataFrame):
        pd.testing.assert_frame_equal(c1, c2, check_exact=True)
    else:
        assert c1.identical(c2)
    assert m.summary_text() == m2.summary_text()
    assert m._repr_html_() == m2._repr_html_()
    assert repr(m) == repr(m2)
    if simulate:
        _same(m.simulate(X, 3, offset=offset), m2.simulate(X, 3, offset=offset), "simulate")
    if y is not None or m.formula is not None:
        for st in ("log-likelihood", "pseudo-r2-McFadden", "bits-per-spike"):
            if st == "bits-per-spike" and m.family_.name not in ("poisson", "negative_binomial"):
                continue
            _same(
                m.score(X, y, offset=offset, score_type=st),
                m2.score(X, y, offset=offset, score_type=st),
                st,
            )


def roundtrip(m, tmp_path, name="model.nc"):
    path = tmp_path / name
    m.save(path)
    return xglm.load(path)


# ----------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N, 3))
    eta = 0.3 + X @ np.array([0.4, -0.3, 0.2])
    return rng, X, eta


FAMILIES = [
    ("gaussian", lambda rng, eta: eta + rng.normal(size=eta.shape), None),
    ("poisson", lambda rng, eta: rng.poisson(np.exp(eta)).astype(float), None),
    (
        "bernoulli",
        lambda rng, eta: (rng.uniform(size=eta.shape) < 1 / (1 + np.exp(-eta))) * 1.0,
        None,
    ),
    ("binomial", lambda rng, eta: rng.binomial(5, 1 / (1 + np.exp(-eta))) / 5.0, "trials"),
    ("gamma", lambda rng, eta: rng.gamma(4.0, np.exp(eta) / 4.0), None),
    ("inverse_gaussian", lambda rng, eta: rng.wald(np.exp(eta), 8.0), None),
    (xglm.NegativeBinomial(alpha=0.5), lambda rng, eta: rng.poisson(np.exp(eta)) * 1.0, None),
    (
        xglm.NegativeBinomial(alpha="estimate"),
        lambda rng, eta: rng.negative_binomial(2, 2 / (2 + np.exp(eta))) * 1.0,
        None,
    ),
]


@pytest.mark.parametrize("family,draw,weights", FAMILIES, ids=lambda v: str(v)[:20])
def test_roundtrip_every_family(family, draw, weights, data, tmp_path):
    rng, X, eta = data
    y = draw(np.random.default_rng(1), eta)
    if isinstance(family, str) and family in ("gamma", "inverse_gaussian"):
        m = xglm.GLM(
            family=xglm.Gamma(link="log") if family == "gamma" else xglm.InverseGaussian(link="log")
        )
    else:
        m = xglm.GLM(family=family)
    sw = np.full(N, 5.0) if weights else None
    m.fit(X, y, sample_weight=sw)
    m2 = roundtrip(m, tmp_path)
    assert_same_model(m, m2, X, y if weights is None else None)


def test_roundtrip_pytrees(data, tmp_path):
    rng, X, eta = data
    y = rng.poisson(np.exp(eta)).astype(float)
    Pair = namedtuple("Pair", ["left", "right"])
    trees = [
        {"zeta": X[:, 0], "alpha": X[:, 1:]},  # non-sorted keys
        {"b": {"y": X[:, 0], "a": X[:, 1]}, "a": [X[:, 2]]},  # nested
        [X[:, 0], X[:, 1:]],
        (X[:, :1], (X[:, 1], X[:, 2])),
        Pair(X[:, :2], X[:, 2]),
    ]
    for tree in trees:
        m = xglm.GLM(regularizer="Ridge", regularizer_strength=0.01).fit(tree, y)
        m2 = roundtrip(m, tmp_path)
        assert_same_model(m, m2, tree, y)
        if isinstance(tree, dict):
            assert list(m2.coef_) == list(tree)
    # nested dict order survives in the coefficients
    m = xglm.GLM().fit(trees[1], y)
    assert list(roundtrip(m, tmp_path).coef_["b"]) == ["y", "a"]


# (the round trip compares the inference tables of a GroupLasso fit: the warning that
# they hold the selection fixed is tested in test_inference_penalized.py)
@pytest.mark.filterwarnings("ignore::xglm.errors.SelectionInferenceWarning")
def test_roundtrip_population_penalties_mask_offset(data, tmp_path):
    rng, X, eta = data
    Y = rng.poisson(np.exp(eta[:, None] + np.array([0.0, 0.2, -0.2, 0.1]))).astype(float)
    mask = np.array([[1, 1, 0, 1], [1, 0, 1, 1], [0, 1, 1, 1]])
    off = rng.normal(scale=0.1, size=N)
    sw = rng.uniform(0.5, 2.0, size=N)
    configs = [
        dict(
            regularizer=xglm.ElasticNet(ratio=0.3),
            regularizer_strength=(np.array([0.01, 0.02, 0.03, 0.04]), 0.5),
        ),
        dict(
            regularizer=xglm.GroupLasso(mask=np.array([0, 0, 1])),
            regularizer_strength=[0.01, 0.02],
            dtype="float32",
        ),
    ]
    for cfg in configs:
        m = xglm.PopulationGLM(feature_mask=mask, **cfg).fit(X, Y, sample_weight=sw, offset=off)
        m2 = roundtrip(m, tmp_path)
        assert_same_model(m, m2, X, Y, offset=off, simulate=cfg.get("dtype") is None)


def test_roundtrip_unfitted_attributes_absent_and_no_data(data, tmp_path):
    rng, X, eta = data
    y = rng.poisson(np.exp(eta)).astype(float)
    m = xglm.GLM(solver="lbfgs", solver_kwargs={"tol": 1e-10, "maxiter": 500}).fit(X, y)
    m2 = roundtrip(m, tmp_path)
    assert m2.solver_kwargs == {"tol": 1e-10, "maxiter": 500}
    assert m2.response_.y.shape == (0,)
    import xarray as xr

    ds = xr.open_dataset(tmp_path / "model.nc")
    assert ds.attrs["xglm_format"] == "xglm-model"
    assert list(ds["coef"].feature.values) == ["x0", "x1", "x2"]
    assert ds["cov"].dims == ("parameter", "parameter_2")
    meta = json.loads(ds["xglm_metadata"].values.tobytes())
    assert {"xglm", "numpy", "jax", "xarray"} <= set(meta["versions"])
    ds.close()


@pytest.mark.skipif(not HAS_ZARR, reason="zarr is not installed")
def test_roundtrip_zarr(data, tmp_path):
    rng, X, eta = data
    Y = rng.poisson(np.exp(eta[:, None] + np.zeros((1, 2)))).astype(float)
    m = xglm.PopulationGLM().fit({"a": X[:, :2], "b": X[:, 2]}, Y)
    m2 = roundtrip(m, tmp_path, "model.zarr")
    assert_same_model(m, m2, {"a": X[:, :2], "b": X[:, 2]}, Y)
    m.save(tmp_path / "model.zarr")  # overwrite an existing store
    assert_same_model(m, xglm.load(tmp_path / "model.zarr"), {"a": X[:, :2], "b": X[:, 2]}, Y)


def test_zarr_missing_is_a_clear_error(data, tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "zarr":
            raise ImportError("no zarr")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    rng, X, eta = data
    m = xglm.GLM().fit(X, rng.poisson(np.exp(eta)))
    path = str(tmp_path / "m.zarr")
    with pytest.raises(XglmError) as err:
        m.save(path)
    assert str(err.value) == (
        f"path: got {path!r}, a zarr store, but the zarr package is not installed. Fix: "
        "pip install zarr, or save to a netCDF file ('model.nc')."
    )


# ----------------------------------------------------------------------------- labelled
@pytest.mark.parametrize("formula", ["y ~ 0 + z", "y ~ C(g) + z - 1", "y ~ 0 + C(g):z"])
def test_roundtrip_formulas_without_intercept(formula, tmp_path):
    # formulaic prints "0 + z" as "z", which parses back with an intercept
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"z": rng.normal(size=150), "g": rng.choice(["a", "b", "c"], 150)})
    df["y"] = rng.poisson(np.exp(0.5 + 0.3 * df.z))
    m = xglm.glm(formula, data=df)
    m.save(tmp_path / "m.nc")
    m2 = xglm.load(tmp_path / "m.nc")
    assert "Intercept" not in m2.summary().index
    assert_same_model(m, m2, df)


@pytest.mark.skipif(not _labelled_available(), reason="the labelled design layer is not built yet")
def test_roundtrip_formula_and_dataset(tmp_path):
    import xarray as xr

    rng = np.random.default_rng(3)
    n = 200
    df = pd.DataFrame(
        {
            "x": rng.uniform(size=n),
            "g": rng.choice(["lo", "mid", "hi"], n),
            "e": rng.uniform(1, 2, n),
        }
    )
    df["y"] = rng.poisson(df.e * np.exp(np.sin(3 * df.x) + (df.g == "hi") * 0.3))
    f = "y ~ bs(x, df=4) + C(g, levels=['lo', 'mid', 'hi']) + poly(e, degree=2) + offset(np.log(e))"
    m = xglm.GLM(formula=f).fit(df)
    m2 = roundtrip(m, tmp_path)
    # new data inside the fitted ranges, one category only
    new = df.iloc[:15].copy()
    new["g"] = "mid"
    assert_same_model(m, m2, new)
    assert m2.term_effect("x").identical(m.term_effect("x"))
    # Dataset input with a population response and neuron labels
    t = np.arange(n) * 0.01
    ds = xr.Dataset(
        {
            "speed": ("time", rng.normal(size=n), {"units": "cm/s"}),
            "position": (("time", "pos_dim"), rng.normal(size=(n, 2))),
            "spikes": (
                ("time", "neuron"),
                rng.poisson(1.0, size=(n, 3)).astype(float),
                {"units": "spikes/bin"},
            ),
        },
        coords={"time": ("time", t, {"units": "s"}), "neuron": ["n1", "n2", "n3"]},
    )
    X = ds[["speed", "position"]]
    p = xglm.PopulationGLM().fit(X, ds["spikes"])
    p2 = roundtrip(p, tmp_path)
    assert_same_model(p, p2, X, ds["spikes"])
    assert list(p2.coef_.neuron.values) == ["n1", "n2", "n3"]


# ----------------------------------------------------------------------------- errors
@pytest.fixture(scope="module")
def saved(tmp_path_factory, data):
    rng, X, eta = data
    m = xglm.GLM().fit(X, rng.poisson(np.exp(eta)))
    path = tmp_path_factory.mktemp("saved") / "model.nc"
    m.save(path)
    return path


def test_truncated_file(saved, tmp_path):
    blob = saved.read_bytes()
    bad = tmp_path / "truncated.nc"
    bad.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(FileFormatError) as err:
        xglm.load(bad)
    assert str(err.value) == (
        f"path: {str(bad)!r} is not a readable netCDF/HDF5 file; expected a model written "
        "by model.save(). The file may be truncated or corrupt, or written by another "
        "program. Fix: save the model again."
    )


def test_foreign_files(tmp_path):
    import xarray as xr

    text = tmp_path / "notes.nc"
    text.write_text("hello")
    with pytest.raises(FileFormatError, match="is not a readable netCDF/HDF5 file"):
        xglm.load(text)
    other = tmp_path / "other.nc"
    xr.Dataset({"a": ("x", np.arange(3.0))}).to_netcdf(other, engine="h5netcdf")
    with pytest.raises(FileFormatError) as err:
        xglm.load(other)
    assert str(err.value) == (
        f"path: {str(other)!r} is a valid netCDF/zarr file but not an xglm model file (no "
        "'xglm_format' = 'xglm-model' attribute with 'xglm_metadata'); expected a file "
        "written by model.save(). Fix: pass the path of a saved xglm model."
    )
    with pytest.raises(FileNotFoundError, match="does not exist"):
        xglm.load(tmp_path / "missing.nc")


def _rewrite(src, dst, edit):
    import xarray as xr

    with xr.open_dataset(src, engine="h5netcdf", decode_cf=False) as ds:
        ds = ds.load()
    edit(ds)
    ds.to_netcdf(dst, engine="h5netcdf")


def test_newer_format_version(saved, tmp_path):
    bad = tmp_path / "newer.nc"

    def edit(ds):
        ds.attrs["xglm_format_version"] = 99
        ds.attrs["xglm_version"] = "9.0.0"

    _rewrite(saved, bad, edit)
    with pytest.raises(FileFormatError) as err:
        xglm.load(bad)
    assert str(err.value) == (
        f"path: {str(bad)!r} was written in xglm file format version 99 (by xglm 9.0.0); "
        f"this xglm {xglm.__version__} reads format versions up to 1. Fix: upgrade xglm "
        "(pip install -U xglm)."
    )


def test_modified_values_fail_the_checksum(saved, tmp_path):
    bad = tmp_path / "edited.nc"

    def edit(ds):
        ds["coef"].values[0] += 1e-9

    _rewrite(saved, bad, edit)
    with pytest.raises(FileFormatError) as err:
        xglm.load(bad)
    assert str(err.value) == (
        f"path: {str(bad)!r} is an xglm model file whose contents are damaged (the SHA-256 "
        "checksum of the contents does not match); expected an unmodified file written by "
        "model.save(). Fix: save the model again."
    )


def test_corrupt_bytes(saved, tmp_path):
    blob = bytearray(saved.read_bytes())
    # damage the metadata bytes (the JSON document is stored verbatim)
    i = bytes(blob).find(b'"format": "xglm-model"')
    assert i > 0
    blob[i + 2 : i + 8] = b"XXXXXX"
    bad = tmp_path / "corrupt.nc"
    bad.write_bytes(bytes(blob))
    with pytest.raises(FileFormatError, match=re.escape("whose contents are damaged")):
        xglm.load(bad)


def test_missing_variable(saved, tmp_path):
    bad = tmp_path / "missing_var.nc"
    _rewrite(saved, bad, lambda ds: ds.__delitem__("cov"))
    with pytest.raises(FileFormatError) as err:
        xglm.load(bad)
    assert "the variable(s) ['cov'] are missing" in str(err.value)


def test_unsavable_objects_fail_at_save_time(data, tmp_path):
    rng, X, eta = data
    y = rng.poisson(np.exp(eta))

    class MyPoisson(xglm.Poisson):
        pass

    m = xglm.GLM(family=MyPoisson()).fit(X, y)
    path = tmp_path / "custom.nc"
    with pytest.raises(XglmError) as err:
        m.save(path)
    assert str(err.value).startswith(
        "save: the estimator parameter['family'] is a tests.test_io.MyPoisson"
    ) or "MyPoisson, which xglm cannot store safely" in str(err.value)
    assert not path.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".xglm-")]


def test_not_fitted_and_overwrite(data, tmp_path):
    with pytest.raises(xglm.errors.NotFittedError):
        xglm.GLM().save(tmp_path / "x.nc")
    rng, X, eta = data
    m = xglm.GLM().fit(X, rng.poisson(np.exp(eta)))
    m.save(tmp_path / "x.nc")
    with pytest.raises(XglmError, match="exists and overwrite=False"):
        m.save(tmp_path / "x.nc", overwrite=False)
