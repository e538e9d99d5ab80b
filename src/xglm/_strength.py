"""Regularizer strengths: every accepted form, broadcast to per-feature (per-neuron) arrays.

Accepted forms (for ``p`` features and, in population fits, ``k`` neurons):

* a scalar;
* an array: ``(p,)`` per feature, ``(k,)`` per neuron, ``(p, k)``, or anything that
  broadcasts to ``(p, k)`` such as ``(1, k)``; when ``p == k`` a 1-D array could be
  either and is refused (pass ``(p, k)``); the same holds per leaf and per group;
* a pytree matching ``X`` (dict with the same keys, list/tuple with the same length),
  each leaf a scalar, an array (or nested list) of the leaf's feature shape, that shape
  plus ``(k,)``, or ``(k,)``; the strength pytree is read along X's structure, so a
  list inside a dict is a leaf's strengths, and a list X takes a list of strengths;
  for labelled input, a dict keyed by term names (or short labels);
* an ``xarray.DataArray`` with dims among ``feature``, ``term`` and ``neuron``,
  aligned by label;
* for ElasticNet, ``(strength, ratio)`` with each part in any of the forms above;
* for GroupLasso, one strength per group: scalar, list/array in group order,
  ``(G, k)``, or a dict keyed by group (leaf) name, or nested as X is when the groups
  are X's leaves.
"""

from __future__ import annotations

import warnings
from numbers import Number

import jax.numpy as jnp
import numpy as np

from ._design._layout import Layout, entries_along, match_names, name_of
from ._design._tables import by_neuron_label, by_term_label
from ._penalties import (
    ElasticNet,
    GroupLasso,
    Lasso,
    PenaltyArrays,
    Regularizer,
    Ridge,
    UnRegularized,
)
from .errors import PenaltyError

__all__ = ["resolve_penalty", "group_index_from"]


def _is_scalar(v) -> bool:
    return isinstance(v, Number) or (hasattr(v, "shape") and np.ndim(v) == 0)


def _as_float(v, what) -> np.ndarray:
    try:
        arr = np.asarray(v, dtype=float)
    except (TypeError, ValueError) as exc:
        raise PenaltyError(
            f"{what}: got {v!r}; expected numbers (a scalar, array or pytree of them). "
            "Fix: pass numeric strengths."
        ) from exc
    return arr


def _broadcast_leaf(arr, shape, k, what, name) -> np.ndarray:
    """Broadcast a strength for one leaf of feature shape ``shape`` to ``(size, k|1)``."""
    size = int(np.prod(shape)) if shape else 1
    kk = k or 1
    if arr.ndim == 0:
        return np.full((size, kk), float(arr))
    if k is not None and k > 1 and arr.shape == tuple(shape) == (k,):
        _ambiguous(what, arr.shape, f"{name!r} has {k} coefficient(s)", k, (size, k))
    if arr.shape == tuple(shape):
        return np.repeat(arr.reshape(size, 1), kk, axis=1)
    if k is not None and arr.shape == tuple(shape) + (k,):
        return arr.reshape(size, k)
    if k is not None and arr.shape == (k,):
        return np.repeat(arr.reshape(1, k), size, axis=0)
    expected = f"a scalar or shape {tuple(shape)}"
    if k is not None:
        expected += f", {tuple(shape) + (k,)} or ({k},) (per neuron)"
    raise PenaltyError(
        f"{what}: the entry for {name!r} has shape {arr.shape}; expected {expected} "
        f"to match the {size} coefficient(s) of {name!r}. Fix: give one strength per "
        "coefficient of that term, or a single number."
    )


def _ambiguous(what, got, whose, k, full, unit="feature"):
    """A 1-D strength whose length is both the number of features (or groups) and of
    neurons: refuse to guess."""
    raise PenaltyError(
        f"{what}: got shape {got}, but {whose} and the fit has {k} neurons, so it could "
        f"mean one strength per {unit} or one per neuron. Fix: pass the full shape "
        f"{full}: np.repeat(s[:, None], {k}, axis=1) for per-{unit} strengths s, or "
        f"np.tile(s, ({full[0]}, 1)) for per-neuron strengths s."
    )


