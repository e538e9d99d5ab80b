"""The estimators: :class:`GLM` and :class:`PopulationGLM`, thin wrappers around the core.

The estimator resolves strings to family/penalty objects once, translates the input
into a :class:`~xglm._design.Design`, calls the jitted functional core
:func:`~xglm._solvers.fit_arrays`, then computes R-style inference and translates the
results back into the user's structure (arrays, pytrees or labelled xarray objects).
"""

from __future__ import annotations

import functools
import warnings

import jax.numpy as jnp
import numpy as np

from . import _results
from ._checks import Solution, fit_checks, screen_stride
from ._design import Design, prepare
from ._design._arrays import check_finite
from ._design._labelled import check_intercept
from ._design._tables import by_neuron_label, check_neuron_labels, sample_array
from ._device import core_arrays, feature_major, snapshot, watch
from ._families import NegativeBinomial, get_family
from ._negbin import fit_alternating
from ._outputs import FittedModel
from ._penalties import get_regularizer
from ._solvers import checks_design, fit_arrays, overflow_solver, resolve_solver
from ._statistics import model_statistics, scalar_or
from ._strength import resolve_penalty
from .errors import (
    BoundaryWarning,
    ConvergenceWarning,
    DesignError,
    XglmError,
)

__all__ = ["GLM", "PopulationGLM"]

_DTYPES = {"float64": jnp.float64, "float32": jnp.float32}
_SOLVER_KWARGS = {"tol", "maxiter"}


def _check_solver_kwargs(kwargs: dict) -> None:
    """``tol`` a finite number > 0, ``maxiter`` an integer >= 1."""
    if "tol" in kwargs:
        tol = kwargs["tol"]
        ok = isinstance(tol, (int, float, np.integer, np.floating)) and not isinstance(tol, bool)
        if not (ok and np.isfinite(tol) and tol > 0):
            raise XglmError(
                f"solver_kwargs['tol']: got {tol!r}; expected a finite number > 0. Fix: "
                "e.g. solver_kwargs={'tol': 1e-8} (smaller is more accurate and slower)."
            )
    if "maxiter" in kwargs:
        maxiter = kwargs["maxiter"]
        ok = isinstance(maxiter, (int, np.integer)) and not isinstance(maxiter, bool)
        if not (ok and maxiter >= 1):
            raise XglmError(
                f"solver_kwargs['maxiter']: got {maxiter!r}; expected an integer >= 1. Fix: "
                "e.g. solver_kwargs={'maxiter': 500}."
            )


