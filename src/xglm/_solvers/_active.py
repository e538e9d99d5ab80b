"""Active-set fits: a wide single-neuron L1 fit solved on a few features at a time.

A Lasso or elastic-net solution has few nonzero coefficients, yet the Newton solver
(:mod:`._newton`) passes over every feature twice an iteration (the direction's image
and the gradient). As skglm and celer do, a single-neuron L1 fit of at least
``2 * ACTIVE_SIZE`` features is solved instead in rounds, each of which

1. computes the gradient over every feature at the current coefficients (one pass over
   the design; the linear predictor is the last solve's, or the null model's) and the
   features' priorities: the nonzero and unpenalized ones first, then by how near
   their gradient comes to their strength (:func:`._kkt.l1_priority`);
2. stops when no feature outside the last round's set violates its optimality
   condition by more than ``tol`` times the largest strength (the criterion of the
   Newton solver's own working sets) and that round's solve converged;
3. otherwise copies the rows of the :func:`active_size` features of highest priority
   into a buffer and solves the fit on them with the Newton solver, from the current
   coefficients, whose passes then read those rows alone.

The sets have one size per design width, so every round runs the same two compiled
programs. The Newton solver on every feature finishes the fit from where the rounds
stopped when the solution has more nonzero coefficients than the set holds (with room
for one violator; at the null model, for every violator), or when a set's solve stops
unconverged or takes more than ``INNER_MAXITER`` iterations (it keeps the row
subsample's information, which the full solver replaces by every row's in a long fit).
The iterations of every round and of that finish add up, within ``maxiter``.

The copy is written into a buffer kept from the last fit (donated to the compiled
copy): freshly allocated memory costs a page fault per 4 kB on its first write. For
the benchmark's Lasso (100,000 x 200, sets of 64 features) the copy took 22 ms into
fresh memory and 2.5 ms into the kept buffer. One buffer, of the last size used, is
kept, up to ``KEEP_MAX_BYTES`` (1 GiB).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._compile import compiler_options, jit
from .._families import Family
from .._penalties import PenaltyArrays
from ._kkt import l1_priority, l1_violation
from ._newton import FULL_INFO_MIN_ITER, null_starts
from ._problem import SolverOutput

__all__ = ["ACTIVE_SIZE", "MAX_ROUNDS", "active_size", "fit_active"]

# The smallest set; a design of p features gets sets of about p / ACTIVE_FRACTION, at
# most ACTIVE_MAX: below 2 * _newton.WORKING_SET, so that a set's solve has no working
# sets of its own, whose code took a first wide fit's compile from 1.02 to 1.43 s
# (20,000 x 1,200, sets of 304 against 128 features; the warm fits took 52 and 59 ms).
# A set's solve costs more than in proportion to its size: the benchmark's Lasso
# (100,000 x 200, 19 nonzero coefficients) took 41 ms (Gaussian) and 48 ms (Poisson) on
# sets of 64, 34 and 40 ms on sets of 32. A solution denser than an eighth of the
# features is left to the full solver.
ACTIVE_SIZE = 32
ACTIVE_FRACTION = 8
ACTIVE_MAX = 128
# Designs of fewer elements are fitted by the full solver at once: the rounds' extra
# programs cost more than they save (500 x 64: 2.0 against 1.4 ms; 2,000 x 100: 2.0
# against 3.6 ms)
ACTIVE_MIN_ELEMENTS = 100_000
# a set's solve that takes more iterations than this (on the row subsample's information
# throughout: the full solver switches to every row's after FULL_INFO_MIN_ITER), or stops
# unconverged, is handed to the full solver
INNER_MAXITER = 2 * FULL_INFO_MIN_ITER
# rounds beyond which a fit stops unconverged (each adds a violator: a fit takes two
# or three)
MAX_ROUNDS = 50


def active_size(n: int, p: int, penalty: PenaltyArrays) -> int | None:
    """The set size of an active-set fit of ``n`` samples and ``p`` features, or
    ``None`` when the fit does not run on active sets (not an L1 penalty alone, fewer
    than twice the size's features, or fewer than :data:`ACTIVE_MIN_ELEMENTS`
    elements)."""
    if not penalty.has_l1 or penalty.has_group or n * p < ACTIVE_MIN_ELEMENTS:
        return None
    size = min(max(ACTIVE_SIZE, -(-(p // ACTIVE_FRACTION) // 8) * 8), ACTIVE_MAX)
    return size if 2 * size <= p else None


@jit
def _round(
    Xt,
    y,
    w,
    offset,
    mask,
    family: Family,
    penalty: PenaltyArrays,
    beta,
    b,
    eta,
    inside,
    null,
    size: int,
    fit_intercept: bool,
    tol: float,
):
    """One round's look at every feature (see the module docstring), one neuron:
    ``Xt`` ``(p, n)``, ``y, w, offset`` and the linear predictor ``eta`` ``(n,)``,
    ``mask, beta`` ``(p,)``; ``inside`` ``(p,)`` flags the last set. With ``null``
    (traced), at the null model's coefficients instead (``eta`` is then not read), and
    a set that cannot hold every violator of its optimality condition overflows.
    Returns ``(beta, b, set, overflow, complete, eta, scores)``, the scores
    ``[1 X]^T r / sum w`` ``(p+1,)`` as the Newton solver's."""
    from . import TRACE_COUNT

    TRACE_COUNT["fit"] += 1
    icpt = 1.0 if fit_intercept else 0.0
    sw = jnp.sum(w)
    l1, l2 = penalty.l1 * mask, penalty.l2 * mask
    ybar, off_bar = jnp.sum(w * y) / sw, jnp.sum(w * offset) / sw
    b_null = null_starts(ybar[None], off_bar[None], 0, family, fit_intercept)[0, 0]
    beta = jnp.where(null, 0.0, beta * mask)
    b = jnp.where(null, b_null, b) * icpt
    eta = jnp.where(null, b + offset, eta)
    _, r, _ = family.score_terms(y, eta, w)
    scores = jnp.concatenate([(jnp.sum(r) / sw * icpt)[None], (Xt @ r) / sw * mask])
    g = l2 * beta - scores[1:]
    prio, must, ratio = l1_priority(beta, g, l1, mask)
    live = mask > 0
    must_n = jnp.sum(live & must)
    violators = jnp.sum(live & ~must & (ratio > 1.0))
    # (at the null model, more violators than the set holds mark a solution too dense
    # for it: the Newton solver on every feature takes the fit at once)
    over = must_n + jnp.where(null, violators, jnp.minimum(violators, 1)) > size
    ws = jnp.sort(lax.top_k(prio, size)[1]).astype(jnp.int32)
    v = jnp.where(live & ~inside, l1_violation(beta, g, l1), 0.0)
    complete = jnp.max(v) <= tol * jnp.max(l1)
    return beta, b, ws, over, complete, eta, scores


