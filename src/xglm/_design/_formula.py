"""Formulas through formulaic: ``"spikes ~ bs(position, df=8) + C(trial) + speed"``.

Each formula term becomes one leaf of the design (so strengths and groups can be given
per term). Terms keep the order the user wrote; the coding of categorical variables is
formulaic's (and R's): terms are materialized in degree order, as R does, and the
columns are then put back in the user's order. The intercept column is removed (the
model fits its own intercept) and ``offset(...)`` terms go to the design's offset.

The formulaic ``ModelSpec`` is stored with the design, so new data are encoded with the
fitted state: spline knots and bounds, category levels, scaling constants. Unseen
categories and spline inputs outside the fitted range raise clear errors.
"""

from __future__ import annotations

import ast
import contextlib
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DesignError, DroppedRowsWarning
from ._arrays import Design, Response, stack_columns
from ._labelled import response_from_var, response_var
from ._layout import Layout
from ._tables import (
    Table,
    Var,
    check_var_coords,
    formula_column,
    handle_missing,
    is_textual,
    missing_rows,
    numeric_array,
    to_table,
)

__all__ = ["FormulaSpec", "prepare_formula", "prepare_formula_new", "split_formula", "context"]


@dataclass
class FormulaSpec:
    """What a fitted formula needs to rebuild exactly the same columns on new data."""

    formula: str
    lhs: str | None
    rhs: str
    model_spec: Any
    columns: tuple
    offset_columns: tuple
    intercept: bool
    variables: tuple
    sample_dim: str
    ranges: dict = field(default_factory=dict)
    term_factors: dict = field(default_factory=dict)
    term_objects: dict = field(default_factory=dict)
    array_coords: dict = field(default_factory=dict)


def offset(x):
    """Mark an expression as an offset: added to the linear predictor, coefficient 1.

    Examples
    --------
    >>> import numpy as np, pandas as pd, xglm
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=300), "exposure": rng.uniform(1, 3, 300)})
    >>> df["y"] = rng.poisson(df.exposure * np.exp(0.2 + 0.3 * df.x))
    >>> m = xglm.glm("y ~ x + offset(np.log(exposure))", data=df)
    >>> m.coef_.term.values.tolist()
    ['x']
    """
    return np.asarray(x, dtype=float)


def context(extra: dict | None = None) -> dict:
    """Names available inside formulas: xglm's bases, ``offset``, and ``extra``."""
    from ..basis import FORMULA_FUNCTIONS

    ctx = dict(FORMULA_FUNCTIONS)
    ctx["offset"] = offset
    if extra:
        ctx.update(extra)
    return ctx


def split_formula(formula) -> tuple[str | None, str]:
    """``"y ~ x + z"`` -> ``("y", "x + z")``; ``"~ x"`` or ``"x"`` -> ``(None, "x")``."""
    if not isinstance(formula, str):
        raise DesignError(
            f"formula: got {type(formula).__name__}; expected a string such as "
            "'spikes ~ bs(position, df=8) + speed'. Fix: pass the formula as a str."
        )
    if formula.count("~") > 1:
        raise DesignError(
            f"formula: got {formula!r} with more than one '~'; expected 'response ~ terms'. "
            "Fix: keep a single '~' between the response and the terms."
        )
    if "~" in formula:
        lhs, rhs = formula.split("~", 1)
        lhs = lhs.strip() or None
    else:
        lhs, rhs = None, formula
    rhs = rhs.strip()
    if not rhs:
        raise DesignError(
            f"formula: got {formula!r} with nothing after '~'; expected terms, or '1' for "
            "an intercept-only model. Fix: add terms after '~', e.g. 'spikes ~ speed' or "
            "'spikes ~ 1'."
        )
    return lhs, rhs


