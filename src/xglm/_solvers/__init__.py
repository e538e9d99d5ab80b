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

from .._compile import jit
from .._families import Family
from .._penalties import PenaltyArrays
from ..errors import XglmError
from ._active import active_size, fit_active
from ._first_order import fista, quasi_newton
from ._information import map_neurons
from ._newton import newton_population
from ._problem import Problem, SolverOutput

__all__ = [
    "checks_design",
    "fit_arrays",
    "neuron_batches",
    "neuron_rows",
    "default_solver",
    "overflow_solver",
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
TRACE_COUNT = {"fit": 0, "checks": 0, "stats": 0}


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


# The widest design whose full information matrix a Newton fit forms by default. L1 and
# group penalties have working sets instead (see _newton.working_set), except both
# together, whose Newton models on every feature are solved by accelerated proximal
# gradient up to GROUP_NEWTON_MAX_FEATURES (group lasso on every feature, Poisson, 10%
# of the strength that zeroes every group: at 100,000 x 200 IRLS took 200 ms and FISTA
# 281 ms; at 50,000 x 400 798 and 388 ms; at 20,000 x 800 2.86 s and 227 ms)
NEWTON_MAX_FEATURES = 1000
GROUP_NEWTON_MAX_FEATURES = 255


def default_solver(penalty: PenaltyArrays, n_features: int) -> str:
    """Pick the solver for a penalty and problem width.

    Newton-type (IRLS / proximal Newton) while forming ``X^T W X`` is affordable (up
    to :data:`NEWTON_MAX_FEATURES` features), and at any width for L1 or group
    penalties, whose Newton models are solved on working sets (see
    :func:`xglm._solvers._newton.working_set`); beyond that width L-BFGS for smooth
    penalties, and FISTA for penalties with both an L1 and a group part beyond
    :data:`GROUP_NEWTON_MAX_FEATURES` features.
    """
    if penalty.has_group and penalty.has_l1:
        return "irls" if n_features <= GROUP_NEWTON_MAX_FEATURES else "fista"
    if n_features <= NEWTON_MAX_FEATURES or not penalty.smooth:
        return "irls"
    return "lbfgs"


def overflow_solver(solver: str | None, penalty: PenaltyArrays, n_features: int) -> str:
    """What finishes a Newton fit on working sets whose solution outgrew them (see
    :func:`fit_arrays`): the Newton solver on every feature, or, for a solver chosen
    automatically beyond :data:`NEWTON_MAX_FEATURES` features
    (:data:`GROUP_NEWTON_MAX_FEATURES` with a group penalty), FISTA."""
    limit = GROUP_NEWTON_MAX_FEATURES if penalty.has_group else NEWTON_MAX_FEATURES
    return "fista" if solver is None and n_features > limit else "irls"


def checks_design(solver: str, k: int | None, n: int, p: int, penalty: PenaltyArrays) -> bool:
    """Whether :func:`fit_arrays` with this solver returns ``design_finite`` from the
    scores over every row at its start (the Newton solver, outside the active-set
    fits): a design with a NaN or inf then runs one iteration and is reported by the
    flag, so the fit checks the design's values after the solve instead of before it
    (a pass over the design fewer)."""
    if solver != "irls":
        return False
    return k is not None or active_size(n, p, penalty) is None


def _solve_one(prob: Problem, beta0, b0, solver, tol, maxiter):
    if solver == "fista":
        return fista(prob, beta0, b0, tol=tol, maxiter=maxiter)
    return quasi_newton(prob, beta0, b0, name=solver, tol=tol, maxiter=maxiter)


# a population's Newton fit and its statistics run on batches of at most this many
# (neuron x sample) elements, so that their (k, n) work arrays stay at a few MB each
# (4 MB in float64). Batches of 10 neurons of 50,000 samples fit as fast as all 100
# neurons at once, and the benchmark population's peak extra memory fell from 10.5 to
# 3.1 times the design (1.4 once the fitted model stopped holding its neuron-major copy
# of the responses)
MAX_BATCH_ELEMENTS = 2**19


def neuron_batches(k: int, n: int, p: int) -> list[np.ndarray]:
    """The neuron indices of each batch of a population of ``k`` neurons of ``n``
    samples and ``p`` features: equal batches, so one compiled program serves them all;
    the last is padded with copies of its first neuron. A batch holds at most
    :data:`MAX_BATCH_ELEMENTS` (neuron x sample) elements, or an eighth of the design's
    when that is more (a large design is then not read once per neuron)."""
    limit = max(MAX_BATCH_ELEMENTS, n * p // 8)
    n_batches = max(1, -(-k * n // limit))
    size = -(-k // n_batches)
    return [
        np.where(np.arange(start, start + size) < k, np.arange(start, start + size), start)
        for start in range(0, k, size)
    ]


def neuron_rows(a, idx):
    """Rows ``idx`` of a neuron-major array ``(k, n)``; weights or offsets shared by every
    neuron (``(1, n)``) as they are."""
    return a if a.shape[0] == 1 else a[idx]


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
    overflow: tuple[str, float, int] | None = None,
    screen: int = 0,
) -> SolverOutput:
    """Fit one neuron or a population.

    ``Xt`` is the design feature-major, ``X.T`` of shape ``(p, n)`` (see
    :func:`xglm._device.feature_major`). One neuron: ``y, w, offset`` of shape ``(n,)``,
    ``mask, beta0`` ``(p,)``. A population: ``y`` neuron-major ``(k, n)``; ``w`` and
    ``offset`` ``(k, n)`` or, shared by every neuron, ``(1, n)``; ``mask, beta0`` and the
    penalty arrays ``(p, k)``; ``b0`` ``(k,)``. Each neuron's objective is minimised
    independently; the Newton solver runs the neurons together in batches of at most
    :data:`MAX_BATCH_ELEMENTS` elements (equal batches, one compiled program), the
    quasi-Newton minimisers one neuron after another in one compiled program, FISTA
    vmapped.

    One neuron's L1 (or elastic-net) Newton fit of at least 64 features (and 100,000
    design elements) runs in active-set rounds (:mod:`._active`). A wide L1 or group
    Newton fit runs on working sets; when a neuron's solution outgrows its set, the fit
    is finished, from where it stopped, by the ``overflow`` solver ``(name, tol,
    maxiter)``, by default the Newton solver on every feature with the same ``tol`` and
    ``maxiter`` (the name ``"irls"``, or ``"fista"``): the whole population in one more
    fit that starts at the first's solution. Its iterations add to the first's.

    ``screen``: a row stride with which the Newton solver also returns the rank screen
    of the fit's checks at its solution (``SolverOutput.screened``; 0: none).
    """
    data = (Xt, y, w, offset, mask, family, penalty)
    options = (fit_intercept, True, screen if solver == "irls" else 0)
    out = _fit_batches(data, beta0, b0, from_start, solver, tol, maxiter, *options)
    if out.overflow is None or not np.any(np.asarray(out.overflow)):
        return out
    name, tol2, maxiter2 = overflow or ("irls", tol, maxiter)
    second = _fit_batches(
        data, out.coef, out.intercept, False, name, tol2, maxiter2, fit_intercept, False, 0
    )
    return SolverOutput(
        second.coef,
        second.intercept,
        out.n_iter + second.n_iter,
        second.converged,
        second.objective,
        out.overflow,
        second.boundary_distance,
        design_finite=out.design_finite,
    )


def _fit_batches(
    data, beta0, b0, from_start, solver, tol, maxiter, fit_intercept, working_sets, screen
):
    """:func:`fit_arrays`' one fit: a population's Newton fit in batches of neurons.
    ``data``: ``(Xt, y, w, offset, mask, family, penalty)``."""
    Xt, y = data[:2]
    single_newton = y.ndim == 1 and solver == "irls" and working_sets
    size = active_size(Xt.shape[1], Xt.shape[0], data[6]) if single_newton else None
    if size is not None:
        return fit_active(data, beta0, b0, from_start, tol, maxiter, fit_intercept, size)
    args = [*data, beta0, b0]
    options = (from_start, solver, tol, maxiter, fit_intercept, working_sets, screen)
    if y.ndim == 1 or solver != "irls":
        return _fit_arrays_jit(*args, None, *options)
    k, n = y.shape
    batches = neuron_batches(k, n, Xt.shape[0])
    if len(batches) == 1:
        return _fit_arrays_jit(*args, None, *options)
    # each batch's neurons are taken inside the compiled program (indexing JAX arrays
    # outside it would compile a small program per operation on a first fit), and the
    # small results are joined on the host
    outs = [_fit_arrays_jit(*args, idx, *options) for idx in batches]
    return jax.tree_util.tree_map(
        lambda *parts: np.concatenate([np.asarray(a) for a in parts], axis=-1)[..., :k], *outs
    )


@jit
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
    idx,
    from_start: bool,
    solver: str,
    tol: float,
    maxiter: int,
    fit_intercept: bool,
    working_sets: bool,
    screen: int,
    rows=None,
    budget=None,
    start=None,
) -> SolverOutput:
    """:func:`fit_arrays` for one batch of neurons, compiled: the neurons ``idx`` of a
    population (``None``: every neuron). With ``rows`` (feature indices), ``Xt`` holds
    those rows of the design alone, and the mask, start and penalty, given for every
    feature, are taken at them (the active-set fits of :mod:`._active`); ``budget``
    (traced) bounds the Newton solver's iterations below ``maxiter``; ``start``, one
    neuron's linear predictor ``(n,)`` and scores ``(p+1,)`` (every feature) at the
    start, which is then taken as it is (see :func:`._newton.newton_population`)."""
    TRACE_COUNT["fit"] += 1
    if idx is not None:
        y, w, offset = (neuron_rows(a, idx) for a in (y, w, offset))
        mask, beta0, b0 = mask[:, idx], beta0[:, idx], b0[idx]
        penalty = penalty.neuron(idx)
    if rows is not None:
        mask, beta0, penalty = mask[rows], beta0[rows], penalty.features(rows)
        if start is not None:
            start = (start[0], jnp.concatenate([start[1][:1], start[1][1:][rows]]))
    single = y.ndim == 1
    if single:
        y, w, offset = (a[None, :] for a in (y, w, offset))
        mask, beta0 = mask[:, None], beta0[:, None]
        b0 = jnp.reshape(b0, (1,))
        penalty = penalty.as_population()
    eta = None
    if solver == "irls":
        # with from_start the solver replaces T0 by the null start
        T0 = jnp.concatenate([b0[:, None], (beta0 * mask).T], axis=1)
        T, n_iter, conv, obj, over, distance, screened, finite, *rest = newton_population(
            Xt,
            y,
            w,
            offset,
            mask.T,
            family,
            penalty,
            T0,
            from_start,
            fit_intercept,
            tol=tol,
            maxiter=maxiter,
            working_sets=working_sets,
            screen=screen,
            budget=budget,
            with_eta=rows is not None,
            switch_info=rows is None,
            start=None if start is None else (start[0][None], start[1][None]),
        )
        out = SolverOutput(
            T[:, 1:].T, T[:, 0], n_iter, conv, obj, over, distance, screened, design_finite=finite
        )
        eta = rest[0][0] if rest else None  # (with_eta: one neuron, see _active)
    else:
        pens = penalty.neuron_major()

        def one(y1, w1, off1, m1, pen1, beta1, b1):
            prob = Problem(Xt, y1, w1, off1, m1, family, pen1, fit_intercept)
            beta_null, b_null = prob.null_start()
            if from_start:
                beta1, b1 = beta_null, b_null
            else:
                # a start whose objective is not finite, or above the null model's, is
                # replaced by the null model (as in the Newton solver)
                f1 = prob.objective(beta1, b1)
                keep = jnp.isfinite(f1) & (f1 <= prob.objective(beta_null, b_null))
                beta1, b1 = jnp.where(keep, beta1, beta_null), jnp.where(keep, b1, b_null)
            return _solve_one(prob, beta1, b1, solver, tol, maxiter)

        # The quasi-Newton minimisers run one neuron after another: each gradient's X^T r
        # is then a matrix-vector product, and each neuron stops at its own convergence
        # (vmapped, X^T R was a matrix product that packs the whole design first, and
        # every neuron ran the slowest one's iterations: 20 neurons of 50,000 x 60 took
        # 965 ms vmapped, 372 ms in sequence). FISTA stays vmapped: its backtracking
        # passes gain more from running the neurons together (544 ms against 897 ms).
        if solver == "fista":
            shared = (None if w.shape[0] == 1 else 0, None if offset.shape[0] == 1 else 0)
            res = jax.vmap(one, in_axes=(0, *shared, 0, 0, 0, 0))(
                y,
                w[0] if shared[0] is None else w,
                offset[0] if shared[1] is None else offset,
                mask.T,
                pens,
                beta0.T,
                b0,
            )
        else:

            def each(a):
                i, y1, m1, pen1, beta1, b1 = a
                w1 = w[0] if w.shape[0] == 1 else w[i]
                off1 = offset[0] if offset.shape[0] == 1 else offset[i]
                return one(y1, w1, off1, m1, pen1, beta1, b1)

            res = map_neurons(each, (jnp.arange(y.shape[0]), y, mask.T, pens, beta0.T, b0))
        out = SolverOutput(res.coef.T, res.intercept, res.n_iter, res.converged, res.objective)
    if single:
        out = jax.tree_util.tree_map(lambda a: a[..., 0], out)
    if eta is not None:
        out = eqx.tree_at(lambda o: o.eta, out, eta, is_leaf=lambda a: a is None)
    return out
