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

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ._compile import jit
from ._families import Family
from ._penalties import PenaltyArrays
from ._solvers import TRACE_COUNT, neuron_batches, neuron_rows
from ._solvers._information import information, information_screen, map_neurons
from ._solvers._passes import sparse_x_dot, x_dot

__all__ = [
    "check_statistics",
    "fit_statistics",
    "information_of",
    "wald_table",
    "collinear_columns",
    "conditioning",
    "conditioning_bound",
]


def _weighted_sums(W):
    """``v -> sum(W * v, axis=1)`` for ``v`` ``(k, n)``; weights shared by every neuron
    (``(1, n)``) are applied as one matrix-vector product, never broadcast to ``(k, n)``."""
    if W.shape[0] == 1:
        return lambda v: v @ W[0]
    return lambda v: jnp.sum(W * v, axis=1)


def _null_intercepts(Y, W, OFF, family, fit_intercept, has_offset=True, iters: int = 50):
    """Intercept of every neuron's intercept-only model (with its offset), by Fisher scoring.

    Neuron-major arrays ``(k, n)``. Without an offset the intercept-only
    maximum-likelihood mean is the weighted mean of ``y`` for every family and link, so
    no iteration is needed.
    """
    k = Y.shape[0]
    if not fit_intercept:
        return jnp.zeros((k,), Y.dtype)
    sw = jnp.sum(W, axis=1)
    ybar = _weighted_sums(W)(Y) / sw
    if not has_offset:
        return family.link.link(ybar)
    b = family.link.link(family.mu_start(ybar, jnp.ones_like(ybar)))
    b = b - jnp.sum(W * OFF, axis=1) / sw
    b = jnp.where(jnp.isfinite(b), b, 0.0)

    def step(b):
        eta = OFF + b[:, None]
        mu = family.link.inverse(eta)
        d = family.link.inverse_deriv(eta)
        wk = W * d**2 / family.variance(mu)
        z = b[:, None] + (Y - mu) / d
        ok = jnp.isfinite(wk) & jnp.isfinite(z)
        wk = jnp.where(ok, wk, 0.0)
        new = jnp.sum(wk * jnp.where(ok, z, 0.0), axis=1) / jnp.maximum(jnp.sum(wk, axis=1), 1e-300)
        return jnp.where(jnp.isfinite(new), new, b)

    # every iteration is a pass over the samples: stop once no intercept moves beyond
    # round-off (a few iterations; at most ``iters``)
    def cond(c):
        it, b, change = c
        return (it < iters) & (change > 0)

    def body(c):
        it, b, _ = c
        new = step(b)
        moved = jnp.abs(new - b) > 4 * jnp.finfo(b.dtype).eps * (1.0 + jnp.abs(new))
        return it + 1, new, jnp.sum(moved)

    return lax.while_loop(cond, body, (0, b, jnp.asarray(1)))[1]


# the linear predictors of sparse fits (L1, group) come from the rows of at most this
# many nonzero coefficients (a quarter of the features, at least SPARSE_ETA_MIN): the
# statistics of a Poisson Lasso at 20,000 x 1,200 with 15 nonzero took 10.5 ms with a
# pass over the design, 4 ms from the rows
SPARSE_ETA_MAX = 128
SPARSE_ETA_MIN = 16


