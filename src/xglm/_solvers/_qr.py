"""Iteratively reweighted least squares on a pivoted QR factorisation, as R's ``glm.fit``.

The Newton solver works with the information matrix ``[1 X]^T W [1 X]``, whose condition
number is the square of the weighted design's. On an ill-conditioned design (raw
polynomials of high degree, nearly collinear bases) the normal equations therefore lose
twice the digits the design does, and the fit stops short of the solution. This solver
solves each weighted least-squares problem from a QR factorisation of ``sqrt(W) [1 X]``
instead, losing only the design's digits, and gives the covariance from the triangular
factor. Ridge strengths enter as extra rows ``sqrt(sum w * l2_j) e_j``, so the objective
is the one every xglm solver minimises (half the deviance over ``sum w`` plus the
penalty, see :mod:`xglm._solvers._problem`).

It runs on the host (LAPACK through SciPy), one neuron at a time, and only for the fits
whose information matrix is too ill-conditioned for the Newton solver's accuracy (see
:func:`xglm._checks.fit_checks`). Columns are scaled to unit norm before the
factorisation; a column whose pivot falls below ``RANK_TOL`` times the largest is
linearly dependent on the others, the tolerance R's ``glm.fit`` uses.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

# (jaxlib's LAPACK kernels import scipy.linalg at a fit's first factorisation anyway:
# importing it with xglm keeps that time out of the first fit)
from scipy import linalg

from .._compile import jit
from .._families import Family

__all__ = ["qr_irls", "QRFit", "RANK_TOL", "dependent_columns"]

RANK_TOL = 1e-11


class QRFit(NamedTuple):
    """``coef``: ``(q,)`` over the given columns; ``cov``: ``(q, q)`` inverse of the
    penalized information (unscaled); ``dependent``: indices of columns found linearly
    dependent (then ``coef`` and ``cov`` are not meaningful)."""

    coef: np.ndarray
    n_iter: int
    converged: bool
    cov: np.ndarray
    dependent: list[int]


@jit
def _terms(family: Family, y, eta, w):
    """Working weights, working residuals ``(y - mu) / mu'``, the weighted deviance
    (without its terms in ``y`` alone) at ``eta`` and the sum of its terms' sizes."""
    _, r, wk = family.score_terms(y, eta, w)
    ok = wk > 0
    resid = jnp.where(ok, r / jnp.where(ok, wk, 1.0), 0.0)
    terms = w * family.deviance_eta(y, eta)
    dev = jnp.sum(terms)
    return wk, resid, jnp.where(jnp.isfinite(dev), dev, jnp.inf), jnp.sum(jnp.abs(terms))


def _factor(A):
    """Pivoted QR of ``A`` with unit-norm columns: ``(Q, R, piv, norms, dependent)``."""
    norms = np.linalg.norm(A, axis=0)
    norms = np.where(norms > 0, norms, 1.0)
    Q, R, piv = linalg.qr(A / norms, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    dependent = [int(piv[j]) for j in range(len(d)) if not d[j] > RANK_TOL * d[0]]
    return Q, R, piv, norms, dependent


def dependent_columns(A) -> list[int]:
    """Indices of the columns of ``A`` that are linearly dependent on the others (pivoted
    QR, unit-norm columns, ``RANK_TOL``)."""
    return _factor(np.asarray(A, float))[4]


def qr_irls(
    Xa,
    y,
    w,
    offset,
    l2,
    t0,
    family: Family,
    tol: float = 1e-10,
    maxiter: int = 100,
    max_halvings: int = 30,
) -> QRFit:
    """Minimise ``1/2 sum w d(y, mu) / sum w + 1/2 sum l2 t^2`` over ``t`` from ``t0``.

    ``Xa``: ``(n, q)`` design columns (with the intercept column, if any); ``y, w,
    offset``: ``(n,)``; ``l2``: ``(q,)`` ridge strengths (0 where unpenalized). Each step
    is the weighted least-squares (Fisher scoring) step, halved while it increases the
    objective; the fit has converged when a step moves no coefficient by more than
    ``tol * (1 + max |t|)``.
    """
    Xa, y, w, offset, l2 = (np.asarray(a, float) for a in (Xa, y, w, offset, l2))
    n, q = Xa.shape
    sw = float(np.sum(w))
    pen = np.flatnonzero(l2 > 0)
    pen_rows = np.zeros((pen.size, q))
    pen_rows[np.arange(pen.size), pen] = np.sqrt(sw * l2[pen])

    def objective(t):
        eta = Xa @ t + offset
        wk, resid, dev, size = (np.asarray(a) for a in _terms(family, y, eta, w))
        pen = 0.5 * float(np.sum(l2 * t * t))
        return 0.5 * float(dev) / sw + pen, eta, wk, resid, 0.5 * float(size) / sw + pen

    def weighted(eta, wk, resid):
        sq = np.sqrt(wk)
        A = np.vstack([sq[:, None] * Xa, pen_rows])
        b = np.concatenate([sq * (eta - offset + resid), np.zeros(pen.size)])
        return A, b

    t = np.asarray(t0, float).copy()
    F, eta, wk, resid, size = objective(t)
    # a step is halved only while it raises the objective beyond the round-off of its
    # sum: near the solution the objective no longer resolves an ill-conditioned
    # direction, and the least-squares step is the accurate one
    slack = 1e-10 * size
    converged, it = False, 0
    while it < maxiter and not converged:
        it += 1
        A, b = weighted(eta, wk, resid)
        Q, R, piv, norms, dependent = _factor(A)
        if dependent:
            return QRFit(t, it, False, np.full((q, q), np.nan), dependent)
        new = np.empty(q)
        new[piv] = linalg.solve_triangular(R, Q.T @ b)
        new = new / norms
        for _ in range(max_halvings):
            F_new, eta_new, wk_new, resid_new, _ = objective(new)
            if F_new <= F + slack:
                break
            new = 0.5 * (t + new)
        else:
            break  # no step decreases the objective: t is as good as it gets
        change = float(np.max(np.abs(new - t))) if q else 0.0
        t, F, eta, wk, resid = new, F_new, eta_new, wk_new, resid_new
        converged = change <= tol * (1.0 + float(np.max(np.abs(t), initial=0.0)))
    # the covariance from the factor at the solution's weights
    Q, R, piv, norms, dependent = _factor(weighted(eta, wk, resid)[0])
    if dependent:
        return QRFit(t, it, False, np.full((q, q), np.nan), dependent)
    Rinv = linalg.solve_triangular(R, np.eye(q))
    cov = np.empty((q, q))
    cov[np.ix_(piv, piv)] = Rinv @ Rinv.T
    cov = cov / np.outer(norms, norms)
    return QRFit(t, it, converged, cov, [])