class GLM(FittedModel):
    """Generalized linear model for one neuron (or one response).

    Parameters
    ----------
    family : str or Family, default "poisson"
        ``"poisson"``, ``"gaussian"``, ``"binomial"``, ``"bernoulli"``, ``"gamma"``,
        ``"inverse_gaussian"``, ``"negative_binomial"`` or a family object such as
        ``xglm.Poisson(link="softplus")``.
    regularizer : None, str or Regularizer
        ``None``/``"UnRegularized"``, ``"Ridge"``, ``"Lasso"``, ``"ElasticNet"``,
        ``"GroupLasso"`` or a regularizer object.
    regularizer_strength : scalar, array, pytree, DataArray or tuple
        See :mod:`xglm._strength` for every accepted form.
    formula : str, optional
        An R-style formula, e.g. ``"spikes ~ bs(position, df=8) + speed"``; then call
        ``fit(data)``.
    fit_intercept : bool, default True
    solver : str, optional
        ``"irls"``, ``"lbfgs"``, ``"bfgs"``, ``"nonlinear_cg"`` or ``"fista"``; ``None``
        picks the fastest for the penalty and problem width: IRLS (proximal Newton,
        on working sets for wide L1 and group penalties) up to 1,000 features and at
        any width for L1 or group penalties, L-BFGS beyond for smooth ones. A working-set
        fit whose solution outgrows its set is finished by IRLS on every feature, or by
        FISTA when chosen automatically beyond 1,000 features (255 for groups);
        ``solver_`` names the solver that finished.
    solver_kwargs : dict, optional
        ``{"tol": ..., "maxiter": ...}``.
    dtype : {"float64", "float32"}, default "float64"
        Precision of the solve. Statistics are always computed in float64.
    na_action : {"raise", "drop"}, default "raise"
        Missing values in labelled input raise an error, or rows are dropped with a
        warning.

    Notes
    -----
    ``fit`` returns with the coefficients, ``n_iter_`` and ``converged_``, and warns of
    means on the boundary of the support. The statistics it reports (``deviance_``,
    ``scale_``, ``dof_resid_``, ``loglik_``, ``aic_``, ``bic_``, ``null_deviance_``,
    ``pearson_chi2_``, ``nobs_``, ``rank_``, ``objective_`` and the covariance behind
    ``summary()``) are computed together on the first use of any of them, from the data
    given to ``fit``: a design modified in place in between is refused with an error
    (pass ``X.copy()`` to keep it). Pickling and ``save`` compute them.

    Examples
    --------
    >>> import numpy as np, xglm
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2))
    >>> y = rng.poisson(np.exp(0.5 + X @ [0.3, -0.2]))
    >>> m = xglm.GLM().fit(X, y)
    >>> bool(m.converged_)
    True
    >>> m.coef_.shape, m.intercept_.shape
    ((2,), (1,))
    """

    _population = False

    def __init__(
        self,
        family="poisson",
        regularizer=None,
        regularizer_strength=None,
        formula=None,
        fit_intercept=True,
        solver=None,
        solver_kwargs=None,
        dtype="float64",
        na_action="raise",
    ):
        self.family = family
        self.regularizer = regularizer
        self.regularizer_strength = regularizer_strength
        self.formula = formula
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.solver_kwargs = solver_kwargs
        self.dtype = dtype
        self.na_action = na_action

    # ------------------------------------------------------------------ sklearn API
    @classmethod
    def _get_param_names(cls):
        import inspect

        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """Parameters of this estimator (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set parameters (scikit-learn protocol); returns ``self``."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise XglmError(
                    f"set_params: unknown parameter {key!r}; expected one of {valid}. Fix: "
                    "use one of these names (see get_params())."
                )
            setattr(self, key, value)
        return self

    def __sklearn_tags__(self):
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags

        return Tags(
            estimator_type="regressor",
            target_tags=TargetTags(required=True),
            regressor_tags=RegressorTags(),
            input_tags=InputTags(),
        )

    def __repr__(self) -> str:
        defaults = GLM().get_params() if type(self) is GLM else type(self)().get_params()
        items = []
        for k, v in self.get_params().items():
            dv = defaults.get(k)
            same = False
            try:
                same = v is dv or (type(v) is type(dv) and v == dv)
            except Exception:
                same = False
            if k == "family" or not same:
                items.append(f"{k}={v!r}")
        return f"{type(self).__name__}({', '.join(items)})"

    def _repr_html_(self) -> str:
        from ._repr import model_html

        return model_html(self)

    # ------------------------------------------------------------------ resolution
    def _resolved(self):
        family = get_family(self.family)
        reg = get_regularizer(self.regularizer)
        if self.dtype not in _DTYPES:
            raise XglmError(
                f"dtype: got {self.dtype!r}; expected 'float64' or 'float32'. Fix: "
                "dtype='float64' (default) or 'float32' for speed."
            )
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise XglmError(
                f"fit_intercept: got {self.fit_intercept!r}; expected True or False. Fix: "
                "fit_intercept=True (the default) to fit an intercept, False for none."
            )
        if self.na_action not in ("raise", "drop"):
            raise XglmError(
                f"na_action: got {self.na_action!r}; expected 'raise' or 'drop'. Fix: "
                "na_action='drop' to drop rows with missing values, 'raise' to be told."
            )
        kwargs = dict(self.solver_kwargs or {})
        unknown = set(kwargs) - _SOLVER_KWARGS
        if unknown:
            raise XglmError(
                f"solver_kwargs: unknown key(s) {sorted(unknown)}; expected keys among "
                f"{sorted(_SOLVER_KWARGS)}. Fix: e.g. solver_kwargs={{'tol': 1e-8, 'maxiter': 500}}."
            )
        _check_solver_kwargs(kwargs)
        return family, reg, kwargs

    def _feature_mask(self, design: Design, k, neuron_labels=None) -> np.ndarray:
        p = design.layout.n_features
        return np.ones((p,) if k is None else (p, k))

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, sample_weight=None, offset=None, init_params=None):
        """Fit the model.

        Parameters
        ----------
        X : array (n_samples, n_features), pytree of arrays, DataFrame, Dataset or data
            for the formula.
        y : array-like, optional
            The response; omitted when a formula names it.
        sample_weight : array-like (n_samples,), optional
            Prior weights (R's ``weights=``); for Binomial proportions, the trials.
        offset : array-like, optional
            Added to the linear predictor (e.g. ``log(exposure)``).
        init_params : (coef, intercept), optional
            Starting values with the structure of ``coef_`` and ``intercept_``. A
            neuron's start whose penalized objective is not finite, or is above the
            intercept-only model's, is replaced by the solver's default start (from far
            off, Newton steps on a log link gain about one unit of the linear
            predictor per iteration).

        Returns
        -------
        self
        """
        family, reg, kwargs = self._resolved()
        population = self._population
        design, response = prepare(
            X,
            y,
            formula=self.formula,
            population=population,
            na_action=self.na_action,
            defer_check=self.dtype == "float64",
        )
        check_intercept(design, self.fit_intercept)
        yv = response.y
        n = design.n_samples
        if yv.shape[0] != n:
            raise DesignError(
                f"y: has {yv.shape[0]} samples but X has {n}; expected the same number of "
                "rows. Fix: align X and y in time."
            )
        k = yv.shape[1] if population else None
        estimate_alpha = isinstance(family, NegativeBinomial) and family.estimate_alpha
        if estimate_alpha and k is not None:
            raise XglmError(
                "family: NegativeBinomial(alpha='estimate') is supported for GLM only. "
                "Fix: fit each neuron with GLM, or fix alpha for PopulationGLM."
            )
        w = self._weights(sample_weight, n, k, design, response, family)
        off = self._offset(offset, design, n, k, response.neuron_labels)
        family.check_y(yv, w)
        dtype = _DTYPES[self.dtype]
        penalty = resolve_penalty(
            reg,
            self.regularizer_strength,
            design.layout,
            k,
            dtype,
            neuron_labels=response.neuron_labels,
            short_names=design.extra.get("short_names"),
        )
        mask = self._feature_mask(design, k, response.neuron_labels)
        solver = resolve_solver(self.solver, penalty, design.layout.n_features)
        overflow = overflow_solver(self.solver, penalty, design.layout.n_features)
        # a design whose check of its values was left to the fit (see
        # design_from_arrays) is checked by the Newton solver's scores, or here
        deferred = design.extra.pop("deferred_check", False)
        p = design.layout.n_features
        if deferred and (estimate_alpha or not checks_design(solver, k, n, p, penalty)):
            self._check_design(design)
            deferred = False

        def stopping(name):
            """The solver's tolerance and iteration limit, given or its defaults."""
            default_tol = 1e-5 if self.dtype == "float32" else 1e-8 if name == "irls" else 1e-9
            tol = float(kwargs.get("tol", default_tol))
            return tol, int(kwargs.get("maxiter", 100 if name == "irls" else 10000))

        tol, maxiter = stopping(solver)
        beta0, b0, from_start = self._init(init_params, design, k, response.neuron_labels)

        # the core streams the design feature-major (see _device.feature_major)
        args = dict(
            X=feature_major(design.X, dtype),
            **core_arrays(yv, w, off, dtype),
            mask=np.asarray(mask, dtype),
        )

        # an unpenalized Newton fit also returns the rank screen of its checks
        screen = 0 if estimate_alpha else screen_stride(n, design.layout.n_features, penalty)

        def run(fam, beta0, b0, from_start):
            if isinstance(fam, NegativeBinomial) and not fam.estimate_alpha:
                # alpha as an array is traced, so a new alpha does not recompile
                fam = NegativeBinomial(alpha=jnp.asarray(fam.alpha, dtype), link=fam.link)
            return fit_arrays(
                args["X"],
                args["y"],
                args["w"],
                args["offset"],
                args["mask"],
                fam,
                penalty,
                np.asarray(beta0, dtype),
                np.asarray(b0, dtype),
                from_start,
                solver,
                tol,
                maxiter,
                bool(self.fit_intercept),
                (overflow, *stopping(overflow)),
                screen,
            )

        if estimate_alpha:
            out, family = fit_alternating(
                run,
                family,
                args["X"],
                args["y"],
                args["w"],
                args["offset"],
                beta0,
                b0,
                from_start,
            )
        else:
            out = run(family, beta0, b0, from_start)

        if deferred and not np.all(np.asarray(out.design_finite)):
            # the scores at the start were not finite: a NaN or inf in the design is
            # reported as by an up-front check (the fit ran one iteration on it)
            self._check_design(design)
            deferred = False
        if out.overflow is not None and np.any(np.asarray(out.overflow)):
            # the solution outgrew the working sets: the fit was finished by this solver
            solver = overflow
        coef = np.asarray(out.coef, float)
        intercept = np.atleast_1d(np.asarray(out.intercept, float))
        if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
            raise XglmError(
                f"fit: the {solver!r} solver returned non-finite coefficients. Fix: scale "
                "the predictors, add a Ridge penalty, or try solver='irls' with a larger "
                "solver_kwargs['maxiter']."
            )
        if not self.fit_intercept:
            intercept = np.zeros_like(intercept)
        solution = Solution(
            coef, intercept, np.atleast_1d(out.n_iter), np.atleast_1d(out.converged)
        )
        # the fitted data and model, as the checks and the statistics take them
        fitted = (design, yv, w, off, mask, family, penalty, k, bool(self.fit_intercept))
        snap = snapshot(args["X"])
        # the sum the statistics check the design against, should they need it after
        # the fit's copy is gone: taken from that copy when it is written over (without
        # a pooled copy, fit_checks takes it now)
        checksum = watch(snap) if deferred and snap is not None else None
        checks = fit_checks(
            *fitted,
            solution,
            args=args,
            tol=tol,
            distance=out.boundary_distance,
            screened=out.screened,
            checksum=checksum,
        )
        self.family_ = family
        self.regularizer_ = reg
        self.solver_ = solver
        self.penalty_ = penalty
        # the input's rows before na_action='drop' served the weights and offsets alone
        design.extra.pop("samples_in", None)
        self.design_ = design
        self.response_ = response
        self.feature_mask_ = mask
        self._coef_flat, self._intercept, n_iter, converged = checks.solution
        self.n_iter_ = scalar_or(n_iter, k)
        self.converged_ = scalar_or(converged, k)
        # the reported statistics are computed on first use of any of them
        self._defer_statistics(
            functools.partial(
                model_statistics,
                *fitted,
                checks,
                extra_params=int(estimate_alpha),
                snapshot=snap,
            )
        )
        self._alpha_estimated = estimate_alpha
        if estimate_alpha:
            self.alpha_ = family.alpha
        elif "alpha_" in self.__dict__:
            del self.alpha_
        boundary = checks.boundary
        if np.any(boundary):
            which = ""
            if k is not None:
                names = [str(v) for v in np.asarray(_results._neuron_labels(self))[boundary]]
                more = ", ..." if len(names) > 10 else ""
                which = f" for {len(names)} of {k} neurons ({', '.join(names[:10])}{more})"
            warnings.warn(
                f"The fitted means reach the boundary of the {family.name} family's "
                f"support{which} ({family.boundary_description}); the maximum-likelihood "
                "estimates are infinite there, so those coefficients and standard errors "
                "are not meaningful. Fix: add a Ridge penalty (regularizer='Ridge'), or "
                "drop the predictors or neurons concerned.",
                BoundaryWarning,
                stacklevel=2,
            )
        # a fit on the boundary is reported above, not as a convergence failure
        converged = converged | boundary
        if not np.all(converged):
            which = "" if k is None else f" for {int((~converged).sum())} of {k} neurons"
            warnings.warn(
                f"The {solver!r} solver did not converge{which} within maxiter="
                f"{maxiter} iterations. Fix: raise solver_kwargs['maxiter'], loosen "
                "solver_kwargs['tol'], standardise the predictors, or add a penalty.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    @staticmethod
    def _check_design(design: Design) -> None:
        """Check the design's values now (:class:`DesignError` on a NaN or inf) and
        keep its sum for the statistics' check (see :func:`model_statistics`)."""
        design.extra["checksum"] = check_finite(design.X, "X", design.layout.feature_labels)
        return False

    def _weights(self, sample_weight, n, k, design, response=None, family=None):
        w = self._sample_weights(sample_weight, n, k, design)
        trials = None if response is None else response.attrs.get("trials")
        if trials is None:
            return w
        # a cbind(successes, failures) response: the totals are binomial trials, times
        # any prior weights (as R's glm)
        family = family if family is not None else self.family_
        if family.name != "binomial":
            raise DesignError(
                f"formula: a cbind(successes, failures) response needs family='binomial'; "
                f"got family={family.name!r}. Fix: pass family='binomial'."
            )
        return w * trials

    def _sample_weights(self, sample_weight, n, k, design=None):
        if sample_weight is None:
            w = np.ones(n)
        else:
            if design is not None:
                sample_weight = sample_array(sample_weight, design, "sample_weight")
            w = np.asarray(sample_weight, dtype=float)
            if w.ndim != 1 or w.shape[0] != n:
                raise DesignError(
                    f"sample_weight: got shape {w.shape}; expected ({n},), one weight per "
                    "sample. Fix: pass a 1-D array of prior weights (trials for Binomial)."
                )
            if not np.all(np.isfinite(w)) or np.any(w < 0):
                raise DesignError(
                    "sample_weight: got negative or non-finite weight(s); expected finite "
                    "weights >= 0. Fix: use 0 to exclude a sample."
                )
            if not np.any(w > 0):
                raise DesignError(
                    "sample_weight: all weights are 0; expected some > 0. Fix: give the "
                    "samples to fit a weight > 0 (0 excludes a sample)."
                )
        # a population shares the weights: (n, 1) broadcasts against y (n, k)
        return w if k is None else w[:, None]

    def _offset(self, offset, design, n, k, neurons=None):
        off = design.offset
        if offset is not None:
            if k is not None:
                check_neuron_labels(offset, neurons, "offset")
            user = np.asarray(sample_array(offset, design, "offset"), dtype=float)
            shape_ok = user.shape == (n,) or (k is not None and user.shape == (n, k))
            if not shape_ok:
                exp = f"({n},)" + (f" or ({n}, {k})" if k is not None else "")
                raise DesignError(
                    f"offset: got shape {user.shape}; expected {exp}. Fix: one value per "
                    "sample on the linear-predictor scale (e.g. np.log(exposure))."
                )
            if not np.all(np.isfinite(user)):
                raise DesignError(
                    "offset: found NaN or infinite value(s); expected finite numbers. Fix: "
                    "an exposure of 0 gives log(0) = -inf; drop those samples."
                )
            off = user if off is None else off + user
        if off is None:
            off = np.zeros(n)
        if k is not None and off.ndim == 1:
            off = off[:, None]
        return off

    def _init(self, init_params, design, k, neuron_labels=None):
        p = design.layout.n_features
        shape = (p,) if k is None else (p, k)
        bshape = () if k is None else (k,)
        if init_params is None:
            return np.zeros(shape), np.zeros(bshape), True
        if not isinstance(init_params, (tuple, list)) or len(init_params) != 2:
            raise XglmError(
                f"init_params: got {type(init_params).__name__}"
                f"{' of length ' + str(len(init_params)) if hasattr(init_params, '__len__') else ''}; "
                "expected a 2-tuple (coef, intercept). Fix: init_params=(coef, intercept)."
            )
        coef, icpt = init_params
        if type(icpt).__name__ == "DataArray" and k is not None:
            matched, have, want = by_neuron_label(icpt, neuron_labels, k)
            if matched is None:
                raise XglmError(
                    f"init_params[1]: the neuron labels {have[:6]} do not match the "
                    f"response's neurons {want[:6]}. Fix: label the intercepts like "
                    "intercept_."
                )
            icpt = matched
        flat = _results.flatten_coef(
            coef, design.layout, k, what="init_params[0]", neuron_labels=neuron_labels
        )
        try:
            b = np.asarray(icpt, dtype=float).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise XglmError(
                f"init_params[1]: got {icpt!r}; expected numbers. Fix: an array of shape "
                f"({k or 1},)."
            ) from exc
        if b.shape != ((k or 1),):
            raise XglmError(
                f"init_params[1]: got shape {np.shape(icpt)}; expected ({k or 1},). Fix: "
                "one intercept per neuron."
            )
        return flat, (b[0] if k is None else b), False


class PopulationGLM(GLM):
    """GLMs for a population of neurons fitted together (independent objectives).

    ``y`` has shape ``(n_samples, n_neurons)``. ``feature_mask`` selects the
    predictors of each neuron: an array ``(n_features, n_neurons)`` of 0/1, or a pytree
    matching ``X`` with one flag per leaf per neuron (shape ``(n_neurons,)``). Masked
    coefficients are exactly zero.

    Examples
    --------
    >>> import numpy as np, xglm
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> W = np.array([[0.5, 0.0], [-0.5, -0.5], [0.0, 1.0]])
    >>> y = rng.poisson(np.exp(X @ W))
    >>> mask = np.array([[1, 0], [1, 1], [0, 1]])
    >>> xglm.PopulationGLM(feature_mask=mask).fit(X, y).coef_.shape
    (3, 2)
    """

    _population = True

    def __init__(
        self,
        family="poisson",
        regularizer=None,
        regularizer_strength=None,
        formula=None,
        fit_intercept=True,
        solver=None,
        solver_kwargs=None,
        dtype="float64",
        na_action="raise",
        feature_mask=None,
    ):
        super().__init__(
            family=family,
            regularizer=regularizer,
            regularizer_strength=regularizer_strength,
            formula=formula,
            fit_intercept=fit_intercept,
            solver=solver,
            solver_kwargs=solver_kwargs,
            dtype=dtype,
            na_action=na_action,
        )
        self.feature_mask = feature_mask

    def _feature_mask(self, design: Design, k, neuron_labels=None) -> np.ndarray:
        return _results.feature_mask_array(
            self.feature_mask, design.layout, k, design.extra.get("short_names"), neuron_labels
        )
