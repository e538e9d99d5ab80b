"""Feature layout: how the columns of the design matrix map back to the user's structure.

JAX sorts dict keys when it flattens a pytree; xglm keeps the user's order by walking
containers itself. A :class:`Layout` records, for every leaf in the order the user
gave, its name, its trailing shape and its columns, plus readable feature and term
labels for every column. ``unflatten`` rebuilds a coefficient pytree of the user's
structure from a flat ``(n_features, ...)`` array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Layout", "entries_along", "flatten_pytree", "match_names", "name_of", "unflatten"]


@dataclass(frozen=True)
class Layout:
    """Column bookkeeping of a design.

    Attributes
    ----------
    kind : str
        ``"array"`` for a plain 2-D array, ``"pytree"`` for dict/list/tuple input,
        ``"labelled"`` for formula, DataFrame, Dataset or DataArray input.
    names : tuple of str
        Leaf (term) names in the user's order.
    shapes : tuple of tuple of int
        Trailing shape of each leaf (its feature shape).
    structure : object
        Nested description of the user's container, used by :func:`unflatten`.
    feature_labels : tuple of str
        A readable label for every column.
    """

    kind: str
    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    structure: Any = None
    feature_labels: tuple[str, ...] = field(default=())

    def __post_init__(self):
        if not self.feature_labels:
            labels = []
            for name, shape in zip(self.names, self.shapes):
                size = math.prod(shape)
                if self.kind == "array":
                    labels.extend(f"x{j}" for j in range(size))
                elif size == 1 and shape == ():
                    labels.append(name)
                else:
                    idx = np.ndindex(*shape) if shape else [()]
                    labels.extend(f"{name}[{','.join(map(str, i))}]" for i in idx)
            object.__setattr__(self, "feature_labels", tuple(labels))

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(math.prod(s) for s in self.shapes)

    @property
    def n_features(self) -> int:
        return sum(self.sizes)

    @property
    def slices(self) -> tuple[slice, ...]:
        out, start = [], 0
        for size in self.sizes:
            out.append(slice(start, start + size))
            start += size
        return tuple(out)

    @property
    def term_of_feature(self) -> tuple[str, ...]:
        """The term (leaf) name of every column."""
        return tuple(n for n, s in zip(self.names, self.sizes) for _ in range(s))

    def group_index(self) -> np.ndarray:
        """Integer group id (leaf position) of every column."""
        return np.repeat(np.arange(len(self.names)), self.sizes)


def _is_leaf(obj) -> bool:
    return not isinstance(obj, (dict, list, tuple))


def flatten_pytree(tree, prefix: str = "") -> tuple[list, list[str], Any]:
    """Flatten dict/list/tuple containers in the user's order.

    Returns the leaves, their dotted path names and a structure description.
    NamedTuples are kept as tuples with their field names.
    """
    if _is_leaf(tree):
        return [tree], [prefix or "x"], ("leaf",)
    if isinstance(tree, dict):
        items = list(tree.items())
        kind = "dict"
    elif isinstance(tree, tuple) and hasattr(tree, "_fields"):
        items = list(zip(tree._fields, tree))
        kind = ("namedtuple", type(tree))
    else:
        items = list(enumerate(tree))
        kind = "list" if isinstance(tree, list) else "tuple"
    leaves, names, subs = [], [], []
    for key, sub in items:
        name = f"{prefix}.{key}" if prefix else str(key)
        sub_leaves, sub_names, sub_struct = flatten_pytree(sub, name)
        leaves.extend(sub_leaves)
        names.extend(sub_names)
        subs.append((key, sub_struct))
    return leaves, names, (kind, subs)


def _count_leaves(struct) -> int:
    if struct[0] == "leaf":
        return 1
    return sum(_count_leaves(s) for _, s in struct[1])


def unflatten(struct, leaves: list):
    """Inverse of :func:`flatten_pytree` on a list of leaves in the same order."""
    it = iter(leaves)

    def build(s):
        if s[0] == "leaf":
            return next(it)
        kind, subs = s
        values = [(k, build(sub)) for k, sub in subs]
        if kind == "dict":
            return dict(values)
        if kind == "list":
            return [v for _, v in values]
        if kind == "tuple":
            return tuple(v for _, v in values)
        return kind[1](*[v for _, v in values])

    return build(struct)


def entries_along(value, struct, prefix: str = "") -> dict:
    """The entries of ``value``, a pytree shaped like ``X``, by the dotted names of X's
    leaves (as :func:`flatten_pytree` names them), walking X's structure ``struct``:
    where X has a leaf, ``value``'s entry is taken whole (a per-neuron list of flags,
    say). Dicts match by key, in any order; lists and tuples by position.

    Raises ``ValueError`` naming the first place where ``value`` does not match.
    """
    if struct[0] == "leaf":
        return {prefix or "x": value}
    kind, subs = struct
    keys = [key for key, _ in subs]
    where = f"X.{prefix}" if prefix else "X"
    if isinstance(value, dict):
        have = list(value)
        if sorted(map(str, have)) != sorted(map(str, keys)):
            raise ValueError(f"the keys {have} do not match the keys of {where} {keys}")
        by_name = {str(key): v for key, v in value.items()}
        items = [by_name[str(key)] for key in keys]
    elif isinstance(value, (list, tuple)) and kind != "dict" and len(value) == len(keys):
        items = list(value)
    else:
        got = type(value).__name__
        if isinstance(value, (list, tuple)):
            got += f" of length {len(value)}"
        want = "a dict with the keys" if kind == "dict" else "a list or tuple of the entries"
        raise ValueError(f"got a {got} where {where} has {want} {keys}")
    out = {}
    for (key, sub), item in zip(subs, items, strict=True):
        out.update(entries_along(item, sub, f"{prefix}.{key}" if prefix else str(key)))
    return out


def split_columns(layout: Layout, flat: np.ndarray) -> list[np.ndarray]:
    """Split a ``(n_features, ...)`` array into per-leaf arrays of each leaf's shape."""
    out = []
    rest = flat.shape[1:]
    for sl, shape in zip(layout.slices, layout.shapes):
        out.append(flat[sl].reshape(shape + rest))
    return out


def name_of(key, names, short_names) -> str | None:
    """The name ``key`` denotes: itself when it is one of ``names``, else the name whose
    short label (of a formula term, ``"position"`` for ``bs(position, df=5)``) it is;
    ``None`` when neither."""
    if key in names:
        return key
    return (short_names or {}).get(key)


def match_names(keys, names, short_names=None):
    """Match the keys of a user dict to ``names`` (see :func:`name_of`).

    Returns ``(matched, unknown, missing, repeated)``: key -> name (``None`` when
    unknown), the unknown keys, the names no key denotes, and whether two keys denote
    the same name (a term and its short label).
    """
    matched = {key: name_of(key, names, short_names) for key in keys}
    unknown = [key for key, name in matched.items() if name is None]
    missing = [n for n in names if n not in matched.values()]
    repeated = len(set(matched.values())) < len(matched)
    return matched, unknown, missing, repeated
