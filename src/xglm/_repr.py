"""Presentation of fitted models: HTML for Jupyter and a plain-text summary.

``model_html`` renders collapsible sections (configuration, fit statistics, the
coefficient table; a per-neuron table and a feature x neuron coefficient matrix for
populations). ``summary_text`` mimics statsmodels' ``summary()`` layout. Both escape
every label and truncate long tables so that very wide populations stay readable.
"""

from __future__ import annotations

import html
import warnings

import numpy as np
import pandas as pd

from .errors import SelectionInferenceWarning

__all__ = ["model_html", "summary_text", "configuration", "fit_statistics_table"]

_MAX_ROWS = 40
_MAX_NEURONS = 12
_STATS = (
    ("nobs_", "observations"),
    ("dof_resid_", "df residual"),
    ("deviance_", "deviance"),
    ("null_deviance_", "null deviance"),
    ("loglik_", "log-likelihood"),
    ("aic_", "AIC"),
    ("bic_", "BIC"),
    ("scale_", "dispersion (scale)"),
    ("n_iter_", "iterations"),
    ("converged_", "converged"),
)

_CSS = """
<style>
.xglm-model {font-family: var(--jp-content-font-family, sans-serif); font-size: 13px;}
.xglm-model table {border-collapse: collapse; margin: 2px 0 6px 0;}
.xglm-model th, .xglm-model td {padding: 1px 8px; text-align: right;}
.xglm-model td.k {text-align: left; color: #555;}
.xglm-model summary {cursor: pointer; font-weight: bold; margin-top: 4px;}
.xglm-model .xglm-title {font-weight: bold; font-size: 14px;}
.xglm-model .xglm-note {color: #777; font-size: 12px;}
</style>
"""


