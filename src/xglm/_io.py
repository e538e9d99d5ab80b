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
from collections import namedtuple

import numpy as np

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


class _Unsavable(Exception):
    """Internal: a value has no safe serialisation; carries the path to it."""

    def __init__(self, path, value):
        super().__init__(path)
        self.path = path
        self.value = value


# ============================================================================ encoding
def _allowed_classes():
    from . import _families, _links, _penalties

    out = {}
    for mod in (_families, _links, _penalties):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if isinstance(obj, type):
                out[name] = obj
    return out


def _formulaic_classes():
    from formulaic.transforms import contrasts

    out = {"ContrastsState": contrasts.ContrastsState}
    for name in dir(contrasts):
        obj = getattr(contrasts, name)
        if isinstance(obj, type) and issubclass(obj, contrasts.Contrasts):
            out[name] = obj
    return out


def _is_namedtuple_type(obj) -> bool:
    return isinstance(obj, type) and issubclass(obj, tuple) and hasattr(obj, "_fields")


def _encode_array(arr: np.ndarray, path: str):
    if arr.dtype.kind in "biuf":
        flat = arr.reshape(-1).tolist()
        return {"__ndarray__": arr.dtype.str, "shape": list(arr.shape), "data": flat}
    if arr.dtype.kind == "U":
        return {"__ndarray__": "str", "shape": list(arr.shape), "data": arr.reshape(-1).tolist()}
    if arr.dtype.kind == "O":
        items = [_encode(v, f"{path}[{i}]") for i, v in enumerate(arr.reshape(-1))]
        return {"__ndarray__": "object", "shape": list(arr.shape), "data": items}
    raise _Unsavable(path, arr)


