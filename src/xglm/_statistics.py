"""R-style statistics of a fitted model: what the fit must settle, and what it reports.

:func:`fit_checks` runs at fit time: whether the fitted means reach the boundary of the
support, and for fits whose information matrix is computed then, the refinement of
ill-conditioned fits by R's QR-based IRLS (:func:`refine_ill_conditioned`), which also
decides rank deficiency as R does. :func:`model_statistics` computes everything the
estimator reports (deviance, dispersion, log-likelihoods, AIC/BIC, the residual degrees
of freedom and the covariance of the parameters, the last on its own first use when it
costs a Gram matrix of a large design) on the first use of any of them. Both work on
arrays only; the estimator sets the results as attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from ._design._arrays import design_checksum
from ._device import Snapshot, core_arrays, feature_major, restore
from ._families import Family
from ._inference import (
    collinear_columns,
    conditioning,
    conditioning_bound,
    covariance,
    fit_statistics,
    information_of,
)
from ._penalties import PenaltyArrays
from ._solvers._information import info_stride
from ._solvers._qr import dependent_columns, qr_irls
from .errors import DesignError, RankDeficientError

__all__ = [
    "EAGER_INFO_SIZE",
    "QR_CONDITIONING",
    "Checks",
    "Data",
    "ModelStatistics",
    "Solution",
    "fit_checks",
    "model_statistics",
    "screen_stride",
    "refine_ill_conditioned",
]

# below this conditioning of the (penalized) information matrix a fit is refined by the
# QR-based IRLS: the Newton solver's coefficients are accurate to about eps over it
QR_CONDITIONING = 1e-8
# up to this many multiply-adds (n (p+1)^2 per neuron) the information matrices are
# computed with the statistics, beyond it on first use of the covariance
EAGER_INFO_SIZE = 2e8


def scalar_or(arr, k):
    """``arr`` as a Python scalar for one neuron (``k`` None), else shape ``(k,)``."""
    arr = np.asarray(arr)
    if k is None:
        return arr.reshape(-1)[0].item() if arr.dtype != bool else bool(arr.reshape(-1)[0])
    return arr.reshape(k)


class Solution(NamedTuple):
    """A fit's coefficients ``(p,)`` or ``(p, k)``, intercepts ``(k or 1,)``, iteration
    counts and convergence flags ``(k or 1,)``."""

    coef: np.ndarray
    intercept: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray


class Data(NamedTuple):
    """The fitted data as the estimator holds them: the design ``X`` ``(n, p)``, the
    response ``y``, prior weights ``w`` and offsets ``off`` (``(n,)``, or ``(n, k)`` with
    ``(n, 1)`` weights) and the feature mask ``(p,)`` or ``(p, k)``."""

    X: np.ndarray
    y: np.ndarray
    w: np.ndarray
    off: np.ndarray
    mask: np.ndarray


class ModelStatistics(NamedTuple):
    """What :func:`model_statistics` returns.

    ``attributes``: the estimator's fitted attributes by name (``deviance_``,
    ``scale_``, ...). ``cov``: the covariance of (intercept, coefficients), or None when
    deferred; ``cov_pending`` then computes it.
    """

    attributes: dict
    cov: np.ndarray | None
    cov_pending: Callable[[], np.ndarray] | None


def refine_ill_conditioned(
    st, data: Data, family, l2, k, tol, solution: Solution, labels, fit_intercept
) -> tuple[Solution, dict]:
    """Refit with R's QR-based IRLS (:func:`xglm._solvers._qr.qr_irls`) every neuron
    whose penalized information matrix is too ill-conditioned for the Newton solver's
    accuracy (``conditioning`` below ``QR_CONDITIONING``), starting from the Newton
    solution; raise :class:`RankDeficientError` naming the columns that are linearly
    dependent.

    Returns the solution, refined where it was, and ``covs`` mapping each refined
    neuron to the unscaled covariance of its active parameters (from the QR factor).
    """
    covs = {}
    X, y, w, off, mask = data
    n = X.shape[0]
    coef, intercept, n_iter, converged = (np.array(a) for a in solution)
    Y = y.reshape(n, -1)
    W, OFF = (np.broadcast_to(np.reshape(a, (n, -1)), Y.shape) for a in (w, off))
    for i in range(k or 1):
        m = mask if k is None else mask[:, i]
        active = np.concatenate([[fit_intercept], m > 0])
        l2_full = np.concatenate([[0.0], l2 if k is None else l2[:, i]])
        if conditioning(st["info"][i], active, l2_full, float(st["sum_w"][i])) >= QR_CONDITIONING:
            continue
        Xa = np.column_stack([np.ones(n), np.asarray(X, float)])[:, active]
        c = coef if k is None else coef[:, i]
        t0 = np.concatenate([intercept[i : i + 1], c])[active]
        fit = qr_irls(Xa, Y[:, i], W[:, i], OFF[:, i], l2_full[active], t0, family, tol)
        if fit.dependent and not dependent_columns(np.sqrt(W[:, i])[:, None] * Xa):
            # the design has full rank, the working weights do not: fitted means on the
            # boundary of the support (reported by the boundary check)
            continue
        if fit.dependent:
            groups = collinear_columns(st["info"][i], active, labels)
            if not groups:
                groups = [[labels[j] for j in np.flatnonzero(active)[fit.dependent]]]
            who = "; ".join(" ~ ".join(g) for g in groups)
            raise RankDeficientError(
                f"X: the design is rank deficient; these columns are linearly "
                f"dependent: {who}. Fix: drop one column of each set, or add a "
                "Ridge penalty (regularizer='Ridge')."
            )
        new = np.zeros(len(active))
        new[active] = fit.coef
        if k is None:
            coef = new[1:] * (m > 0)
        else:
            coef[:, i] = new[1:] * (m > 0)
        intercept[i] = new[0]
        n_iter[i] += fit.n_iter
        converged[i] = fit.converged
        covs[i] = fit.cov
    return Solution(coef, intercept, n_iter, converged), covs


def _screen_passes(st: dict, mask: np.ndarray, k: int | None, fit_intercept: bool) -> bool:
    """Whether the subsample bound (:func:`~xglm._inference.conditioning_bound`) shows
    every neuron of an unpenalized fit conditioned well enough to need neither the QR
    refinement nor a rank check."""
    for i in range(k or 1):
        m = mask if k is None else mask[:, i]
        active = np.concatenate([[fit_intercept], m > 0])
        bound = conditioning_bound(
            st["info_sub"][i], st["info_diag"][i], active, np.zeros(active.size), 0.0
        )
        if bound < QR_CONDITIONING:
            return False
    return True


class Checks(NamedTuple):
    """What :func:`fit_checks` returns.

    ``solution``: the solver's, or the QR refinement's for the neurons it refined.
    ``boundary`` ``(k or 1,)``: whether the fitted means reach the boundary of the
    family's support. ``info``: the information matrices ``(k, p+1, p+1)`` at the
    solution when the checks computed them, else None. ``qr_cov``: the unscaled
    covariance of the active parameters of every refined neuron, by neuron.
    ``checksum``: the design's sum at fit time (see :func:`model_statistics`).
    """

    solution: Solution
    boundary: np.ndarray
    info: np.ndarray | None
    qr_cov: dict
    checksum: float


def screen_stride(n: int, p: int, penalty: PenaltyArrays) -> int:
    """The row stride of an unpenalized fit's rank screen (see :func:`fit_checks`), or 0
    when the fit has none: penalized, or small enough for its whole information."""
    unpenalized = not np.any(np.asarray(penalty.l2)) and not (penalty.has_l1 or penalty.has_group)
    stride = info_stride(n, p) if unpenalized else 1
    return stride if stride > 1 else 0


def _bounded(family: Family) -> bool:
    """Whether the family's mean has a boundary to reach (``Family.boundary_distance``)."""
    return type(family).boundary_distance is not Family.boundary_distance


