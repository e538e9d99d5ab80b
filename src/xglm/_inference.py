"""Inference as R's ``glm`` does it: dispersion, covariance, standard errors, tests, AIC.

Conventions (checked against R through statsmodels' shipped results):

* covariance = dispersion x inverse expected (Fisher) information
  ``[1 X]^T W [1 X]`` with ``W = w (dmu/deta)^2 / V(mu)``; for penalized fits the
  l2 part of the penalty is added to the information (a conditional covariance);
* dispersion = Pearson chi^2 / df_resid for Gaussian, Gamma and inverse Gaussian,
  1 otherwise;
* ``loglik`` equals R's ``logLik.glm`` (full likelihood, R's dispersion for the
  families that estimate one) and ``aic``/``bic`` count the dispersion as a parameter
  where R does; ``nobs`` counts the observations with non-zero weight.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from scipy import stats

from ._families import Family
from ._solvers import TRACE_COUNT
from ._solvers._newton import quadratic_model
from ._solvers._problem import Problem

__all__ = ["fit_statistics", "wald_table", "collinear_columns"]


def _null_intercept(prob: Problem, iters: int = 50):
    """Intercept of the intercept-only model (with the offset), by Fisher scoring."""
    ybar = jnp.sum(prob.w * prob.y) / prob.sum_w
    b = prob.family.link.link(prob.family.mu_start(ybar, jnp.ones_like(ybar)))
    b = b - jnp.sum(prob.w * prob.offset) / prob.sum_w
    b = jnp.where(jnp.isfinite(b), b, 0.0)

    def body(_, b):
        wk, z = prob.working(prob.offset + b)
        new = jnp.sum(wk * z) / jnp.maximum(jnp.sum(wk), 1e-300)
        return jnp.where(jnp.isfinite(new), new, b)

    return lax.fori_loop(0, iters, body, b)


@eqx.filter_jit
def _stats_one(X, y, w, offset, mask, family: Family, coef, intercept, fit_intercept: bool):
    TRACE_COUNT["stats"] += 1
    prob = Problem(X, y, w, offset, mask, family, None, fit_intercept)  # type: ignore[arg-type]
    eta = prob.eta(coef, intercept)
    mu = family.link.inverse(eta)
    dev = jnp.sum(w * family.unit_deviance(y, mu))
    pearson = jnp.sum(w * (y - mu) ** 2 / family.variance(mu))
    A, _ = quadratic_model(prob, eta)
    info = A * prob.sum_w  # unscaled Fisher information of (b, beta)
    if fit_intercept:
        b0 = _null_intercept(prob)
    else:
        b0 = jnp.zeros((), X.dtype)
    mu0 = family.link.inverse(offset + b0)
    null_dev = jnp.sum(w * family.unit_deviance(y, mu0))
    r_scale = family.r_scale(dev, w)
    loglik = family.log_likelihood(y, mu, w, r_scale)
    null_loglik = family.log_likelihood(y, mu0, w, family.r_scale(null_dev, w))
    return dict(
        deviance=dev,
        pearson_chi2=pearson,
        info=info,
        null_deviance=null_dev,
        loglik=loglik,
        null_loglik=null_loglik,
        nobs=jnp.sum(w > 0),
        sum_w=prob.sum_w,
    )


def fit_statistics(X, y, w, offset, mask, family, coef, intercept, fit_intercept):
    """Per-neuron fit statistics (numpy), with a leading neuron axis for populations."""
    if y.ndim == 1:
        out = _stats_one(X, y, w, offset, mask, family, coef, intercept, fit_intercept)
        return {k: np.asarray(v) for k, v in out.items()}
    outs = [
        _stats_one(
            X,
            y[:, i],
            w[:, i],
            offset[:, i],
            mask[:, i],
            family,
            coef[:, i],
            intercept[i],
            fit_intercept,
        )
        for i in range(y.shape[1])
    ]
    return {k: np.stack([np.asarray(o[k]) for o in outs]) for k in outs[0]}


def collinear_columns(info: np.ndarray, active: np.ndarray, labels: list[str]) -> list[list[str]]:
    """Sets of labels of linearly dependent columns of the information matrix."""
    idx = np.flatnonzero(active)
    sub = info[np.ix_(idx, idx)]
    d = np.sqrt(np.clip(np.diag(sub), 0, None))
    zero = d <= 1e-300
    out = [[labels[idx[j]]] for j in np.flatnonzero(zero)]
    keep = np.flatnonzero(~zero)
    if keep.size == 0:
        return out
    m = sub[np.ix_(keep, keep)] / np.outer(d[keep], d[keep])
    evals, evecs = np.linalg.eigh(m)
    tol = max(evals.max(), 1.0) * 1e-11
    for k in np.flatnonzero(evals < tol):
        v = evecs[:, k]
        members = [labels[idx[keep[j]]] for j in np.flatnonzero(np.abs(v) > 1e-4)]
        if members and members not in out:
            out.append(members)
    return out


def wald_table(coef, se, dist: str, dof: float, level: float = 0.95):
    """z (or t) statistics, two-sided p-values and confidence limits."""
    z = coef / se
    if dist == "t":
        p = 2 * stats.t.sf(np.abs(z), dof)
        q = stats.t.ppf(0.5 + level / 2, dof)
    else:
        p = 2 * stats.norm.sf(np.abs(z))
        q = stats.norm.ppf(0.5 + level / 2)
    return z, p, coef - q * se, coef + q * se


def covariance(
    info: np.ndarray, active: np.ndarray, l2_full: np.ndarray, sum_w: float, scale: float
):
    """``scale * inv(info + sum_w * diag(l2))`` over active parameters, NaN elsewhere."""
    q = info.shape[0]
    cov = np.full((q, q), np.nan)
    idx = np.flatnonzero(active)
    if idx.size:
        sub = info[np.ix_(idx, idx)] + sum_w * np.diag(l2_full[idx])
        try:
            inv = np.linalg.inv(sub)
        except np.linalg.LinAlgError:
            inv = np.linalg.pinv(sub)
        cov[np.ix_(idx, idx)] = scale * (inv + inv.T) / 2
    return cov
