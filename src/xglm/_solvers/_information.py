"""Information matrices ``[1 X]^T W [1 X]`` of the neurons' fits, and the row subsample
the Newton solver estimates its own from.

The statistics take the parameters' covariance from the expected (Fisher) information
(:func:`information`, the working weights of :func:`working_weights`) and bound its
conditioning from a row subsample (:func:`information_screen`). The Newton solver
shapes its steps with the observed information (weights from
:meth:`~xglm._families.Family.observed_weights`), built in
:func:`~xglm._solvers._newton.newton_population` from :data:`SUBSAMPLE_INFO_N` samples
on a row subsample of ``n / INFO_FRACTION`` rows (at least :data:`INFO_ROWS_PER_PARAM`
per coefficient, :func:`info_stride`): it only shapes the steps, the gradient is exact,
so the solution is too. Per-neuron work runs one neuron at a time (:func:`map_neurons`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from .._families import Family
from ._passes import info_from_weights, row_subsample, sum_over_samples

__all__ = [
    "INFO_FRACTION",
    "INFO_ROWS_PER_PARAM",
    "SUBSAMPLE_INFO_N",
    "information",
    "information_screen",
    "info_stride",
    "map_neurons",
    "working_weights",
]

SUBSAMPLE_INFO_N = 10_000
INFO_FRACTION = 16
INFO_ROWS_PER_PARAM = 25


def map_neurons(fn, args):
    """``lax.map(fn, args)`` over the leading neuron axis, one neuron at a time; one
    neuron is called directly. ``fn`` takes one neuron's ``args`` (a tuple of arrays and
    pytrees whose leaves all have the neuron axis first).

    Used for a Gram matrix each (the memory does not grow with the neurons) and for every
    LAPACK call: jaxlib spreads a batched LAPACK call (what ``jax.vmap`` makes of one)
    over XLA's intra-op thread pool, and two such calls that XLA runs at the same time
    in one program were seen to hang population fits on two CPUs. One matrix at a
    time, a call does not use the pool.
    """
    if jax.tree_util.tree_leaves(args)[0].shape[0] == 1:
        first = jax.tree_util.tree_map(lambda a: a[0], args)
        return jax.tree_util.tree_map(lambda a: a[None], fn(first))
    return lax.map(fn, args)


def working_weights(family: Family, eta, w):
    return family.score_terms(jnp.zeros_like(eta), eta, w)[2]


def information(Xt, ETA, Y, W, M, family: Family, fit_intercept: bool):
    """Unscaled expected information of every neuron, ``(k, p+1, p+1)``.

    ``Xt``: ``(p, n)``; ``ETA, Y``: ``(k, n)``; ``W``: ``(k, n)`` or ``(1, n)``; ``M``:
    ``(k, p)``. One neuron at a time.
    """
    W = jnp.broadcast_to(W, ETA.shape)

    def one(args):
        eta1, w1, m1 = args
        return info_from_weights(Xt, working_weights(family, eta1, w1), m1, fit_intercept)

    return map_neurons(one, (ETA, W, M))


def information_screen(Xt, ETA, Y, W, M, family: Family, fit_intercept: bool, stride: int):
    """What bounds the conditioning of every neuron's information without its Gram
    matrix: the information of a row subsample (:func:`row_subsample` at ``stride``)
    ``(k, p+1, p+1)`` and the exact diagonal of the full information ``(k, p+1)``.

    The subsample's rows are rows of the design, so the full information dominates the
    subsample's (see :func:`xglm._inference.conditioning_bound`). Costs one pass over
    the design and a ``1/stride`` Gram matrix. Arguments as :func:`information`.
    """
    W = jnp.broadcast_to(W, ETA.shape)

    def one(args):
        eta1, w1, m1 = args
        wk = working_weights(family, eta1, w1)
        sub = info_from_weights(
            row_subsample(Xt, stride), row_subsample(wk, stride), m1, fit_intercept
        )
        # as matrix-vector products on cached chunks: XLA's CPU row reduction took twice
        # as long; masked features keep the unit diagonal info_from_weights gives them
        diag = sum_over_samples(lambda x, v: (x * x) @ v, Xt, wk) * m1 + (1.0 - m1)
        head = jnp.sum(wk) if fit_intercept else jnp.ones((), wk.dtype)
        return sub, jnp.concatenate([head[None], diag])

    return map_neurons(one, (ETA, W, M))


def info_stride(n: int, p: int) -> int:
    """Row stride of the information estimate (1: every row)."""
    if n < SUBSAMPLE_INFO_N or n < 4 * INFO_ROWS_PER_PARAM * (p + 1):
        return 1
    return max(1, n // max(n // INFO_FRACTION, INFO_ROWS_PER_PARAM * (p + 1)))
