"""Scores of a fitted model on training or held-out data.

Every score is "higher is better" and, by default, one number, so that scikit-learn
model selection works. A population's score pools its neurons, as NeMoS'
``PopulationGLM.score`` does: every sum below runs over the neurons too (the mean
log-likelihood over all observations of all neurons; McFadden's ``1 - sum LL / sum
LL_null``). ``per_neuron=True`` gives one score per neuron instead.

========================  ===============================================================
``score_type``            definition (sums are weighted by ``sample_weight``)
========================  ===============================================================
``"log-likelihood"``      ``LL(model) / sum(w)``, the mean log-likelihood per observation
``"deviance"``            ``-D(model) / sum(w)``, minus the mean unit deviance
``"pseudo-r2-McFadden"``  ``1 - LL(model) / LL(null)``
``"pseudo-r2-Cohen"``     ``1 - D(model) / D(null)`` (Cohen's R2_L)
``"deviance-explained"``  ``1 - D(model) / D(null)``: the same number as Cohen's R2_L,
                          under the name used in the spline/GAM literature
``"bits-per-spike"``      ``(LL(model) - LL(null)) / (log(2) * sum(w * y))``
========================  ===============================================================

Log-likelihoods are full (all constants), as R's ``logLik``. For the families that
estimate a dispersion they use R's dispersion of the *training* fit (``deviance /
n_obs`` for Gaussian, ``deviance / sum(w)`` for Gamma and inverse Gaussian), so that
``score(X_train, y_train) * sum(w) == loglik_`` for one neuron (per neuron with
``per_neuron=True``; the pooled score of a population is ``sum(loglik_) / sum`` of the
weights over all neurons).

The null model
--------------
``null="train"`` (the default) is the intercept-only model fitted on the training data
(R's null model: ``null_deviance_`` and ``null_loglik_`` are its deviance and
log-likelihood). Its intercept ``null_intercept_`` is stored at ``fit``; on held-out
data the null mean is ``g^-1(offset + null_intercept_)``. This is the usual choice for
held-out pseudo-R2 and bits per spike: the model is judged against a constant rate
learned from the same training data.

``null="data"`` fits the intercept-only model on the scored data itself (with its
weights and offset) -- the null of a model trained on the test set, which makes a
held-out score a little smaller.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ._design import prepare, prepare_new
from ._design._tables import check_neuron_labels, sample_array
from ._families import Family
from .errors import XglmError

__all__ = ["score_model", "SCORE_TYPES", "null_intercept"]

SCORE_TYPES = (
    "log-likelihood",
    "deviance",
    "pseudo-r2-McFadden",
    "pseudo-r2-Cohen",
    "deviance-explained",
    "bits-per-spike",
)
_NULL_CHOICES = ("train", "data")


def null_intercept(family, y, w, offset, fit_intercept: bool, iters: int = 100):
    """Intercept of the intercept-only model, per column of ``y``.

    Without an offset the maximum-likelihood mean is the weighted mean of ``y`` for
    every family and link; with an offset it is found by Fisher scoring. Returns
    ``0`` when there is no intercept (the null mean is then ``g^-1(offset)``).
    """
    y = np.asarray(y, float)
    w = np.asarray(w, float)
    off = np.asarray(offset, float)
    shape = y.shape[1:]
    if not fit_intercept:
        return np.zeros(shape)
    sum_w = w.sum(axis=0)
    ybar = (w * y).sum(axis=0) / sum_w
    with np.errstate(divide="ignore", invalid="ignore"):
        if not np.any(off):
            return np.asarray(family.link.link(jnp.asarray(ybar)), float)
        start = np.asarray(family.link.link(family.mu_start(jnp.asarray(ybar), 1.0)), float)
        b = start - (w * off).sum(axis=0) / sum_w
        b = np.where(np.isfinite(b), b, 0.0)
        for _ in range(iters):
            eta = jnp.asarray(off + b)
            mu = family.link.inverse(eta)
            dmu = family.link.inverse_deriv(eta)
            wk = np.asarray(w * dmu**2 / family.variance(mu))
            z = b + np.asarray((y - mu) / dmu)
            new = (wk * z).sum(axis=0) / np.maximum(wk.sum(axis=0), 1e-300)
            new = np.where(np.isfinite(new), new, b)
            done = np.all(np.abs(new - b) <= 1e-13 * np.maximum(1.0, np.abs(b)))
            b = new
            if done:
                break
    return np.asarray(b, float)


def _squeeze(arr):
    arr = np.asarray(arr, float)
    return arr.item() if arr.ndim == 0 else arr


def _arrays(model, X, y, sample_weight, offset):
    if model.formula is not None and y is None:
        _, response = prepare(
            X, None, formula=model.formula, population=model._population, na_action=model.na_action
        )
        design = prepare_new(model.design_, X, na_action=model.na_action)
        if model._n_neurons is not None:
            _check_neurons(model, given=response.neuron_labels)
        yv = np.asarray(response.y, dtype=float)
    else:
        response = None
        if y is None:
            raise XglmError(
                "y: got None; expected the response to score against. Fix: "
                "model.score(X, y), or fit with a formula that names the response."
            )
        design = prepare_new(model.design_, X, na_action=model.na_action)
        _check_neurons(model, y)
        yv = np.asarray(sample_array(y, design, "y"), dtype=float)
    k = model._n_neurons
    if k is None and yv.ndim == 2 and yv.shape[1] == 1:
        yv = yv[:, 0]
    want = "(n_samples,)" if k is None else f"(n_samples, {k})"
    if (k is None and yv.ndim != 1) or (k is not None and (yv.ndim != 2 or yv.shape[1] != k)):
        raise XglmError(
            f"y: got shape {yv.shape}; expected {want} for this fitted "
            f"{type(model).__name__}. Fix: score one column per fitted neuron."
        )
    n = design.n_samples
    if yv.shape[0] != n:
        raise XglmError(
            f"y: has {yv.shape[0]} samples but X has {n}; expected the same number. Fix: "
            "align X and y in time."
        )
    w = model._weights(sample_weight, n, k, design, response)
    off = model._offset(offset, design, n, k, model.response_.neuron_labels)
    model.family_.check_y(yv, w)
    return design, yv, w, off


def _check_neurons(model, y=None, given=None) -> None:
    """A labelled population response (``y``, or its neuron labels ``given``) must name
    the fitted neurons, in their order."""
    r = model.response_
    check_neuron_labels(y, r.neuron_labels, "y", r.neuron_dim, given)


def _training_null(model):
    """``(null_intercept, model_scale, null_scale)`` of the training fit."""
    if hasattr(model, "null_intercept_"):
        return model.null_intercept_, model._loglik_scale, model._null_loglik_scale
    raise XglmError(  # pragma: no cover - every fit stores it
        "score: this model has no stored null model. Fix: refit it with this version of xglm."
    )


def score_model(model, X, y, sample_weight, offset, score_type, null="train", per_neuron=False):
    """Implementation of :meth:`xglm.GLM.score` (see the module docstring)."""
    model._check_fitted("score")
    if score_type not in SCORE_TYPES:
        raise XglmError(
            f"score_type: got {score_type!r}; expected one of "
            f"{', '.join(map(repr, SCORE_TYPES))}. Fix: pass one of these names."
        )
    if null not in _NULL_CHOICES:
        raise XglmError(
            f"null: got {null!r}; expected 'train' (the intercept-only model of the training "
            "data, the default) or 'data' (the intercept-only model of the scored data). "
            "Fix: pass null='train' or null='data'."
        )
    if not isinstance(per_neuron, (bool, np.bool_)):
        raise XglmError(
            f"per_neuron: got {per_neuron!r}; expected True (one score per neuron) or False "
            "(one score pooled over the neurons). Fix: pass per_neuron=True or False."
        )
    design, yv, w, off = _arrays(model, X, y, sample_weight, offset)
    k = model._n_neurons
    pooled = k is not None and not per_neuron
    b = model._intercept if k is not None else model._intercept[0]
    fam = model.family_
    eta = design.X @ model._coef_flat + b + off
    yj, wj = jnp.asarray(yv), jnp.asarray(w)
    mu = fam.link.inverse(jnp.asarray(eta))
    sum_w = np.asarray(wj.sum(axis=0))
    # pooled over a population's neurons, every sum runs over the neurons too
    total = (lambda v: np.sum(v)) if pooled else (lambda v: v)
    if pooled:
        # weights shared by the neurons are one column
        sum_w = total(np.broadcast_to(sum_w, (k,)))
    if score_type == "log-likelihood":
        # the training fit's statistics (computed on first use) are read only when the
        # score needs them: not for a family whose likelihood has no dispersion
        scale = 1.0 if type(fam).r_scale is Family.r_scale else _training_null(model)[1]
        out = total(np.asarray(fam.log_likelihood(yj, mu, wj, jnp.asarray(scale)))) / sum_w
        return _out(model, design, out, score_type, pooled)
    dev = total(np.asarray(fam.deviance(yj, mu, wj)))
    if score_type == "deviance":
        return _out(model, design, -dev / sum_w, score_type, pooled)
    b0, scale, null_scale = _training_null(model)
    if null == "data":
        b0 = null_intercept(fam, yv, w, off, model.fit_intercept)
    mu0 = fam.link.inverse(jnp.asarray(off + np.asarray(b0)))
    dev0 = np.asarray(fam.deviance(yj, mu0, wj))
    if null == "data":
        null_scale = np.asarray(fam.r_scale(jnp.asarray(dev0), wj))
    dev0 = total(dev0)
    if score_type in ("pseudo-r2-Cohen", "deviance-explained"):
        with np.errstate(divide="ignore", invalid="ignore"):
            return _out(model, design, 1.0 - dev / dev0, score_type, pooled)
    ll = total(np.asarray(fam.log_likelihood(yj, mu, wj, jnp.asarray(scale))))
    ll0 = total(np.asarray(fam.log_likelihood(yj, mu0, wj, jnp.asarray(null_scale))))
    with np.errstate(divide="ignore", invalid="ignore"):
        if score_type == "pseudo-r2-McFadden":
            out = 1.0 - ll / ll0
        else:  # bits-per-spike
            spikes = total(np.asarray((wj * yj).sum(axis=0)))
            out = (ll - ll0) / (np.log(2.0) * spikes)
    return _out(model, design, out, score_type, pooled)


def _out(model, design, values, name, pooled=False):
    values = np.asarray(values, float)
    k = model._n_neurons
    if k is None or pooled:
        return float(values.reshape(-1)[0])
    if model.design_.layout.kind == "labelled":
        import xarray as xr

        from ._results import _neuron_labels

        dim = model.response_.neuron_dim
        return xr.DataArray(
            values.reshape(k), dims=(dim,), coords={dim: _neuron_labels(model)}, name=name
        )
    return values.reshape(k)