def _take_rows(Xt, ws, out):
    del out  # its buffer receives the rows (donated)
    return jnp.take(Xt, ws, axis=0, mode="clip")


@functools.cache
def _gather():
    options = compiler_options()
    # (kept: an unused argument is dropped, and its buffer with it)
    extra = {"compiler_options": options} if options else {}
    return jax.jit(_take_rows, donate_argnums=2, keep_unused=True, **extra)


# (shape, dtype) -> the buffer of the last fit's rows (see the module docstring)
_BUFFERS: dict = {}
# a larger buffer is not kept after its fit (the page faults of a fresh one then cost
# a small part of such a fit, and the memory goes back at once)
KEEP_MAX_BYTES = 1 << 30


def _buffer(shape, dtype):
    """The kept buffer of this shape and dtype (taken out of the pool while a fit uses
    it), or a new one."""
    buf = _BUFFERS.pop((shape, np.dtype(dtype)), None)
    if buf is None or buf.is_deleted():
        # (copied into memory of JAX's own, which can be donated)
        buf = jax.device_put(np.empty(shape, dtype))
    return buf


def _keep(buf):
    """Keep ``buf`` for the next fit (in place of any other), unless it is larger than
    :data:`KEEP_MAX_BYTES`."""
    _BUFFERS.clear()
    if buf.nbytes <= KEEP_MAX_BYTES:
        _BUFFERS[(tuple(buf.shape), np.dtype(buf.dtype))] = buf


