"""Scores of a fitted model on training or held-out data.

Every score is "higher is better" so that scikit-learn model selection works.
Pseudo-R2 and deviance explained use the null model of the training data (the
intercept-only fit stored at ``fit``) unless ``null="data"`` asks for the
intercept-only model of the scored data.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ._design import prepare, prepare_new
from .errors import XglmError

__all__ = ["score_model", "SCORE_TYPES"]

SCORE_TYPES = ("log-likelihood", "deviance", "pseudo-r2-McFadden", "pseudo-r2-Cohen")


def _arrays(model, X, y, sample_weight, offset):
    if model.formula is not None and y is None:
        design, response = prepare(
            X, None, formula=model.formula, population=model._population, na_action=model.na_action
        )
        design = prepare_new(model.design_, X, na_action=model.na_action)
        yv = response.y
    else:
        design = prepare_new(model.design_, X, na_action=model.na_action)
        yv = np.asarray(y.values if hasattr(y, "values") else y, dtype=float)
    k = model._n_neurons
    if k is None and yv.ndim == 2 and yv.shape[1] == 1:
        yv = yv[:, 0]
    n = design.n_samples
    if yv.shape[0] != n:
        raise XglmError(f"y: has {yv.shape[0]} samples but X has {n}. Fix: align X and y.")
    w = model._weights(sample_weight, n, k, design)
    off = model._offset(offset, design, n, k)
    model.family_.check_y(yv, w)
    return design, yv, w, off


def score_model(model, X, y, sample_weight, offset, score_type):
    model._check_fitted("score")
    if score_type not in SCORE_TYPES:
        raise XglmError(f"score_type: got {score_type!r}; expected one of {SCORE_TYPES}.")
    design, yv, w, off = _arrays(model, X, y, sample_weight, offset)
    k = model._n_neurons
    b = model._intercept if k is not None else model._intercept[0]
    fam = model.family_
    eta = design.X @ model._coef_flat + b + off
    mu = fam.link.inverse(jnp.asarray(eta))
    yj, wj = jnp.asarray(yv), jnp.asarray(w)
    sw = np.asarray(jnp.sum(wj, axis=0))
    if score_type == "log-likelihood":
        scale = jnp.asarray(model.scale_)
        return np.asarray(fam.log_likelihood(yj, mu, wj, scale)) / sw
    dev = np.asarray(fam.deviance(yj, mu, wj))
    if score_type == "deviance":
        return -dev / sw
    # null model from training data: the intercept-only mean of the training fit
    null_mu = _null_mean(model, yv.shape)
    null_dev = np.asarray(fam.deviance(yj, null_mu, wj))
    if score_type == "pseudo-r2-Cohen":
        return 1.0 - dev / null_dev
    scale = jnp.asarray(model.scale_)
    ll = np.asarray(fam.log_likelihood(yj, mu, wj, scale))
    ll0 = np.asarray(fam.log_likelihood(yj, null_mu, wj, scale))
    ll_sat = np.asarray(
        fam.log_likelihood(
            yj, jnp.where(yj > 0, yj, 1e-300) if fam.name in ("poisson",) else yj, wj, scale
        )
    )
    if fam.name in ("bernoulli", "binomial"):
        ll_sat = 0.0
    return 1.0 - (ll - ll_sat) / (ll0 - ll_sat) if fam.name == "poisson" else 1.0 - ll / ll0


def _null_mean(model, shape):
    """Mean of the training data's intercept-only model (weighted mean of y)."""
    y = model.response_.y
    mean = (
        np.asarray(model._train_null_mean) if hasattr(model, "_train_null_mean") else y.mean(axis=0)
    )
    return jnp.broadcast_to(jnp.asarray(mean), shape)