def _from_dataarray(da, layout: Layout, k, neuron_labels, what, short_names=None) -> np.ndarray:
    dims = set(da.dims)
    allowed = {"feature", "term", "neuron"}
    if not dims <= allowed or ("feature" in dims and "term" in dims):
        raise PenaltyError(
            f"{what}: got a DataArray with dims {da.dims}; expected dims among "
            "('feature' or 'term', 'neuron'). Fix: label strengths by feature, by term "
            "and/or by neuron."
        )
    if "neuron" in dims:
        if k is None:
            raise PenaltyError(
                f"{what}: got a DataArray with a 'neuron' dim for a single-neuron fit. "
                "Fix: drop the neuron dim or use PopulationGLM."
            )
        if neuron_labels is not None and "neuron" in da.coords:
            matched, _, _ = by_neuron_label(da, neuron_labels, k)
            if matched is None:
                raise PenaltyError(
                    f"{what}: neuron labels {da.coords['neuron'].values.tolist()} do not "
                    f"match the response's neurons {list(neuron_labels)}. Fix: give one "
                    "strength per neuron of y, labelled alike."
                )
            da = matched
        elif neuron_labels is None and "neuron" in da.coords:
            # a plain-array response: its neurons are the positions 0..k-1
            have = da.coords["neuron"].values.tolist()
            if have != list(range(k)):
                raise PenaltyError(
                    f"{what}: the DataArray's neuron labels {have} cannot be matched to y, "
                    f"a plain array whose neurons are the positions {list(range(k))}. Fix: "
                    "label the strengths 0..n_neurons-1, drop the neuron coordinate, or "
                    "pass y as a labelled DataArray or DataFrame."
                )
    if "feature" in dims:
        have = [str(v) for v in da.coords["feature"].values] if "feature" in da.coords else None
        want = list(layout.feature_labels)
        if have is not None:
            if sorted(have) != sorted(want):
                raise PenaltyError(
                    f"{what}: feature labels {have} do not match the design's features "
                    f"{want}. Fix: label strengths with the design's feature labels."
                )
            da = da.sel(feature=want)
    if "term" in dims:
        if "term" not in da.coords:
            raise PenaltyError(
                f"{what}: got a DataArray with a 'term' dim but no 'term' coordinate. Fix: "
                f"label it, e.g. coords={{'term': {list(layout.names)}}}."
            )
        # full term names, or the short labels of formula terms
        matched, have, missing, unknown = by_term_label(da, layout, short_names)
        if matched is None:
            raise PenaltyError(
                f"{what}: the DataArray's terms {have} do not match the model's terms "
                f"{list(layout.names)} (missing: {missing}, unknown: {unknown}). "
                "Fix: give one strength per term, labelled by term name."
            )
        da = matched
    order = [d for d in ("feature", "term", "neuron") if d in dims]
    arr = np.asarray(da.transpose(*order).values, dtype=float)
    if "neuron" in dims and not ({"feature", "term"} & dims):
        arr = np.repeat(arr[None, :], layout.n_features, axis=0)
    elif "neuron" not in dims:
        arr = np.repeat(arr[:, None], k or 1, axis=1)
    if arr.shape != (layout.n_features, k or 1):
        sizes = {d: da.sizes[d] for d in da.dims}
        expected = {"feature": layout.n_features}
        if k is not None:
            expected["neuron"] = k
        raise PenaltyError(
            f"{what}: got a DataArray of sizes {sizes}; expected {expected} (or a 'term' "
            f"dim with one entry per term). Fix: one strength per feature"
            + (" and neuron" if k is not None else "")
            + "."
        )
    return np.array(arr, dtype=float)


