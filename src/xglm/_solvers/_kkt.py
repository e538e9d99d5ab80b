"""The optimality conditions of an L1 (Lasso, elastic-net) fit, feature by feature.

Shared by the Newton solver's working sets (:mod:`._newton`) and the active-set fits
(:mod:`._active`). ``beta``, the smooth gradient ``g`` (of the loss and the l2 part) and
the L1 strengths ``l1`` have the same shape, features last; masked features have zero
strength and are left out by the callers.
"""

from __future__ import annotations

import jax.numpy as jnp

__all__ = ["l1_priority", "l1_violation"]


def l1_priority(beta, g, l1, mask):
    """``(priority, must, ratio)`` of every feature for a working set.

    A feature must be in the set when it is nonzero or unpenalized; those come first
    (priority above 1), then the others by ``|g| / l1`` (its optimality condition is
    violated above 1), masked features last (priority -1).
    """
    g = jnp.abs(g)
    ratio = g / jnp.where(l1 > 0, l1, 1.0)
    must = (beta != 0) | (l1 == 0)
    prio = jnp.where(must, 1.0 + g / (1.0 + g), ratio / (1.0 + ratio))
    return jnp.where(mask > 0, prio, -1.0), must, ratio


def l1_violation(beta, g, l1):
    """By how much each feature violates its optimality condition: ``|g| - l1`` (at
    least 0) at zero, ``|g + l1 sign(beta)|`` otherwise."""
    return jnp.where(beta == 0, jnp.maximum(jnp.abs(g) - l1, 0.0), jnp.abs(g + l1 * jnp.sign(beta)))