def fit_active(
    data, beta0, b0, from_start: bool, tol: float, maxiter: int, fit_intercept: bool, size: int
) -> SolverOutput:
    """One neuron's L1 fit in active-set rounds (see the module docstring); arguments as
    :func:`xglm._solvers.fit_arrays` with ``data = (Xt, y, w, offset, mask, family,
    penalty)``, one neuron."""
    Xt, y, w, offset, mask, family, penalty = data
    p, n = Xt.shape
    beta, b = np.asarray(beta0, Xt.dtype), np.asarray(b0, Xt.dtype)
    eta, inside = offset, np.zeros(p, bool)
    iters, inner, ws = 0, None, None
    if not from_start:
        # a given start is solved first on the set of its nonzero coefficients (the
        # Newton solver replaces it by the null model when that is better); a start
        # with more of them than a set holds is taken by the solver on every feature
        nonzero = beta * np.asarray(mask) != 0
        if np.count_nonzero(nonzero) > size:
            return _finish(data, beta, b, 0, tol, maxiter, fit_intercept)
        ws = np.sort(np.argsort(~nonzero, kind="stable")[:size]).astype(np.int32)
    Xw = _buffer((size, n), Xt.dtype)
    try:
        for _ in range(MAX_ROUNDS):
            if ws is None:
                look = _round(
                    Xt,
                    y,
                    w,
                    offset,
                    mask,
                    family,
                    penalty,
                    beta,
                    b,
                    eta,
                    inside,
                    np.asarray(inner is None),
                    size,
                    fit_intercept,
                    tol,
                )
                beta, b, ws, over, complete, eta, scores = look
                if bool(over):
                    break
                if inner is not None and bool(complete):
                    # the last solve's output (converged, without overflow: otherwise
                    # the rounds stopped below), on every feature
                    return dataclasses.replace(
                        inner, coef=beta, intercept=b, n_iter=np.int32(iters), eta=None
                    )
                if iters >= maxiter:
                    return _stopped(beta, b, iters, inner)
            Xw = _gather()(Xt, ws, Xw)
            budget = min(maxiter - iters, INNER_MAXITER)
            # (a given start is compared with the null model by its first solve; the
            # others start from the look's linear predictor and scores)
            start = (eta, scores) if from_start or inner is not None else None
            inner = _solve(Xw, data, beta, b, tol, maxiter, fit_intercept, budget, ws, start)
            iters += int(inner.n_iter)
            rows = np.asarray(ws)
            beta = np.zeros(p, Xt.dtype)
            beta[rows] = np.asarray(inner.coef)
            b, eta, ws = inner.intercept, inner.eta, None
            inside = np.zeros(p, bool)
            inside[rows] = True
            if bool(inner.overflow):
                break
            if not bool(inner.converged):
                if iters >= maxiter:
                    return _stopped(beta, b, iters, inner)
                break
        else:
            return _stopped(beta, b, iters, inner)
    finally:
        _keep(Xw)
    return _finish(data, beta, b, iters, tol, maxiter, fit_intercept)


def _solve(Xt, data, beta, b, tol, maxiter, fit_intercept, budget, rows=None, start=None):
    """The Newton solver (the core's compiled program) on the design ``Xt`` (the rows
    ``rows`` of ``data``'s design, or all of it) from ``beta, b``, within ``budget``
    iterations; with the look's ``start = (eta, scores)`` there, from ``beta, b`` as
    they are (see ``start`` of :func:`._newton.newton_population`)."""
    from . import _fit_arrays_jit

    args = (*data[1:], beta, b, None, False, "irls", tol, maxiter, fit_intercept, True, 0)
    return _fit_arrays_jit(Xt, *args, rows=rows, budget=np.int32(budget), start=start)


def _finish(data, beta, b, iters, tol, maxiter, fit_intercept) -> SolverOutput:
    """The Newton solver on every feature from ``beta, b``, within what is left of
    ``maxiter`` after ``iters`` (see the module docstring for when)."""
    budget = max(maxiter - iters, 0)
    rest = _solve(data[0], data, beta, b, tol, maxiter, fit_intercept, budget)
    return dataclasses.replace(rest, n_iter=np.int32(iters + int(rest.n_iter)))


def _stopped(beta, b, iters, inner) -> SolverOutput:
    """The output of a fit that ran out of iterations (``maxiter``) or of rounds
    (:data:`MAX_ROUNDS`): unconverged."""
    obj = np.asarray(np.inf) if inner is None else inner.objective
    dist = None if inner is None else inner.boundary_distance
    return SolverOutput(beta, b, np.int32(iters), np.asarray(False), obj, np.asarray(False), dist)