def _names_in(expr: str) -> list[str]:
    """Identifiers used in a factor expression, in order of appearance."""
    try:
        tree = ast.parse(expr, mode="eval")
        names = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]
        calls = {
            n.func.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        }
        names = [n for n in names if n not in calls]
    except SyntaxError:
        names = re.findall(r"`([^`]+)`|([A-Za-z_][A-Za-z0-9_.]*)", expr)
        names = [a or b for a, b in names]
    out = []
    for n in names:
        if n not in out:
            out.append(n)
    return out


# R's "." on the right-hand side: a dot that is not part of a number or a name
_DOT = re.compile(r"(?<![\w.`])\.(?![\w.`])")


_CBIND = re.compile(r"^\s*cbind\s*\((.*)\)\s*$", re.S)


def cbind_parts(lhs: str | None) -> tuple[str, str] | None:
    """``"cbind(hits, misses)"`` -> ``("hits", "misses")``: R's binomial response of
    successes and failures; ``None`` for any other left-hand side."""
    m = _CBIND.match(lhs or "")
    if m is None:
        return None
    parts, depth, start = [], 0, 0
    body = m.group(1)
    for i, ch in enumerate(body):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(body[start:i].strip())
            start = i + 1
    parts.append(body[start:].strip())
    if len(parts) != 2 or not all(parts):
        raise DesignError(
            f"formula: got the response {lhs!r}; expected cbind(successes, failures) with "
            "two expressions. Fix: e.g. 'cbind(hits, misses) ~ contrast'."
        )
    return parts[0], parts[1]


def _data_names(data) -> list[str]:
    kind = type(data).__name__
    if kind == "Dataset":
        return [str(v) for v in data.data_vars]
    if kind == "DataFrame":
        return [str(c) for c in data.columns]
    if isinstance(data, dict):
        return [str(k) for k in data]
    return []


def expand_dot(rhs: str, data, lhs: str | None) -> str:
    """R's ``.``: every variable of ``data`` but the response, as a sum of terms."""
    if not _DOT.search(rhs):
        return rhs
    available = _data_names(data)
    exclude = set(_names_in(lhs)) if lhs else set()
    names = [n for n in available if n not in exclude]
    if not names:
        raise DesignError(
            f"formula: '.' stands for the variables of data besides the response; got "
            f"variables {available}. Fix: name the terms, or pass a table with predictors."
        )
    terms = " + ".join(n if n.isidentifier() else f"`{n}`" for n in names)
    return _DOT.sub(f"({terms})", rhs)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _plain(exc) -> str:
    """An error's text on one line, without the terminal colour codes formulaic puts
    around the offending token."""
    return re.sub(r"\s*\n\s*", " ", _ANSI.sub("", str(exc))).strip()


def _parse_terms(rhs: str, ordering: str):
    from formulaic import Formula

    try:
        return list(Formula(rhs, _ordering=ordering))
    except Exception as exc:  # formulaic raises several parser errors
        raise DesignError(
            f"formula: could not parse {rhs!r} ({_plain(exc)}). Fix: check the syntax, e.g. "
            "'y ~ bs(x, df=5) + C(group) + z'."
        ) from exc


def formula_has_intercept(formula: str) -> bool:
    """Whether the right-hand side of ``formula`` keeps the intercept."""
    _, rhs = split_formula(formula)
    # "." stands for predictors only: any name serves to find the intercept
    rhs = _DOT.sub("dot_", rhs)
    return any(str(t) == "1" for t in _parse_terms(rhs, "none"))


def _is_offset(term) -> bool:
    factors = list(term.factors)
    return len(factors) == 1 and re.match(r"^\s*offset\s*\(", factors[0].expr) is not None


# ----------------------------------------------------------------------------- evaluation
def _find_bounds(state):
    if isinstance(state, dict):
        if "lower_bound" in state and "upper_bound" in state:
            return state
        for v in state.values():
            found = _find_bounds(v)
            if found is not None:
                return found
    return None


