"""Newton-type solvers: IRLS (Fisher scoring) and proximal Newton for L1/group penalties.

Every iteration builds the quadratic model of the loss at the current linear predictor
(the IRLS normal equations ``X^T W X``, computed once per iteration), then

* for smooth penalties solves it exactly with a Jacobi-scaled Cholesky factorisation
  (falling back to an eigen-decomposition least-squares solve when the scaled matrix is
  numerically singular),
* for L1 penalties runs coordinate descent on the model (glmnet/glum's inner loop),
* for group penalties runs accelerated proximal gradient on the model,

and takes the step with backtracking on the true penalized objective, so that a poor
start, a non-canonical link or an unscaled covariate cannot produce NaNs. As in R's
``glm.fit`` the first model is built from the family's starting means, not from zero
coefficients.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ._problem import Problem, SolverOutput

__all__ = ["newton", "quadratic_model"]


def quadratic_model(prob: Problem, eta):
    """``(A, c)`` of the loss model ``1/2 t'At - c't`` in ``t = (b, beta)``, scaled by 1/sum(w)."""
    wk, z = prob.working(eta)
    X = prob.X
    sw = prob.sum_w
    XW = X * wk[:, None]
    H = (XW.T @ X) / sw
    hb = jnp.sum(XW, axis=0) / sw
    r = (X.T @ (wk * z)) / sw
    sb = jnp.sum(wk) / sw
    rb = jnp.sum(wk * z) / sw
    m = prob.mask
    H = H * m[:, None] * m[None, :] + jnp.diag(1.0 - m)
    hb = hb * m
    r = r * m
    if not prob.fit_intercept:
        sb = jnp.ones_like(sb)
        hb = jnp.zeros_like(hb)
        rb = jnp.zeros_like(rb)
    A = jnp.block([[sb[None, None], hb[None, :]], [hb[:, None], H]])
    c = jnp.concatenate([rb[None], r])
    return A, c


def _l2_full(prob: Problem):
    return jnp.concatenate([jnp.zeros((1,), prob.X.dtype), prob.penalty.l2 * prob.mask])


def _solve_spd(A, c):
    """Solve ``A t = c`` for symmetric PSD ``A``: scaled Cholesky, eigen fallback."""
    d = jnp.diag(A)
    s = jnp.where(d > 0, 1.0 / jnp.sqrt(jnp.where(d > 0, d, 1.0)), 1.0)
    M = A * s[:, None] * s[None, :]
    L = jnp.linalg.cholesky(M)
    u = jax.scipy.linalg.cho_solve((L, True), c * s)
    ok = jnp.all(jnp.isfinite(u))

    def fallback(_):
        evals, evecs = jnp.linalg.eigh(M)
        cutoff = jnp.max(evals) * M.shape[0] * jnp.finfo(M.dtype).eps * 10
        inv = jnp.where(evals > cutoff, 1.0 / jnp.where(evals > cutoff, evals, 1.0), 0.0)
        return evecs @ (inv * (evecs.T @ (c * s)))

    u = lax.cond(ok, lambda _: u, fallback, None)
    return u * s


def _cd_l1(A, c, l2, l1, t0, tol, max_sweeps):
    """Coordinate descent on ``1/2 t'At - c't + 1/2 sum l2 t^2 + sum l1 |t|``."""
    diag = jnp.diag(A) + l2
    safe = jnp.where(diag > 0, diag, 1.0)

    def sweep(carry):
        t, g, _, k = carry

        def coord(j, tg):
            t, g, mx = tg
            tj = t[j]
            num = diag[j] * tj - (g[j] + l2[j] * tj)
            new = jnp.sign(num) * jnp.maximum(jnp.abs(num) - l1[j], 0.0) / safe[j]
            new = jnp.where(diag[j] > 0, new, 0.0)
            delta = new - tj
            g = g + A[:, j] * delta
            t = t.at[j].set(new)
            return t, g, jnp.maximum(mx, jnp.abs(delta) * jnp.sqrt(safe[j]))

        t, g, mx = lax.fori_loop(0, t.shape[0], coord, (t, g, jnp.zeros((), t.dtype)))
        return t, g, mx, k + 1

    def cond(carry):
        t, _, mx, k = carry
        return (mx > tol * (1.0 + jnp.max(jnp.abs(t) * jnp.sqrt(safe)))) & (k < max_sweeps)

    g0 = A @ t0 - c
    t, _, _, _ = lax.while_loop(cond, sweep, (t0, g0, jnp.asarray(jnp.inf, t0.dtype), 0))
    return t


def _apg_model(prob: Problem, A, c, l2, t0, tol, max_iter):
    """Accelerated proximal gradient on the quadratic model (group penalties)."""
    Ap = A + jnp.diag(l2)
    L = jnp.max(jnp.linalg.eigvalsh(Ap)) * 1.0001
    step = 1.0 / L

    def prox(v):
        beta = prob.penalty.prox_nonsmooth(v[1:] * prob.mask, step) * prob.mask
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


def newton(
    prob: Problem,
    beta0,
    b0,
    from_start_means: bool,
    tol: float = 1e-8,
    maxiter: int = 100,
    inner_maxiter: int = 1000,
    max_halvings: int = 40,
) -> SolverOutput:
    """IRLS / proximal Newton for one neuron. See the module docstring."""
    dtype = prob.X.dtype
    pen = prob.penalty
    l2 = _l2_full(prob)
    l1 = jnp.concatenate([jnp.zeros((1,), dtype), pen.l1 * prob.mask])

    def full_obj(t):
        val = prob.objective(t[1:], t[0])
        return jnp.where(jnp.isfinite(val), val, jnp.inf)

    def candidate(eta, t):
        A, c = quadratic_model(prob, eta)
        if pen.smooth:
            return _solve_spd(A + jnp.diag(l2), c)
        if not pen.has_group:
            return _cd_l1(A, c, l2, l1, t, tol * 0.1, inner_maxiter)
        return _apg_model(prob, A, c, l2, t, tol * 0.1, inner_maxiter)

    t0 = jnp.concatenate([jnp.reshape(b0, (1,)), beta0 * prob.mask]).astype(dtype)
    f0 = full_obj(t0)
    if from_start_means:
        mu_s = prob.family.mu_start(prob.y, prob.w)
        eta_s = prob.family.link.link(mu_s)
        eta_s = jnp.where(jnp.isfinite(eta_s), eta_s, prob.eta(t0[1:], t0[0]))
    else:
        eta_s = prob.eta(t0[1:], t0[0])

    def line_search(t, f, cand):
        d = cand - t
        slack = 1e-13 * jnp.abs(f) + 1e-300

        def cond(carry):
            step, fn, k = carry
            return (fn > f + slack) & (k < max_halvings)

        def body(carry):
            step, _, k = carry
            step = step * 0.5
            return step, full_obj(t + step * d), k + 1

        step, fn, k = lax.while_loop(cond, body, (jnp.ones((), dtype), full_obj(cand), 0))
        ok = fn <= f + slack
        t_new = jnp.where(ok, t + step * d, t)
        return t_new, jnp.where(ok, fn, f), ok, step

    def body(carry):
        t, f, eta, k, done, conv = carry
        cand = candidate(eta, t)
        t_new, f_new, ok, step = line_search(t, f, cand)
        change = jnp.max(jnp.abs(t_new - t))
        scale = 1.0 + jnp.max(jnp.abs(t_new))
        small = change <= tol * scale
        conv = ok & small & (k > 0)
        # a failed line search at a point where the full Newton step is tiny is convergence
        stalled = ~ok & (jnp.max(jnp.abs(cand - t)) <= jnp.sqrt(tol) * scale)
        conv = conv | stalled
        done = conv | ~ok
        eta_new = prob.eta(t_new[1:], t_new[0])
        return t_new, f_new, eta_new, k + 1, done, conv

    def cond(carry):
        _, _, _, k, done, _ = carry
        return (~done) & (k < maxiter)

    init = (t0, f0, eta_s, 0, jnp.zeros((), bool), jnp.zeros((), bool))
    t, f, _, k, _, conv = lax.while_loop(cond, body, init)
    conv = conv & jnp.all(jnp.isfinite(t))
    return SolverOutput(t[1:] * prob.mask, t[0], k, conv, f)
