"""Solvers of the quadratic model of one Newton iteration, for one neuron.

The model is ``1/2 t'At - c't`` plus the penalty, in ``t = (b, beta)``:

* :func:`scaled_factor` / :func:`solve_factored`: smooth penalties, a Jacobi-scaled
  Cholesky factorisation (reused by chord steps) and its solve;
* :func:`cd_l1`: L1 (and elastic-net) penalties, cyclic coordinate descent as in
  glmnet and glum;
* :func:`apg_model`: group penalties, accelerated proximal gradient with restarts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from .._penalties import PenaltyArrays

__all__ = ["jacobi_cholesky", "scaled_factor", "solve_factored", "cd_l1", "apg_model"]


def jacobi_cholesky(A):
    """``(M, L, s)``: the Jacobi scaling ``s`` of a symmetric PSD matrix, the scaled
    matrix ``M`` and its Cholesky factor ``L`` (not finite when ``M`` is numerically
    singular)."""
    d = jnp.diag(A)
    s = jnp.where(d > 0, 1.0 / jnp.sqrt(jnp.where(d > 0, d, 1.0)), 1.0)
    M = A * s[:, None] * s[None, :]
    return M, jnp.linalg.cholesky(M), s


def scaled_factor(A):
    """Jacobi scaling and Cholesky factor of a symmetric PSD matrix (see
    :func:`jacobi_cholesky`).

    A numerically singular matrix (collinear columns) is factored with a relative
    jitter of 1e-10 on the unit diagonal instead, which gives the minimum-norm-like
    step; unpenalized rank-deficient designs are reported after the fit.
    """
    M, L, s = jacobi_cholesky(A)
    eps = jnp.maximum(1e-10, 100 * jnp.finfo(M.dtype).eps)
    L = lax.cond(
        jnp.all(jnp.isfinite(L)),
        lambda: L,
        lambda: jnp.linalg.cholesky(M + eps * jnp.eye(M.shape[0], dtype=M.dtype)),
    )
    return M, L, s


def solve_factored(M, L, s, rhs):
    return jax.scipy.linalg.cho_solve((L, True), rhs * s) * s


def cd_l1(A, c, l2, l1, t0, tol, max_sweeps):
    """Coordinate descent on ``1/2 t'At - c't + 1/2 sum l2 t^2 + sum l1 |t|``.

    As glmnet does: a full sweep over every coordinate, then sweeps over the nonzero
    coordinates alone until they settle, repeated until a full sweep changes nothing
    beyond the tolerance. Each sweep counts towards ``max_sweeps``.
    """
    q = t0.shape[0]
    diag = jnp.diag(A) + l2
    safe = jnp.where(diag > 0, diag, 1.0)
    zero = jnp.zeros((), t0.dtype)

    def coord(j, tg):
        t, g, mx = tg
        tj = t[j]
        num = diag[j] * tj - (g[j] + l2[j] * tj)
        new = jnp.sign(num) * jnp.maximum(jnp.abs(num) - l1[j], 0.0) / safe[j]
        new = jnp.where(diag[j] > 0, new, 0.0)
        delta = new - tj
        g = g + A[j] * delta  # A is symmetric: its row j is its column j
        t = t.at[j].set(new)
        return t, g, jnp.maximum(mx, jnp.abs(delta) * jnp.sqrt(safe[j]))

    def sweep(idx, count, t, g):
        return lax.fori_loop(0, count, lambda i, tg: coord(idx[i], tg), (t, g, zero))

    def unsettled(t, mx):
        return mx > tol * (1.0 + jnp.max(jnp.abs(t) * jnp.sqrt(safe)))

    def full_cond(carry):
        t, _, mx, k = carry
        return unsettled(t, mx) & (k < max_sweeps)

    def full_body(carry):
        t, g, _, k = carry
        t, g, mx_full = sweep(jnp.arange(q), q, t, g)
        active = t != 0
        idx = jnp.nonzero(active, size=q, fill_value=0)[0]
        count = jnp.sum(active)

        def active_cond(c):
            t, _, mx, kk = c
            return unsettled(t, mx) & (kk < max_sweeps)

        def active_body(c):
            t, g, _, kk = c
            t, g, mx = sweep(idx, count, t, g)
            return t, g, mx, kk + 1

        t, g, _, k = lax.while_loop(active_cond, active_body, (t, g, mx_full, k + 1))
        return t, g, mx_full, k

    g0 = A @ t0 - c
    t, _, _, _ = lax.while_loop(full_cond, full_body, (t0, g0, jnp.asarray(jnp.inf, t0.dtype), 0))
    return t


def apg_model(pen: PenaltyArrays, mask, A, c, l2, t0, lam_max, tol, max_iter):
    """Accelerated proximal gradient on the quadratic model (group penalties).

    ``lam_max`` is the largest eigenvalue of ``A + diag(l2)``, computed by the caller
    (one neuron at a time, see ``_information.map_neurons``).
    """
    Ap = A + jnp.diag(l2)
    step = 1.0 / (lam_max * 1.0001)

    def prox(v):
        beta = pen.prox_nonsmooth(v[1:] * mask, step) * mask
        return jnp.concatenate([v[:1], beta])

    def body(carry):
        x, yv, tk, _, k = carry
        x_new = prox(yv - step * (Ap @ yv - c))
        t_new = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * tk**2))
        restart = jnp.vdot(yv - x_new, x_new - x) > 0
        t_new = jnp.where(restart, 1.0, t_new)
        y_new = jnp.where(restart, x_new, x_new + ((tk - 1.0) / t_new) * (x_new - x))
        change = jnp.max(jnp.abs(x_new - x))
        return x_new, y_new, t_new, change, k + 1

    def cond(carry):
        x, _, _, change, k = carry
        return (change > tol * (1.0 + jnp.max(jnp.abs(x)))) & (k < max_iter)

    init = (t0, t0, jnp.ones((), t0.dtype), jnp.asarray(jnp.inf, t0.dtype), 0)
    x, *_ = lax.while_loop(cond, body, init)
    return x