def _term_of_factor(spec: FormulaSpec | None, factor: str) -> str:
    if spec is not None:
        for name, exprs in spec.term_factors.items():
            if factor in exprs:
                return name
    return factor


def _range_error(factor, model_spec, frame, spec) -> DesignError:
    state = _find_bounds(model_spec.transform_state.get(factor, {})) if model_spec else None
    term = _term_of_factor(spec, factor)
    if state is not None:
        lo, hi = float(state["lower_bound"]), float(state["upper_bound"])
        for var in _names_in(factor):
            if var in frame.columns and frame[var].dtype.kind in "biuf":
                v = frame[var].to_numpy(dtype=float)
                out = (v < lo) | (v > hi)
                if out.any():
                    return DesignError(
                        f"data[{var!r}]: {int(out.sum())} value(s) outside the range "
                        f"[{lo:.6g}, {hi:.6g}] that the term {term!r} was fitted on (got "
                        f"min {v.min():.6g}, max {v.max():.6g}); expected values inside "
                        "the fitted range (splines are not extrapolated silently). Fix: "
                        "drop those rows, or refit with explicit bounds covering them, "
                        f"e.g. bs({var}, df=..., lower_bound=..., upper_bound=...), or "
                        "extrapolation='clip'."
                    )
    return DesignError(
        f"data: values of the term {term!r} fall outside the range it was fitted on; "
        "expected values inside the fitted range. Fix: drop those rows or refit with "
        "explicit lower_bound/upper_bound."
    )


@contextlib.contextmanager
def _formulaic_errors(model_spec, frame, spec, names):
    from formulaic.errors import FactorEvaluationError, FormulaicError

    try:
        yield
    except FactorEvaluationError as exc:
        msg = str(exc)
        m = re.search(r"factor `(.+?)`", msg)
        factor = m.group(1) if m else "?"
        if "extend beyond upper and/or lower bounds" in msg:
            raise _range_error(factor, model_spec, frame, spec) from exc
        missing = re.search(r"name '([^'`]+)' is not defined", msg) or re.search(
            r"`([^`]+)` is not present in the dataset or evaluation context", msg
        )
        if missing:
            raise DesignError(
                f"data: the formula uses {missing.group(1)!r} (in {factor!r}) but the data "
                f"have no such variable (got {names}) and no formula function has that "
                "name. Fix: add the variable to the data, or make a function available "
                "with xglm.basis.register(name, func)."
            ) from exc
        inner = _plain(exc.__cause__ if exc.__cause__ is not None else msg).rstrip(".")
        raise DesignError(
            f"formula: could not evaluate the term {_term_of_factor(spec, factor)!r}: "
            f"{inner}. Fix: check the variable's values and the call's arguments."
        ) from exc
    except FormulaicError as exc:
        raise DesignError(f"formula: {_plain(exc)}. Fix: check the formula and the data.") from exc


def _check_unseen(caught, model_spec, frame, spec):
    from formulaic.errors import DataMismatchWarning

    if not any(issubclass(w.category, DataMismatchWarning) for w in caught):
        return
    for factor, (kind, state) in model_spec.encoder_state.items():
        if getattr(kind, "value", kind) != "categorical":
            continue
        levels = state.get("categories")
        if levels is None and "contrasts" in state:
            levels = state["contrasts"].levels
        if levels is None:
            continue
        for var in _names_in(factor):
            if var not in frame.columns:
                continue
            col = frame[var]
            bad = ~col.isin(list(levels)) & col.notna()
            if bad.any():
                unseen = sorted(pd.unique(col[bad]).tolist(), key=str)
                raise DesignError(
                    f"data[{var!r}]: got category level(s) {unseen} in {int(bad.sum())} "
                    f"row(s) that the model did not see when fitted (term "
                    f"{_term_of_factor(spec, factor)!r}, fitted levels {list(levels)}); "
                    "expected only fitted levels. Fix: drop or recode those rows, or refit "
                    "with data that contains these levels."
                )


