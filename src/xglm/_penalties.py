"""Penalties: user-facing regularizer objects and the one resolved form solvers use.

Every penalty is reduced to a :class:`PenaltyArrays`,

    P(beta) = 1/2 sum_j l2_j beta_j**2 + sum_j l1_j |beta_j|
              + sum_g a_g sqrt(p_g) ||beta_g||_2,

so Ridge, Lasso, ElasticNet, GroupLasso (and sparse group lasso) share one objective,
one proximal operator and one set of optimality checks. The intercept is never
penalized. Strength arrays carry a trailing neuron axis for population fits.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .errors import PenaltyError

__all__ = [
    "Regularizer",
    "UnRegularized",
    "Ridge",
    "Lasso",
    "ElasticNet",
    "GroupLasso",
    "PenaltyArrays",
    "get_regularizer",
    "REGULARIZER_NAMES",
]


class Regularizer(eqx.Module):
    """Abstract regularizer. The strength is given to the estimator, not stored here."""

    name: ClassVar[str]
    smooth: ClassVar[bool]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class UnRegularized(Regularizer):
    """No penalty (maximum likelihood)."""

    name = "UnRegularized"
    smooth = True


class Ridge(Regularizer):
    """``P(beta) = 1/2 sum_j alpha_j beta_j**2``."""

    name = "Ridge"
    smooth = True


class Lasso(Regularizer):
    """``P(beta) = sum_j alpha_j |beta_j|``."""

    name = "Lasso"
    smooth = False


class ElasticNet(Regularizer):
    """``P(beta) = sum_j alpha_j [(1 - r_j) beta_j**2 / 2 + r_j |beta_j|]``.

    Parameters
    ----------
    ratio : float
        The L1 share ``r`` used when the strength is given without a ratio
        (``regularizer_strength=(strength, ratio)`` overrides it).
    """

    name = "ElasticNet"
    smooth = False
    ratio: float = 0.5

    def __check_init__(self):
        if not 0 < float(self.ratio) <= 1:
            raise PenaltyError(
                f"ratio: got {self.ratio!r}; expected a number in (0, 1] (the L1 share). "
                "Fix: ElasticNet(ratio=0.5); use Ridge for a pure L2 penalty."
            )

    def __repr__(self) -> str:
        return f"ElasticNet(ratio={self.ratio})"


class GroupLasso(Regularizer):
    """``P(beta) = sum_g alpha_g sqrt(p_g) ||beta_g||_2``.

    Parameters
    ----------
    mask : array-like, optional
        Group membership: a ``(n_groups, n_features)`` 0/1 array (each feature in at
        most one group; features in none are unpenalized) or a length-``n_features``
        integer vector of group ids (``-1`` for unpenalized). By default every leaf of
        ``X`` (every formula term or variable) is one group.
    """

    name = "GroupLasso"
    smooth = False
    mask: np.ndarray | None = eqx.field(default=None, static=False)

    def __repr__(self) -> str:
        if self.mask is None:
            return "GroupLasso()"
        return f"GroupLasso(mask=<{np.asarray(self.mask).shape}>)"


_REGS = {
    "unregularized": UnRegularized,
    "none": UnRegularized,
    "ridge": Ridge,
    "l2": Ridge,
    "lasso": Lasso,
    "l1": Lasso,
    "elasticnet": ElasticNet,
    "elastic_net": ElasticNet,
    "grouplasso": GroupLasso,
    "group_lasso": GroupLasso,
}
REGULARIZER_NAMES = ("UnRegularized", "Ridge", "Lasso", "ElasticNet", "GroupLasso")


def get_regularizer(reg) -> Regularizer:
    """Resolve ``None``, a name or an object to a :class:`Regularizer`."""
    if reg is None:
        return UnRegularized()
    if isinstance(reg, Regularizer):
        return reg
    if isinstance(reg, str) and reg.lower() in _REGS:
        return _REGS[reg.lower()]()
    raise PenaltyError(
        f"regularizer: got {reg!r}; expected None or one of "
        f"{', '.join(map(repr, REGULARIZER_NAMES))} or an xglm regularizer object. "
        "Fix: e.g. regularizer='Ridge'."
    )


class PenaltyArrays(eqx.Module):
    """The resolved penalty of one fit, in the unified form used by every solver.

    ``l2``, ``l1``: ``(p,)`` or ``(p, k)``; ``group_alpha``: ``(G,)`` or ``(G, k)``
    already multiplied by ``sqrt(p_g)``; ``group_index``: ``(p,)`` group ids with ``-1``
    for ungrouped features. ``has_l1``/``has_group`` are static so that solvers pick
    their code path at trace time.
    """

    l2: jnp.ndarray
    l1: jnp.ndarray
    group_alpha: jnp.ndarray
    group_index: jnp.ndarray
    has_l1: bool = eqx.field(static=True, default=False)
    has_group: bool = eqx.field(static=True, default=False)

    @property
    def smooth(self) -> bool:
        return not (self.has_l1 or self.has_group)

    @property
    def n_groups(self) -> int:
        return self.group_alpha.shape[0]

    def _with_strengths(self, fn, group_index=None):
        """The same penalty with ``fn`` applied to every strength array."""
        return PenaltyArrays(
            fn(self.l2),
            fn(self.l1),
            fn(self.group_alpha),
            self.group_index if group_index is None else group_index,
            self.has_l1,
            self.has_group,
        )

    def neuron(self, i):
        """The penalty of neuron ``i`` (an index, or an index array for several
        neurons) of a population penalty."""
        return self._with_strengths(lambda a: a[:, i])

    def as_population(self):
        """A single-neuron penalty with a trailing neuron axis of length 1."""
        return self._with_strengths(lambda a: a[:, None])

    def neuron_major(self):
        """A population penalty with the neuron axis first on every array (for
        ``jax.vmap`` over neurons)."""
        k = self.l2.shape[1]
        index = jnp.broadcast_to(self.group_index, (k,) + self.group_index.shape)
        return self._with_strengths(lambda a: a.T, group_index=index)

    def features(self, idx):
        """The penalty of the features ``idx`` (``(W,)``) alone, in the same layout;
        groups keep their strengths."""
        return PenaltyArrays(
            self.l2[idx],
            self.l1[idx],
            self.group_alpha,
            self.group_index[idx],
            self.has_l1,
            self.has_group,
        )

    def of_features(self, idx):
        """A neuron-major penalty (see :meth:`neuron_major`) on the features ``idx``
        ``(k, W)`` alone; groups keep their strengths, so a group partly among them is
        penalized by the norm of its part."""
        return PenaltyArrays(
            *(jnp.take_along_axis(a, idx, axis=1) for a in (self.l2, self.l1)),
            self.group_alpha,
            jnp.take_along_axis(self.group_index, idx, axis=1),
            self.has_l1,
            self.has_group,
        )

    def _group_norms(self, beta):
        onehot = self.onehot(beta.dtype)
        return jnp.sqrt(onehot.T @ beta**2)

    def onehot(self, dtype):
        """``(p, G)``: 1 where a feature belongs to a group (features in no group: a
        row of zeros)."""
        g = self.n_groups
        return (self.group_index[:, None] == jnp.arange(g)[None, :]).astype(dtype)

    def value(self, beta):
        """``P(beta)``; for ``(p, k)`` coefficients, one value per neuron."""
        out = 0.5 * jnp.sum(self.l2 * beta**2, axis=0)
        if self.has_l1:
            out = out + jnp.sum(self.l1 * jnp.abs(beta), axis=0)
        if self.has_group:
            out = out + jnp.sum(self.group_alpha * self._group_norms(beta), axis=0)
        return out

    def smooth_grad(self, beta):
        return self.l2 * beta

    def prox_nonsmooth(self, v, step):
        """Proximal operator of ``step * (l1 + group)`` parts (the l2 part is smooth)."""
        if self.has_l1:
            v = jnp.sign(v) * jnp.maximum(jnp.abs(v) - step * self.l1, 0.0)
        if self.has_group:
            onehot = self.onehot(v.dtype)
            norms = jnp.sqrt(onehot.T @ v**2)
            shrink = jnp.maximum(1.0 - step * self.group_alpha / jnp.maximum(norms, 1e-300), 0.0)
            factor = onehot @ shrink
            factor = jnp.where(
                (self.group_index >= 0)[(...,) + (None,) * (v.ndim - 1)], factor, 1.0
            )
            v = v * factor
        return v

    def prox(self, v, step):
        """Proximal operator of ``step * P``, including the l2 part."""
        return self.prox_nonsmooth(v, step) / (1.0 + step * self.l2)
