"""Comparing fitted models: analysis of deviance, term-wise Wald tests, AIC/BIC tables.

* :func:`compare` -- nested models fitted to the same data, as R's
  ``anova(small, big, test=...)`` for GLMs: a deviance (likelihood-ratio) test, or an F
  test where the dispersion is estimated;
* :func:`wald_test_terms` -- one joint Wald test per term, as statsmodels'
  ``results.wald_test_terms()``;
* :func:`information_table` -- log-likelihood, AIC and BIC of several models of the
  same data, with differences and Akaike weights.

Population fits give one block of rows per neuron (a ``neuron`` level first in the
row index).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import XglmError

__all__ = ["compare", "wald_table", "wald_test_terms", "information_table"]

_TESTS = ("Chisq", "LRT", "lr", "F")


# ============================================================================ helpers
def _check_models(models, what):
    from ._model import GLM

    if len(models) == 1 and isinstance(models[0], (list, tuple)):
        models = tuple(models[0])
    if len(models) < 2:
        raise XglmError(
            f"{what}: got {len(models)} model(s); expected at least 2 fitted models. Fix: "
            f"{what}(small, big)."
        )
    for i, m in enumerate(models):
        if not isinstance(m, GLM):
            raise XglmError(
                f"{what}: argument {i + 1} is a {type(m).__name__}; expected a fitted "
                "xglm.GLM or xglm.PopulationGLM. Fix: pass only fitted models, e.g. "
                f"{what}(small, big)."
            )
        m._check_fitted(what)
    kinds = {type(m)._population for m in models}
    if len(kinds) > 1:
        raise XglmError(
            f"{what}: got a mix of GLM and PopulationGLM models; expected models of one kind. "
            "Fix: compare single-neuron fits with single-neuron fits."
        )
    ks = {m._n_neurons for m in models}
    if len(ks) > 1:
        raise XglmError(
            f"{what}: the models have different numbers of neurons {sorted(ks)}; expected "
            "fits of the same responses. Fix: fit every model to the same y."
        )
    return list(models)


def _model_names(models, names, what):
    if names is None:
        formulas = [getattr(m, "formula", None) for m in models]
        if all(isinstance(f, str) for f in formulas) and len(set(formulas)) == len(formulas):
            return list(formulas)
        return [f"model_{i + 1}" for i in range(len(models))]
    names = list(names)
    if len(names) != len(models) or len(set(names)) != len(names):
        raise XglmError(
            f"names: got {names!r}; expected {len(models)} distinct names, one per model. "
            "Fix: pass one unique name per model, or names=None."
        )
    return names


def _neurons(model):
    from ._results import _neuron_labels

    return _neuron_labels(model)


def _per_neuron(value, k):
    arr = np.asarray(value, dtype=float)
    return arr.reshape(1) if k is None else arr.reshape(k)


def _response_arrays(model):
    y = getattr(model.response_, "y", None)
    if y is None or np.shape(y)[0] == 0:
        return None
    return np.asarray(y)


def _check_same_data(models, names, what, null_deviance: bool):
    k = models[0]._n_neurons
    ref = models[0]
    nobs0 = _per_neuron(ref.nobs_, k)
    y0 = _response_arrays(ref)
    for m, name in zip(models[1:], names[1:], strict=False):
        if not np.array_equal(_per_neuron(m.nobs_, k), nobs0):
            raise XglmError(
                f"{what}: model {name!r} was fitted to {_per_neuron(m.nobs_, k).tolist()} "
                f"observation(s) but {names[0]!r} to {nobs0.tolist()}; expected the same data. "
                "Fix: fit every model to the same rows (missing values dropped in one "
                "model's variables change the rows)."
            )
        y = _response_arrays(m)
        if y0 is not None and y is not None and not np.array_equal(y, y0):
            raise XglmError(
                f"{what}: model {name!r} was fitted to a different response than "
                f"{names[0]!r}; expected the same data. Fix: fit every model to the same y."
            )
        if null_deviance and bool(m.fit_intercept) == bool(ref.fit_intercept):
            a, b = _per_neuron(m.null_deviance_, k), _per_neuron(ref.null_deviance_, k)
            if not np.allclose(a, b, rtol=1e-8, atol=1e-10):
                raise XglmError(
                    f"{what}: models {names[0]!r} and {name!r} have different null deviances "
                    f"({b.tolist()} and {a.tolist()}), so they were not fitted to the same "
                    "response, sample weights and offset. Fix: fit every model to the same "
                    "data, weights and offset."
                )


def _family_key(model):
    fam = model.family_
    key = (type(fam).__name__, fam.link.name)
    if type(fam).__name__ == "NegativeBinomial" and not getattr(model, "_alpha_estimated", False):
        key += (float(np.asarray(fam.alpha)),)
    return key


def _check_unpenalized(models, names, what):
    for m, name in zip(models, names, strict=False):
        if np.any(np.asarray(m.penalty_.l2)) or m._selects_features():
            raise XglmError(
                f"{what}: model {name!r} is penalized ({m.regularizer_!r}); likelihood-ratio "
                "and F tests assume maximum-likelihood fits. Fix: refit it with "
                "regularizer=None, or compare penalized models by held-out score or "
                "information_table()."
            )


def _active_columns(model, i):
    """Boolean (1 + p,) of the parameters of neuron ``i`` (intercept first)."""
    k = model._n_neurons
    mask = model.feature_mask_ if k is None else model.feature_mask_[:, i]
    return np.concatenate([[bool(model.fit_intercept)], np.asarray(mask) > 0])


def _design_matrix(model):
    X = getattr(model.design_, "X", None)
    if X is None or X.shape[0] == 0:
        return None
    return np.asarray(X, dtype=float)


def _nested_numerically(small, big, i, n_max_cells=5e7):
    """True/False whether small's columns lie in big's column space; None if unknown."""
    Xs, Xb = _design_matrix(small), _design_matrix(big)
    if Xs is None or Xb is None or Xs.shape[0] != Xb.shape[0]:
        return None
    n = Xs.shape[0]
    ones = np.ones((n, 1))
    A = np.hstack([ones, Xb])[:, _active_columns(big, i)]
    B = np.hstack([ones, Xs])[:, _active_columns(small, i)]
    if B.shape[1] == 0:
        return True
    if A.shape[1] == 0:
        return False
    rows = slice(None)
    if n * (A.shape[1] + 1) ** 2 > n_max_cells:
        step = max(1, int(n * (A.shape[1] + 1) ** 2 // n_max_cells))
        rows = slice(0, None, step)
    A, B = A[rows], B[rows]
    scale = np.linalg.norm(A, axis=0)
    scale[scale == 0] = 1.0
    coef, *_ = np.linalg.lstsq(A / scale, B, rcond=None)
    resid = B - (A / scale) @ coef
    rel = np.linalg.norm(resid, axis=0) / np.maximum(np.linalg.norm(B, axis=0), 1e-300)
    return bool(np.all(rel < 1e-7))


def _check_nested(small, big, ns, nb, what):
    k = small._n_neurons
    for i in range(k or 1):
        verdict = _nested_numerically(small, big, i)
        if verdict is None:  # loaded models: compare labels
            ls, lb = small.design_.layout, big.design_.layout
            if ls.kind in ("pytree", "labelled") and lb.kind == ls.kind:
                act_s = _active_columns(small, i)[1:]
                act_b = _active_columns(big, i)[1:]
                fs = {f for f, a in zip(ls.feature_labels, act_s, strict=False) if a}
                fb = {f for f, a in zip(lb.feature_labels, act_b, strict=False) if a}
                missing = sorted(fs - fb)
                verdict = not missing and (not small.fit_intercept or big.fit_intercept)
        if verdict is False:
            who = "" if k is None else f" for neuron {_neurons(small)[i]!r}"
            raise XglmError(
                f"{what}: model {ns!r} is not nested in model {nb!r}{who}: some of its "
                f"columns are not in the column space of {nb!r}'s design (intercept "
                "included); expected each model to contain the previous one. Fix: pass "
                "nested models, from the smallest to the biggest."
            )


# ============================================================================ compare
def compare(*models, names=None, test=None):
    """Analysis of deviance for nested GLMs, as R's ``anova(m1, m2, ..., test=)``.

    Parameters
    ----------
    *models : fitted GLM or PopulationGLM
        Two or more unpenalized models fitted to the same data, each nested in the
        next (from the smallest to the biggest).
    names : list of str, optional
        Row labels; default: the formulas, or ``model_1``, ``model_2``, ...
    test : {"Chisq", "LRT", "lr", "F"}, optional
        ``"Chisq"`` (alias ``"LRT"``): the deviance change divided by the dispersion of
        the biggest model, against chi-squared (R's ``test="Chisq"``). ``"F"``: the
        deviance change per degree of freedom divided by that dispersion, against F
        with the biggest model's residual degrees of freedom (R's ``test="F"``).
        ``"lr"``: the exact likelihood ratio ``2 (loglik_big - loglik_small)`` against
        chi-squared (statsmodels' ``compare_lr_test``; with a known dispersion this
        equals ``"Chisq"``). Default, as R: ``"F"`` when the dispersion is estimated
        (Gaussian, Gamma, inverse Gaussian), ``"lr"`` for a negative binomial with
        estimated ``alpha`` (as ``MASS::anova.negbin``), ``"Chisq"`` otherwise.

    Returns
    -------
    pandas.DataFrame
        One row per model (per neuron for populations: a ``(neuron, model)`` index)
        with ``df_resid``, ``deviance``, ``loglik``, ``df`` (parameters added),
        ``deviance_diff`` (deviance removed), ``statistic`` and ``p_value``; the
        first model's change columns are NaN. ``attrs`` holds the test, the
        dispersion and its degrees of freedom.

    Raises
    ------
    xglm.errors.XglmError
        Unfitted or penalized models, different families, different data (number of
        observations, response or null deviance), models that are not ordered from
        small to big or not nested.

    Examples
    --------
    >>> import numpy as np, xglm
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3))
    >>> y = rng.poisson(np.exp(0.2 + X @ [0.4, 0.0, -0.3]))
    >>> small = xglm.GLM().fit(X[:, :1], y)
    >>> big = xglm.GLM().fit(X, y)
    >>> table = xglm.compare(small, big, names=["x0", "x0+x1+x2"])
    >>> list(table.columns)
    ['df_resid', 'deviance', 'loglik', 'df', 'deviance_diff', 'statistic', 'p_value']
    >>> int(table.loc["x0+x1+x2", "df"]), bool(table.loc["x0+x1+x2", "p_value"] < 0.01)
    (2, True)
    """
    from scipy import special  # (chi2 and F tail areas, as scipy.stats computes them)

    models = _check_models(models, "compare")
    names = _model_names(models, names, "compare")
    families = [_family_key(m) for m in models]
    if len(set(families)) > 1:
        raise XglmError(
            f"compare: the models have different families/links {families}; expected one "
            "family and link (deviances of different families are not comparable). Fix: "
            "refit with the same family, or use information_table() for non-nested models."
        )
    _check_unpenalized(models, names, "compare")
    _check_same_data(models, names, "compare", null_deviance=True)
    fam = models[0].family_
    nb_est = any(getattr(m, "_alpha_estimated", False) for m in models)
    if test is None:
        test = "lr" if nb_est else ("F" if fam.estimates_scale else "Chisq")
    if test not in _TESTS:
        raise XglmError(
            f"test: got {test!r}; expected one of {', '.join(map(repr, _TESTS))}. Fix: "
            "test='Chisq' (deviance), 'F' (estimated dispersion) or 'lr' (likelihood ratio)."
        )
    if test == "LRT":
        test = "Chisq"
    if nb_est and test != "lr":
        raise XglmError(
            f"test: got {test!r} for negative binomial models with estimated alpha; their "
            "deviances use different alphas. Fix: test='lr'."
        )
    k = models[0]._n_neurons
    df_resid = np.stack([_per_neuron(m.dof_resid_, k) for m in models])  # (M, k)
    dev = np.stack([_per_neuron(m.deviance_, k) for m in models])
    ll = np.stack([_per_neuron(m.loglik_, k) for m in models])
    for j in range(1, len(models)):
        if np.any(df_resid[j] >= df_resid[j - 1]):
            raise XglmError(
                f"compare: model {names[j]!r} has {_fmt(df_resid[j])} residual degrees of "
                f"freedom, not fewer than the {_fmt(df_resid[j - 1])} of the previous model "
                f"{names[j - 1]!r}; expected models ordered from the smallest to the biggest "
                "(each nested in the next). Fix: reorder the models."
            )
        _check_nested(models[j - 1], models[j], names[j - 1], names[j], "compare")
    big = models[int(np.argmin(df_resid.sum(axis=1)))]
    if fam.estimates_scale:
        disp = _per_neuron(big.scale_, k)
        df_disp = df_resid.min(axis=0)
    else:
        disp = np.ones(k or 1)
        df_disp = np.full(k or 1, np.inf)
    ddf = np.full_like(df_resid, np.nan)
    ddev = np.full_like(dev, np.nan)
    stat = np.full_like(dev, np.nan)
    pval = np.full_like(dev, np.nan)
    ddf[1:] = df_resid[:-1] - df_resid[1:]
    ddev[1:] = dev[:-1] - dev[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        if test == "Chisq":
            stat[1:] = ddev[1:] / disp
            pval[1:] = special.chdtrc(ddf[1:], stat[1:])
        elif test == "lr":
            stat[1:] = 2.0 * (ll[1:] - ll[:-1])
            pval[1:] = special.chdtrc(ddf[1:], stat[1:])
        else:
            stat[1:] = ddev[1:] / ddf[1:] / disp
            pval[1:] = special.fdtrc(ddf[1:], df_disp, stat[1:])
    cols = {
        "df_resid": df_resid,
        "deviance": dev,
        "loglik": ll,
        "df": ddf,
        "deviance_diff": ddev,
        "statistic": stat,
        "p_value": pval,
    }
    table = _stack(cols, models[0], names)
    table.attrs = {
        "test": test,
        "dispersion": disp[0] if k is None else disp.tolist(),
        "df_dispersion": df_disp[0] if k is None else df_disp.tolist(),
    }
    return table


def _fmt(arr):
    arr = np.asarray(arr)
    return f"{arr[0]:g}" if arr.size == 1 else str(arr.tolist())


def _stack(cols: dict, model, names) -> pd.DataFrame:
    """``{column: (M, k)}`` to a DataFrame indexed by model (and neuron)."""
    k = model._n_neurons
    if k is None:
        return pd.DataFrame(
            {c: v[:, 0] for c, v in cols.items()}, index=pd.Index(names, name="model")
        )
    neurons = _neurons(model)
    dim = model.response_.neuron_dim
    index = pd.MultiIndex.from_product([neurons, names], names=[dim, "model"])
    return pd.DataFrame({c: v.T.reshape(-1) for c, v in cols.items()}, index=index)


# ============================================================================ Wald
def _terms(model):
    """``[(term name, parameter indices)]`` with the intercept first."""
    layout = model.design_.layout
    keys = layout.feature_labels if layout.kind == "array" else layout.term_of_feature
    out: dict = {}
    if model.fit_intercept:
        out["Intercept"] = [0]
    for j, key in enumerate(keys):
        out.setdefault(key, []).append(j + 1)
    return list(out.items())


def wald_test_terms(model, test=None):
    """Joint Wald test that all coefficients of a term are zero, one row per term.

    Parameters
    ----------
    model : fitted GLM or PopulationGLM
    test : {"chi2", "F"}, optional
        ``"chi2"``: ``W = b' V^-1 b`` against chi-squared with the term's number of
        coefficients. ``"F"``: ``W / df`` against F with ``dof_resid_`` denominator
        degrees of freedom. Default ``"F"`` when the dispersion is estimated (as
        statsmodels with ``use_t=True`` and R's t-based summaries), ``"chi2"``
        otherwise.

    Returns
    -------
    pandas.DataFrame
        Index ``term`` (``(neuron, term)`` for populations); columns ``statistic``,
        ``df``, [``df_denom``,] ``p_value``. Terms are the formula terms or leaves of
        ``X`` (every column for a plain array), the intercept first. Coefficients that
        are masked out (``feature_mask``) or exactly zero in a sparse fit are left out
        of their term; a term with none left has NaN entries.

    Examples
    --------
    >>> import numpy as np, xglm
    >>> rng = np.random.default_rng(0)
    >>> X = {"speed": rng.normal(size=300), "position": rng.normal(size=(300, 3))}
    >>> y = rng.poisson(np.exp(0.3 * X["speed"]))
    >>> table = xglm.GLM().fit(X, y).wald_test_terms()
    >>> list(table.index), list(table.columns)
    (['Intercept', 'speed', 'position'], ['statistic', 'df', 'p_value'])
    """
    model._check_fitted("wald_test_terms")
    model._warn_selection("wald_test_terms")
    return wald_table(model, test)


def wald_table(model, test=None):
    """:func:`wald_test_terms` of a fitted model, without its checks and warning."""
    from scipy import special  # (chi2 and F tail areas, as scipy.stats computes them)

    if test is None:
        test = "F" if model.family_.estimates_scale else "chi2"
    if test not in ("chi2", "F"):
        raise XglmError(
            f"test: got {test!r}; expected 'chi2' or 'F'. Fix: test='chi2' for a Wald "
            "chi-squared test, 'F' for an F test with dof_resid_ denominator df."
        )
    k = model._n_neurons
    terms = _terms(model)
    coef_all = np.concatenate(
        [model._intercept[None, :] if k is not None else model._intercept[:1, None], _2d(model)],
        axis=0,
    )  # (1 + p, k|1)
    cov_all = model._cov if k is not None else model._cov[None]
    dof = _per_neuron(model.dof_resid_, k)
    rows = []
    for i in range(k or 1):
        cov = cov_all[i]
        diag = np.diag(cov)
        for _, idx in terms:
            idx = [j for j in idx if np.isfinite(diag[j])]
            if not idx:
                rows.append((np.nan, np.nan, dof[i], np.nan))
                continue
            b = coef_all[idx, i]
            V = cov[np.ix_(idx, idx)]
            W = float(b @ np.linalg.pinv(V) @ b)
            df = int(np.linalg.matrix_rank(V))
            if test == "chi2":
                rows.append((W, df, dof[i], float(special.chdtrc(df, W))))
            else:
                F = W / df
                rows.append((F, df, dof[i], float(special.fdtrc(df, dof[i], F))))
    arr = np.asarray(rows, dtype=float)
    names = [t for t, _ in terms]
    if k is None:
        index = pd.Index(names, name="term")
    else:
        index = pd.MultiIndex.from_product(
            [_neurons(model), names], names=[model.response_.neuron_dim, "term"]
        )
    table = pd.DataFrame(
        {"statistic": arr[:, 0], "df": arr[:, 1], "df_denom": arr[:, 2], "p_value": arr[:, 3]},
        index=index,
    )
    if test == "chi2":
        table = table.drop(columns="df_denom")
    table.attrs = {"test": test}
    return table


def _2d(model):
    c = model._coef_flat
    return c[:, None] if c.ndim == 1 else c


# ============================================================================ AIC/BIC
def information_table(models, names=None):
    """Log-likelihood, AIC and BIC of several models of the same data.

    Parameters
    ----------
    models : list or dict of fitted models
        Any models of the same response (nested or not, any family); a dict gives the
        row names.
    names : list of str, optional
        Row names (default: the dict keys, the formulas, or ``model_1``, ...).

    Returns
    -------
    pandas.DataFrame
        Columns ``n_params`` (as counted by R's ``logLik``), ``nobs``, ``loglik``,
        ``deviance``, ``aic``, ``bic``, ``delta_aic`` and ``delta_bic`` (difference to
        the best model) and ``aic_weight`` (Akaike weights). Index ``model``
        (``(neuron, model)`` for populations).

    Examples
    --------
    >>> import numpy as np, xglm
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> y = rng.poisson(np.exp(0.5 * X[:, 0]))
    >>> fits = {"x0": xglm.GLM().fit(X[:, :1], y), "x0+x1": xglm.GLM().fit(X, y)}
    >>> table = xglm.information_table(fits)
    >>> table.index.tolist(), bool(table["aic_weight"].sum().round(12) == 1)
    (['x0', 'x0+x1'], True)
    """
    if isinstance(models, dict):
        if names is None:
            names = list(models)
        models = list(models.values())
    models = _check_models(tuple(models), "information_table")
    names = _model_names(models, names, "information_table")
    _check_same_data(models, names, "information_table", null_deviance=False)
    k = models[0]._n_neurons
    ll = np.stack([_per_neuron(m.loglik_, k) for m in models])
    aic = np.stack([_per_neuron(m.aic_, k) for m in models])
    bic = np.stack([_per_neuron(m.bic_, k) for m in models])
    dev = np.stack([_per_neuron(m.deviance_, k) for m in models])
    nobs = np.stack([_per_neuron(m.nobs_, k) for m in models])
    npar = (aic + 2 * ll) / 2
    d_aic = aic - aic.min(axis=0)
    d_bic = bic - bic.min(axis=0)
    w = np.exp(-0.5 * d_aic)
    w = w / w.sum(axis=0)
    cols = {
        "n_params": np.round(npar),
        "nobs": nobs,
        "loglik": ll,
        "deviance": dev,
        "aic": aic,
        "bic": bic,
        "delta_aic": d_aic,
        "delta_bic": d_bic,
        "aic_weight": w,
    }
    table = _stack(cols, models[0], names)
    table["n_params"] = table["n_params"].astype(int)
    return table
