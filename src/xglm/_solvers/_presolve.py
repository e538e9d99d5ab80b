"""The presolve: a loose Newton fit to a row subsample that starts a large smooth fit.

On large data the Newton solver (:mod:`._newton`) starts from a fit to about
``n / 64`` rows (see ``_newton.PRESOLVE_FRACTION``): its statistical error is far above
any useful tolerance, so it is solved loosely, and it takes the first iterations off the
full data, where each pass costs 64 times more.

The subsample is small, so plain Newton suffices: every iteration forms the information
matrix, solves for the step and halves it until the penalized objective does not
increase. That loop compiles in a fraction of the full solver's (chord steps, working
sets, step-length models, per-neuron refresh rules): it is compiled into every large
smooth fit's program. The full solver judges the result, keeping the null model where
the presolve's start is worse on the full data (a poor subsample, a non-finite result).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from .._families import Family
from ._passes import info_from_weights
from ._quadratic import jacobi_cholesky, solve_factored

__all__ = ["PRESOLVE_MAXITER", "presolve"]

# a loose fit on a subsample converges in a handful of Newton steps; this bounds the
# time a neuron without a finite solution (a silent one, say) spends in it
PRESOLVE_MAXITER = 30


def _one(Xs, y, w, off, m, l2, b0, family: Family, fit_intercept: bool, tol, max_halvings):
    """One neuron's Newton fit from the null model's intercept ``b0`` (the
    coefficients at zero, so that its linear predictor needs no pass over ``Xs``):
    ``Xs`` ``(p, n)``, ``y, w, off`` ``(n,)``, mask ``m`` ``(p,)``, ridge strengths
    ``l2`` ``(p+1,)`` (0 for the intercept and masked features). Returns ``(p+1,)``."""
    icpt = 1.0 if fit_intercept else 0.0
    sw = jnp.sum(w)

    def eta_of(t):
        return (t[1:] * m) @ Xs + t[0] * icpt + off

    def objective(t, eta):
        val = 0.5 * jnp.sum(w * family.deviance_eta(y, eta)) / sw + 0.5 * jnp.sum(l2 * t * t)
        return jnp.where(jnp.isfinite(val), val, jnp.inf)

    def body(c):
        t, eta, F, it, _ = c
        _, r, _ = family.score_terms(y, eta, w)
        g = l2 * t - jnp.concatenate([jnp.sum(r)[None] * icpt, (Xs @ r) * m]) / sw
        # the observed information, as the full solver (Family.observed_weights)
        wk = family.observed_weights(y, eta, w)
        A = info_from_weights(Xs, wk, m, fit_intercept) / sw + jnp.diag(l2)
        # without scaled_factor's jittered fallback: a singular matrix gives a
        # non-finite step, which ends the presolve where it is (the full solver has
        # the fallbacks)
        d = -solve_factored(*jacobi_cholesky(A), g)
        finite = jnp.all(jnp.isfinite(d))
        d = jnp.where(finite, d, 0.0)
        eta_d = eta_of(d) - off  # [1 X] d: every trial point is elementwise work

        # halve the step until the objective does not increase (the first trial, the
        # full step, runs as the loop's first iteration)
        def halve(c):
            step, _, h = c
            step = step * 0.5
            return step, objective(t + step * d, eta + step * eta_d), h + 1

        two = jnp.full((), 2.0, t.dtype)
        step, F_new, _ = lax.while_loop(
            lambda c: (c[1] > F) & (c[2] <= max_halvings), halve, (two, jnp.inf, 0)
        )
        ok = finite & (F_new <= F)
        step = jnp.where(ok, step, 0.0)
        t_new = t + step * d
        small = jnp.max(jnp.abs(step * d)) <= tol * (1.0 + jnp.max(jnp.abs(t_new)))
        return t_new, eta + step * eta_d, jnp.where(ok, F_new, F), it + 1, small | ~ok

    t0 = jnp.zeros((Xs.shape[0] + 1,), Xs.dtype).at[0].set(b0)
    eta0 = b0 * icpt + off
    F0 = objective(t0, eta0)
    t, *_ = lax.while_loop(
        lambda c: ~c[4] & (c[3] < PRESOLVE_MAXITER), body, (t0, eta0, F0, 0, ~jnp.isfinite(F0))
    )
    return t


def presolve(Xs, Ys, Ws, OFFs, M, L2, B0, family: Family, fit_intercept: bool, tol, max_halvings):
    """Every neuron's loose Newton fit to the subsample, one neuron at a time, from the
    null model's intercepts ``B0`` ``(k,)`` (and zero coefficients).

    ``Xs``: ``(p, n)``; ``Ys``: ``(k, n)``; ``Ws, OFFs``: ``(k, n)`` or ``(1, n)``;
    ``M``: ``(k, p)``; ``L2``: ``(k, p+1)``. Returns ``(k, p+1)``.
    """
    k = Ys.shape[0]

    def one(args):
        i, y, m, l2, b0 = args
        w = Ws[0] if Ws.shape[0] == 1 else lax.dynamic_index_in_dim(Ws, i, keepdims=False)
        off = OFFs[0] if OFFs.shape[0] == 1 else lax.dynamic_index_in_dim(OFFs, i, keepdims=False)
        return _one(Xs, y, w, off, m, l2, b0, family, fit_intercept, tol, max_halvings)

    args = (jnp.arange(k), Ys, M, L2, B0)
    if k == 1:
        return one(jax.tree_util.tree_map(lambda a: a[0], args))[None]
    return lax.map(one, args)
