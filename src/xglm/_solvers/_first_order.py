"""First-order solvers: optimistix quasi-Newton minimisers and FISTA.

* ``lbfgs``, ``bfgs``, ``nonlinear_cg``: optimistix minimisers on the smooth objective
  (loss plus the l2 part of the penalty); suited to wide problems where forming
  ``X^T W X`` costs too much.
* ``fista``: accelerated proximal gradient with backtracking and adaptive restart on
  the full objective; handles every penalty.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ._problem import Problem, SolverOutput

__all__ = ["quasi_newton", "fista"]

_OPTX = {"lbfgs": "LBFGS", "bfgs": "BFGS", "nonlinear_cg": "NonlinearCG"}


def _pack(beta, b):
    return jnp.concatenate([jnp.reshape(b, (1,)), beta])


def quasi_newton(
    prob: Problem, beta0, b0, name: str = "lbfgs", tol: float = 1e-8, maxiter: int = 1000
) -> SolverOutput:
    """Minimise the smooth objective with an optimistix minimiser."""
    icpt = 1.0 if prob.fit_intercept else 0.0

    dtype = prob.Xt.dtype

    # the optimiser's own state is float64 (small); the passes over X keep X's dtype
    def fn(t, _):
        tt = t.astype(dtype)
        return prob.smooth(tt[1:], tt[0] * icpt).astype(jnp.float64)

    import optimistix as optx  # (imported on first use: a fifth of a second)

    solver = getattr(optx, _OPTX[name])(rtol=tol, atol=tol)
    t0 = _pack(beta0 * prob.mask, b0 * icpt).astype(jnp.float64)
    sol = optx.minimise(fn, solver, t0, max_steps=maxiter, throw=False)
    t = sol.value.astype(dtype)
    conv = (sol.result == optx.RESULTS.successful) & jnp.all(jnp.isfinite(t))
    return SolverOutput(
        t[1:] * prob.mask,
        t[0] * icpt,
        sol.stats["num_steps"],
        conv,
        prob.objective(t[1:], t[0] * icpt),
    )


def fista(
    prob: Problem, beta0, b0, tol: float = 1e-8, maxiter: int = 5000, max_backtrack: int = 50
) -> SolverOutput:
    """FISTA with backtracking (Beck & Teboulle) and gradient-based adaptive restart."""
    icpt = 1.0 if prob.fit_intercept else 0.0
    dtype = prob.Xt.dtype

    def smooth(t):
        return prob.smooth(t[1:], t[0] * icpt)

    vg = jax.value_and_grad(smooth)

    def prox(v, step):
        beta = prob.penalty.prox_nonsmooth(v[1:] * prob.mask, step) * prob.mask
        return jnp.concatenate([v[:1] * icpt, beta])

    def step_from(yv, L):
        fy, gy = vg(yv)

        def cond(c):
            L, x, fx, k = c
            d = x - yv
            bound = fy + jnp.vdot(gy, d) + 0.5 * L * jnp.vdot(d, d)
            return ((~jnp.isfinite(fx)) | (fx > bound + 1e-14 * jnp.abs(fy))) & (k < max_backtrack)

        def body(c):
            L, _, _, k = c
            L = L * 2.0
            x = prox(yv - gy / L, 1.0 / L)
            return L, x, smooth(x), k + 1

        x = prox(yv - gy / L, 1.0 / L)
        L, x, fx, _ = lax.while_loop(cond, body, (L, x, smooth(x), 0))
        return L, x

    def body(c):
        x, yv, tk, L, _, k = c
        L, x_new = step_from(yv, L)
        t_new = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * tk**2))
        restart = jnp.vdot(yv - x_new, x_new - x) > 0
        t_new = jnp.where(restart, 1.0, t_new)
        y_new = jnp.where(restart, x_new, x_new + ((tk - 1.0) / t_new) * (x_new - x))
        change = jnp.max(jnp.abs(x_new - x)) * L
        return x_new, y_new, t_new, L * 0.9, change, k + 1

    def cond(c):
        x, _, _, L, change, k = c
        # the prox-gradient mapping L * |x+ - y| measures optimality
        return (change > tol * (1.0 + jnp.max(jnp.abs(x)))) & (k < maxiter)

    t0 = _pack(beta0 * prob.mask, b0 * icpt).astype(dtype)
    init = (t0, t0, jnp.ones((), dtype), jnp.ones((), dtype), jnp.asarray(jnp.inf, dtype), 0)
    x, _, _, _, change, k = lax.while_loop(cond, body, init)
    conv = (change <= tol * (1.0 + jnp.max(jnp.abs(x)))) & jnp.all(jnp.isfinite(x))
    return SolverOutput(x[1:] * prob.mask, x[0] * icpt, k, conv, prob.objective(x[1:], x[0] * icpt))