def per_feature(value, layout: Layout, k, what, neuron_labels=None, short_names=None, check=True):
    """Broadcast ``value`` to a ``(p, k or 1)`` float array (``check``: finite, >= 0)."""
    p = layout.n_features
    kk = k or 1
    if value is None:
        raise PenaltyError(f"{what}: got None; expected a number. Fix: pass a strength.")
    if type(value).__name__ == "DataArray":
        out = _from_dataarray(value, layout, k, neuron_labels, what, short_names)
    elif _is_scalar(value):
        out = np.full((p, kk), float(_as_float(value, what)))
    elif (
        isinstance(value, dict)
        or (
            layout.kind == "pytree"
            and isinstance(value, (list, tuple))
            and not _is_numeric_seq(value)
        )
        or (
            layout.kind == "pytree"
            and isinstance(value, (list, tuple))
            and _struct_kind(layout) in ("list", "tuple")
        )
    ):
        out = _from_tree(value, layout, k, what, short_names or {})
    else:
        arr = _as_float(value, what)
        if k is not None and k > 1 and arr.shape == (p,) == (k,):
            _ambiguous(what, arr.shape, f"X has {p} features", k, (p, k))
        if arr.ndim == 1 and arr.shape[0] == p:
            out = np.repeat(arr[:, None], kk, axis=1)
        elif k is not None and arr.ndim == 1 and arr.shape[0] == k:
            out = np.repeat(arr[None, :], p, axis=0)
        else:
            try:
                out = np.array(np.broadcast_to(arr, (p, kk)), dtype=float)
            except ValueError:
                expected = f"({p},)" + (f", ({k},) per neuron or ({p}, {k})" if k else "")
                tree = ", or a pytree matching X" if layout.kind != "array" else ""
                raise PenaltyError(
                    f"{what}: got an array of shape {arr.shape}; expected a scalar or "
                    f"shape {expected} for {p} feature(s). Fix: pass one strength per "
                    f"feature, or a single number{tree}."
                ) from None
    if check:
        _check_values(out, what)
    return out


def _struct_kind(layout: Layout):
    s = layout.structure
    return s[0] if s is not None and s[0] != "leaf" else None


def _tuple_design(layout: Layout, length: int) -> bool:
    """Whether X is a tuple (or NamedTuple) of ``length`` entries, so that a tuple of
    strengths is a pytree matching it."""
    s = layout.structure
    return (
        layout.kind == "pytree"
        and s is not None
        and s[0] not in ("leaf", "dict", "list")
        and len(s[1]) == length
    )


def _is_numeric_seq(value) -> bool:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return False
    return arr.dtype != object


def _from_tree(value, layout: Layout, k, what, short_names):
    if layout.kind == "array":
        raise PenaltyError(
            f"{what}: got a {type(value).__name__} of strengths but X is a plain array "
            "without named terms. Fix: pass a scalar or an array with one strength per "
            "feature, or pass X as a dict of named arrays."
        )
    if isinstance(value, dict) and layout.kind == "labelled":
        entries = {}
        for key, v in value.items():
            name = name_of(key, layout.names, short_names)
            if name is None:
                raise PenaltyError(
                    f"{what}: unknown term {key!r}; expected keys among "
                    f"{list(layout.names)}"
                    + (f" or {list(short_names)}" if short_names else "")
                    + ". Fix: key strengths by the model's term names."
                )
            entries[name] = v
        leaves_v, names_v = [entries.get(n) for n in layout.names], list(layout.names)
        missing = [n for n, v in zip(names_v, leaves_v, strict=True) if v is None]
        if missing:
            raise PenaltyError(
                f"{what}: no strength for term(s) {missing}. Fix: give a strength for "
                "every term (0 leaves a term unpenalized)."
            )
    else:
        leaves_v = _align_tree(value, layout.structure, "", what)
    parts = [
        _broadcast_leaf(_as_float(v, what), shape, k, what, name)
        for v, shape, name in zip(leaves_v, layout.shapes, layout.names, strict=True)
    ]
    return np.concatenate(parts, axis=0)


