"""The one objective, for one neuron, as pure JAX.

    objective(beta, b) = (1 / sum w) sum_i w_i d(y_i, mu_i) / 2 + P(beta),
    mu = g^-1(offset + X beta + b).

A :class:`Problem` holds the arrays of one neuron's fit; the design is stored
feature-major, ``Xt = X.T`` of shape ``(p, n)`` (shared by every neuron of a
population). Nothing in here knows about labels.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .._families import Family
from .._penalties import PenaltyArrays

__all__ = ["Problem", "SolverOutput"]


class Problem(eqx.Module):
    """Arrays of one neuron's fit; ``mask`` is the feature mask (1 = used)."""

    Xt: jax.Array
    y: jax.Array
    w: jax.Array
    offset: jax.Array
    mask: jax.Array
    family: Family
    penalty: PenaltyArrays
    fit_intercept: bool = eqx.field(static=True, default=True)

    @property
    def sum_w(self):
        return jnp.sum(self.w)

    def eta(self, beta, b):
        return (beta * self.mask) @ self.Xt + b + self.offset

    def loss_from_eta(self, eta):
        mu = self.family.link.inverse(eta)
        return 0.5 * jnp.sum(self.w * self.family.unit_deviance(self.y, mu)) / self.sum_w

    def smooth(self, beta, b):
        """Loss plus the smooth (l2) part of the penalty."""
        beta = beta * self.mask
        return self.loss_from_eta(self.eta(beta, b)) + 0.5 * jnp.sum(self.penalty.l2 * beta**2)

    def objective(self, beta, b):
        """The full penalized objective."""
        return self.loss_from_eta(self.eta(beta, b)) + self.penalty.value(beta * self.mask)

    def null_start(self):
        """``beta = 0`` and the intercept at the link of the weighted mean of ``y``."""
        p = self.Xt.shape[0]
        beta = jnp.zeros((p,), self.Xt.dtype)
        if not self.fit_intercept:
            return beta, jnp.zeros((), self.Xt.dtype)
        ybar = jnp.sum(self.w * self.y) / self.sum_w
        b = self.family.link.link(ybar)
        b = jnp.where(
            jnp.isfinite(b),
            b,
            self.family.link.link(self.family.mu_start(ybar, jnp.ones_like(ybar))),
        )
        b = b - jnp.sum(self.w * self.offset) / self.sum_w
        b = jnp.where(jnp.isfinite(b), b, 0.0)
        return beta, b.astype(self.Xt.dtype)


class SolverOutput(eqx.Module):
    """What every solver returns: coefficients, intercepts, iterations, convergence
    flags and the objective the solver minimised (the Newton solver's leaves out the
    deviance's terms in ``y`` alone, so only differences of it are meaningful).

    ``overflow``: the Newton solver on working sets, per neuron, whether the solution
    had more nonzero coefficients than its working set holds (the neuron is then left
    unconverged for :func:`xglm._solvers.fit_arrays` to finish without working sets).
    ``boundary_distance``: the Newton solver, for families whose mean is bounded, per
    neuron, the fitted means' closest approach to the boundary of the support
    (``Family.boundary_distance``) over the observations with a non-zero weight.
    ``screened``: the Newton solver, asked for a rank screen (``screen`` of
    :func:`xglm._solvers.fit_arrays`), what bounds the conditioning of the information
    at the solution, the neurons last: ``((p+1, p+1, k), (p+1, k))``. ``eta``: the
    Newton solver on a design's rows (the active-set fits of :mod:`._active`), the
    linear predictor at the solution, ``(n,)``. ``design_finite``: the Newton solver,
    per neuron, whether its scores at the start were finite: false whenever the design
    holds a NaN or inf (a scan of the design that costs no pass of its own; see
    :func:`xglm._solvers.checks_design`).
    """

    coef: jax.Array
    intercept: jax.Array
    n_iter: jax.Array
    converged: jax.Array
    objective: jax.Array
    overflow: jax.Array | None = None
    boundary_distance: jax.Array | None = None
    screened: tuple | None = None
    eta: jax.Array | None = None
    design_finite: jax.Array | None = None