def _frame_and_context(table: Table, variables, what):
    cols, arrays = {}, {}
    for name in variables:
        var = table.lookup(name)
        if var.ndim == 1:
            cols[name] = formula_column(var.values, name)
        else:
            arrays[name] = numeric_array(var.values, name, what)
    frame = pd.DataFrame(cols) if cols else pd.DataFrame(index=pd.RangeIndex(table.n))
    return frame, context(arrays)


def _evaluate(table, variables, rhs, model_spec, spec, what):
    from formulaic import Formula, model_matrix

    frame, ctx = _frame_and_context(table, variables, what)
    names = table.names()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with _formulaic_errors(model_spec, frame, spec, names):
            if model_spec is None:
                mm = model_matrix(Formula(rhs), frame, context=ctx, na_action="ignore")
            else:
                mm = model_spec.get_model_matrix(frame, context=ctx)
    spec_used = mm.model_spec
    if model_spec is not None:
        _check_unseen(caught, spec_used, frame, spec)
    for w in caught:
        if w.category.__name__ != "DataMismatchWarning":
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return np.asarray(mm.to_numpy(dtype=float)), spec_used, frame


def _take_columns(M: np.ndarray, cols) -> np.ndarray:
    """``M[:, cols]`` as a column-major design the solvers read without a transpose (see
    :func:`~xglm._design._arrays.stack_columns`): a view of ``M`` when the columns are
    consecutive in pandas' column-major model matrix."""
    return stack_columns([M[:, j : j + 1] for j in cols], M.shape[0])


def _nan_rows(X, off, labels, index, na_action, what):
    bad = np.isnan(X)
    if off is not None:
        bad = np.concatenate([bad, np.isnan(off)[:, None]], axis=1)
        labels = list(labels) + ["offset"]
    if not bad.any():
        return None, index[:0]
    rows = bad.any(axis=1)
    per_col = {labels[j]: int(bad[:, j].sum()) for j in np.flatnonzero(bad.any(axis=0))}
    desc = ", ".join(f"{k!r} ({v})" for k, v in list(per_col.items())[:8])
    if na_action != "drop":
        raise DesignError(
            f"{what}: the formula's transforms produced NaN in {int(rows.sum())} row(s) "
            f"(columns: {desc}), e.g. the log of a negative number; expected finite "
            "values. Fix: correct those inputs, or pass na_action='drop' to drop the rows."
        )
    if rows.all():
        raise DesignError(
            f"{what}: every row has NaN after the formula's transforms ({desc}); expected "
            "some rows with finite values. Fix: check the inputs of those columns (e.g. the "
            "log of negative numbers) or change the transforms."
        )
    warnings.warn(
        f"na_action='drop': dropped {int(rows.sum())} of {len(rows)} rows where the "
        f"formula's transforms produced NaN ({desc}); their sample labels are kept in "
        "model.dropped_.",
        DroppedRowsWarning,
        stacklevel=5,
    )
    return ~rows, index[rows]


def _check_inf(X, off, labels, what):
    bad = np.isinf(X)
    which = [labels[j] for j in np.flatnonzero(bad.any(axis=0))]
    count = int(bad.sum())
    if off is not None and np.isinf(off).any():
        which.append("offset")
        count += int(np.isinf(off).sum())
    if which:
        raise DesignError(
            f"{what}: the formula produced {count} infinite value(s) in {which[:8]} "
            "(e.g. log(0)); expected finite values. Fix: shift or clip the input, e.g. "
            "np.log(x + 1)."
        )


