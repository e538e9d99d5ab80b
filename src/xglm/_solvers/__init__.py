"""Solvers behind one entry point, :func:`fit_arrays`, and the default-solver choice.

``fit_arrays`` is the functional, jitted core: arrays and immutable family/penalty
modules in, coefficients out. It is compiled once per shape and configuration
(``equinox.filter_jit``), so refitting with new data or new strengths of the same
shapes does not trace or compile again.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._families import Family
from .._penalties import PenaltyArrays
from ..errors import XglmError
from ._first_order import fista, quasi_newton
from ._newton import newton_population
from ._problem import Problem, SolverOutput

__all__ = [
    "fit_arrays",
    "default_solver",
    "resolve_solver",
    "SOLVER_NAMES",
    "Problem",
    "SolverOutput",
]

SOLVER_NAMES = ("irls", "lbfgs", "bfgs", "nonlinear_cg", "fista")
_ALIASES = {
    "irls": "irls",
    "newton": "irls",
    "prox_newton": "irls",
    "proxnewton": "irls",
    "newton_cd": "irls",
    "lbfgs": "lbfgs",
    "l-bfgs": "lbfgs",
    "bfgs": "bfgs",
    "nonlinear_cg": "nonlinear_cg",
    "nonlinearcg": "nonlinear_cg",
    "fista": "fista",
    "proximalgradient": "fista",
    "proximal_gradient": "fista",
    "gradientdescent": "fista",
    "gradient_descent": "fista",
}
_SMOOTH_ONLY = ("lbfgs", "bfgs", "nonlinear_cg")

# incremented each time the core is traced; tests use it to prove there is no retrace
TRACE_COUNT = {"fit": 0, "stats": 0}


def resolve_solver(solver: str | None, penalty: PenaltyArrays, n_features: int) -> str:
    """Resolve a solver name (or ``None``) and check it can handle the penalty."""
    if solver is None:
        return default_solver(penalty, n_features)
    key = str(solver).lower().replace(" ", "")
    if key not in _ALIASES:
        raise XglmError(
            f"solver: got {solver!r}; expected None (automatic) or one of "
            f"{', '.join(map(repr, SOLVER_NAMES))}. Fix: pass a supported solver name."
        )
    name = _ALIASES[key]
    if name in _SMOOTH_ONLY and not penalty.smooth:
        raise XglmError(
            f"solver: {name!r} needs a smooth objective but the penalty has an L1 or group "
            "part. Fix: use solver='irls' (proximal Newton), 'fista', or None."
        )
    return name


def default_solver(penalty: PenaltyArrays, n_features: int) -> str:
    """Pick the solver for a penalty and problem width.

    Newton-type (IRLS / proximal Newton) while forming ``X^T W X`` is affordable
    (up to 1,000 features); beyond that L-BFGS for smooth and FISTA for non-smooth
    penalties.
    """
    if n_features <= 1000:
        return "irls"
    return "lbfgs" if penalty.smooth else "fista"


def _solve_one(prob: Problem, beta0, b0, solver, tol, maxiter):
    if solver == "fista":
        return fista(prob, beta0, b0, tol=tol, maxiter=maxiter)
    return quasi_newton(prob, beta0, b0, name=solver, tol=tol, maxiter=maxiter)


def fit_arrays(
    Xt,
    y,
    w,
    offset,
    mask,
    family: Family,
    penalty: PenaltyArrays,
    beta0,
    b0,
    from_start: bool,
    solver: str,
    tol: float,
    maxiter: int,
    fit_intercept: bool,
) -> SolverOutput:
    """Fit one neuron (``y`` of shape ``(n,)``) or a population (``(n, k)``).

    ``Xt`` is the design feature-major, ``X.T`` of shape ``(p, n)`` (see
    :func:`xglm._device.feature_major`). For a population every argument but ``Xt``,
    ``family`` and the options carries a trailing neuron axis, and each neuron's
    objective is minimised independently. With
    the Newton solver the neurons of a population are solved one after another by the
    same compiled single-neuron program (XLA's CPU runtime has been seen to stall on the
    batched Newton program with many neurons); first-order solvers are vmapped.
    """
    args = (
        Xt,
        y,
        w,
        offset,
        mask,
        family,
        penalty,
        beta0,
        b0,
        from_start,
        solver,
        tol,
        maxiter,
        fit_intercept,
    )
    if y.ndim == 1 or solver != "irls":
        return _fit_arrays_jit(*args)
    # per-neuron columns are cut on the host: slicing JAX arrays costs a dispatch each
    y, w, offset, mask, beta0, b0 = (np.asarray(a) for a in (y, w, offset, mask, beta0, b0))
    penalty = jax.tree_util.tree_map(np.asarray, penalty)
    outs = [
        _fit_arrays_jit(
            Xt,
            np.ascontiguousarray(y[:, i]),
            np.ascontiguousarray(w[:, i]),
            np.ascontiguousarray(offset[:, i]),
            np.ascontiguousarray(mask[:, i]),
            family,
            penalty.neuron(i),
            np.ascontiguousarray(beta0[:, i]),
            b0[i],
            from_start,
            solver,
            tol,
            maxiter,
            fit_intercept,
        )
        for i in range(y.shape[1])
    ]
    return SolverOutput(
        jnp.stack([o.coef for o in outs], axis=1),
        jnp.stack([o.intercept for o in outs]),
        jnp.stack([o.n_iter for o in outs]),
        jnp.stack([o.converged for o in outs]),
        jnp.stack([o.objective for o in outs]),
    )


@eqx.filter_jit
def _fit_arrays_jit(
    Xt,
    y,
    w,
    offset,
    mask,
    family: Family,
    penalty: PenaltyArrays,
    beta0,
    b0,
    from_start: bool,
    solver: str,
    tol: float,
    maxiter: int,
    fit_intercept: bool,
) -> SolverOutput:
    """Fit one neuron (``y`` of shape ``(n,)``) or a population (``(n, k)``).

    ``Xt``: ``(p, n)``. For a population every argument but ``Xt``, ``family`` and the
    options carries a trailing neuron axis, and each neuron's objective is minimised
    independently.
    """
    TRACE_COUNT["fit"] += 1
    single = y.ndim == 1
    if single:
        y, w, offset, mask, beta0 = (a[:, None] for a in (y, w, offset, mask, beta0))
        b0 = jnp.reshape(b0, (1,))
        penalty = penalty.as_population()
    if solver == "irls":
        # neuron-major arrays; with from_start the solver replaces T0 by the null start
        T0 = jnp.concatenate([b0[:, None], (beta0 * mask).T], axis=1)
        T, n_iter, conv, obj = newton_population(
            Xt,
            y.T,
            w.T,
            offset.T,
            mask.T,
            family,
            penalty,
            T0,
            from_start,
            fit_intercept,
            tol=tol,
            maxiter=maxiter,
        )
        out = SolverOutput(T[:, 1:].T, T[:, 0], n_iter, conv, obj)
    else:
        pens = penalty.neuron_major()

        def one(y1, w1, off1, m1, pen1, beta1, b1):
            prob = Problem(Xt, y1, w1, off1, m1, family, pen1, fit_intercept)
            if from_start:
                beta1, b1 = prob.null_start()
            return _solve_one(prob, beta1, b1, solver, tol, maxiter)

        res = jax.vmap(one)(y.T, w.T, offset.T, mask.T, pens, beta0.T, b0)
        out = SolverOutput(res.coef.T, res.intercept, res.n_iter, res.converged, res.objective)
    if single:
        return SolverOutput(
            out.coef[:, 0], out.intercept[0], out.n_iter[0], out.converged[0], out.objective[0]
        )
    return out