def _fmt(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if v == int(v) and abs(v) < 1e12:
            return str(int(v))
        return f"{v:.6g}"
    return str(v)


def _strength_text(model) -> str:
    value = model.regularizer_strength
    if value is None:
        return "None"
    if np.isscalar(value):
        return _fmt(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(_strength_text_value(v) for v in value) + ")"
    return _strength_text_value(value)


def _strength_text_value(v) -> str:
    if np.isscalar(v):
        return _fmt(v)
    if isinstance(v, dict):
        return f"dict of {len(v)}"
    return f"{type(v).__name__} {np.shape(getattr(v, 'values', v))}"


def configuration(model) -> list[tuple[str, str]]:
    """``(name, value)`` pairs describing the estimator and, once fitted, the fit."""
    fitted = hasattr(model, "_coef_flat")
    fam = model.family_ if fitted else model.family
    rows = [("estimator", type(model).__name__)]
    if fitted:
        rows.append(("family", type(fam).__name__))
        rows.append(("link", fam.link.name))
        alpha = getattr(model, "alpha_", None)
        if alpha is not None:
            rows.append(("alpha (estimated)", _fmt(alpha)))
        elif hasattr(fam, "alpha"):
            rows.append(("alpha", _fmt(float(np.asarray(fam.alpha)))))
        rows.append(("regularizer", repr(model.regularizer_)))
    else:
        rows.append(("family", str(fam)))
        rows.append(("regularizer", str(model.regularizer)))
    rows.append(("regularizer_strength", _strength_text(model)))
    if model.formula is not None:
        rows.append(("formula", str(model.formula)))
    rows.append(("fit_intercept", str(bool(model.fit_intercept))))
    rows.append(("solver", str(model.solver_ if fitted else model.solver)))
    if model.solver_kwargs:
        rows.append(("solver_kwargs", repr(model.solver_kwargs)))
    if model.dtype != "float64":
        rows.append(("dtype", str(model.dtype)))
    if fitted:
        layout = model.design_.layout
        rows.append(("features", f"{layout.n_features} in {len(layout.names)} term(s)"))
        if model._n_neurons is not None:
            rows.append(("neurons", str(model._n_neurons)))
    return rows


def fit_statistics_table(model) -> pd.DataFrame | list[tuple[str, str]]:
    """Fit statistics: pairs for one neuron, a DataFrame (one row per neuron) otherwise."""
    k = model._n_neurons
    names = [(a, label) for a, label in _STATS if hasattr(model, a)]
    with np.errstate(divide="ignore", invalid="ignore"):
        explained = 1 - np.asarray(model.deviance_) / np.asarray(model.null_deviance_)
    if k is None:
        out = [(label, _fmt(getattr(model, a))) for a, label in names]
        out.insert(4, ("deviance explained", _fmt(float(explained))))
        return out
    from ._results import _neuron_labels

    data = {label: np.asarray(getattr(model, a)) for a, label in names}
    data = dict(
        list(data.items())[:4] + [("deviance explained", explained)] + list(data.items())[4:]
    )
    return pd.DataFrame(
        data, index=pd.Index(_neuron_labels(model), name=model.response_.neuron_dim)
    )


def _pairs_html(rows) -> str:
    body = "".join(
        f"<tr><td class='k'>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table>{body}</table>"


def _frame_html(df: pd.DataFrame, max_rows=_MAX_ROWS) -> str:
    note = ""
    if len(df) > max_rows:
        note = f"<div class='xglm-note'>showing {max_rows} of {len(df)} rows</div>"
        df = df.iloc[:max_rows]
    return df.to_html(float_format=lambda v: f"{v:.4g}", border=0) + note


def _section(title, body, open_=True) -> str:
    o = " open" if open_ else ""
    return f"<details{o}><summary>{html.escape(title)}</summary>{body}</details>"


def _coef_matrix(model) -> pd.DataFrame:
    from ._results import _neuron_labels, _param_labels

    sl = slice(0, None) if model.fit_intercept else slice(1, None)
    values = np.concatenate([model._intercept[None, :], model._coef_flat], axis=0)[sl]
    return pd.DataFrame(
        values,
        index=pd.Index(_param_labels(model)[sl], name="feature"),
        columns=pd.Index(_neuron_labels(model), name=model.response_.neuron_dim),
    )


def model_html(model) -> str:
    """The HTML representation shown by Jupyter."""
    name = html.escape(type(model).__name__)
    fitted = hasattr(model, "_coef_flat")
    status = "fitted" if fitted else "not fitted"
    parts = [
        _CSS,
        "<div class='xglm-model'>",
        f"<div class='xglm-title'>{name} <span class='xglm-note'>({status})</span></div>",
        _section("Configuration", _pairs_html(configuration(model))),
    ]
    if fitted:
        k = model._n_neurons
        stats_ = fit_statistics_table(model)
        # (a display is not a request for inference: the table of a fit whose penalty
        # selects features carries a note instead of the warning summary() gives)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SelectionInferenceWarning)
            table = model.summary()
        if model._selects_features():
            table_note = (
                "<div class='xglm-note'>standard errors, tests and intervals hold the "
                "penalty's feature selection fixed: not valid inference</div>"
            )
        else:
            table_note = ""
        if k is None:
            parts.append(_section("Fit statistics", _pairs_html(stats_)))
            parts.append(_section("Coefficients", _frame_html(table) + table_note))
        else:
            parts.append(_section("Per-neuron fit statistics", _frame_html(stats_)))
            matrix = _coef_matrix(model)
            note = ""
            if matrix.shape[1] > _MAX_NEURONS:
                note = (
                    f"<div class='xglm-note'>showing {_MAX_NEURONS} of {matrix.shape[1]} "
                    "neurons</div>"
                )
                matrix = matrix.iloc[:, :_MAX_NEURONS]
            parts.append(_section("Coefficients (feature x neuron)", _frame_html(matrix) + note))
            parts.append(
                _section("Coefficient table", _frame_html(table) + table_note, open_=False)
            )
    parts.append("</div>")
    return "".join(parts)


# ============================================================================ text
_WIDTH = 78


def _two_columns(left, right) -> list[str]:
    lines = []
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else ("", "")
        b = right[i] if i < len(right) else ("", "")
        la = f"{a[0] + ':' if a[0] else '':<22}{a[1]:>16}"
        lb = f"{b[0] + ':' if b[0] else '':<22}{b[1]:>16}"
        lines.append(f"{la}  {lb}".rstrip())
    return lines


def _coef_text(table: pd.DataFrame, dist: str, level: float) -> list[str]:
    lo = f"[{(1 - level) / 2:.3f}"
    hi = f"{1 - (1 - level) / 2:.3f}]"
    stat = "t" if dist == "t" else "z"
    labels = [str(i[-1] if isinstance(i, tuple) else i) for i in table.index]
    width = max([len(s) for s in labels] + [10])
    width = min(width, 40)
    head = (
        f"{'':<{width}} {'coef':>10} {'std err':>10} {stat:>9} {'P>|' + stat + '|':>8} "
        f"{lo:>10} {hi:>10}"
    )
    lines = [head, "-" * len(head)]
    for label, (_, row) in zip(labels, table.iterrows(), strict=False):
        lab = label if len(label) <= width else label[: width - 1] + "~"
        lines.append(
            f"{lab:<{width}} {row.coef:>10.4f} {row.std_err:>10.3f} {row.z:>9.3f} "
            f"{row.p_value:>8.3f} {row.ci_lower:>10.3f} {row.ci_upper:>10.3f}"
        )
    return lines


def summary_text(model, level: float = 0.95) -> str:
    """A statsmodels-style plain-text summary (see :meth:`xglm.GLM.summary_text`)."""
    model._check_fitted("summary_text")
    from ._results import check_level

    check_level(level)
    k = model._n_neurons
    dist = "t" if model.family_.estimates_scale else "norm"
    conf = configuration(model)
    lines = ["Generalized Linear Model Results".center(_WIDTH), "=" * _WIDTH]
    conf_pairs = [(a, b if len(b) <= 16 else b[:15] + "~") for a, b in conf if a != "formula"]
    formula = [b for a, b in conf if a == "formula"]
    table = model.summary(level)
    if k is None:
        stats_ = fit_statistics_table(model)
        lines += _two_columns(conf_pairs, stats_)
        if formula:
            lines.append(f"formula: {formula[0]}")
        lines.append("=" * _WIDTH)
        lines += _coef_text(table, dist, level)
        lines.append("=" * _WIDTH)
        return "\n".join(lines)
    lines += _two_columns(conf_pairs, [])
    if formula:
        lines.append(f"formula: {formula[0]}")
    stats_ = fit_statistics_table(model)
    dim = model.response_.neuron_dim
    for label in stats_.index:
        lines.append("=" * _WIDTH)
        lines.append(f"{dim}: {label}")
        row = stats_.loc[label]
        pairs = [(c, _fmt(v)) for c, v in row.items()]
        half = (len(pairs) + 1) // 2
        lines += _two_columns(pairs[:half], pairs[half:])
        lines.append("-" * _WIDTH)
        sub = table.xs(label, level=dim)
        lines += _coef_text(sub, dist, level)
    lines.append("=" * _WIDTH)
    return "\n".join(lines)