def _finish(M, cols, off_cols, colnames, index, na_action, what):
    """Feature matrix and offset from the model matrix; NaN rows raise or are dropped."""
    X = _take_columns(M, cols)
    off = M[:, off_cols].sum(axis=1) if off_cols else None
    total = X.sum(axis=1) + (off if off is not None else 0.0)
    if np.all(np.isfinite(total)):
        return X, off, None, index[:0]
    labels = [colnames[i] for i in cols]
    keep, dropped = _nan_rows(X, off, labels, index, na_action, what)
    if keep is not None:
        X = X[keep]
        off = off[keep] if off is not None else None
    _check_inf(X, off, labels, what)
    return X, off, keep, dropped


def _short_names(term_factors: dict, known: set) -> dict:
    candidates: dict = {}
    for name, exprs in term_factors.items():
        parts = []
        for expr in exprs:
            vs = [v for v in _names_in(expr) if v in known]
            parts.append("+".join(vs) if vs else expr)
        short = ":".join(parts)
        if short != name:
            candidates.setdefault(short, []).append(name)
    return {
        s: names[0] for s, names in candidates.items() if len(names) == 1 and s not in term_factors
    }


def _relevant(lhs, rhs_terms, table_names):
    used = []
    exprs = [f.expr for t in rhs_terms for f in t.factors]
    for expr in exprs:
        for n in _names_in(expr):
            if n in table_names and n not in used:
                used.append(n)
    lhs_names = [n for n in _names_in(lhs) if n in table_names] if lhs else []
    return used, lhs_names