def _describe(path: str) -> str:
    return "the strength pytree" if not path else f"the entry {path}"


def _align_tree(value, struct, path, what) -> list:
    """The strength leaves of ``value`` in the order of X's leaves.

    ``value`` is walked along X's structure: where X has a leaf, ``value`` may hold a
    scalar, a list or an array (the strengths of that leaf), so lists inside a dict are
    not taken for containers. Dict keys are matched by name (any order).
    """
    if struct is None or struct[0] == "leaf":
        return [value]
    kind, subs = struct
    keys = [key for key, _ in subs]
    if kind == "dict" or not isinstance(kind, str):  # dict or NamedTuple
        if isinstance(value, dict):
            have = list(value.keys())
            missing = [key for key in keys if key not in value]
            unknown = [key for key in have if key not in keys]
            if missing or unknown:
                where = "X" if not path else f"X{path}"
                raise PenaltyError(
                    f"{what}: {_describe(path)} has keys {have}, which do not match the "
                    f"keys of {where} {keys} (missing: {missing}, unknown: {unknown}). "
                    "Fix: give one entry per key of X, or a single number."
                )
            items = [(key, value[key]) for key in keys]
        elif (
            not isinstance(kind, str)
            and isinstance(value, (list, tuple))
            and len(value) == len(keys)
        ):
            items = list(zip(keys, value, strict=True))
        else:
            expected = "a dict" if kind == "dict" else f"a {kind[1].__name__} or dict"
            raise PenaltyError(
                f"{what}: {_describe(path)} is a {type(value).__name__}; expected {expected} "
                f"with the keys {keys} to match X. Fix: pass the same container type with "
                "one entry per leaf of X, or a single number."
            )
    else:  # list or tuple
        if not isinstance(value, (list, tuple)) or len(value) != len(keys):
            got = type(value).__name__
            if isinstance(value, (list, tuple)):
                got += f" of length {len(value)}"
            raise PenaltyError(
                f"{what}: {_describe(path)} is a {got}; expected a list or tuple of "
                f"length {len(keys)} (one entry per element of X{path}). Fix: pass one "
                "strength per leaf of X, or a single number."
            )
        items = list(zip(keys, value, strict=True))
    out = []
    for (key, sub), (_, v) in zip(subs, items, strict=True):
        out.extend(_align_tree(v, sub, f"{path}[{key!r}]", what))
    return out


def _check_values(arr, what):
    if not np.all(np.isfinite(arr)):
        raise PenaltyError(
            f"{what}: got non-finite value(s); expected finite numbers >= 0. "
            "Fix: replace NaN/inf strengths."
        )
    if np.any(arr < 0):
        raise PenaltyError(
            f"{what}: got negative value(s) (min {arr.min():g}); expected strengths "
            ">= 0. Fix: use 0 for no penalty and positive numbers otherwise."
        )


