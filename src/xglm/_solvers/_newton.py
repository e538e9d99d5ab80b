"""Newton-type solver: IRLS with lagged information matrices, and proximal Newton for
L1/group penalties.

The design comes feature-major, ``Xt = X.T`` of shape ``(p, n)``: XLA's CPU
matrix-vector kernels stream it about twice as fast as the row-major design in both
directions. The other arrays are neuron-major: ``Y, W, OFF`` have shape ``(k, n)`` and
the coefficients ``T = (b, beta)`` shape ``(k, p+1)``, so every per-sample reduction runs
along the contiguous axis (XLA's CPU reductions over a trailing axis of length 1 are an
order of magnitude slower). An iteration

1. refreshes the information matrix ``[1 X]^T W [1 X]`` of a neuron (the observed
   information, its weights clipped at zero: :meth:`Family.observed_weights`) only when it is
   needed (the first iterations, after a failed or short step, or when the steps stop
   contracting): otherwise the last factorisation is reused (a chord step that costs two
   passes over ``X`` instead of a Gram matrix). On large data the matrix is estimated
   from a fixed row subsample: it only shapes the steps, the gradient is exact, so the
   solution is too; the chord steps are then preconditioned conjugate-gradient steps
   with a Newton line search on the step length;
2. computes the candidate: for smooth penalties a Jacobi-scaled Cholesky solve (with a
   jittered fallback for numerically singular matrices), for L1 penalties coordinate
   descent on the quadratic model (glmnet/glum's inner loop), for group penalties
   accelerated proximal gradient on the model;
3. backtracks on the true penalized objective. The linear predictor is linear in the
   coefficients, so one pass ``X d`` serves every trial step: a poor start, a
   non-canonical link or an unscaled covariate cannot produce NaNs, at elementwise cost.

As in R's ``glm.fit`` the first model is built at the family's starting means rather
than at zero coefficients. On large data the fit starts instead from a loose fit to a
row subsample when that beats the null model. Converged neurons are frozen while the
others continue.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from .._families import Family
from .._penalties import PenaltyArrays
from ._information import info_stride, information_screen, map_neurons
from ._kkt import l1_priority, l1_violation
from ._passes import (
    gather_rows,
    info_from_weights,
    row_subsample,
    sparse_x_dot,
    x_dot,
    xt_dot,
)
from ._presolve import presolve
from ._quadratic import apg_model, cd_l1, scaled_factor, solve_factored

__all__ = ["newton_population", "null_starts", "working_set", "lipschitz"]

# From LARGE_N samples a fit with a smooth penalty starts from a fit to n / PRESOLVE_FRACTION rows (at
# least PRESOLVE_ROWS_PER_PARAM per coefficient), solved to PRESOLVE_TOL.
LARGE_N = 50_000
PRESOLVE_FRACTION = 64
PRESOLVE_ROWS_PER_PARAM = 20
PRESOLVE_TOL = 1e-4
# the fewest iterations on the subsample information before a neuron switches to every row
FULL_INFO_MIN_ITER = 10
# An L1 (Lasso, elastic-net) or a group fit of at least 2 * WORKING_SET features builds its
# information matrix on a working set of WORKING_SET features (see working_set). A
# larger set cost more than it saved: with 256 features the matrix is taken from every
# row below 25,700 samples (see info_stride), and at 20,000 x 1,200 each refresh then
# cost four passes over the design
WORKING_SET = 128


def lipschitz(A, l2):
    """The largest eigenvalue of every neuron's ``A + diag(l2)`` (``(k, q, q)``,
    ``(k, q)``), which bounds the step of :func:`apg_model`; one neuron at a time."""
    return map_neurons(lambda a: jnp.max(jnp.linalg.eigvalsh(a[0] + jnp.diag(a[1]))), (A, l2))


def working_set(p: int, pen: PenaltyArrays) -> int | None:
    """Size of the working set of an L1 or a group fit of ``p`` features, or ``None``
    (every feature in every Newton model).

    As glmnet, glum and skglm, a wide L1 fit solves its Newton models on the features
    most likely to be nonzero: the nonzero and unpenalized ones, then those whose
    gradient comes nearest to (or exceeds) their L1 strength. A group fit does the same
    with whole groups (the gradient's norm over the group against its strength), so
    that a group with a nonzero coefficient is either wholly in the set or not at all.
    The gradient stays exact over every feature, so a feature or group outside the set
    that violates its optimality condition enters at the next refresh; a fit converges
    only once none does. The information matrix costs ``n (W+1)^2`` instead of
    ``n (p+1)^2``. Penalties with both an L1 and a group part have no working sets.
    """
    if pen.has_l1 == pen.has_group or p < 2 * WORKING_SET:
        return None
    return WORKING_SET


def _presolve_stride(n: int, p: int) -> int:
    """Row stride of the subsample whose fit starts a large fit (1: no presolve)."""
    if n < LARGE_N or n < 100 * (p + 1):
        return 1
    return max(1, n // max(n // PRESOLVE_FRACTION, PRESOLVE_ROWS_PER_PARAM * (p + 1)))


def null_starts(ybar, off_bar, p, family, fit_intercept):
    """``(k, p+1)``: zero coefficients, intercept at the link of the weighted mean
    response ``ybar`` less the weighted mean offset ``off_bar`` (both ``(k,)``).

    Without an offset that is the null model's maximum-likelihood fit; a mean on the
    boundary of the support (all zeros, say) takes the family's starting mean instead.
    """
    k = ybar.shape[0]
    if fit_intercept:
        b = family.link.link(ybar)
        b = jnp.where(
            jnp.isfinite(b), b, family.link.link(family.mu_start(ybar, jnp.ones_like(ybar)))
        )
        b = jnp.where(jnp.isfinite(b - off_bar), b - off_bar, 0.0)
    else:
        b = jnp.zeros((k,), ybar.dtype)
    return jnp.concatenate([b[:, None], jnp.zeros((k, p), ybar.dtype)], axis=1)


def newton_population(
    Xt,
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
    working_sets: bool = True,
    screen: int = 0,
    budget=None,
    with_eta: bool = False,
    switch_info: bool = True,
    start=None,
):
    """Solve every neuron.

    ``Xt``: ``(p, n)``; ``Y``: ``(k, n)``; ``W, OFF``: ``(k, n)`` or, shared by every
    neuron, ``(1, n)``; ``M``: ``(k, p)``; penalty arrays
    ``(p, k)``/``(G, k)``; ``T0``: ``(k, p+1)`` starting ``(b, beta)``. A wide L1 or group
    fit runs on working sets (see :func:`working_set`) unless ``working_sets`` is false.
    Returns ``(T, n_iter, converged, obj, overflow, distance, screened, finite)``, ``obj``
    without the deviance's terms in ``y`` alone; ``overflow`` flags the neurons whose
    solution outgrew their working set (stopped unconverged as soon as it did);
    ``distance`` the means' closest approach to the boundary of the support (None for
    an unbounded mean); with a ``screen`` stride, ``screened`` is what bounds the
    conditioning of the information at the solution
    (:func:`~xglm._solvers._information.information_screen`), neurons last:
    ``((p+1, p+1, k), (p+1, k))``, else None; ``finite`` whether every score at the
    start is finite ``(k,)`` (false whenever the design holds a NaN or inf).

    For the active-set fits (:mod:`._active`): ``start``, the linear predictor
    ``(k, n)`` and the scores ``(k, p+1)`` at ``T0`` (see ``scores``), takes ``T0`` as
    it is (with ``from_start`` false: no comparison with the null model, no first model
    at the starting means); ``budget`` (traced, at most ``maxiter``) bounds the
    iterations without a new compile; ``switch_info=False`` keeps the subsample
    information throughout; with ``with_eta`` the linear predictor at ``T`` ``(k, n)``
    is returned last (a fit that converges before a pass then does not take its last
    step, within ``tol``, which would need the predictor's pass).
    """
    dtype = Xt.dtype
    p, n = Xt.shape
    k = Y.shape[0]
    budget = maxiter if budget is None else budget
    q = p + 1
    icpt = 1.0 if fit_intercept else 0.0
    sw = jnp.sum(W, axis=1)
    zeros_k1 = jnp.zeros((k, 1), dtype)
    L2 = jnp.concatenate([zeros_k1, pen.l2.T * M], axis=1)  # (k, p+1)
    L1 = jnp.concatenate([zeros_k1, pen.l1.T * M], axis=1)
    smooth = pen.smooth
    ws_size = working_set(p, pen) if working_sets else None
    stride = info_stride(n, p if ws_size is None else ws_size)
    accelerate = smooth and stride > 1
    # Gaussian with the identity link: the information does not depend on the iterate
    # (nor, without a working set, on which features it covers)
    constant_info = family.name == "gaussian" and family.link.name == "identity" and ws_size is None

    def eta_of(T, with_offset=True):
        eta = x_dot(Xt, T[:, 1:] * M) + T[:, :1] * icpt
        return eta + OFF if with_offset else eta

    # The objective leaves out the part of the deviance that depends on y alone (see
    # Family.deviance_eta): it costs logarithms and does not move any comparison. The
    # round-off of the remaining sum is bounded through the size of its terms at the
    # start, ``loss_scale``.
    def obj_of(T, eta):
        loss = 0.5 * jnp.sum(W * family.deviance_eta(Y, eta), axis=1) / sw
        val = loss + pen.value((T[:, 1:] * M).T)
        return jnp.where(jnp.isfinite(val), val, jnp.inf)

    # A neuron still running after ``full_after`` iterations, whose passes have then
    # cost about one Gram matrix over every row, takes its information from every row
    # from then on: the subsample estimate shapes the steps poorly when the working
    # weights vary strongly (a Gamma fit with the inverse link near the boundary took
    # 240 iterations on it, 13 on the exact information).
    # A Gaussian fit with the identity link keeps one information matrix, which XLA then
    # hoists out of the loop with all that is computed from it: it does not switch.
    full_after = max(FULL_INFO_MIN_ITER, q // 4)
    switches = switch_info and stride > 1 and not constant_info and full_after < maxiter

    def info_scaled(eta, need, ws, full=None, start=None):
        """Scaled information of the neurons flagged in ``need`` (others: zeros), from
        the row subsample or, with the traced flag ``full``, from every row; on the
        working sets ``ws`` (``(k, W)`` feature indices) when there are working sets.
        The neurons flagged in ``start`` (``(k,)``) take it at the family's starting
        means (see start_eta) instead of at ``eta``.

        Every row is the sum of the ``stride`` disjoint subsamples (see
        :func:`row_subsample`; the rows after the last whole period are left out of
        this estimate), so both run the same compiled code: a loop over subsamples of
        one trip or ``stride`` trips. A population copies each subsample once and
        shares it (small, cached) between the neurons' Gram matrices; one neuron reads
        it from the design, inside the weighting's fusion when its Gram matrix is one
        product, copied before the scan when it runs in chunks (see sum_over_samples).
        """
        q_model = q if ws is None else ws.shape[1] + 1

        def subsample(offset):
            """The information and the sum of prior weights of one subsample, ``(k,
            q, q)`` and ``(k,)``."""
            Xs_shared = row_subsample(Xt, stride, offset) if k > 1 else None

            def one(args):
                i, m1, flag, ws1, start1 = args
                m1 = m1 if ws1 is None else m1[ws1]
                w1 = W[0] if W.shape[0] == 1 else lax.dynamic_index_in_dim(W, i, keepdims=False)
                w1 = row_subsample(w1, stride, offset)
                eta1 = row_subsample(
                    lax.dynamic_index_in_dim(eta, i, keepdims=False), stride, offset
                )
                if start1 is not None:

                    def at_start():
                        y1 = lax.dynamic_index_in_dim(Y, i, keepdims=False)
                        return start_eta(row_subsample(y1, stride, offset), w1, eta1)

                    eta1 = lax.cond(start1, at_start, lambda: eta1)

                def compute():
                    y1 = row_subsample(
                        lax.dynamic_index_in_dim(Y, i, keepdims=False), stride, offset
                    )
                    wk = family.observed_weights(y1, eta1, w1)
                    if ws1 is None:
                        Xs = Xs_shared if k > 1 else row_subsample(Xt, stride, offset)
                    elif k > 1:
                        Xs = gather_rows(Xs_shared, ws1)
                    else:
                        Xs = gather_rows(Xt, ws1, stride, offset)
                    return info_from_weights(Xs, wk, m1, fit_intercept)

                zeros = jnp.zeros((q_model, q_model), dtype)
                return lax.cond(flag, compute, lambda: zeros), jnp.sum(w1)

            return map_neurons(one, (jnp.arange(k), M, need, ws, start))

        if full is None:
            info, sum_w = subsample(0)
        else:
            zero = (jnp.zeros((k, q_model, q_model), dtype), jnp.zeros((k,), dtype))
            info, sum_w = lax.fori_loop(
                0,
                jnp.where(full, stride, 1),
                lambda o, acc: jax.tree_util.tree_map(jnp.add, acc, subsample(o)),
                zero,
            )
        return info / sum_w[:, None, None]

    def residuals(eta, direct=None):
        """The score residuals ``w (y - mu) mu' / V`` at ``eta``, ``(k, n)``; for the
        neurons flagged ``direct``, the IRLS right-hand side ``w z`` (working weights x
        working response) instead."""
        _, r, wk = family.score_terms(Y, eta, W)
        if direct is None:
            return r
        return jnp.where(direct[:, None], wk * (eta - OFF) + r, r)

    def scores(R):
        """``[1 X]^T R / sum w`` on the unmasked coefficients, ``(k, p+1)``: one pass."""
        cb = jnp.sum(R, axis=1) / sw * icpt
        cbeta = xt_dot(Xt, R) / sw[:, None] * M
        return jnp.concatenate([cb[:, None], cbeta], axis=1)

    def per_neuron(fn, *args):
        """``jax.vmap(fn)`` over the leading neuron axis; one neuron is called directly
        (a vmapped while loop turns into selects over its whole state)."""
        if k > 1:
            return jax.vmap(fn)(*args)
        out = fn(*jax.tree_util.tree_map(lambda a: a[0], args))
        return jax.tree_util.tree_map(lambda a: a[None], out)

    def nonsmooth_candidates(T, c, A, ws, cols):
        if not pen.has_group:
            return per_neuron(
                lambda a, cc, l2, l1, t: cd_l1(a, cc, l2, l1, t, tol * 0.1, inner_maxiter),
                A,
                c,
                on_model(L2, cols),
                on_model(L1, cols),
                T,
            )
        pens, m, l2 = pen.neuron_major(), M, on_model(L2, cols)
        if ws is not None:
            # the penalty of the working set's features; a group partly in the set has
            # its other features at zero (see select_ws), so its norm is the set's part
            pens, m = pens.of_features(ws), jnp.take_along_axis(M, ws, axis=1)
        return per_neuron(
            lambda pn, m, a, cc, l2, t, lip: apg_model(
                pn, m, a, cc, l2, t, lip, tol * 0.1, inner_maxiter
            ),
            pens,
            m,
            A,
            c,
            l2,
            T,
            lipschitz(A, l2),
        )

    def newton_step_length(t, T, D, eta_T, eta_D):
        """One Newton step on the step length along ``D`` from ``t`` (elementwise work
        only); ``t`` is kept where the step is not finite or not positive."""
        _, r, wk = family.score_terms(Y, eta_T + t[:, None] * eta_D, W)
        d1 = -jnp.sum(r * eta_D, axis=1) / sw + jnp.sum(L2 * (T + t[:, None] * D) * D, axis=1)
        d2 = jnp.sum(wk * eta_D**2, axis=1) / sw + jnp.sum(L2 * D * D, axis=1)
        t_new = t - d1 / d2
        ok = jnp.isfinite(t_new) & (t_new > 0)
        return jnp.where(ok, jnp.minimum(t_new, 4.0), t)

    # ---- working sets (wide L1 and group fits) ---------------------------------------
    # ``ws``: every neuron's working set, ``(k, W)`` feature indices; ``cols``: the
    # model's coefficients ``(k, W+1)`` in ``T``, the intercept first.
    if ws_size is not None and pen.has_group:
        gid = pen.group_index
        onehot = pen.onehot(dtype)  # (p, G)
        GA = pen.group_alpha.T  # (k, G), sqrt(p_g) included
        grouped = gid >= 0
        gid0 = jnp.where(grouped, gid, 0)  # a valid group index for every feature

        def group_norms(V):
            """``(k, G)``: the norm of ``V`` ``(k, p)`` over each group."""
            return jnp.sqrt((V**2) @ onehot)

    def smooth_gradient(T, S):
        """The gradient of the loss and the l2 part at ``T``, ``(k, p)``."""
        return L2[:, 1:] * T[:, 1:] - S[:, 1:]

    def select_ws(T, S):
        """The working sets at ``T`` with scores ``S``: first the nonzero and the
        unpenalized features (or groups), then the others by how near their gradient
        (its norm over the group) comes to their strength, the violators of their
        optimality condition first; and whether the neuron overflows its set."""
        beta, g = T[:, 1:], jnp.abs(smooth_gradient(T, S))
        if pen.has_group:
            # a group's members share its priority and stay next to each other in the
            # order (ties broken by the group id), so that only the last group taken can
            # be cut, and a cut group has no nonzero coefficient (else the set overflows)
            gnorm = group_norms(g)
            must_g = (group_norms(beta) > 0) | (GA == 0)
            ratio_g = gnorm / jnp.where(GA > 0, GA, 1.0)
            prio_g = jnp.where(must_g, 1.0 + gnorm / (1.0 + gnorm), ratio_g / (1.0 + ratio_g))
            must = jnp.where(grouped, must_g[:, gid0], True)
            ratio = jnp.where(grouped, ratio_g[:, gid0], 0.0)
            prio = jnp.where(grouped, prio_g[:, gid0], 2.0)
            prio = jnp.where(M > 0, prio, -1.0)
        else:
            prio, must, ratio = l1_priority(beta, g, L1[:, 1:], M)
        # the set must hold every feature that must be in it and, while there are
        # violators, room for one more (a feature, or the largest group): otherwise the
        # neuron overflows (a larger reserve, a quarter of the set, overflowed fits
        # whose solution fitted, on a violator that was only passing)
        must_n = jnp.sum((M > 0) & must, axis=1)
        violators = jnp.sum((M > 0) & ~must & (ratio > 1.0), axis=1)
        unit = jnp.max(jnp.sum(onehot, axis=0)) if pen.has_group else 1
        over = must_n + jnp.minimum(violators, unit) > ws_size
        if pen.has_group:
            order = jnp.lexsort((jnp.broadcast_to(gid, prio.shape), -prio), axis=-1)
            top = order[:, :ws_size]
        else:
            top = lax.top_k(prio, ws_size)[1]
        return jnp.sort(top, axis=1), over

    def model_cols(ws):
        return None if ws is None else jnp.concatenate([jnp.zeros_like(ws[:, :1]), ws + 1], 1)

    def on_model(V, cols):
        """``V`` ``(k, p+1)`` on the model's coefficients."""
        return V if cols is None else jnp.take_along_axis(V, cols, axis=1)

    def from_model(V, cols):
        """A model step ``(k, W+1)`` as a full step ``(k, p+1)`` (zeros elsewhere)."""
        if cols is None:
            return V
        return jnp.zeros((k, q), V.dtype).at[jnp.arange(k)[:, None], cols].set(V)

    def direction_image(D, ws):
        """``[1 X] D`` without the offset. A step on working sets is read from their
        rows alone, one neuron at a time, while that reads less than the design."""
        if ws is None or 2 * k * ws_size > p:
            return eta_of(D, with_offset=False)

        def one(args):
            d1, ws1 = args
            d = jnp.take_along_axis(d1[1:], ws1, axis=0)
            return d1[0] * icpt + sparse_x_dot(Xt, d, ws_size, rows=ws1)

        return map_neurons(one, (D, ws))

    def complete(T, S, ws):
        """Whether no feature or group outside the working set violates its optimality
        condition by more than ``tol`` times the largest strength (always, without
        working sets)."""
        if ws is None:
            return jnp.ones((k,), bool)
        beta, g = T[:, 1:], smooth_gradient(T, S)
        inside = jnp.zeros((k, p), bool).at[jnp.arange(k)[:, None], ws].set(True)
        if pen.has_group:
            # groups not wholly in the set: ||g_G|| <= a_G at zero, and otherwise
            # g_G + a_G beta_G / ||beta_G|| = 0; features in no group are unpenalized
            bnorm = group_norms(beta)
            zero = bnorm == 0
            unit = beta / jnp.where(zero, 1.0, bnorm)[:, gid0]
            resid = g + jnp.where(grouped, GA[:, gid0], 0.0) * unit
            v_g = jnp.where(
                zero,
                jnp.maximum(group_norms(g) - GA, 0.0),
                group_norms(resid),
            )
            members = (M > 0).astype(dtype) @ onehot
            taken = (inside & (M > 0)).astype(dtype) @ onehot
            v_g = jnp.where(taken == members, 0.0, v_g)
            v_f = jnp.where(grouped | inside | (M == 0), 0.0, jnp.abs(g))
            v = jnp.maximum(jnp.max(v_g, axis=1), jnp.max(v_f, axis=1))
            return v <= tol * jnp.max(GA, axis=1)
        l1 = L1[:, 1:]
        v = jnp.where(inside | (M == 0), 0.0, l1_violation(beta, g, l1))
        return jnp.max(v, axis=1) <= tol * jnp.max(l1, axis=1)

    # LAPACK calls run one neuron at a time (see map_neurons)
    def factor_all(A):
        return map_neurons(lambda a: scaled_factor(a[0] + jnp.diag(a[1])), (A, L2))

    def solve_all(fac, c):
        return map_neurons(lambda a: solve_factored(*a), (*fac, c))

    # ---- start ----------------------------------------------------------------------
    # From the family's starting means (the default, as R's glm.fit), or from the given
    # coefficients; a neuron whose given start has an objective that is not finite (e.g.
    # exp overflow) or above the null model's falls back to the starting means.
    T0 = T0.astype(dtype)
    # the weighted mean response and offset of every neuron
    ybar = jnp.sum(W * Y, axis=1) / sw
    off_bar = jnp.sum(W * OFF, axis=1) / sw
    T_null = null_starts(ybar, off_bar, p, family, fit_intercept)
    # (smooth penalties only: for L1 and group penalties the presolve saved no time in
    # the benchmarks, and its loop adds to the first compile)
    pre = _presolve_stride(n, p) if from_start and smooth else 1
    if pre > 1:
        # the statistical error of the subsample fit is far above any useful tolerance,
        # so it is solved loosely, by plain Newton (see _presolve)
        T0 = presolve(
            row_subsample(Xt, pre),
            row_subsample(Y, pre),
            row_subsample(W, pre),
            row_subsample(OFF, pre),
            M,
            L2,
            T_null[:, 0],
            family,
            fit_intercept,
            max(tol, PRESOLVE_TOL),
            max_halvings,
        )
    eta_null = T_null[:, :1] * icpt + OFF
    if from_start and pre == 1:
        # every neuron starts from the null model: the given start is not looked at
        use_start = jnp.ones((k,), bool)
        T0, eta_T0 = T_null, jnp.broadcast_to(eta_null, Y.shape)
        F0 = jnp.full((k,), jnp.inf, dtype)
    elif start is not None:
        eta_T0 = start[0]
        F0 = obj_of(T0, eta_T0)
        use_start = jnp.zeros((k,), bool)
    else:
        # (a given start or the presolve's whose objective is not finite, or above the
        # null model's, carries nothing a fit could use: the null model replaces it)
        eta0 = eta_of(T0)
        F0 = obj_of(T0, eta0)
        F_null = obj_of(T_null, eta_null)
        use_start = ~(jnp.isfinite(F0) & (F0 <= F_null))
        T0 = jnp.where(use_start[:, None], T_null, T0)
        eta_T0 = jnp.where(use_start[:, None], eta_null, eta0)
        if pre > 1:
            # the presolve's start is replaced by the null model's coefficients, not by
            # the starting means: its program then holds no first model at those
            # (0.08 s of a first Ridge fit's compile)
            F0 = jnp.where(use_start, F_null, F0)
            use_start = jnp.zeros((k,), bool)
    # A neuron whose every counted response is on the boundary of the support (a silent
    # neuron; outcomes all 0 or all 1) has no finite estimate: the intercept alone takes
    # its mean to the boundary, where its fit stops at once (reported after the fit, see
    # Family.at_boundary) instead of holding the other neurons' loop to maxiter.
    if fit_intercept:
        boundary, mu_b = family.boundary_response(ybar)
        b_b = family.link.link(mu_b) - off_bar
        T_b = jnp.concatenate([b_b[:, None], jnp.zeros((k, p), dtype)], axis=1)
        T0 = jnp.where(boundary[:, None], T_b, T0)
        eta_T0 = jnp.where(boundary[:, None], b_b[:, None] + OFF, eta_T0)
    else:
        boundary = jnp.zeros((k,), bool)
    loss_scale = 0.5 * jnp.sum(jnp.abs(W * family.deviance_eta(Y, eta_T0)), axis=1) / sw
    loss_scale = jnp.where(jnp.isfinite(loss_scale), loss_scale, 0.0)

    # the first model is built at the starting means for the neurons that use them:
    # its right-hand side is then the IRLS one, [1 X]^T W z (one weighted least-squares
    # solve, as R's glm.fit), at a linear predictor that no coefficients produce
    def start_eta(y, w, eta):
        """The linear predictor of the starting means (``eta`` where not finite)."""
        eta_s = family.link.link(family.mu_start(y, w))
        return jnp.where(jnp.isfinite(eta_s), eta_s, eta)

    # (no neuron takes the starting means from a start with its scores given, or after
    # a presolve)
    start_means = start is None and pre == 1
    if ws_size is None and not start_means:
        S0 = scores(residuals(eta_T0)) if start is None else start[1]
        direct0 = use_start
        ws0 = None
    elif ws_size is None:
        eta_model = lax.cond(
            jnp.any(use_start),
            lambda: jnp.where(use_start[:, None], start_eta(Y, W, eta_T0), eta_T0),
            lambda: eta_T0,
        )
        S0 = scores(residuals(eta_model, use_start))
        # the first step from the starting means is accepted when finite
        F0 = jnp.where(use_start, jnp.inf, F0)
        direct0 = use_start
        ws0 = None
    else:
        # a working set is chosen from the gradient at the start: the first model is
        # built at the start's coefficients (the null model's, by default) instead
        S0 = scores(residuals(eta_T0)) if start is None else start[1]
        F0 = obj_of(T0, eta_T0)
        direct0 = jnp.zeros((k,), bool)
        # chosen in the first iteration
        ws_shape = jax.eval_shape(select_ws, T0, S0)[0]
        ws0 = jnp.zeros(ws_shape.shape, ws_shape.dtype)
    # The first iteration builds the first model (every neuron refreshes; the working
    # sets are chosen): the loop's own code, compiled once. Only a Gaussian fit with the
    # identity link builds its one information matrix here, where XLA sees it constant.
    if constant_info:
        A0 = info_scaled(eta_T0, jnp.ones((k,), bool), None)
        fac0 = factor_all(A0)
        need0 = jnp.zeros((k,), bool)
    else:
        q_model = q if ws_size is None else ws_size + 1
        A0 = jnp.zeros((k, q_model, q_model), dtype)
        fac0 = jax.eval_shape(factor_all, A0) if smooth else ()
        fac0 = jax.tree_util.tree_map(lambda a: jnp.zeros(a.shape, a.dtype), fac0)
        need0 = jnp.ones((k,), bool)

    def body(carry):
        T, F, eta_T, S, A, fac, it, done, conv, prev_change, need, iters, cg, ws, over = carry
        if switches:
            need = need | ((it == full_after) & ~done)
        if ws is not None:
            # a new set (a sort over the features) only for the neurons that refresh
            ws_new, over_new = lax.cond(
                jnp.any(need), lambda: select_ws(T, S), lambda: (ws, jnp.zeros_like(over))
            )
            ws = jnp.where(need[:, None], ws_new, ws)
            over = over | (need & over_new)
            done = done | over
        # (the first model of the neurons that start from the starting means is built
        # at their linear predictor, see start_eta)
        direct = (it == 0) & direct0
        full = (it >= full_after) if switches else None
        at_means = direct if start_means else None
        A = jnp.where(need[:, None, None], info_scaled(eta_T, need, ws, full, at_means), A)
        cols = model_cols(ws)
        # the quadratic model 1/2 t'At - c't at T (on the working set's coefficients):
        # c = A T - gradient of the loss, or on the first model from the starting means
        # the IRLS right-hand side
        T_m = on_model(T, cols)
        S_m = on_model(S, cols)
        c = jnp.where(direct[:, None], S_m, jnp.einsum("kij,kj->ki", A, T_m) + S_m)
        if smooth:
            fac = jax.tree_util.tree_map(
                lambda new, old: jnp.where(need.reshape((k,) + (1,) * (new.ndim - 1)), new, old),
                factor_all(A),
                fac,
            )
            D = solve_all(fac, c) - T
        else:
            D = from_model(nonsmooth_candidates(T_m, c, A, ws, cols) - T_m, cols)
        if accelerate:
            # chord steps are preconditioned nonlinear conjugate-gradient steps
            # (Polak-Ribiere+); the last factorisation is the preconditioner
            g_prev, zg_prev, D_prev = cg
            g = L2 * T - S  # the gradient of the smooth objective
            beta = jnp.maximum(0.0, -jnp.sum(D * (g - g_prev), axis=1) / zg_prev)
            beta = jnp.where(need | direct | ~jnp.isfinite(beta), 0.0, beta)
            D_cg = D + beta[:, None] * D_prev
            zg = -jnp.sum(D * g, axis=1)
            D = jnp.where((jnp.sum(g * D_cg, axis=1) < 0)[:, None], D_cg, D)
            cg = (g, zg, D)
            # the step length that minimises the quadratic model along D (1 for a Newton
            # direction); the model is the estimated information, the gradient is exact
            curv = jnp.einsum("ki,kij,kj->k", D, A, D) + jnp.sum(L2 * D * D, axis=1)
            step0 = -jnp.sum(g * D, axis=1) / curv
            good = jnp.isfinite(step0) & (step0 > 0) & ~direct
            step0 = jnp.where(good, jnp.minimum(step0, 4.0), 1.0)
        else:
            step0 = jnp.ones((k,), dtype)
        # Converged before any pass over the data when the model's step from T (whose
        # gradient is exact) is within tol: T is then within tol of the solution, as
        # certified by a fresh information matrix or by steps that contract. The step is
        # still taken (unverified: it is within tol), which squares a Newton step's error.
        scale_T = 1.0 + jnp.max(jnp.abs(T), axis=1)
        predicted = step0 * jnp.max(jnp.abs(D), axis=1)
        certified = need | constant_info | (predicted < 0.5 * prev_change)
        at_solution = ~done & (it > 0) & ~direct & certified & (predicted <= tol * scale_T)
        at_solution = at_solution & complete(T, S, ws)
        if not with_eta:
            # (with the linear predictor returned, T stays where it is exact)
            T = jnp.where(at_solution[:, None], T + step0[:, None] * D, T)
        conv = conv | at_solution
        done = done | at_solution
        iters = iters + (~done).astype(iters.dtype)
        D = jnp.where(done[:, None], 0.0, D)
        # Only the step's own results pass through the conditional: XLA then still sees
        # what the loop leaves unchanged (the information of a Gaussian fit with the
        # identity link, and what is computed from it, is hoisted out of the loop). The
        # linear predictor is updated after it, from the step's image: passed through
        # the skipping branch, it was copied into the loop's state every iteration.
        state = (T, F, eta_T, S, done, conv, prev_change, need)

        def skip():
            no_step = (jnp.zeros((k,), dtype), jnp.zeros_like(eta_T))
            return (T, F, no_step, S, done, conv, prev_change, jnp.zeros_like(need))

        T, F, (step, eta_D), S, done, conv, change, need_next = lax.cond(
            jnp.all(done), skip, lambda: take_step(state, it, D, step0, ws)
        )
        eta_T = eta_T + step[:, None] * eta_D
        if constant_info:
            need_next = jnp.zeros_like(need)
        return (T, F, eta_T, S, A, fac, it + 1, done, conv, change, need_next, iters, cg, ws, over)

    def take_step(state, it, D, step0, ws):
        """The step along ``D`` from the model's step length ``step0``: one pass for
        the direction's image, the line search, one pass for the new gradient."""
        T, F, eta_T, S, done, conv, prev_change, need = state
        slack = jnp.where(
            jnp.isfinite(F), 50 * jnp.finfo(dtype).eps * (jnp.abs(F) + loss_scale), 0.0
        )
        # one pass gives the direction's image; every trial point is elementwise work
        eta_D = direction_image(D, ws)

        def trial(step):
            eta = eta_T + step[:, None] * eta_D
            return obj_of(T + step[:, None] * D, eta), residuals(eta)

        # done neurons take no step (those that converged in this iteration's head have
        # T moved without their eta and F, so their trial objective is not comparable)
        def rejected(Fn):
            return ~((Fn <= F + slack) & jnp.isfinite(Fn)) & ~done

        def ls_cond(c):
            step, Fn, R, h = c
            return jnp.any(rejected(Fn)) & (h < max_halvings)

        def ls_body(c):
            step, Fn, R, h = c
            bad = rejected(Fn)
            step = jnp.where(bad, step * 0.5, step)
            Fb, Rb = trial(step)
            return step, jnp.where(bad, Fb, Fn), jnp.where(bad[:, None], Rb, R), h + 1

        if accelerate:
            step0 = newton_step_length(step0, T, D, eta_T, eta_D)
        step, Fn, R, _ = lax.while_loop(ls_cond, ls_body, (step0, *trial(step0), 0))
        ok = ~rejected(Fn) & ~done
        step = jnp.where(ok, step, 0.0)
        T_new = T + step[:, None] * D
        F_new = jnp.where(ok, Fn, F)

        def new_scores():
            return jnp.where(ok[:, None], scores(R), S)

        if ws is None:
            settled = jnp.ones((k,), bool)
        else:
            # a working set that leaves out a violator of its optimality condition is
            # replaced at once, and the fit cannot stop before it is
            S = new_scores()
            settled = complete(T_new, S, ws)
        change = jnp.max(jnp.abs(T_new - T), axis=1)
        scale = 1.0 + jnp.max(jnp.abs(T_new), axis=1)
        small = change <= tol * scale
        fresh = need | constant_info | (it == 0)
        ratio_now = change / jnp.maximum(prev_change, 1e-300)
        conv_now = ok & small & (it > 0) & (fresh | (ratio_now < 0.5))
        # a tolerance below what round-off allows: stop once a fresh step no longer
        # changes the objective and the coefficients agree to sqrt(eps)
        eps = jnp.finfo(dtype).eps
        flat = jnp.abs(F - F_new) <= 100 * eps * (jnp.abs(F_new) + loss_scale)
        conv_now = conv_now | (ok & fresh & flat & (change <= jnp.sqrt(eps) * scale) & (it > 1))
        # a chord step that is tiny still needs one fresh Newton step to certify
        stalled = ~ok & (jnp.max(jnp.abs(D), axis=1) <= jnp.sqrt(tol) * scale) & fresh
        conv = conv | ((conv_now | stalled) & settled & ~done)
        failed = ~ok & fresh & ~stalled
        done = done | conv | failed
        if accelerate:
            need_next = ((it < 1) & use_start) | ~ok | (ratio_now > 0.5)
        else:
            need_next = (it < 2) | ~ok | (step < 1.0) | (ratio_now > refresh_ratio)
        need_next = (need_next | ~settled) & ~done
        if ws is None:
            # the gradient at the new point serves the next iteration alone: after the
            # last one it is not computed (a pass over the design fewer per fit)
            last = jnp.all(done) | (it + 1 >= budget)
            S = lax.cond(last, lambda: S, new_scores)
        return T_new, F_new, (step, eta_D), S, done, conv, change, need_next

    def cond(carry):
        it, done = carry[6], carry[7]
        return (~jnp.all(done)) & (it < budget)

    init = (
        T0,
        F0,
        eta_T0,
        S0,
        A0,
        fac0,
        0,
        boundary,
        boundary,
        jnp.full((k,), jnp.inf, dtype),
        need0,
        jnp.zeros((k,), jnp.int32),
        (jnp.zeros((k, q), dtype), jnp.ones((k,), dtype), jnp.zeros((k, q), dtype)),
        ws0,
        jnp.zeros((k,), bool),
    )
    out = lax.while_loop(cond, body, init)
    T, F, eta_T, conv, iters, over = out[0], out[1], out[2], out[8], out[11], out[14]
    conv = conv & jnp.all(jnp.isfinite(T), axis=1) & ~over
    # the means' closest approach to the boundary of the support, over the observations
    # that count, from the last linear predictor (of the solution, or of the point a
    # step within tol before it: see at_solution)
    distance = family.boundary_distance(family.link.inverse(eta_T))
    if distance is not None:
        counted = jnp.broadcast_to(W > 0, distance.shape)
        distance = jnp.min(jnp.where(counted, distance, jnp.inf), axis=1)
    screened = None
    if screen > 1:
        # the rank screen of the fit's checks, from the same linear predictor
        sub, diag = information_screen(Xt, eta_T, Y, W, M, family, fit_intercept, screen)
        screened = (jnp.moveaxis(sub, 0, -1), jnp.moveaxis(diag, 0, -1))
    # every score sums a column of the design over every row, so a NaN or inf anywhere
    # in the design makes its column's score non-finite (inf * 0 is NaN): the fit's
    # check of the design's values (see GLM.fit) is then left to this flag
    finite = jnp.all(jnp.isfinite(S0), axis=1)
    if with_eta:
        return T, iters, conv, F, over, distance, screened, finite, eta_T
    return T, iters, conv, F, over, distance, screened, finite