def _neuron_major_eta(Xt, y, w, offset, mask, coef, intercept, sparse=False):
    """``y, w, offset, mask`` neuron-major (``(k, n)``, ``(k, p)``; shared weights and
    offsets stay ``(1, n)``) and the linear predictors ``(k, n)`` of the fitted
    coefficients.

    One neuron: every array 1-D. A population: ``y, w, offset`` as the core takes them
    (see :func:`xglm._solvers.fit_arrays`) and ``mask, coef`` neuron-major ``(k, p)``
    too (transposed on the host: XLA's CPU product with a transposed operand is
    several times slower). With ``sparse`` (L1 and group fits), coefficients with at
    most a quarter of the features nonzero (up to :data:`SPARSE_ETA_MAX`) in every
    neuron, and at most as many nonzero as features over all neurons, are applied from
    those features' rows alone.
    """
    Y, W, OFF, M, B = (a[None, :] if a.ndim == 1 else a for a in (y, w, offset, mask, coef))
    B = B * M
    cap = min(SPARSE_ETA_MAX, Xt.shape[0] // 4)
    if sparse and cap >= SPARSE_ETA_MIN:

        def rows_only():
            return map_neurons(lambda b1: sparse_x_dot(Xt, b1, cap), B)

        # and the rows read, over all neurons, are at most the design's
        nonzero = jnp.sum(B != 0, axis=1)
        few = jnp.all(nonzero <= cap) & (jnp.sum(nonzero) <= Xt.shape[0])
        XB = lax.cond(few, rows_only, lambda: x_dot(Xt, B))
    else:
        XB = x_dot(Xt, B)
    eta = XB + jnp.reshape(intercept, (-1,))[:, None] + OFF
    return Y, W, OFF, M, eta


def _batch_eta(Xt, y, w, offset, mask, penalty, coef, intercept, idx):
    """The neurons ``idx`` of a population (every neuron: ``None``), taken inside the
    program: their penalty, coefficients, mask and :func:`_neuron_major_eta`."""
    if idx is not None:
        y, w, offset = (neuron_rows(a, idx) for a in (y, w, offset))
        mask, coef, intercept = mask[idx], coef[idx], intercept[idx]
        penalty = penalty.neuron(idx)
    arrays = _neuron_major_eta(Xt, y, w, offset, mask, coef, intercept, not penalty.smooth)
    return penalty, coef, mask, arrays


@jit
def summary_statistics(
    Xt,
    y,
    w,
    offset,
    mask,
    family: Family,
    penalty: PenaltyArrays,
    coef,
    intercept,
    fit_intercept: bool,
    has_offset: bool = True,
    info_stride: int = 0,
    idx=None,
):
    """Deviance, Pearson chi^2, log-likelihoods, the null model and the penalized
    objective of every neuron, and what ``info_stride`` asks for: with 1 the information
    matrices (``info``), with a larger stride what bounds their conditioning (``info_sub``
    and ``info_diag``, see :func:`~xglm._solvers._information.information_screen`), with 0
    neither.

    ``y, w, offset, mask, coef``: 1-D or neuron-major (see :func:`_neuron_major_eta`);
    ``idx`` selects a batch of a population's neurons (taken inside the program).
    One pass over the design plus the intercept-only fits (and a Gram matrix per neuron
    for the information, or a subsample's and one more pass for the screen).
    """
    TRACE_COUNT["stats"] += 1
    penalty, coef, mask, (Y, W, OFF, M, eta) = _batch_eta(
        Xt, y, w, offset, mask, penalty, coef, intercept, idx
    )
    k = eta.shape[0]
    wsum = _weighted_sums(W)
    mu = family.link.inverse(eta)
    # the deviances share their terms in y alone (see Family.deviance_eta), summed once
    dev_y = wsum(family.deviance_constant(Y))

    def deviance(eta, mu):
        # where the split is not finite (an infinite mean, say) the unit deviance
        # decides, as R's dev.resids does
        split = dev_y + wsum(family.deviance_eta(Y, eta))
        return lax.cond(
            jnp.all(jnp.isfinite(split)),
            lambda: split,
            lambda: wsum(family.unit_deviance(Y, mu)),
        )

    dev = deviance(eta, mu)
    pearson = wsum((Y - mu) ** 2 / family.variance(mu))
    b0 = _null_intercepts(Y, W, OFF, family, fit_intercept, has_offset)
    eta0 = jnp.broadcast_to(OFF + b0[:, None], eta.shape)
    mu0 = family.link.inverse(eta0)
    null_dev = deviance(eta0, mu0)
    # per-neuron functions of the weights take shared weights unbatched
    w_axis, Wv = (0, W) if W.shape[0] == k else (None, W[0])
    scale = jax.vmap(family.r_scale, in_axes=(0, w_axis))(dev, Wv)
    null_scale = jax.vmap(family.r_scale, in_axes=(0, w_axis))(null_dev, Wv)
    saturated = family.saturated_loglik_terms(Y)
    if saturated is None:
        loglik_of = jax.vmap(family.log_likelihood, in_axes=(0, 0, w_axis, 0))
        loglik = loglik_of(Y, mu, Wv, scale)
        null_loglik = loglik_of(Y, mu0, Wv, null_scale)
    else:
        saturated = wsum(saturated)
        loglik, null_loglik = saturated - dev / 2, saturated - null_dev / 2
    sum_w = jnp.broadcast_to(jnp.sum(W, axis=1), (k,))
    out = dict(
        deviance=dev,
        pearson_chi2=pearson,
        null_deviance=null_dev,
        loglik=loglik,
        null_loglik=null_loglik,
        nobs=jnp.broadcast_to(jnp.sum(W > 0, axis=1), (k,)),
        sum_w=sum_w,
        null_intercept=b0,
        loglik_scale=scale,
        null_loglik_scale=null_scale,
        objective=0.5 * dev / sum_w + jnp.reshape(penalty.value((coef * mask).T), (-1,)),
    )
    # the means' closest approach to the boundary of the support, over the observations
    # that count (Family.at_boundary), and the information matrices asked for
    _information_outputs(out, Xt, eta, Y, W, M, family, fit_intercept, info_stride)
    return out


@jit
def check_statistics(
    Xt,
    y,
    w,
    offset,
    mask,
    family: Family,
    penalty: PenaltyArrays,
    coef,
    intercept,
    fit_intercept: bool,
    info_stride: int = 0,
    idx=None,
):
    """What a fit must know before it returns, without the statistics it reports: the
    means' closest approach to the boundary of the support (``boundary_distance``, for
    families whose mean is bounded), the total weights (``sum_w``) and the information
    matrices as ``info_stride`` asks (see :func:`summary_statistics`). One pass over the
    design (and a Gram matrix per neuron, or a subsample's and one more pass). Arguments
    as :func:`summary_statistics`, which alone needs ``has_offset`` (its null model).
    """
    TRACE_COUNT["checks"] += 1
    penalty, coef, mask, (Y, W, OFF, M, eta) = _batch_eta(
        Xt, y, w, offset, mask, penalty, coef, intercept, idx
    )
    k = eta.shape[0]
    out = dict(sum_w=jnp.broadcast_to(jnp.sum(W, axis=1), (k,)))
    _information_outputs(out, Xt, eta, Y, W, M, family, fit_intercept, info_stride)
    return out


def _information_outputs(out, Xt, eta, Y, W, M, family, fit_intercept, info_stride):
    """Add to ``out`` the boundary distance of the means and the information matrices
    that ``info_stride`` asks for (see :func:`summary_statistics`)."""
    distance = family.boundary_distance(family.link.inverse(eta))
    if distance is not None:
        counts = jnp.broadcast_to(W > 0, eta.shape)
        out["boundary_distance"] = jnp.min(jnp.where(counts, distance, jnp.inf), axis=1)
    if info_stride == 1:
        out["info"] = information(Xt, eta, Y, W, M, family, fit_intercept)
    elif info_stride > 1:
        out["info_sub"], out["info_diag"] = information_screen(
            Xt, eta, Y, W, M, family, fit_intercept, info_stride
        )


@jit
def information_matrices(Xt, y, w, offset, mask, family: Family, coef, intercept, fit_intercept):
    """Unscaled expected information of (intercept, coefficients): ``(k, p+1, p+1)``."""
    TRACE_COUNT["stats"] += 1
    Y, W, _, M, eta = _neuron_major_eta(Xt, y, w, offset, mask, coef, intercept)
    return information(Xt, eta, Y, W, M, family, fit_intercept)


def fit_statistics(
    Xt,
    y,
    w,
    offset,
    mask,
    family,
    penalty,
    coef,
    intercept,
    fit_intercept,
    info,
    has_offset,
    checks_only: bool = False,
):
    """Per-neuron fit statistics as numpy arrays with a leading neuron axis ``(k, ...)``.

    ``Xt`` is the design feature-major, ``(p, n)``. ``info``: the ``info_stride`` of
    :func:`summary_statistics` (0 skips the information matrices, see
    :func:`information_of`, on demand). ``checks_only``: what the fit needs alone
    (:func:`check_statistics`) instead of the reported statistics.
    """
    # only the null model of the reported statistics needs to know of an offset
    program = (
        check_statistics if checks_only else partial(summary_statistics, has_offset=has_offset)
    )
    if y.ndim == 1:
        out = program(
            Xt,
            y,
            w,
            offset,
            mask,
            family,
            penalty,
            coef,
            intercept,
            fit_intercept,
            info_stride=info,
        )
        return {key: np.asarray(v) for key, v in out.items()}
    # a population in batches of neurons, as the solver runs it (neuron_batches)
    mask, coef = (np.ascontiguousarray(np.asarray(a).T) for a in (mask, coef))
    k, n = y.shape
    parts = []
    for idx in neuron_batches(k, n, Xt.shape[0]):
        out = program(
            Xt,
            y,
            w,
            offset,
            mask,
            family,
            penalty,
            coef,
            np.asarray(intercept),
            fit_intercept,
            info_stride=info,
            idx=idx,
        )
        parts.append({key: np.asarray(v) for key, v in out.items()})
    return {key: np.concatenate([part[key] for part in parts])[:k] for key in parts[0]}


def information_of(Xt, y, w, offset, mask, family, coef, intercept, fit_intercept):
    """The information matrices ``(k, p+1, p+1)`` alone, one neuron per call (one
    compiled program whose memory does not grow with the number of neurons)."""
    if y.ndim == 1:
        return np.asarray(
            information_matrices(Xt, y, w, offset, mask, family, coef, intercept, fit_intercept)
        )
    return np.concatenate(
        [
            np.asarray(
                information_matrices(
                    Xt,
                    y[i],
                    w[i if w.shape[0] > 1 else 0],
                    offset[i if offset.shape[0] > 1 else 0],
                    mask[:, i],
                    family,
                    coef[:, i],
                    intercept[i],
                    fit_intercept,
                )
            )
            for i in range(y.shape[0])
        ]
    )


def _jacobi_scaled(sub: np.ndarray):
    """``(m, keep)``: the symmetric ``sub`` scaled to a unit diagonal over ``keep``, the
    indices of its columns with a positive diagonal."""
    d = np.sqrt(np.clip(np.diag(sub), 0, None))
    keep = np.flatnonzero(d > 1e-300)
    return sub[np.ix_(keep, keep)] / np.outer(d[keep], d[keep]), keep


def collinear_columns(info: np.ndarray, active: np.ndarray, labels: list[str]) -> list[list[str]]:
    """Sets of labels of linearly dependent columns of the information matrix."""
    idx = np.flatnonzero(active)
    m, keep = _jacobi_scaled(info[np.ix_(idx, idx)])
    out = [[labels[idx[j]]] for j in np.setdiff1d(np.arange(idx.size), keep)]
    if keep.size == 0:
        return out
    evals, evecs = np.linalg.eigh(m)
    tol = max(evals.max(), 1.0) * 1e-11
    for k in np.flatnonzero(evals < tol):
        v = evecs[:, k]
        members = [labels[idx[keep[j]]] for j in np.flatnonzero(np.abs(v) > 1e-4)]
        if members and members not in out:
            out.append(members)
    return out


def conditioning(info: np.ndarray, active: np.ndarray, l2_full: np.ndarray, sum_w: float):
    """Smallest over largest eigenvalue of the Jacobi-scaled active block of
    ``info + sum_w * diag(l2)``: 1 for orthogonal columns, 0 for dependent ones. The
    Newton solver's coefficients are accurate to about ``eps`` over this ratio."""
    idx = np.flatnonzero(active)
    if idx.size == 0:
        return 1.0
    sub = info[np.ix_(idx, idx)] + sum_w * np.diag(l2_full[idx])
    if not np.all(np.isfinite(sub)):
        return 0.0
    m, keep = _jacobi_scaled(sub)
    if keep.size < idx.size:  # a column without information
        return 0.0
    ev = np.linalg.eigvalsh(m)
    return float(max(ev[0], 0.0) / ev[-1])


def conditioning_bound(
    sub: np.ndarray, diag: np.ndarray, active: np.ndarray, l2_full: np.ndarray, sum_w: float
) -> float:
    """A lower bound on :func:`conditioning` from a row subsample's information ``sub``
    and the exact diagonal ``diag`` of the full information (see
    :func:`~xglm._solvers._information.information_screen`).

    The full information ``A`` is the subsample's ``S`` plus the other rows' (positive
    semi-definite), so with ``D`` the diagonal of ``A + L`` (``L = sum_w diag(l2)``) the
    smallest eigenvalue of ``D^-1/2 (A + L) D^-1/2`` is at least that of
    ``D^-1/2 (S + L) D^-1/2``; its largest is at most its trace, the number of active
    parameters. 0 when the bound is not finite or a column has no information.
    """
    idx = np.flatnonzero(active)
    if idx.size == 0:
        return 1.0
    pen = sum_w * l2_full[idx]
    d = diag[idx] + pen
    sub = sub[np.ix_(idx, idx)] + np.diag(pen)
    if not (np.all(np.isfinite(sub)) and np.all(np.isfinite(d)) and np.all(d > 1e-300)):
        return 0.0
    s = 1.0 / np.sqrt(d)
    ev = np.linalg.eigvalsh(sub * np.outer(s, s))
    return float(max(ev[0], 0.0) / idx.size)


def wald_table(coef, se, dist: str, dof: float, level: float = 0.95):
    """z (or t) statistics, two-sided p-values and confidence limits."""
    # (scipy.special's distribution functions, which scipy.stats evaluates: importing
    # scipy.stats took 0.3 s of a first summary)
    from scipy import special

    z = coef / se
    if dist == "t":
        p = 2 * special.stdtr(dof, -np.abs(z))
        q = special.stdtrit(dof, 0.5 + level / 2)
    else:
        p = 2 * special.ndtr(-np.abs(z))
        q = special.ndtri(0.5 + level / 2)
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