def group_index_from(reg: GroupLasso, layout: Layout) -> tuple[np.ndarray, list[str]]:
    """Group id of every feature (``-1`` = unpenalized) and the group names."""
    p = layout.n_features
    if reg.mask is None:
        return layout.group_index(), list(layout.names)
    mask = np.asarray(reg.mask)
    if mask.ndim == 1:
        if mask.shape[0] != p or not np.all(np.mod(mask, 1) == 0):
            raise PenaltyError(
                f"GroupLasso mask: got a vector of shape {mask.shape}; expected {p} "
                "integer group ids (-1 for unpenalized). Fix: one id per feature."
            )
        ids = mask.astype(int)
        uniq = sorted(set(ids[ids >= 0].tolist()))
        remap = {g: i for i, g in enumerate(uniq)}
        return np.array([remap.get(g, -1) for g in ids]), [str(g) for g in uniq]
    if mask.ndim != 2 or mask.shape[1] != p:
        raise PenaltyError(
            f"GroupLasso mask: got shape {mask.shape}; expected (n_groups, {p}) with 0/1 "
            "entries. Fix: one row per group, one column per feature."
        )
    if not np.all((mask == 0) | (mask == 1)):
        raise PenaltyError(
            "GroupLasso mask: entries must be 0 or 1. Fix: mark group membership with 1."
        )
    if np.any(mask.sum(axis=0) > 1):
        j = int(np.flatnonzero(mask.sum(axis=0) > 1)[0])
        raise PenaltyError(
            f"GroupLasso mask: feature {j} belongs to more than one group; expected each "
            "feature in at most one group. Fix: make the groups disjoint."
        )
    ids = np.where(mask.sum(axis=0) > 0, mask.argmax(axis=0), -1)
    return ids, [str(g) for g in range(mask.shape[0])]


def _group_strengths(value, names, k, what, short_names=None, structure=None) -> np.ndarray:
    """One strength per group and neuron, ``(n_groups, k or 1)``. ``structure``: X's
    pytree structure when the groups are its leaves (a strength dict may then be nested
    as X is)."""
    g = len(names)
    kk = k or 1
    if isinstance(value, dict) and structure is not None and structure[0] != "leaf":
        try:
            value = entries_along(value, structure)
        except ValueError:
            pass  # a flat dict of leaf names, or a mismatch reported below
    if type(value).__name__ == "DataArray":
        raise PenaltyError(
            f"{what}: DataArray strengths are not supported for GroupLasso. Fix: pass "
            "a list in group order or a dict keyed by group name."
        )
    if isinstance(value, dict):
        # keys are group names or, for groups that are formula terms, their short labels
        matched, unknown, missing, repeated = match_names(map(str, value), names, short_names)
        if unknown or missing:
            raise PenaltyError(
                f"{what}: group keys {list(value)} do not match the groups {names} "
                f"(missing: {missing}, unknown: {unknown}). Fix: one strength per group."
            )
        if repeated:
            raise PenaltyError(
                f"{what}: group keys {list(value)} name a group twice (a term and its short "
                "label). Fix: one key per group."
            )
        by_group = {}
        for key, v in value.items():
            a = _as_float(v, what)
            if a.shape not in ((), (kk,)):
                per = f"a scalar or one per neuron, shape ({kk},)" if k else "a scalar"
                raise PenaltyError(
                    f"{what}: the strength of group {key!r} has shape {a.shape}; expected "
                    f"{per}: GroupLasso penalizes each group as a whole, with one "
                    "strength. Fix: give one number per group; for per-feature strengths "
                    "use Lasso or Ridge."
                )
            by_group[matched[str(key)]] = a
        arr = np.stack([np.broadcast_to(by_group[n], (kk,)) for n in names])
    else:
        arr = _as_float(value, what)
        if k is not None and k > 1 and arr.shape == (g,) == (k,):
            _ambiguous(what, arr.shape, f"there are {g} groups", k, (g, k), unit="group")
        if arr.ndim == 0:
            arr = np.full((g, kk), float(arr))
        elif arr.shape == (g,):
            arr = np.repeat(arr[:, None], kk, axis=1)
        elif k is not None and arr.shape == (g, k):
            pass
        elif k is not None and arr.shape == (k,):
            arr = np.repeat(arr[None, :], g, axis=0)
        else:
            raise PenaltyError(
                f"{what}: got shape {arr.shape}; expected a scalar or one strength per "
                f"group ({g} groups: {names})"
                + (f", ({g}, {k}) or ({k},)" if k else "")
                + ". Fix: give the strengths in group order."
            )
    arr = np.array(arr, dtype=float)
    _check_values(arr, what)
    return arr