# ----------------------------------------------------------------------------- entry points
def prepare_formula(data, y, formula, population, na_action) -> tuple[Design, Response]:
    """Design and response for ``formula`` evaluated on ``data``."""
    lhs, rhs = split_formula(formula)
    rhs = expand_dot(rhs, data, lhs)
    user_terms = _parse_terms(rhs, "none")
    if lhs is not None and y is not None:
        raise DesignError(
            f"y: got a response but the formula {formula!r} already names one ({lhs!r}); "
            "expected y=None. Fix: call fit(data), or drop the left-hand side."
        )
    if lhs is None and y is None:
        raise DesignError(
            f"formula: {formula!r} has no response; expected 'response ~ terms'. Fix: "
            "e.g. 'spikes ~ ' + the terms, or pass y to fit."
        )
    all_names = set()
    for t in user_terms:
        for f in t.factors:
            all_names.update(_names_in(f.expr))
    lhs_guess = set(_names_in(lhs)) if lhs else set()
    relevant = all_names | lhs_guess
    if type(data).__name__ == "Dataset":
        relevant = [v for v in data.data_vars if str(v) in relevant]
    else:
        relevant = None
    preferred = None
    if lhs is None and type(y).__name__ == "DataArray" and type(data).__name__ == "Dataset":
        shared = [d for d in y.dims if d in data.dims]
        preferred = shared[0] if len(shared) == 1 else None
    table = to_table(data, "data", relevant=relevant, preferred_dim=preferred)
    names = table.names()
    used, lhs_names = _relevant(lhs, user_terms, set(names))

    # the response
    if lhs is not None:
        if lhs.isidentifier():
            yvar = table.lookup(lhs)
            if yvar is None:
                raise DesignError(
                    f"data: has no variable {lhs!r}, the response of the formula; got "
                    f"variables {names}. Fix: add it, or correct the formula."
                )
            response_source = ("var", lhs)
        else:
            yvar = None
            response_source = ("expr", lhs)
        yname = lhs
    else:
        yvar = response_var(y, table)
        yname = yvar.attrs.get("name")
        response_source = ("given", None)

    # missing values
    masks = {v: missing_rows(table.lookup(v)) for v in used}
    if yvar is not None:
        masks[str(yname) if yname is not None else "y"] = missing_rows(yvar)
    else:
        for v in lhs_names:
            masks.setdefault(v, missing_rows(table.lookup(v)))
    keep, dropped = handle_missing(masks, table.n, table.index, na_action, "data")
    index_in, kept = table.index, np.arange(table.n)
    if keep is not None:
        kept = kept[keep]
        table = table.take(keep)
        if yvar is not None:
            yvar = yvar.take(keep)

    trials = None
    cbind = cbind_parts(lhs) if response_source[0] == "expr" else None
    if cbind is not None:
        # successes / (successes + failures), with the totals as binomial trials
        counts = []
        for part in cbind:
            C, _, _ = _evaluate(table, lhs_names, f"{part} - 1", None, None, "data")
            if C.shape[1] != 1:
                raise DesignError(
                    f"formula: {part!r} in {lhs!r} gives {C.shape[1]} columns; expected "
                    "one count per sample. Fix: cbind one successes and one failures column."
                )
            counts.append(C[:, 0])
        successes, failures = counts
        if np.any(successes < 0) or np.any(failures < 0):
            raise DesignError(
                f"formula: {lhs!r} has negative counts; expected successes and failures "
                ">= 0. Fix: check the two columns."
            )
        trials = successes + failures
        # no trials means no successes: the proportion is 0 / 1
        yvar = Var(successes / np.where(trials > 0, trials, 1.0))
    elif response_source[0] == "expr":
        Y, _, _ = _evaluate(table, lhs_names, f"{lhs} - 1", None, None, "data")
        if Y.shape[1] == 1:
            yvar = Var(Y[:, 0])
        else:
            yvar = Var(Y, ("neuron",), (None,))

    M, model_spec, frame = _evaluate(table, used, rhs, None, None, "data")
    colnames = list(model_spec.column_names)
    slices = model_spec.term_slices
    if set(map(str, slices)) != {str(t) for t in user_terms}:
        user_terms = list(slices)
    by_name = {str(t): sl for t, sl in slices.items()}
    leaf_names, shapes, cols, labels, off_cols = [], [], [], [], []
    term_factors, term_objects = {}, {}
    intercept = False
    for t in user_terms:
        sl = by_name[str(t)]
        idx = list(range(sl.start, sl.stop))
        if str(t) == "1":
            intercept = True
            continue
        if _is_offset(t):
            off_cols.extend(idx)
            continue
        if not idx:
            continue
        name = str(t)
        leaf_names.append(name)
        shapes.append((len(idx),))
        cols.extend(idx)
        labels.extend(colnames[i] for i in idx)
        term_factors[name] = tuple(f.expr for f in t.factors)
        term_objects[name] = t

    X, off, keep2, dropped2 = _finish(M, cols, off_cols, colnames, table.index, na_action, "data")
    del M
    if keep2 is not None:
        kept = kept[keep2]
        table = table.take(keep2)
        yvar = yvar.take(keep2)
        dropped = dropped.append(dropped2)

    ranges = {}
    for v in used:
        if v in frame.columns and frame[v].dtype.kind in "biuf" and len(frame[v]):
            col = frame[v].to_numpy(dtype=float)
            if keep2 is not None:
                col = col[keep2]
            ranges[v] = (float(np.min(col)), float(np.max(col)))
    array_coords = {}
    for v in used:
        var = table.lookup(v)
        if var.ndim > 1:
            array_coords[v] = (var.dims, var.coords)
    labels = _array_labels(labels, array_coords)
    spec = FormulaSpec(
        formula=formula,
        lhs=lhs,
        rhs=rhs,
        model_spec=model_spec,
        columns=tuple(cols),
        offset_columns=tuple(off_cols),
        intercept=intercept,
        variables=tuple(used),
        sample_dim=table.sample_dim,
        ranges=ranges,
        term_factors=term_factors,
        term_objects=term_objects,
        array_coords=array_coords,
    )
    layout = Layout("labelled", tuple(leaf_names), tuple(shapes), None, tuple(labels))
    if is_textual(yvar.values):
        pass  # response_from_var raises a clear error
    response = response_from_var(yvar, yname, population, table.index, what="data")
    if trials is not None:
        response.attrs["trials"] = trials
    design = Design(
        X,
        layout,
        sample_dim=table.sample_dim,
        sample_coords=table.index,
        spec=spec,
        offset=off,
        extra={
            "short_names": _short_names(term_factors, set(names)),
            "dropped": dropped,
            "formula": formula,
            "formula_intercept": intercept,
            # a term that is an array variable alone keeps its dims (coef_by_term)
            "term_dims": {
                v: (dims, coords, (len(coords[0]),))
                for v, (dims, coords) in array_coords.items()
                if v in leaf_names and len(dims) == 1 and coords[0] is not None
            },
            "samples_in": None if len(kept) == len(index_in) else (index_in, kept),
        },
    )
    return design, response


