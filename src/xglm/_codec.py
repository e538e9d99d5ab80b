"""Model objects to tagged JSON and back, for :mod:`xglm._io`'s files.

:func:`encode` turns a value into JSON-able data in which every non-JSON type is tagged
(``{"__tuple__": [...]}``, ``{"__ndarray__": dtype, "shape": ..., "data": ...}``, ...):
NumPy and JAX arrays and scalars, tuples, lists, dicts in their key order, named tuples,
xglm's families, links, regularizers and dataclasses, xarray DataArrays, pandas indexes
and formulaic's model specs. Anything else raises :class:`Unsavable`, which names the
path to the value. :func:`decode` is its inverse and builds only those types: it never
unpickles, imports a module a file names, or calls anything but an allow-listed class.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections import namedtuple

import numpy as np

from .errors import FileFormatError

__all__ = ["Unsavable", "decode", "encode"]


class Unsavable(Exception):
    """A value has no safe serialisation: ``path`` names where it sits, ``value`` is it."""

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
        items = [encode(v, f"{path}[{i}]") for i, v in enumerate(arr.reshape(-1))]
        return {"__ndarray__": "object", "shape": list(arr.shape), "data": items}
    raise Unsavable(path, arr)


def encode(value, path: str = "value"):
    """JSON-able, tagged description of ``value`` (an allow-list of types)."""
    import jax

    from ._families import Family
    from ._links import Link
    from ._penalties import Regularizer

    if isinstance(value, np.generic):  # before float: np.float64 subclasses float
        if value.dtype.kind not in "biufU":
            raise Unsavable(path, value)
        return {"__npscalar__": value.dtype.str, "value": encode(value.item(), path)}
    if value is None or type(value) in (bool, str, int, float):
        return value
    if isinstance(value, jax.Array):
        return {"__jax__": _encode_array(np.asarray(value), path)}
    if isinstance(value, np.ndarray):
        return _encode_array(value, path)
    if isinstance(value, (Family, Link, Regularizer)):
        cls = type(value)
        if _allowed_classes().get(cls.__name__) is not cls:
            raise Unsavable(path, value)
        fields = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if isinstance(value, Family) and f.name == "alpha" and value.estimate_alpha:
                v = "estimate"
            fields[f.name] = encode(v, f"{path}.{f.name}")
        return {"__xglm_object__": cls.__name__, "fields": fields}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {
            "__namedtuple__": type(value).__name__,
            "fields": list(value._fields),
            "values": [
                encode(v, f"{path}.{k}") for k, v in zip(value._fields, value, strict=False)
            ],
        }
    if _is_namedtuple_type(value):
        return {"__namedtuple_type__": value.__name__, "fields": list(value._fields)}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return {"__list__": [encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict):
        return {
            "__dict__": [
                [encode(k, f"{path} key"), encode(v, f"{path}[{k!r}]")] for k, v in value.items()
            ]
        }
    mod = type(value).__module__
    if mod.startswith("xarray") and type(value).__name__ == "DataArray":
        return {
            "__dataarray__": {
                "name": encode(value.name, f"{path}.name"),
                "dims": list(value.dims),
                "data": encode(np.asarray(value.values), f"{path}.values"),
                "coords": [
                    [
                        str(name),
                        list(c.dims),
                        encode(np.asarray(c.values), f"{path}.coords[{name!r}]"),
                    ]
                    for name, c in value.coords.items()
                ],
                "attrs": encode(dict(value.attrs), f"{path}.attrs"),
            }
        }
    if mod.startswith("pandas") and type(value).__name__ in ("Index", "RangeIndex"):
        if type(value).__name__ == "RangeIndex":
            return {
                "__pdrange__": [int(value.start), int(value.stop), int(value.step)],
                "name": encode(value.name, path),
            }
        return {
            "__pdindex__": encode(np.asarray(value), path),
            "name": encode(value.name, path),
        }
    if mod.startswith("formulaic"):
        return _encode_formulaic(value, path)
    if mod.startswith("xglm.") and dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "__xglm_dataclass__": f"{mod}:{type(value).__qualname__}",
            "fields": _init_fields(value, path),
        }
    raise Unsavable(path, value)


def _init_fields(value, path) -> dict:
    """A dataclass's constructor fields, encoded: what rebuilds it."""
    return {
        f.name: encode(getattr(value, f.name), f"{path}.{f.name}")
        for f in dataclasses.fields(value)
        if f.init
    }