def resolve_penalty(
    reg: Regularizer,
    strength,
    layout: Layout,
    n_neurons: int | None = None,
    dtype=jnp.float64,
    neuron_labels=None,
    short_names=None,
) -> PenaltyArrays:
    """Turn a regularizer and its strength into :class:`PenaltyArrays`."""
    p = layout.n_features
    kk = n_neurons or 1
    what = "regularizer_strength"
    zeros = np.zeros((p, kk))
    l2, l1 = zeros, zeros
    g_alpha = np.zeros((0, kk))
    g_index = -np.ones(p, dtype=int)
    has_l1 = has_group = False
    if isinstance(reg, UnRegularized):
        if strength is not None:
            warnings.warn(
                f"regularizer_strength={strength!r} is ignored because the regularizer "
                "is UnRegularized. Fix: set regularizer='Ridge' (or another penalty), or "
                "leave regularizer_strength=None.",
                UserWarning,
                stacklevel=4,
            )
    else:
        if strength is None:
            warnings.warn(
                f"regularizer_strength is None for {reg.name}; using 1.0. Fix: pass "
                "regularizer_strength explicitly.",
                UserWarning,
                stacklevel=4,
            )
            strength = 1.0
        if isinstance(reg, Ridge):
            l2 = per_feature(strength, layout, n_neurons, what, neuron_labels, short_names)
        elif isinstance(reg, Lasso):
            l1 = per_feature(strength, layout, n_neurons, what, neuron_labels, short_names)
            has_l1 = True
        elif isinstance(reg, ElasticNet):
            if isinstance(strength, tuple) and len(strength) == 2:
                s, r = strength
            elif isinstance(strength, tuple) and not _tuple_design(layout, len(strength)):
                raise PenaltyError(
                    f"{what}: got a tuple of {len(strength)} for ElasticNet; expected "
                    "(strength, ratio), a single strength, or per-feature strengths as a "
                    "list or array. Fix: pass (strength, ratio), e.g. (0.1, 0.5)."
                )
            else:
                s, r = strength, reg.ratio
            s = per_feature(s, layout, n_neurons, what, neuron_labels, short_names)
            r = per_feature(
                r, layout, n_neurons, f"{what} (ratio)", neuron_labels, short_names, check=False
            )
            if not np.all(np.isfinite(r) & (r > 0) & (r <= 1)):
                raise PenaltyError(
                    f"{what}: the ElasticNet ratio must be in (0, 1]; got values in "
                    f"[{r.min():g}, {r.max():g}]. Fix: pass (strength, ratio) with "
                    "0 < ratio <= 1; use Ridge for a pure L2 penalty."
                )
            l1 = s * r
            l2 = s * (1.0 - r)
            has_l1 = True
        elif isinstance(reg, GroupLasso):
            g_index, names = group_index_from(reg, layout)
            structure = layout.structure if reg.mask is None else None
            alpha = _group_strengths(strength, names, n_neurons, what, short_names, structure)
            sizes = np.bincount(g_index[g_index >= 0], minlength=len(names))
            g_alpha = alpha * np.sqrt(sizes)[:, None]
            has_group = True
        else:  # pragma: no cover - guarded by get_regularizer
            raise PenaltyError(
                f"regularizer: unsupported {reg!r}; expected UnRegularized, Ridge, Lasso, "
                "ElasticNet or GroupLasso. Fix: pass one of these, e.g. regularizer='Ridge'."
            )
    squeeze = (lambda a: a[:, 0]) if n_neurons is None else (lambda a: a)
    return PenaltyArrays(
        l2=np.asarray(squeeze(l2), dtype=dtype),
        l1=np.asarray(squeeze(l1), dtype=dtype),
        group_alpha=np.asarray(squeeze(g_alpha), dtype=dtype),
        group_index=np.asarray(g_index, dtype=np.int32),
        has_l1=has_l1,
        has_group=has_group,
    )