def _array_labels(labels: list, array_coords: dict) -> list:
    """Column labels with an array variable's columns named by its coordinate, as
    without a formula: formulaic names the columns of ``stim`` (dims ``time, lag``)
    ``stim[0], stim[1], ...``; with ``lag = [1, 2, 3]`` they become ``stim[1], ...``
    (inside interactions too)."""
    for v, (dims, coords) in array_coords.items():
        if len(dims) != 1 or coords[0] is None:
            continue
        values = list(coords[0])
        pattern = re.compile(rf"(?<![\w.]){re.escape(v)}\[(\d+)\]")

        def named(m, values=values, v=v):
            j = int(m.group(1))
            return f"{v}[{values[j]}]" if j < len(values) else m.group(0)

        labels = [pattern.sub(named, label) for label in labels]
    return labels


def _check_array_coords(table, spec) -> None:
    """The new data's array variables have the fitted dims and coordinate labels (their
    columns are matched by position inside the formula)."""
    for v, (dims, coords) in spec.array_coords.items():
        check_var_coords(v, table.lookup(v), dims, coords, "data")


def prepare_formula_new(template: Design, data, na_action) -> Design:
    """The design of ``data`` for a fitted formula, reusing the stored ModelSpec."""
    spec: FormulaSpec = template.spec
    relevant = list(spec.variables)
    table = to_table(
        data,
        "data",
        relevant=relevant if relevant else None,
        preferred_dim=spec.sample_dim,
    )
    missing = [v for v in spec.variables if table.lookup(v) is None]
    if missing:
        raise DesignError(
            f"data: is missing the variable(s) {missing} that the formula {spec.formula!r} "
            f"uses; got {table.names()}. Fix: pass new data with these variables."
        )
    _check_array_coords(table, spec)
    for v in spec.ranges:  # the variables that were numbers when fitting
        values = table.lookup(v).values
        if is_textual(values):
            raise DesignError(
                f"data[{v!r}]: got text values (dtype {np.asarray(values).dtype}); expected "
                "numbers, as in the fitted data. Fix: convert the column, e.g. "
                f"data[{v!r}].astype(float)."
            )
    masks = {v: missing_rows(table.lookup(v)) for v in spec.variables}
    keep, dropped = handle_missing(masks, table.n, table.index, na_action, "data")
    index_in, kept = table.index, np.arange(table.n)
    if keep is not None:
        kept = kept[keep]
        table = table.take(keep)
    M, _, _ = _evaluate(table, spec.variables, spec.rhs, spec.model_spec, spec, "data")
    colnames = list(spec.model_spec.column_names)
    cols, off_cols = list(spec.columns), list(spec.offset_columns)
    X, off, keep2, dropped2 = _finish(M, cols, off_cols, colnames, table.index, na_action, "data")
    del M
    if keep2 is not None:
        kept = kept[keep2]
        table = table.take(keep2)
        dropped = dropped.append(dropped2)
    samples_in = None if len(kept) == len(index_in) else (index_in, kept)
    return Design(
        X,
        template.layout,
        sample_dim=table.sample_dim,
        sample_coords=table.index,
        spec=spec,
        offset=off,
        extra={**template.extra, "dropped": dropped, "samples_in": samples_in},
    )