def _encode_formulaic(value, path):
    from formulaic import ModelSpec, ModelSpecs
    from formulaic.parser.types import Factor, Term
    from formulaic.utils.sentinels import UNSET

    if isinstance(value, ModelSpec):
        if not isinstance(value.materializer, str):
            raise Unsavable(f"{path}.materializer", value.materializer)
        return {
            "__modelspec__": {
                "formula": _formula_text(value.formula),
                "materializer": value.materializer,
                "materializer_params": encode(
                    dict(value.materializer_params or {}), f"{path}.materializer_params"
                ),
                "ensure_full_rank": bool(value.ensure_full_rank),
                "na_action": value.na_action.value,
                "output": value.output,
                "cluster_by": value.cluster_by.value,
                "transform_state": encode(dict(value.transform_state), f"{path}.transform_state"),
                "encoder_state": encode(dict(value.encoder_state), f"{path}.encoder_state"),
                "structure": None
                if value.structure is None
                else [_encode_term_structure(row, path) for row in value.structure],
            }
        }
    if isinstance(value, Term):
        return {"__formulaic_term__": repr(value)}
    if isinstance(value, ModelSpecs):
        items = dict(value._structure)
        return {"__modelspecs__": [[k, encode(v, f"{path}.{k}")] for k, v in items.items()]}
    if value is UNSET:
        return {"__formulaic_unset__": True}
    if isinstance(value, Factor.Kind):
        return {"__factor_kind__": value.value}
    cls = type(value)
    if _formulaic_classes().get(cls.__name__) is cls and dataclasses.is_dataclass(value):
        return {"__formulaic_object__": cls.__name__, "fields": _init_fields(value, path)}
    raise Unsavable(path, value)


def _formula_text(formula) -> str:
    """The text of a formula that parses back to the same terms: formulaic's text leaves
    out a removed intercept (``"0 + z"`` prints as ``"z"``, which parses with one)."""
    text = str(formula)
    if any(str(term) == "1" for term in formula):
        return text
    return f"0 + {text}" if text else "0"


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
            scale = encode(scale, f"{path}.structure scale")
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
def decode(obj):
    """Inverse of :func:`encode`; builds only allow-listed types."""
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
        return np.dtype(body).type(decode(obj["value"]))
    if tag == "__ndarray__":
        return _decode_array(obj)
    if tag == "__jax__":
        import jax.numpy as jnp

        return jnp.asarray(_decode_array(body))
    if tag == "__tuple__":
        return tuple(decode(v) for v in body)
    if tag == "__list__":
        return [decode(v) for v in body]
    if tag == "__dict__":
        return {decode(k): decode(v) for k, v in body}
    if tag == "__namedtuple__":
        cls = namedtuple(body, obj["fields"])
        return cls(*[decode(v) for v in obj["values"]])
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
        fields = {k: decode(v) for k, v in obj["fields"].items()}
        return cls(**fields)
    if tag == "__dataarray__":
        import xarray as xr

        coords = {name: (tuple(dims), decode(v)) for name, dims, v in body["coords"]}
        return xr.DataArray(
            decode(body["data"]),
            dims=tuple(body["dims"]),
            coords=coords,
            name=decode(body["name"]),
            attrs=decode(body["attrs"]),
        )
    if tag == "__pdrange__":
        import pandas as pd

        return pd.RangeIndex(*body, name=decode(obj["name"]))
    if tag == "__pdindex__":
        import pandas as pd

        return pd.Index(decode(body), name=decode(obj["name"]))
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
        return target(**{k: decode(v) for k, v in obj["fields"].items()})
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
        return cls(**{k: decode(v) for k, v in obj["fields"].items()})
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
        out[:] = [decode(v) for v in data]
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
        return ModelSpecs(**{k: decode(v) for k, v in body})
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
                scoped_terms.append(ScopedTerm(sfs, scale=decode(scale)))
            structure.append(
                EncodedTermStructure(_parse_term(term_text, terms), scoped_terms, list(columns))
            )
    return ModelSpec(
        formula=formula,
        structure=structure,
        materializer=body["materializer"],
        materializer_params=decode(body["materializer_params"]),
        ensure_full_rank=body["ensure_full_rank"],
        na_action=body["na_action"],
        output=body["output"],
        cluster_by=body["cluster_by"],
        transform_state=decode(body["transform_state"]),
        encoder_state=decode(body["encoder_state"]),
    )
