"""Newton-type solver for one neuron or a population: IRLS with lagged Hessians, and
proximal Newton for L1/group penalties.

All neurons of a population share ``X`` and are solved together: linear predictors,
gradients and objectives are matrix products over all neurons, while each neuron's
expected-information matrix ``[1 X]^T W [1 X]`` is built one neuron at a time (memory
independent of the number of neurons). An iteration

1. refreshes the information matrix of a neuron only when it is needed (the first two
   iterations, after a backtracked step, or when the previous step contracted by less
   than ``refresh_ratio``): otherwise the last factorisation is reused (a chord step that
   costs two passes over ``X`` instead of a Gram matrix). On large data (100,000 rows or
   more) the coarse steps, far from the solution, estimate the matrix from a fixed row
   subsample: it only shapes the steps, the gradient is exact, so the solution is too;
2. computes the candidate: for smooth penalties a Jacobi-scaled Cholesky solve (with an
   eigen-decomposition fallback for numerically singular matrices), for L1 penalties
   coordinate descent on the quadratic model (glmnet/glum's inner loop), for group
   penalties accelerated proximal gradient on the model;
3. backtracks on the true penalized objective, neuron by neuron, so a poor start, a
   non-canonical link or an unscaled covariate cannot produce NaNs.

As in R's ``glm.fit`` the first model is built at the family's starting means rather
than at zero coefficients. Converged neurons are frozen while the others continue.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from .._families import Family
from .._penalties import PenaltyArrays

__all__ = ["newton_population", "null_starts", "information"]


def _xt_dot(X, r):
    """``X.T @ r`` for a vector or a thin matrix ``r``.

    XLA's CPU kernels are several times faster for ``r.T @ X`` than for ``X.T @ r``
    when ``r`` has few columns; for many columns (a population) the plain product wins.
    """
    if r.ndim == 1:
        return r @ X
    if r.shape[1] <= 16:
        return (r.T @ X).T
    return X.T @ r


def _info_from_weights(X, wk, mask, fit_intercept):
    """``[1 X]^T diag(wk) [1 X]`` with masked features replaced by unit rows."""
    Z = X * jnp.sqrt(wk)[:, None]
    H = lax.dot_general(Z, Z, (((0,), (0,)), ((), ())))
    hb = _xt_dot(X, wk) * mask
    sb = jnp.sum(wk)
    H = H * mask[:, None] * mask[None, :] + jnp.diag(1.0 - mask)
    if not fit_intercept:
        sb = jnp.ones_like(sb)
        hb = jnp.zeros_like(hb)
    return jnp.block([[sb[None, None], hb[None, :]], [hb[:, None], H]])


def information(X, eta, y, w, mask, family: Family, fit_intercept: bool):
    """Unscaled expected information of every neuron: ``(k, p+1, p+1)``."""

    def one(args):
        eta1, y1, w1, m1 = args
        mu = family.link.inverse(eta1)
        d = family.link.inverse_deriv(eta1)
        wk = w1 * d**2 / family.variance(mu)
        wk = jnp.where(jnp.isfinite(wk), wk, 0.0)
        return _info_from_weights(X, wk, m1, fit_intercept)

    return lax.map(one, (eta.T, y.T, w.T, mask.T))


def _scaled_factor(A):
    """Jacobi scaling and Cholesky factor of a symmetric PSD matrix.

    A numerically singular matrix (collinear columns) is factored with a relative
    jitter of 1e-10 on the unit diagonal instead, which gives the minimum-norm-like
    step; unpenalized rank-deficient designs are reported after the fit.
    """
    d = jnp.diag(A)
    s = jnp.where(d > 0, 1.0 / jnp.sqrt(jnp.where(d > 0, d, 1.0)), 1.0)
    M = A * s[:, None] * s[None, :]
    L = jnp.linalg.cholesky(M)
    eps = jnp.maximum(1e-10, 100 * jnp.finfo(M.dtype).eps)
    L_jitter = jnp.linalg.cholesky(M + eps * jnp.eye(M.shape[0], dtype=M.dtype))
    L = jnp.where(jnp.all(jnp.isfinite(L)), L, L_jitter)
    return M, L, s


def _solve_factored(M, L, s, rhs):
    return jax.scipy.linalg.cho_solve((L, True), rhs * s) * s


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


def _apg_model(pen: PenaltyArrays, mask, A, c, l2, t0, tol, max_iter):
    """Accelerated proximal gradient on the quadratic model (group penalties)."""
    Ap = A + jnp.diag(l2)
    L = jnp.max(jnp.linalg.eigvalsh(Ap)) * 1.0001
    step = 1.0 / L

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


def _hessian_stride(n: int, p: int) -> int:
    """Row stride of the information estimate used for the coarse Newton steps.

    About n/8 rows and at least 50 (p + 1); the gradient (and so the solution) is exact.
    """
    if n < 100_000:
        return 1
    return max(1, n // max(n // 8, 50 * (p + 1)))


def null_starts(X, y, w, offset, family, fit_intercept):
    """``(k, p+1)``: zero coefficients, intercept at the link of the weighted mean."""
    k = y.shape[1]
    p = X.shape[1]
    sw = jnp.sum(w, axis=0)
    if fit_intercept:
        ybar = jnp.sum(w * y, axis=0) / sw
        b = (
            family.link.link(family.mu_start(ybar, jnp.ones_like(ybar)))
            - jnp.sum(w * offset, axis=0) / sw
        )
        b = jnp.where(jnp.isfinite(b), b, 0.0)
    else:
        b = jnp.zeros((k,), X.dtype)
    return jnp.concatenate([b[:, None], jnp.zeros((k, p), X.dtype)], axis=1)


def newton_population(
    X,
    Y,
    W,
    OFF,
    M,
    family: Family,
    pen: PenaltyArrays,
    T0,
    from_start: bool,
    fit_intercept: bool,
    tol: float = 1e-8,
    maxiter: int = 100,
    inner_maxiter: int = 1000,
    max_halvings: int = 40,
    refresh_ratio: float = 0.25,
):
    """Solve every neuron; arrays carry a trailing neuron axis ``k``.

    ``Y, W, OFF``: ``(n, k)``; ``M``: ``(p, k)``; penalty arrays ``(p, k)``/``(G, k)``;
    ``T0``: ``(k, p+1)`` starting ``(b, beta)``. Returns ``(T, n_iter, converged, obj)``.
    """
    dtype = X.dtype
    k = Y.shape[1]
    icpt = 1.0 if fit_intercept else 0.0
    sw = jnp.sum(W, axis=0)
    zeros_k1 = jnp.zeros((k, 1), dtype)
    L2 = jnp.concatenate([zeros_k1, (pen.l2 * M).T], axis=1)  # (k, p+1)
    L1 = jnp.concatenate([zeros_k1, (pen.l1 * M).T], axis=1)
    smooth = pen.smooth

    def eta_of(T):
        return X @ (T[:, 1:].T * M) + T[:, 0] * icpt + OFF

    def loss_of(eta):
        mu = family.link.inverse(eta)
        return 0.5 * jnp.sum(W * family.unit_deviance(Y, mu), axis=0) / sw

    def obj_of(T, eta):
        val = loss_of(eta) + pen.value(T[:, 1:].T * M)
        return jnp.where(jnp.isfinite(val), val, jnp.inf)

    def loss_grad(eta):
        """Gradient of the loss (without penalty) in ``(b, beta)``: ``(k, p+1)``."""
        mu = family.link.inverse(eta)
        d = family.link.inverse_deriv(eta)
        r = W * (Y - mu) * d / family.variance(mu)
        r = jnp.where(jnp.isfinite(r), r, 0.0)
        gb = -jnp.sum(r, axis=0) / sw * icpt
        gbeta = -_xt_dot(X, r) / sw * M
        return jnp.concatenate([gb[:, None], gbeta.T], axis=1)

    n, p = X.shape
    stride = _hessian_stride(n, p)

    def info_scaled(eta, need, stride):
        """Scaled information of the neurons flagged in ``need`` (others: zeros).

        With ``stride > 1`` it is estimated from every ``stride``-th sample (the
        gradient is always exact).
        """
        Xs, etas, Ws = X[::stride], eta[::stride], W[::stride]
        sws = jnp.sum(Ws, axis=0)

        def one(args):
            eta1, w1, m1, s1, flag = args

            def build(_):
                mu = family.link.inverse(eta1)
                d = family.link.inverse_deriv(eta1)
                wk = w1 * d**2 / family.variance(mu)
                wk = jnp.where(jnp.isfinite(wk), wk, 0.0)
                return _info_from_weights(Xs, wk, m1, fit_intercept) / s1

            return lax.cond(flag, build, lambda _: jnp.zeros((p + 1,) * 2, dtype), None)

        return lax.map(one, (etas.T, Ws.T, M.T, sws, need))

    def model_rhs(T, eta, A, first):
        """``c`` of the quadratic model ``1/2 t'At - c't`` built at ``eta``.

        At a point ``T`` with ``eta = eta(T)`` this is ``A T - grad``. The very first
        model of a fit started from the family's starting means is built at a linear
        predictor that no coefficients produce: there ``c`` is the IRLS right-hand side
        ``[1 X]^T W z`` (one weighted least-squares solve, as R's ``glm.fit``).
        """

        def from_gradient(_):
            return jnp.einsum("kij,kj->ki", A, T) - loss_grad(eta)

        def direct(_):
            mu = family.link.inverse(eta)
            d = family.link.inverse_deriv(eta)
            wk = W * d**2 / family.variance(mu)
            z = eta - OFF + (Y - mu) / d
            ok = jnp.isfinite(wk) & jnp.isfinite(z)
            wz = jnp.where(ok, wk * z, 0.0)
            cb = jnp.sum(wz, axis=0) / sw * icpt
            cbeta = _xt_dot(X, wz) / sw * M
            return jnp.concatenate([cb[:, None], cbeta.T], axis=1)

        def first_model(_):
            return jnp.where(use_start[:, None], direct(None), from_gradient(None))

        return lax.cond(first, first_model, from_gradient, None)

    def candidates(T, eta, A, fac, first):
        c = model_rhs(T, eta, A, first)
        if smooth:
            Mm, Lf, s = fac
            return jax.vmap(_solve_factored)(Mm, Lf, s, c)
        if not pen.has_group:
            return jax.vmap(
                lambda a, cc, l2, l1, t: _cd_l1(a, cc, l2, l1, t, tol * 0.1, inner_maxiter)
            )(A, c, L2, L1, T)
        pens = PenaltyArrays(
            pen.l2.T,
            pen.l1.T,
            pen.group_alpha.T,
            jnp.broadcast_to(pen.group_index, (k,) + pen.group_index.shape),
            pen.has_l1,
            pen.has_group,
        )
        return jax.vmap(
            lambda pn, m, a, cc, l2, t: _apg_model(pn, m, a, cc, l2, t, tol * 0.1, inner_maxiter)
        )(pens, M.T, A, c, L2, T)

    def factor_all(A):
        Ap = A + jax.vmap(jnp.diag)(L2)
        return jax.vmap(_scaled_factor)(Ap)

    # ---- start ----------------------------------------------------------------------
    # From the family's starting means (the default, as R's glm.fit), or from the given
    # coefficients; a neuron whose given start has a non-finite objective (e.g. exp
    # overflow) falls back to the starting means.
    T0 = T0.astype(dtype)
    eta0 = eta_of(T0)
    F0 = obj_of(T0, eta0)
    use_start = jnp.full((k,), from_start) | ~jnp.isfinite(F0)
    T0 = jnp.where(use_start[:, None], null_starts(X, Y, W, OFF, family, fit_intercept), T0)
    mu_s = family.mu_start(Y, W)
    eta_s = family.link.link(mu_s)
    eta_s = jnp.where(jnp.isfinite(eta_s), eta_s, eta_of(T0))
    eta_s = jnp.where(use_start[None, :], eta_s, eta0)
    # the first step from the starting means is accepted when finite
    F0 = jnp.where(use_start, jnp.inf, F0)
    q = X.shape[1] + 1
    A0 = jnp.zeros((k, q, q), dtype)
    fac0 = factor_all(jnp.broadcast_to(jnp.eye(q, dtype=dtype), (k, q, q)))

    def body(carry):
        T, F, eta_model, A, fac, it, done, conv, prev_change, need, iters = carry
        iters = iters + (~done).astype(iters.dtype)
        if stride > 1:
            # coarse steps use the subsample estimate; the final ones the exact matrix
            far = (it < 2) | jnp.any(prev_change > 1e-3 * (1.0 + jnp.max(jnp.abs(T), axis=1)))
            A_new = lax.cond(
                far,
                lambda e: info_scaled(e, need, stride),
                lambda e: info_scaled(e, need, 1),
                eta_model,
            )
        else:
            A_new = info_scaled(eta_model, need, 1)
        A = jnp.where(need[:, None, None], A_new, A)
        if smooth:
            fac_new = factor_all(A)
            fac = jax.tree_util.tree_map(
                lambda new, old: jnp.where(need.reshape((k,) + (1,) * (new.ndim - 1)), new, old),
                fac_new,
                fac,
            )
        cand = candidates(T, eta_model, A, fac, it == 0)
        D = jnp.where(done[:, None], 0.0, cand - T)
        slack = jnp.where(jnp.isfinite(F), 50 * jnp.finfo(dtype).eps * jnp.abs(F), 0.0)

        def ls_cond(c):
            step, Fn, _, h = c
            return jnp.any(~((Fn <= F + slack) & jnp.isfinite(Fn))) & (h < max_halvings)

        def ls_body(c):
            step, Fn, eta_n, h = c
            bad = ~((Fn <= F + slack) & jnp.isfinite(Fn))
            step = jnp.where(bad, step * 0.5, step)
            Tn = T + step[:, None] * D
            eta_n = eta_of(Tn)
            return step, jnp.where(bad, obj_of(Tn, eta_n), Fn), eta_n, h + 1

        step0 = jnp.ones((k,), dtype)
        eta_c = eta_of(T + D)
        step, Fn, eta_n, _ = lax.while_loop(
            ls_cond, ls_body, (step0, obj_of(T + D, eta_c), eta_c, 0)
        )
        ok = (Fn <= F + slack) & jnp.isfinite(Fn)
        T_new = jnp.where(ok[:, None], T + step[:, None] * D, T)
        F_new = jnp.where(ok, Fn, F)
        # the accepted step's linear predictor is the line search's last one
        eta_new = jnp.where(ok[None, :], eta_n, eta_model)
        change = jnp.max(jnp.abs(T_new - T), axis=1)
        scale = 1.0 + jnp.max(jnp.abs(T_new), axis=1)
        small = change <= tol * scale
        fresh = need
        ratio_now = change / jnp.maximum(prev_change, 1e-300)
        conv_now = ok & small & (it > 0) & (fresh | (ratio_now < 0.5))
        # a tolerance below what round-off allows: stop once a fresh step no longer
        # changes the objective and the coefficients agree to sqrt(eps)
        eps = jnp.finfo(dtype).eps
        flat = jnp.abs(F - F_new) <= 100 * eps * jnp.abs(F_new)
        conv_now = conv_now | (ok & fresh & flat & (change <= jnp.sqrt(eps) * scale) & (it > 1))
        # a chord step that is tiny still needs one fresh Newton step to certify
        stalled = ~ok & (jnp.max(jnp.abs(D), axis=1) <= jnp.sqrt(tol) * scale) & fresh
        conv = conv | ((conv_now | stalled) & ~done)
        failed = ~ok & fresh & ~stalled
        done = done | conv | failed
        need_next = (it < 2) | ~ok | (step < 1.0) | (ratio_now > refresh_ratio)
        need_next = need_next & ~done
        return T_new, F_new, eta_new, A, fac, it + 1, done, conv, change, need_next, iters

    def cond(carry):
        done, it = carry[6], carry[5]
        return (~jnp.all(done)) & (it < maxiter)

    init = (
        T0,
        F0,
        eta_s,
        A0,
        fac0,
        0,
        jnp.zeros((k,), bool),
        jnp.zeros((k,), bool),
        jnp.full((k,), jnp.inf, dtype),
        jnp.ones((k,), bool),
        jnp.zeros((k,), jnp.int32),
    )
    T, F, _, _, _, _, _, conv, _, _, iters = lax.while_loop(cond, body, init)
    conv = conv & jnp.all(jnp.isfinite(T), axis=1)
    return T, iters, conv, F
