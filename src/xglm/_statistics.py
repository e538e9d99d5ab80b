"""R-style statistics of a fitted model, computed on the first use of any of them.

:func:`model_statistics` computes everything the estimator reports: deviance,
dispersion, log-likelihoods, AIC/BIC, the residual degrees of freedom and the covariance
of the parameters (the last on its own first use when it costs a Gram matrix of a large
design). It starts from what the fit settled (:func:`xglm._checks.fit_checks`) and reads
the fit's own copy of the design while it is unwritten, otherwise the design the model
was given, checked for modification in place. It works on arrays only; the estimator
sets the results as attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ._checks import EAGER_INFO_SIZE, Checks, screen_stride
from ._design._arrays import design_checksum
from ._device import Fingerprint, Snapshot, core_arrays, feature_major, restore
from ._families import Family
from ._inference import covariance, fit_statistics, information_of
from ._penalties import PenaltyArrays
from .errors import DesignError

__all__ = ["ModelStatistics", "model_statistics", "scalar_or"]


def scalar_or(arr, k):
    """``arr`` as a Python scalar for one neuron (``k`` None), else shape ``(k,)``."""
    arr = np.asarray(arr)
    if k is None:
        return arr.reshape(-1)[0].item() if arr.dtype != bool else bool(arr.reshape(-1)[0])
    return arr.reshape(k)


class ModelStatistics(NamedTuple):
    """What :func:`model_statistics` returns.

    ``attributes``: the estimator's fitted attributes by name (``deviance_``,
    ``scale_``, ...). ``cov``: the covariance of (intercept, coefficients), or None when
    deferred; ``cov_pending`` then computes it.
    """

    attributes: dict
    cov: np.ndarray | None
    cov_pending: Callable[[], np.ndarray] | None


def _check_unmodified(design, checksum: float | Fingerprint, what: str) -> None:
    """Raise :class:`DesignError` when the design's sum is no longer ``checksum`` (or
    its :class:`~xglm._device.Fingerprint`'s value): the data were modified in place
    after the fit, before ``what`` (a subject and its verb) was computed from them."""
    if isinstance(checksum, Fingerprint):
        if checksum.value is None:  # the fit's copy is read while it is there
            raise RuntimeError(f"{what} the fit's copy of the design, which is gone unsummed")
        checksum = checksum.value
    now = design_checksum(design.X)
    if not (now == checksum or (np.isnan(now) and np.isnan(checksum))):
        raise DesignError(
            "X: the design was modified in place after fit (its sum changed from "
            f"{checksum!r} to {now!r}); {what} the data the model was fitted to. Fix: "
            "refit, or pass a copy to fit (X.copy()) when the data are modified later."
        )


def model_statistics(
    design,
    y: np.ndarray,
    w: np.ndarray,
    off: np.ndarray,
    mask: np.ndarray,
    family: Family,
    penalty: PenaltyArrays,
    k: int | None,
    fit_intercept: bool,
    checks: Checks,
    *,
    extra_params: int = 0,
    snapshot: Snapshot | None = None,
) -> ModelStatistics:
    """R-style statistics in float64 at the checked solution (:func:`fit_checks`).

    Computed on first use of a statistic: from the fit's own float64 copy of the design
    while it is still there (``snapshot``, see :func:`xglm._device.restore`), otherwise
    from the design the model was given, after checking that it was not modified in
    place since the fit. ``design``: the :class:`~xglm._design.Design`; ``y``, ``w``,
    ``off``, ``mask``: as in :class:`Data`. ``extra_params``: estimated parameters beyond
    the coefficients and the family's own (an estimated negative-binomial ``alpha``),
    counted in AIC and BIC.
    """

    def fitted_design(what: str):
        """The design the model was fitted to, feature-major in float64."""
        if snapshot is not None and snapshot.dtype == np.float64:
            Xt = restore(snapshot)
            if Xt is not None:
                return Xt
        _check_unmodified(design, checks.checksum, what)
        return feature_major(design.X, np.float64)

    X64 = fitted_design("the fit's statistics, computed on first use, need")
    solution, qr_cov = checks.solution, checks.qr_cov
    n, p = design.X.shape
    l2 = np.asarray(penalty.l2)
    sparse = penalty.has_l1 or penalty.has_group
    # the information of a small problem comes with the statistics, unless the checks
    # computed it or an unpenalized fit's screen found it not needed (then on first use
    # of the covariance: reading the deviance or AIC alone does not pay for it)
    eager = n * (p + 1) ** 2 * (k or 1) <= EAGER_INFO_SIZE
    screened = screen_stride(n, p, penalty) > 0
    stride = int(checks.info is None and eager and not screened)
    resp = core_arrays(y, w, off, np.float64)
    response = (resp["y"], resp["w"], resp["offset"], np.asarray(mask, float))
    coef, intercept = solution.coef, solution.intercept
    b = np.asarray(intercept if k is not None else intercept[0])
    st = fit_statistics(
        X64,
        *response,
        family,
        penalty,
        coef,
        b,
        fit_intercept,
        info=stride,
        has_offset=bool(np.any(off != 0)),
    )
    info = checks.info if checks.info is not None else st.get("info")
    ks = range(k or 1)
    actives, scales, dofs, ranks = [], [], [], []
    for i in ks:
        m = mask if k is None else mask[:, i]
        c = coef if k is None else coef[:, i]
        active = np.concatenate([[fit_intercept], m > 0])
        if sparse:
            active[1:] &= c != 0
        rank = int(active.sum())
        dof = float(st["nobs"][i]) - rank
        if family.estimates_scale:
            scale = float(st["pearson_chi2"][i]) / dof if dof > 0 else np.nan
        else:
            scale = 1.0
        actives.append(active)
        scales.append(scale)
        dofs.append(dof)
        ranks.append(rank)
    l2_all = l2[:, None] if k is None else l2
    sum_w = st["sum_w"]

    def build_cov(info):
        covs = []
        for i in ks:
            if i in qr_cov:  # from the QR factor (see refine_ill_conditioned)
                cov = np.full((p + 1, p + 1), np.nan)
                idx = np.flatnonzero(actives[i])
                cov[np.ix_(idx, idx)] = scales[i] * qr_cov[i]
            else:
                l2_full = np.concatenate([[0.0], l2_all[:, i]])
                cov = covariance(info[i], actives[i], l2_full, float(sum_w[i]), scales[i])
            covs.append(cov)
        return covs[0] if k is None else np.stack(covs)

    cov = pending = None
    if info is not None:
        cov = build_cov(info)
    else:
        # the closure keeps the response, weights and offsets as the estimator holds
        # them, and of the design the fit's copy's snapshot, not the copy; the design
        # may be the caller's array, so a modification in place is detected

        def pending():
            X = fitted_design("the covariance, computed on first use, needs")
            return build_cov(information_of(X, *response, family, coef, b, fit_intercept))

    npar = np.asarray(ranks, float) + family.n_extra_params() + extra_params
    npar = npar[0] if k is None else npar

    def stat(name):
        return scalar_or(st[name].astype(float), k)

    loglik, nobs = stat("loglik"), stat("nobs")
    attributes = dict(
        scale_=scalar_or(np.asarray(scales), k),
        dof_resid_=scalar_or(np.asarray(dofs), k),
        rank_=scalar_or(np.asarray(ranks), k),
        deviance_=stat("deviance"),
        # the objective at the returned coefficients, from the float64 deviance
        objective_=stat("objective"),
        null_deviance_=stat("null_deviance"),
        pearson_chi2_=stat("pearson_chi2"),
        loglik_=loglik,
        null_loglik_=stat("null_loglik"),
        nobs_=nobs,
        # what scoring needs from the training data: the null model's intercept and the
        # dispersions at which R evaluates the two log-likelihoods
        null_intercept_=stat("null_intercept"),
        _loglik_scale=stat("loglik_scale"),
        _null_loglik_scale=stat("null_loglik_scale"),
        aic_=-2 * loglik + 2 * npar,
        bic_=-2 * loglik + np.log(nobs) * npar,
    )
    return ModelStatistics(attributes, cov, pending)