def fit_checks(
    design,
    y: np.ndarray,
    w: np.ndarray,
    off: np.ndarray,
    mask: np.ndarray,
    family: Family,
    penalty: PenaltyArrays,
    k: int | None,
    fit_intercept: bool,
    solution: Solution,
    *,
    args: dict | None = None,
    tol: float = 1e-8,
    distance=None,
    screened=None,
) -> Checks:
    """What a fit settles before it returns: whether its means reach the boundary of the
    support, and for smooth fits whose information matrix is computed now (small
    problems, and every unpenalized fit: its rank is checked at fit time) the QR
    refinement of ill-conditioned neurons and the rank check
    (:func:`refine_ill_conditioned`).

    The statistics the fit reports come later, on first use (:func:`model_statistics`).
    Arguments as :func:`model_statistics`; ``args``: the fit's JAX arrays, reused when
    they are float64; ``distance``: the means' closest approach to the boundary per
    neuron, when the solver gives it (``SolverOutput.boundary_distance``): a fit that
    needs no information matrix now then needs no pass over the design; ``screened``:
    the rank screen at the solution, when the solver gives it (``SolverOutput.screened``,
    at the stride of :func:`screen_stride`), likewise.
    """
    n, p = design.X.shape
    l2 = np.asarray(penalty.l2)
    sparse = penalty.has_l1 or penalty.has_group
    checksum = design.extra.get("checksum")
    if checksum is None:
        checksum = design_checksum(design.X)
    # the information matrix costs a Gram matrix: computed now when cheap, where it
    # decides the refinement. An unpenalized fit needs the rank check now: where the
    # solver estimates the information from a row subsample, a bound on the conditioning
    # from that subsample settles it at a fraction of the Gram matrix, which is then
    # computed only when the bound cannot
    screen = screen_stride(n, p, penalty)
    if sparse:
        stride = 0
    elif screen:
        stride = screen
    else:
        stride = int(n * (p + 1) ** 2 * (k or 1) <= EAGER_INFO_SIZE)
    none = np.zeros(k or 1, bool)
    if stride == 0 and not _bounded(family):
        return Checks(solution, none, None, {}, checksum)
    f64 = args is not None and args["X"].dtype == jnp.float64
    # R's test is at 10 eps of float64: a float32 solver's distances cannot tell (1 - mu
    # is 0 in float32 from mu = 1 - 6e-8), so float32 fits are checked here
    if stride == 0 and distance is not None and f64:
        boundary = np.array([family.at_boundary(d) for d in np.atleast_1d(distance)])
        return Checks(solution, boundary, None, {}, checksum)
    given = stride > 1 and screened is not None and f64
    given = given and (distance is not None or not _bounded(family))
    if f64:
        arrays = (args["X"], args["y"], args["w"], args["offset"], args["mask"])
    else:
        resp = core_arrays(y, w, off, np.float64)
        X64 = feature_major(design.X, np.float64)
        arrays = (X64, resp["y"], resp["w"], resp["offset"], np.asarray(mask, float))
    has_offset = bool(np.any(off != 0))

    def checks(solution, stride):
        b = np.asarray(solution.intercept if k is not None else solution.intercept[0])
        return fit_statistics(
            *arrays,
            family,
            penalty,
            solution.coef,
            b,
            fit_intercept,
            info=stride,
            has_offset=has_offset,
            checks_only=True,
        )

    if given:  # the solver's screen and distances at its solution
        sub, diag = (np.asarray(a) for a in screened)
        if k is None:  # one neuron's, squeezed by the solver
            sub, diag = sub[None], diag[None]
        else:
            sub, diag = np.moveaxis(sub, -1, 0), np.moveaxis(diag, -1, 0)
        sum_w = np.sum(np.reshape(w, (n, -1)), axis=0)
        st = dict(info_sub=sub, info_diag=diag, sum_w=np.broadcast_to(sum_w, (k or 1,)))
        if distance is not None:
            st["boundary_distance"] = np.atleast_1d(distance)
    else:
        st = checks(solution, stride)
    if stride > 1 and not _screen_passes(st, mask, k, fit_intercept):
        b = np.asarray(solution.intercept if k is not None else solution.intercept[0])
        st["info"] = information_of(arrays[0], *arrays[1:], family, solution.coef, b, fit_intercept)
    qr_cov = {}
    if "info" in st:
        labels = ["Intercept"] + list(design.layout.feature_labels)
        data = Data(design.X, y, w, off, mask)
        refined, qr_cov = refine_ill_conditioned(
            st, data, family, l2, k, tol, solution, labels, fit_intercept
        )
        if qr_cov:
            solution = refined
            st = checks(solution, 1)
    distance = st.get("boundary_distance")
    boundary = none if distance is None else np.array([family.at_boundary(d) for d in distance])
    return Checks(solution, boundary, st.get("info"), qr_cov, checksum)


def _check_unmodified(design, checksum: float, what: str) -> None:
    """Raise :class:`DesignError` when the design's sum is no longer ``checksum``: the
    data were modified in place after the fit, before ``what`` (a subject and its verb)
    was computed from them."""
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
    screened = not np.any(l2) and not sparse and info_stride(n, p) > 1
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
