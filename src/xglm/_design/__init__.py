"""Translation in: arrays, pytrees, pandas, xarray and formulas to a :class:`Design`.

``prepare`` turns the user's ``X``/``y`` (or formula + data) into a numeric design and
response with labels; ``prepare_new`` rebuilds the design of a fitted model on new data
(reusing stored formula state). Nothing from pandas/xarray goes further than this package
and the results module.
"""

from __future__ import annotations

from ._arrays import Design, Response, check_finite, design_from_arrays, response_from_array
from ._layout import (
    Layout,
    entries_along,
    flatten_pytree,
    match_names,
    name_of,
    split_columns,
    unflatten,
)

__all__ = [
    "Design",
    "Response",
    "Layout",
    "prepare",
    "prepare_new",
    "is_labelled",
    "flatten_pytree",
    "entries_along",
    "unflatten",
    "split_columns",
    "match_names",
    "name_of",
    "check_finite",
]


def is_labelled(obj) -> bool:
    """True for pandas and xarray objects."""
    mod = type(obj).__module__
    return mod.startswith("pandas") or mod.startswith("xarray")


def prepare(X, y, *, formula=None, population=False, na_action="raise", defer_check=False):
    """Return ``(Design, Response)`` for any supported input (``defer_check``: see
    :func:`design_from_arrays`)."""
    if formula is not None or is_labelled(X) or (y is not None and is_labelled(y)):
        from ._labelled import prepare_labelled

        return prepare_labelled(X, y, formula=formula, population=population, na_action=na_action)
    if y is None:
        from ..errors import DesignError

        raise DesignError(
            "y: got None; expected the response (n_samples,) or (n_samples, n_neurons). "
            "Fix: call fit(X, y), or set formula='y ~ ...' and call fit(data)."
        )
    return design_from_arrays(X, defer_check), response_from_array(y, population)


def prepare_new(template: Design, X, *, na_action="raise") -> Design:
    """The design of new data ``X`` for a model fitted on ``template``."""
    if template.layout.kind == "labelled":
        from ._labelled import prepare_labelled_new

        return prepare_labelled_new(template, X, na_action=na_action)
    design = design_from_arrays(X)
    if (
        design.layout.kind != template.layout.kind
        or design.layout.shapes != template.layout.shapes
        or (design.layout.names != template.layout.names)
    ):
        from ..errors import DesignError

        raise DesignError(
            f"X: got leaves {list(design.layout.names)} with feature shapes "
            f"{list(design.layout.shapes)}; expected the structure the model was fitted on "
            f"(leaves {list(template.layout.names)}, shapes {list(template.layout.shapes)}). "
            "Fix: pass predictors built the same way as for fit."
        )
    return design
