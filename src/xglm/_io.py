"""Save fitted models to netCDF (or zarr) through xarray, and load them back.

File layout (format version 1)
------------------------------
A model file is an :class:`xarray.Dataset` that any netCDF/xarray reader can open:

* data variables with labelled coordinates, readable without xglm: ``coef``
  (``feature`` [x ``neuron``]), ``intercept`` (``intercept`` = 1 or ``neuron``),
  ``cov`` ([``neuron`` x] ``parameter`` x ``parameter_2``), ``feature_mask``, the
  resolved penalty (``penalty_l2``, ``penalty_l1``, ``penalty_group_alpha``,
  ``penalty_group_index``) and every array-valued fitted statistic (per neuron for
  populations, e.g. ``deviance_``);
* global attributes for people (``xglm_format``, ``xglm_format_version``,
  ``xglm_version``, ``estimator``, ``family``, ``regularizer``, ``solver``,
  ``formula``);
* ``xglm_metadata``: a UTF-8 JSON document stored as a byte vector (netCDF attributes
  are size-limited) with everything else: estimator parameters, family/link/penalty
  objects, the layout (leaf names, shapes, the pytree structure with its dict/list/
  tuple nesting and key order, feature labels), the response labels, the design spec
  (formula and the formulaic ModelSpec state: category levels, contrasts, spline
  knots, centering/scaling constants...), scalar fitted statistics, package versions
  and a SHA-256 checksum of all of the above and the data variables.

Only plain data is stored; loading never unpickles or executes code. Objects are
rebuilt from an allow-list (xglm's families, links, regularizers and dataclasses,
formulaic's ModelSpec state); anything else is refused *at save time* with an error
naming the offending attribute. Before writing, the model is rebuilt from the encoded
form and re-encoded: if that does not reproduce every value exactly, saving fails
rather than producing a file whose model would predict differently. Files are written
to a temporary name and renamed, so a failed save never leaves a half-written file.

The training data are not stored: after :func:`load`, ``design_.X`` and
``response_.y`` have zero rows. Everything needed to predict, score, simulate,
summarise and compare is stored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import math
import os
import shutil
import tempfile
import warnings

import numpy as np

from ._codec import Unsavable, decode, encode
from .errors import FileFormatError, XglmError

__all__ = ["save_model", "load", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "xglm-model"
FORMAT_VERSION = 1

# attributes rebuilt by dedicated code, not the generic fitted-attribute path
_OBJECT_ATTRS = ("family_", "regularizer_", "penalty_", "design_", "response_")
# training-data-sized fields of Design/Response that are not stored
_DESIGN_DATA_FIELDS = ("X", "sample_coords", "offset")
_RESPONSE_DATA_FIELDS = ("y", "sample_coords")
_MAIN_ARRAYS = {
    "_coef_flat": "coef",
    "_intercept": "intercept",
    "_cov": "cov",
    "_cov_value": "cov",
    "feature_mask_": "feature_mask",
}


# ============================================================================ model <-> payload
def _versions() -> dict:
    import sys

    from . import __version__

    out = {"xglm": __version__, "python": sys.version.split()[0]}
    for name in ("numpy", "jax", "equinox", "xarray", "pandas", "scipy", "formulaic", "h5netcdf"):
        try:
            out[name] = importlib.import_module(name).__version__
        except Exception:  # pragma: no cover - optional packages
            pass
    return out


def _dims_for(name: str, arr: np.ndarray, p: int, k) -> tuple:
    """Readable dimension names for a stored array."""
    if name in ("coef", "feature_mask", "penalty_l2", "penalty_l1"):
        return ("feature",) if arr.ndim == 1 else ("feature", "neuron")
    if name == "penalty_group_index":
        return ("feature",)
    if name == "penalty_group_alpha":
        return ("group",) if arr.ndim == 1 else ("group", "neuron")
    if name == "intercept":
        return ("neuron",) if k is not None else ("intercept_dim",)
    if name == "cov":
        return (
            ("parameter", "parameter_2")
            if arr.ndim == 2
            else ("neuron", "parameter", "parameter_2")
        )
    if k is not None and arr.shape == (k,):
        return ("neuron",)
    return tuple(f"{name}_dim_{i}" for i in range(arr.ndim))


def _storable(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == bool:
        return arr.astype(np.int8)
    return np.ascontiguousarray(arr)


def _payload(model) -> tuple[dict, dict]:
    """``(metadata, arrays)`` describing a fitted model; raises on unsavable parts."""
    from ._design import Design, Response

    model._cov  # noqa: B018 - a deferred covariance is computed now, then stored
    params = model.get_params()
    meta: dict = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "estimator": type(model).__name__,
    }
    arrays: dict[str, np.ndarray] = {}

    def enc(value, path):
        try:
            return encode(value, path)
        except Unsavable as exc:
            raise XglmError(
                f"save: {exc.path} is a {type(exc.value).__module__}."
                f"{type(exc.value).__qualname__}, which xglm cannot store safely (files hold "
                "plain data, never pickled code); expected numbers, strings, arrays, "
                "pytrees, DataArrays or xglm's own family/link/regularizer objects. Fix: "
                "use a built-in object or plain values for it and refit."
            ) from None

    meta["params"] = enc(params, "the estimator parameter")
    meta["family"] = enc(model.family_, "family_")
    meta["regularizer"] = enc(model.regularizer_, "regularizer_")
    pen = model.penalty_
    meta["penalty"] = {"has_l1": bool(pen.has_l1), "has_group": bool(pen.has_group)}
    for field in ("l2", "l1", "group_alpha", "group_index"):
        arrays[f"penalty_{field}"] = np.asarray(getattr(pen, field))
    design: Design = model.design_
    meta["design"] = {
        "class": enc(type(design).__name__, "design_"),
        "n_features": int(design.X.shape[1]),
        "fields": {
            f.name: enc(getattr(design, f.name), f"design_.{f.name}")
            for f in dataclasses.fields(design)
            if f.name not in _DESIGN_DATA_FIELDS
        },
    }
    response: Response = model.response_
    meta["response"] = {
        "y_shape_tail": list(np.shape(response.y)[1:]),
        "fields": {
            f.name: enc(getattr(response, f.name), f"response_.{f.name}")
            for f in dataclasses.fields(response)
            if f.name not in _RESPONSE_DATA_FIELDS
        },
    }
    fitted = {}
    skip = set(params) | set(_OBJECT_ATTRS)
    for name, value in vars(model).items():
        if name in skip or name.startswith("_cache"):
            continue
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            var = _MAIN_ARRAYS.get(name, name)
            arrays[var] = value
            fitted[name] = {"__var__": var, "dtype": value.dtype.str}
        else:
            fitted[name] = enc(value, name)
    meta["fitted"] = fitted
    meta["arrays"] = sorted(arrays)
    return meta, arrays


def _checksum(meta: dict, arrays: dict) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(meta, sort_keys=True, allow_nan=True).encode())
    for name in sorted(arrays):
        arr = _storable(np.asarray(arrays[name]))
        h.update(name.encode())
        h.update(arr.dtype.str.encode())
        h.update(repr(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _model_from_payload(meta: dict, arrays: dict):
    """Rebuild a fitted model; raises :class:`FileFormatError` on inconsistencies."""

    from . import _model
    from ._design import Design, Response
    from ._penalties import PenaltyArrays

    cls = {"GLM": _model.GLM, "PopulationGLM": _model.PopulationGLM}.get(meta["estimator"])
    if cls is None:
        raise FileFormatError(
            f"estimator: the file holds a {meta['estimator']!r}; expected 'GLM' or "
            "'PopulationGLM'. Fix: load it with the xglm version that wrote it (see the file's "
            "xglm_version attribute)."
        )
    params = decode(meta["params"])
    unknown = set(params) - set(cls._get_param_names())
    if unknown:
        raise FileFormatError(
            f"params: the file sets parameter(s) {sorted(unknown)} that this xglm's "
            f"{cls.__name__} does not have. Fix: load it with the xglm version that wrote it "
            "(see the file's xglm_version attribute)."
        )
    model = cls(**params)
    family = decode(meta["family"])
    reg = decode(meta["regularizer"])
    pen = meta["penalty"]
    penalty = PenaltyArrays(
        np.asarray(arrays["penalty_l2"]),
        np.asarray(arrays["penalty_l1"]),
        np.asarray(arrays["penalty_group_alpha"]),
        np.asarray(arrays["penalty_group_index"]),
        bool(pen["has_l1"]),
        bool(pen["has_group"]),
    )
    dfields = {k: decode(v) for k, v in meta["design"]["fields"].items()}
    p = int(meta["design"]["n_features"])
    design = Design(X=np.zeros((0, p)), **dfields)
    rfields = {k: decode(v) for k, v in meta["response"]["fields"].items()}
    tail = tuple(meta["response"]["y_shape_tail"])
    response = Response(y=np.zeros((0,) + tail), **rfields)
    attrs = {
        "family_": family,
        "regularizer_": reg,
        "penalty_": penalty,
        "design_": design,
        "response_": response,
    }
    for name, value in meta["fitted"].items():
        if isinstance(value, dict) and "__var__" in value:
            arr = np.asarray(arrays[value["__var__"]]).astype(np.dtype(value["dtype"]))
            attrs[name] = arr
        else:
            attrs[name] = decode(value)
    for name, value in attrs.items():
        setattr(model, name, value)
    return model


# ============================================================================ files
def _engine_for(path: str) -> str:
    if str(path).rstrip("/").endswith(".zarr"):
        try:
            import zarr  # noqa: F401
        except ImportError:
            raise XglmError(
                f"path: got {str(path)!r}, a zarr store, but the zarr package is not "
                "installed. Fix: pip install zarr, or save to a netCDF file ('model.nc')."
            ) from None
        return "zarr"
    return "h5netcdf"


def _to_dataset(meta: dict, arrays: dict, model):
    import xarray as xr

    k = model._n_neurons
    p = int(meta["design"]["n_features"])
    data_vars = {}
    for name, arr in arrays.items():
        arr = _storable(np.asarray(arr))
        data_vars[name] = (_dims_for(name, arr, p, k), arr)
    layout = model.design_.layout
    labels = [str(v) for v in layout.feature_labels]
    coords = {
        "feature": labels,
        "term": ("feature", [str(v) for v in layout.term_of_feature]),
        "parameter": ["Intercept", *labels],
        "parameter_2": ["Intercept", *labels],
    }
    if k is not None:
        from ._results import _neuron_labels

        coords["neuron"] = [str(v) for v in _neuron_labels(model)]
    blob = json.dumps(meta, allow_nan=True).encode("utf-8")
    data_vars["xglm_metadata"] = (("metadata_bytes",), np.frombuffer(blob, dtype=np.uint8))
    ds = xr.Dataset(data_vars)
    used = set().union(*(v.dims for v in ds.data_vars.values()))
    ds = ds.assign_coords({n: c for n, c in coords.items() if _coord_dim(n, c) in used})
    params = model.get_params()
    ds.attrs = {
        "xglm_format": FORMAT_NAME,
        "xglm_format_version": FORMAT_VERSION,
        "xglm_version": meta["versions"]["xglm"],
        "estimator": meta["estimator"],
        "family": repr(model.family_),
        "regularizer": repr(model.regularizer_),
        "solver": str(getattr(model, "solver_", "")),
        "formula": str(params.get("formula") or ""),
        "title": f"xglm {meta['estimator']} fit",
    }
    ds["coef"].attrs["long_name"] = "coefficients"
    return ds


def _coord_dim(name, coord):
    return coord[0] if isinstance(coord, tuple) else name


def save_model(model, path, *, overwrite: bool = True) -> None:
    """Implementation of :meth:`xglm.GLM.save`."""
    model._check_fitted("save")
    path = os.fspath(path)
    engine = _engine_for(path)
    if os.path.exists(path) and not overwrite:
        raise XglmError(
            f"path: {path!r} exists and overwrite=False. Fix: choose another path or pass "
            "overwrite=True."
        )
    meta, arrays = _payload(model)
    meta["versions"] = _versions()
    # round-trip check: what we write must rebuild the same model
    try:
        rebuilt = _model_from_payload(json.loads(json.dumps(meta)), arrays)
        meta2, arrays2 = _payload(rebuilt)
    except Exception as exc:
        raise XglmError(
            f"save: this model cannot be rebuilt from its stored form ({exc}); nothing was "
            "written. Fix: report this with the model's configuration."
        ) from exc
    meta2["versions"] = meta["versions"]
    _check_same(meta, arrays, meta2, arrays2)
    meta["checksum"] = _checksum(meta, arrays)
    ds = _to_dataset(meta, arrays, model)
    directory = os.path.dirname(os.path.abspath(path))
    if engine == "zarr":
        tmp = tempfile.mkdtemp(prefix=".xglm-", suffix=".zarr", dir=directory)
        try:
            with warnings.catch_warnings():
                # zarr v3 warns that string coordinates have no v3 specification yet
                warnings.simplefilter("ignore")
                ds.to_zarr(tmp, mode="w", consolidated=False)
            if os.path.exists(path):
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
            os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return
    fd, tmp = tempfile.mkstemp(prefix=".xglm-", suffix=".nc", dir=directory)
    os.close(fd)
    try:
        encoding = {name: {"_FillValue": None} for name in ds.variables}
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _check_same(meta, arrays, meta2, arrays2):
    def first_diff(a, b, where="metadata"):
        if isinstance(a, dict) and isinstance(b, dict):
            for key in list(a) + [k for k in b if k not in a]:
                if key not in a or key not in b:
                    return f"{where}.{key}"
                d = first_diff(a[key], b[key], f"{where}.{key}")
                if d:
                    return d
            if list(a) != list(b):
                return f"{where} (key order)"
            return None
        if isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                return where
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                d = first_diff(x, y, f"{where}[{i}]")
                if d:
                    return d
            return None
        same = a == b or (
            isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
        )
        return None if same and type(a) is type(b) else where

    where = first_diff(meta, meta2)
    if where is None and set(arrays) != set(arrays2):
        where = f"arrays {sorted(set(arrays) ^ set(arrays2))}"
    if where is None:
        for name in arrays:
            a, b = np.asarray(arrays[name]), np.asarray(arrays2[name])
            if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
                where = f"array {name!r}"
                break
    if where is not None:
        raise XglmError(
            f"save: the stored form of this model does not reproduce it exactly (first "
            f"difference at {where}); nothing was written, because the loaded model could "
            "predict differently. Fix: report this with the model's configuration."
        )


def load(path):
    """Load a model saved with :meth:`xglm.GLM.save`.

    Parameters
    ----------
    path : str or path-like
        A netCDF file (``.nc``) or a zarr store (a path ending in ``.zarr``).

    Returns
    -------
    GLM or PopulationGLM
        The fitted model: it predicts exactly what the saved model predicted, and has
        the same fitted attributes, ``summary()`` and ``cov_params()``. The training
        data are not stored (``design_.X`` and ``response_.y`` have zero rows).

    Raises
    ------
    xglm.errors.FileFormatError
        The path is not a readable xglm model file (corrupt, truncated, from another
        program) or was written by a newer xglm. Nothing is returned in that case.

    Examples
    --------
    >>> import os, tempfile, numpy as np, xglm
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = rng.poisson(np.exp(X @ [0.3, -0.2]))
    >>> m = xglm.GLM().fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "fit.nc")
    >>> m.save(path)
    >>> m2 = xglm.load(path)
    >>> bool(np.array_equal(m2.predict(X), m.predict(X)))
    True
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"path: {path!r} does not exist. Fix: check the file name.")
    is_zarr = path.rstrip("/").endswith(".zarr")
    engine = _engine_for(path) if is_zarr else "h5netcdf"
    import xarray as xr

    try:
        if engine == "zarr":
            ds = xr.open_zarr(path, decode_cf=False, consolidated=False)
        else:
            ds = xr.open_dataset(path, engine="h5netcdf", decode_cf=False)
        with ds:
            ds = ds.load()
    except Exception as exc:
        kind = "zarr store" if engine == "zarr" else "netCDF/HDF5 file"
        raise FileFormatError(
            f"path: {path!r} is not a readable {kind}; expected a model written by "
            "model.save(). The file may be truncated or corrupt, or written by another "
            "program. Fix: save the model again."
        ) from exc
    fmt = ds.attrs.get("xglm_format")
    if fmt != FORMAT_NAME or "xglm_metadata" not in ds.variables:
        raise FileFormatError(
            f"path: {path!r} is a valid netCDF/zarr file but not an xglm model file (no "
            f"'xglm_format' = {FORMAT_NAME!r} attribute with 'xglm_metadata'); expected a "
            "file written by model.save(). Fix: pass the path of a saved xglm model."
        )
    version = ds.attrs.get("xglm_format_version")
    try:
        version = int(np.asarray(version).item())
    except Exception:
        version = None
    if version is None or version < 1:
        raise FileFormatError(
            f"path: {path!r} has an invalid format version {ds.attrs.get('xglm_format_version')!r}; "
            "expected a positive integer. The file is corrupt. Fix: save the model again."
        )
    if version > FORMAT_VERSION:
        from . import __version__

        raise FileFormatError(
            f"path: {path!r} was written in xglm file format version {version} "
            f"(by xglm {ds.attrs.get('xglm_version', '?')}); this xglm {__version__} reads "
            f"format versions up to {FORMAT_VERSION}. Fix: upgrade xglm "
            "(pip install -U xglm)."
        )
    try:
        blob = np.asarray(ds["xglm_metadata"].values, dtype=np.uint8).tobytes()
        meta = json.loads(blob.decode("utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("metadata is not a JSON object")
        stored = meta.pop("checksum")
        missing = [name for name in meta["arrays"] if name not in ds.variables]
        if missing:
            raise ValueError(f"the variable(s) {missing} are missing")
        arrays = {name: np.asarray(ds[name].values) for name in meta["arrays"]}
        if _checksum(meta, arrays) != stored:
            raise ValueError("the SHA-256 checksum of the contents does not match")
        if meta.get("format_version") != version:
            raise ValueError("the metadata and the attributes disagree on the format version")
    except FileFormatError:
        raise
    except Exception as exc:
        raise FileFormatError(
            f"path: {path!r} is an xglm model file whose contents are damaged ({exc}); "
            "expected an unmodified file written by model.save(). Fix: save the model again."
        ) from exc
    try:
        return _model_from_payload(meta, arrays)
    except FileFormatError:
        raise
    except Exception as exc:  # pragma: no cover - guarded by the checksum and save check
        raise FileFormatError(
            f"path: {path!r}: the model in this file cannot be rebuilt ({exc}). Fix: load "
            "it with the xglm version that wrote it (see its xglm_version attribute)."
        ) from exc
