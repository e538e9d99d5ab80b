"""What a fit settles before it returns: the means on the boundary of the support, the
rank check and the QR refinement of ill-conditioned fits (:func:`fit_checks`).

Everything else a fit reports is computed on first use (:mod:`xglm._statistics`). The
Newton solver returns what these checks need from its last linear predictor (the means'
closest approach to the boundary, and for unpenalized fits the rank screen); otherwise
a small program makes one pass over the design (:func:`xglm._inference.check_statistics`).
Fits whose information matrix is too ill-conditioned for the Newton solver's accuracy are
refined by R's QR-based IRLS (:func:`refine_ill_conditioned`), which also decides rank
deficiency as R does.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from ._design._arrays import design_checksum
from ._device import Fingerprint, core_arrays, feature_major
from ._families import Family
from ._inference import (
    collinear_columns,
    conditioning,
    conditioning_bound,
    fit_statistics,
    information_of,
)
from ._penalties import PenaltyArrays
from ._solvers._information import info_stride
from ._solvers._qr import dependent_columns, qr_irls
from .errors import RankDeficientError

__all__ = [
    "EAGER_INFO_SIZE",
    "QR_CONDITIONING",
    "Checks",
    "Data",
    "Solution",
    "fit_checks",
    "refine_ill_conditioned",
    "screen_stride",
]

# below this conditioning of the (penalized) information matrix a fit is refined by the
# QR-based IRLS: the Newton solver's coefficients are accurate to about eps over it
QR_CONDITIONING = 1e-8
# up to this many multiply-adds (n (p+1)^2 per neuron) the information matrices are
# computed by the checks (smooth fits) or with the statistics, beyond it on first use of
# the covariance
EAGER_INFO_SIZE = 2e8


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
    ``checksum``: the design's sum at fit time, or a
    :class:`~xglm._device.Fingerprint` that takes it later (see
    :func:`model_statistics`).
    """

    solution: Solution
    boundary: np.ndarray
    info: np.ndarray | None
    qr_cov: dict
    checksum: float | Fingerprint


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
    checksum=None,
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
    at the stride of :func:`screen_stride`), likewise; ``checksum``: what the
    statistics check the design against (a :class:`~xglm._device.Fingerprint`), when
    not the design's sum (kept by its check, or computed here).
    """
    n, p = design.X.shape
    l2 = np.asarray(penalty.l2)
    sparse = penalty.has_l1 or penalty.has_group
    if checksum is None:
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
    # the Newton solver's outputs at its solution serve when they hold all that is needed
    # and it ran in float64 (R's test is at 10 eps of float64: 1 - mu is 0 in float32
    # from mu = 1 - 6e-8, so float32 fits are checked here)
    from_solver = f64 and (distance is not None or not _bounded(family))
    from_solver = from_solver and (stride == 0 or (stride > 1 and screened is not None))
    if f64:
        arrays = (args["X"], args["y"], args["w"], args["offset"], args["mask"])
    else:
        resp = core_arrays(y, w, off, np.float64)
        X64 = feature_major(design.X, np.float64)
        arrays = (X64, resp["y"], resp["w"], resp["offset"], np.asarray(mask, float))
    has_offset = bool(np.any(off != 0))

    def intercepts(solution):
        return np.asarray(solution.intercept if k is not None else solution.intercept[0])

    def checks(solution, stride):
        return fit_statistics(
            *arrays,
            family,
            penalty,
            solution.coef,
            intercepts(solution),
            fit_intercept,
            info=stride,
            has_offset=has_offset,
            checks_only=True,
        )

    if from_solver:
        st = {}
        if distance is not None:
            st["boundary_distance"] = np.atleast_1d(distance)
        if stride > 1:
            sub, diag = (np.asarray(a) for a in screened)
            if k is None:  # one neuron's, squeezed by the solver
                sub, diag = sub[None], diag[None]
            else:
                sub, diag = np.moveaxis(sub, -1, 0), np.moveaxis(diag, -1, 0)
            sum_w = np.sum(np.reshape(w, (n, -1)), axis=0)
            st.update(info_sub=sub, info_diag=diag, sum_w=np.broadcast_to(sum_w, (k or 1,)))
    else:
        st = checks(solution, stride)
    if stride > 1 and not _screen_passes(st, mask, k, fit_intercept):
        st["info"] = information_of(
            *arrays, family, solution.coef, intercepts(solution), fit_intercept
        )
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