def _encode(value, path: str = "value"):
    """JSON-able, tagged description of ``value`` (an allow-list of types)."""
    import jax

    from ._families import Family
    from ._links import Link
    from ._penalties import Regularizer

    if isinstance(value, np.generic):  # before float: np.float64 subclasses float
        if value.dtype.kind not in "biufU":
            raise _Unsavable(path, value)
        return {"__npscalar__": value.dtype.str, "value": _encode(value.item(), path)}
    if value is None or type(value) in (bool, str, int, float):
        return value
    if isinstance(value, jax.Array):
        return {"__jax__": _encode_array(np.asarray(value), path)}
    if isinstance(value, np.ndarray):
        return _encode_array(value, path)
    if isinstance(value, (Family, Link, Regularizer)):
        cls = type(value)
        if _allowed_classes().get(cls.__name__) is not cls:
            raise _Unsavable(path, value)
        fields = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if isinstance(value, Family) and f.name == "alpha" and value.estimate_alpha:
                v = "estimate"
            fields[f.name] = _encode(v, f"{path}.{f.name}")
        return {"__xglm_object__": cls.__name__, "fields": fields}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {
            "__namedtuple__": type(value).__name__,
            "fields": list(value._fields),
            "values": [
                _encode(v, f"{path}.{k}") for k, v in zip(value._fields, value, strict=False)
            ],
        }
    if _is_namedtuple_type(value):
        return {"__namedtuple_type__": value.__name__, "fields": list(value._fields)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return {"__list__": [_encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict):
        return {
            "__dict__": [
                [_encode(k, f"{path} key"), _encode(v, f"{path}[{k!r}]")] for k, v in value.items()
            ]
        }
    mod = type(value).__module__
    if mod.startswith("xarray") and type(value).__name__ == "DataArray":
        return {
            "__dataarray__": {
                "name": _encode(value.name, f"{path}.name"),
                "dims": list(value.dims),
                "data": _encode(np.asarray(value.values), f"{path}.values"),
                "coords": [
                    [
                        str(name),
                        list(c.dims),
                        _encode(np.asarray(c.values), f"{path}.coords[{name!r}]"),
                    ]
                    for name, c in value.coords.items()
                ],
                "attrs": _encode(dict(value.attrs), f"{path}.attrs"),
            }
        }
    if mod.startswith("pandas") and type(value).__name__ in ("Index", "RangeIndex"):
        if type(value).__name__ == "RangeIndex":
            return {
                "__pdrange__": [int(value.start), int(value.stop), int(value.step)],
                "name": _encode(value.name, path),
            }
        return {
            "__pdindex__": _encode(np.asarray(value), path),
            "name": _encode(value.name, path),
        }
    if mod.startswith("formulaic"):
        return _encode_formulaic(value, path)
    if mod.startswith("xglm.") and dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "__xglm_dataclass__": f"{mod}:{type(value).__qualname__}",
            "fields": {
                f.name: _encode(getattr(value, f.name), f"{path}.{f.name}")
                for f in dataclasses.fields(value)
                if f.init
            },
        }
    raise _Unsavable(path, value)


def _encode_formulaic(value, path):
    from formulaic import ModelSpec, ModelSpecs
    from formulaic.parser.types import Factor, Term
    from formulaic.utils.sentinels import UNSET

    if isinstance(value, ModelSpec):
        if not isinstance(value.materializer, str):
            raise _Unsavable(f"{path}.materializer", value.materializer)
        return {
            "__modelspec__": {
                "formula": str(value.formula),
                "materializer": value.materializer,
                "materializer_params": _encode(
                    dict(value.materializer_params or {}), f"{path}.materializer_params"
                ),
                "ensure_full_rank": bool(value.ensure_full_rank),
                "na_action": value.na_action.value,
                "output": value.output,
                "cluster_by": value.cluster_by.value,
                "transform_state": _encode(dict(value.transform_state), f"{path}.transform_state"),
                "encoder_state": _encode(dict(value.encoder_state), f"{path}.encoder_state"),
                "structure": None
                if value.structure is None
                else [_encode_term_structure(row, path) for row in value.structure],
            }
        }
    if isinstance(value, Term):
        return {"__formulaic_term__": repr(value)}
    if isinstance(value, ModelSpecs):
        items = dict(value._structure)
        return {"__modelspecs__": [[k, _encode(v, f"{path}.{k}")] for k, v in items.items()]}
    if value is UNSET:
        return {"__formulaic_unset__": True}
    if isinstance(value, Factor.Kind):
        return {"__factor_kind__": value.value}
    cls = type(value)
    if _formulaic_classes().get(cls.__name__) is cls and dataclasses.is_dataclass(value):
        return {
            "__formulaic_object__": cls.__name__,
            "fields": {
                f.name: _encode(getattr(value, f.name), f"{path}.{f.name}")
                for f in dataclasses.fields(value)
                if f.init
            },
        }
    raise _Unsavable(path, value)


def _encode_term_structure(row, path):
    """One ``EncodedTermStructure``: term, scoped terms (factor expressions, evaluation
    method, kind, reduced flag; scale) and column names."""
    scoped = []
    for st in row.scoped_terms:
        factors = []
        for sf in st.factors:
            f = sf.factor.factor
            factors.append([f.expr, f.eval_method.value, f.kind.value, bool(sf.reduced)])
        scale = st.scale
        if type(scale) not in (int, float):
            scale = _encode(scale, f"{path}.structure scale")
        scoped.append([factors, scale])
    return [repr(row.term), scoped, [str(c) for c in row.columns]]


def _parse_term(text: str, terms=None):
    """A formulaic ``Term`` from its text, preferring the matching one in ``terms``."""
    from formulaic import Formula

    for t in terms or ():
        if repr(t) == text:
            return t
    for t in Formula(text, _ordering="none"):
        if repr(t) == text:
            return t
    raise FileFormatError(
        f"xglm_metadata: cannot rebuild the formula term {text!r}; expected a term that this "
        "formulaic version parses back. Fix: load the file with the xglm version that wrote "
        "it (see its xglm_version attribute), or save the model again."
    )


# ============================================================================ decoding
def _decode(obj):
    """Inverse of :func:`_encode`; builds only allow-listed types."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):  # pragma: no cover - lists are always tagged
        raise FileFormatError(
            "xglm_metadata: found an untagged list; the file is corrupt. Fix: save the model again."
        )
    if not isinstance(obj, dict) or len(obj) == 0:
        raise FileFormatError(
            f"xglm_metadata: unexpected entry {obj!r}; the file is corrupt. Fix: save the "
            "model again."
        )
    tag = next(iter(obj))
    body = obj[tag]
    if tag == "__npscalar__":
        return np.dtype(body).type(_decode(obj["value"]))
    if tag == "__ndarray__":
        return _decode_array(obj)
    if tag == "__jax__":
        import jax.numpy as jnp

        return jnp.asarray(_decode_array(body))
    if tag == "__tuple__":
        return tuple(_decode(v) for v in body)
    if tag == "__list__":
        return [_decode(v) for v in body]
    if tag == "__dict__":
        return {_decode(k): _decode(v) for k, v in body}
    if tag == "__namedtuple__":
        cls = namedtuple(body, obj["fields"])
        return cls(*[_decode(v) for v in obj["values"]])
    if tag == "__namedtuple_type__":
        return namedtuple(body, obj["fields"])
    if tag == "__xglm_object__":
        cls = _allowed_classes().get(body)
        if cls is None:
            raise FileFormatError(
                f"xglm_metadata: unknown xglm class {body!r}; expected a family, link or "
                "regularizer of this xglm. Fix: load the file with the xglm version that "
                "wrote it (see its xglm_version attribute)."
            )
        fields = {k: _decode(v) for k, v in obj["fields"].items()}
        return cls(**fields)
    if tag == "__dataarray__":
        import xarray as xr

        coords = {name: (tuple(dims), _decode(v)) for name, dims, v in body["coords"]}
        return xr.DataArray(
            _decode(body["data"]),
            dims=tuple(body["dims"]),
            coords=coords,
            name=_decode(body["name"]),
            attrs=_decode(body["attrs"]),
        )
    if tag == "__pdrange__":
        import pandas as pd

        return pd.RangeIndex(*body, name=_decode(obj["name"]))
    if tag == "__pdindex__":
        import pandas as pd

        return pd.Index(_decode(body), name=_decode(obj["name"]))
    if tag == "__xglm_dataclass__":
        module, _, qualname = body.partition(":")
        if not module.startswith("xglm."):
            raise FileFormatError(
                f"xglm_metadata: refusing to build {body!r}; expected a class of the xglm "
                "package (the file was not written by model.save() or was altered). Fix: "
                "load only files written by model.save(), or save the model again."
            )
        target = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part, None)
        if not (isinstance(target, type) and dataclasses.is_dataclass(target)):
            raise FileFormatError(
                f"xglm_metadata: unknown xglm class {body!r}; expected a dataclass of this "
                "xglm. Fix: load the file with the xglm version that wrote it (see its "
                "xglm_version attribute)."
            )
        return target(**{k: _decode(v) for k, v in obj["fields"].items()})
    if tag == "__formulaic_term__":
        return _parse_term(body)
    if tag in ("__modelspec__", "__modelspecs__", "__formulaic_unset__", "__factor_kind__"):
        return _decode_formulaic(tag, body)
    if tag == "__formulaic_object__":
        cls = _formulaic_classes().get(body)
        if cls is None:
            raise FileFormatError(
                f"xglm_metadata: unknown formulaic class {body!r}; expected a class of the "
                "installed formulaic. Fix: load the file with the xglm and formulaic versions "
                "that wrote it, or save the model again."
            )
        return cls(**{k: _decode(v) for k, v in obj["fields"].items()})
    raise FileFormatError(
        f"xglm_metadata: unknown tag {tag!r}; the file is corrupt. Fix: load only files "
        "written by model.save(), or save the model again."
    )


def _decode_array(obj):
    dtype, shape, data = obj["__ndarray__"], tuple(obj["shape"]), obj["data"]
    if dtype == "str":
        return np.asarray(data, dtype=str).reshape(shape)
    if dtype == "object":
        out = np.empty(len(data), dtype=object)
        out[:] = [_decode(v) for v in data]
        return out.reshape(shape)
    return np.asarray(data, dtype=np.dtype(dtype)).reshape(shape)


def _decode_formulaic(tag, body):
    from formulaic import Formula, ModelSpec, ModelSpecs
    from formulaic.parser.types import Factor
    from formulaic.utils.sentinels import UNSET

    if tag == "__formulaic_unset__":
        return UNSET
    if tag == "__factor_kind__":
        return Factor.Kind(body)
    if tag == "__modelspecs__":
        return ModelSpecs(**{k: _decode(v) for k, v in body})
    formula = Formula(body["formula"], _ordering="none")
    structure = None
    if body.get("structure") is not None:
        from formulaic.materializers.base import EncodedTermStructure
        from formulaic.materializers.types import EvaluatedFactor, ScopedFactor, ScopedTerm

        terms = list(formula)
        structure = []
        for term_text, scoped, columns in body["structure"]:
            scoped_terms = []
            for factors, scale in scoped:
                sfs = [
                    ScopedFactor(
                        EvaluatedFactor(Factor(expr, eval_method=method, kind=kind), values=None),
                        reduced=reduced,
                    )
                    for expr, method, kind, reduced in factors
                ]
                scoped_terms.append(ScopedTerm(sfs, scale=_decode(scale)))
            structure.append(
                EncodedTermStructure(_parse_term(term_text, terms), scoped_terms, list(columns))
            )
    return ModelSpec(
        formula=formula,
        structure=structure,
        materializer=body["materializer"],
        materializer_params=_decode(body["materializer_params"]),
        ensure_full_rank=body["ensure_full_rank"],
        na_action=body["na_action"],
        output=body["output"],
        cluster_by=body["cluster_by"],
        transform_state=_decode(body["transform_state"]),
        encoder_state=_decode(body["encoder_state"]),
    )


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
            return _encode(value, path)
        except _Unsavable as exc:
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
    params = _decode(meta["params"])
    unknown = set(params) - set(cls._get_param_names())
    if unknown:
        raise FileFormatError(
            f"params: the file sets parameter(s) {sorted(unknown)} that this xglm's "
            f"{cls.__name__} does not have. Fix: load it with the xglm version that wrote it "
            "(see the file's xglm_version attribute)."
        )
    model = cls(**params)
    family = _decode(meta["family"])
    reg = _decode(meta["regularizer"])
    pen = meta["penalty"]
    penalty = PenaltyArrays(
        np.asarray(arrays["penalty_l2"]),
        np.asarray(arrays["penalty_l1"]),
        np.asarray(arrays["penalty_group_alpha"]),
        np.asarray(arrays["penalty_group_index"]),
        bool(pen["has_l1"]),
        bool(pen["has_group"]),
    )
    dfields = {k: _decode(v) for k, v in meta["design"]["fields"].items()}
    p = int(meta["design"]["n_features"])
    design = Design(X=np.zeros((0, p)), **dfields)
    rfields = {k: _decode(v) for k, v in meta["response"]["fields"].items()}
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
            attrs[name] = _decode(value)
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
