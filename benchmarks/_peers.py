"""One adapter per package: its settings ladder and a runner for a problem spec.

An adapter has

* ``ladder(spec)``: settings from loose to tight; the worker takes the first one whose
  relative objective gap is below 1e-6 (equal accuracy at each package's best speed),
* ``make(spec, X, y, info, setting)``: returns a zero-argument callable doing one full
  fit and returning ``(coef, intercept)`` as numpy arrays. Preparation a user does once
  (a package's preferred memory layout or dtype, statsmodels' constant column) happens
  here, outside the timed call; everything the package's ``fit`` does is timed.

Strengths are given in xglm's convention (``1/2 mean deviance + P``) and mapped:

* scikit-learn ``PoissonRegressor(alpha)``: ``1/(2n) sum dev + alpha/2 |w|^2`` (same alpha);
  ``Lasso(alpha)``: ``1/(2n) |y - Xw|^2 + alpha |w|_1`` (same alpha);
* glum ``GeneralizedLinearRegressor(alpha, l1_ratio)``: ``1/(2 sum s) dev + alpha l1 |w|_1
  + alpha (1 - l1) / 2 |w|^2`` (same alpha; l1_ratio 0 = Ridge, 1 = Lasso);
* statsmodels ``fit_regularized(L1_wt=0, alpha)``: ``-loglik/n + alpha/2 |w|^2``: the same
  alpha per coefficient and 0 for the constant (it would otherwise be penalized);
* skglm ``Poisson``: ``mean(exp(Xw) - y Xw)``, ``Quadratic``: ``1/(2n) |y - Xw|^2``, ``L1(alpha)``,
  ``WeightedGroupL2(alpha, weights=sqrt(p_g))`` (same alpha);
* NeMoS: Poisson loss ``mean(mu - y log mu)`` (same alpha); Gaussian loss is the mean
  squared error *without* the 1/2, so its strength is ``2 alpha`` (its objective is twice
  xglm's); Ridge ``1/2 alpha |w|^2``, Lasso ``alpha |w|_1``, GroupLasso
  ``alpha sum sqrt(p_g) |w_g|`` (same as xglm).
"""

from __future__ import annotations

import warnings

import numpy as np

TOLS = [1e-4, 1e-6, 1e-8, 1e-10, 1e-12]


def _quiet():
    warnings.filterwarnings("ignore")


# ----------------------------------------------------------------------------- xglm
class Xglm:
    """xglm on the design in its preferred layout, column-major (``np.asfortranarray``, as
    glum, skglm and scikit-learn's coordinate descent are given theirs): the solvers read
    it without a transpose. ``layout="C"`` passes the row-major NumPy design, which xglm
    transposes inside the timed fit; ``layout="DataFrame"`` a pandas DataFrame with one
    named column per feature. Each is built outside the timed call."""

    def __init__(self, dtype="float64", solver=None, reference=False, layout="F"):
        self.dtype, self.solver, self.reference = dtype, solver, reference
        self.layout = layout
        self._extra = {}

    def ladder(self, spec):
        if self.reference:
            maxiter = 1000 if self.solver in (None, "irls") else 200000
            return [{"tol": 1e-13, "maxiter": maxiter}]
        tols = TOLS if self.dtype == "float64" else [1e-4, 1e-5, 1e-6, 1e-7]
        return [{"tol": t} for t in tols]

    def make(self, spec, X, y, info, setting):
        _quiet()
        import xglm

        pen = spec.get("penalty")
        reg = {None: None, "ridge": "Ridge", "lasso": "Lasso"}.get(pen)
        if pen == "group":
            reg = xglm.GroupLasso(mask=info["groups"])
        cls = xglm.PopulationGLM if spec.get("k") else xglm.GLM
        kwargs = dict(
            family=spec["family"],
            regularizer=reg,
            regularizer_strength=info["alpha"] if pen else None,
            solver=self.solver,
            solver_kwargs=dict(setting),
            dtype=self.dtype,
        )
        self._model = None
        if self.layout == "F":
            X, y = np.asfortranarray(X), np.asfortranarray(y)
        elif self.layout == "DataFrame":
            import pandas as pd

            X = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])

        def run():
            m = cls(**kwargs).fit(X, y)
            self._model = m
            return np.asarray(m.coef_), np.asarray(m.intercept_)

        self._run = run
        return run

    # compile check around the warm calls
    def before_warm(self, extra):
        import jax

        from xglm._solvers import TRACE_COUNT

        self._trace0 = dict(TRACE_COUNT)
        self._compiles = [0]
        if not getattr(self, "_listening", False):

            def listener(event, duration, **kw):
                if "backend_compile" in event:
                    self._compiles[0] += 1

            jax.monitoring.register_event_duration_secs_listener(listener)
            self._listening = True

    def after_warm(self, extra):
        from xglm._solvers import TRACE_COUNT

        extra["trace_delta"] = {k: TRACE_COUNT[k] - self._trace0.get(k, 0) for k in TRACE_COUNT}
        extra["compiles"] = self._compiles[0]
        m = self._model
        if m is not None:
            # the statistics a fit reports (deviance, AIC, standard errors) are computed
            # on their first use, outside the timed fit: timed here, first (compiling)
            # and warm (on one more fit)
            import time

            start = time.perf_counter()
            m.deviance_, m.bse_  # noqa: B018
            extra["statistics_first_s"] = time.perf_counter() - start
            self._run()
            start = time.perf_counter()
            self._model.deviance_, self._model.bse_  # noqa: B018
            extra["statistics_s"] = time.perf_counter() - start
            extra["n_iter"] = np.asarray(m.n_iter_).tolist()
            extra["converged"] = np.asarray(m.converged_).tolist()
            extra["solver"] = getattr(m, "solver_", None)

    def report(self):
        return {}


# ---------------------------------------------------------------------- scikit-learn
class Sklearn:
    def __init__(self, solver):
        self.solver = solver

    def ladder(self, spec):
        return [{"tol": t} for t in TOLS]

    def make(self, spec, X, y, info, setting):
        _quiet()
        from sklearn.linear_model import Lasso, PoissonRegressor

        pen = spec.get("penalty")
        alpha = info["alpha"] if pen else 0.0
        if self.solver == "cd":  # Gaussian Lasso by coordinate descent
            Xf = np.asfortranarray(X)

            def make_model():
                return Lasso(alpha=alpha, tol=setting["tol"], max_iter=1_000_000)

            Xin = Xf
        else:

            def make_model():
                return PoissonRegressor(
                    alpha=alpha, solver=self.solver, tol=setting["tol"], max_iter=100_000
                )

            Xin = X

        def fit1(yj):
            m = make_model().fit(Xin, yj)
            return m.coef_, m.intercept_

        if spec.get("k"):

            def run():
                out = [fit1(y[:, j]) for j in range(y.shape[1])]
                return np.stack([o[0] for o in out], 1), np.array([o[1] for o in out])

            return run
        return lambda: fit1(y)


# ------------------------------------------------------------------------------ glum
class Glum:
    def ladder(self, spec):
        return [{"gradient_tol": t} for t in TOLS]

    def make(self, spec, X, y, info, setting):
        _quiet()
        from glum import GeneralizedLinearRegressor

        pen = spec.get("penalty")
        if pen == "group":
            raise NotImplementedError("glum has no group-lasso penalty")
        fam = {"poisson": "poisson", "gaussian": "normal"}[spec["family"]]
        alpha = info["alpha"] if pen else 0.0
        l1 = 1.0 if pen == "lasso" else 0.0
        Xf = np.asfortranarray(X)

        def fit1(yj):
            m = GeneralizedLinearRegressor(
                family=fam,
                alpha=alpha,
                l1_ratio=l1,
                gradient_tol=setting["gradient_tol"],
                max_iter=1000,
            ).fit(Xf, yj)
            return m.coef_, m.intercept_

        if spec.get("k"):

            def run():
                out = [fit1(y[:, j]) for j in range(y.shape[1])]
                return np.stack([o[0] for o in out], 1), np.array([o[1] for o in out])

            return run
        return lambda: fit1(y)


# ----------------------------------------------------------------------- statsmodels
class Statsmodels:
    def ladder(self, spec):
        if spec.get("penalty") == "ridge":
            # fit_regularized(L1_wt=0) is scipy.optimize.minimize without a tolerance
            return [{"opt_method": "bfgs"}, {"opt_method": "l-bfgs-b"}, {"opt_method": "newton-cg"}]
        return [{"tol": t} for t in TOLS]

    def make(self, spec, X, y, info, setting):
        _quiet()
        import statsmodels.api as sm

        if spec.get("k"):
            raise NotImplementedError("statsmodels: single response only")
        fam = {"poisson": sm.families.Poisson(), "gaussian": sm.families.Gaussian()}[spec["family"]]
        Xc = sm.add_constant(X, prepend=True, has_constant="add")
        pen = spec.get("penalty")
        if pen == "ridge":
            avec = np.full(Xc.shape[1], info["alpha"])
            avec[0] = 0.0

            def run():
                r = sm.GLM(y, Xc, family=fam).fit_regularized(
                    method="elastic_net", alpha=avec, L1_wt=0.0, opt_method=setting["opt_method"]
                )
                return r.params[1:], r.params[:1]

            return run
        if pen is not None:
            raise NotImplementedError("statsmodels adapter: Ridge or unpenalized only")

        def run():
            r = sm.GLM(y, Xc, family=fam).fit(tol=setting["tol"], maxiter=1000)
            return r.params[1:], r.params[:1]

        return run


# ----------------------------------------------------------------------------- NeMoS
class Nemos:
    def __init__(self, dtype="float64"):
        self.dtype = dtype

    def ladder(self, spec):
        # NeMoS' (optimistix) stopping test often does not trigger before maxiter, so the
        # iteration cap is part of the ladder: loose and short -> tight and long
        tols = TOLS if self.dtype == "float64" else [1e-4, 1e-5, 1e-6, 1e-7, 1e-8]
        caps = [50, 150, 500, 1500, 5000]
        return [{"tol": t, "maxiter": m} for t, m in zip(tols, caps)]

    def make(self, spec, X, y, info, setting):
        _quiet()
        import jax

        if self.dtype == "float64":
            jax.config.update("jax_enable_x64", True)
        import nemos as nmo

        pen = spec.get("penalty")
        gauss = spec["family"] == "gaussian"
        obs = "Gaussian" if gauss else "Poisson"
        strength = info["alpha"] * (2.0 if gauss else 1.0) if pen else None
        if pen is None:
            reg, solver = "UnRegularized", "LBFGS"
        elif pen == "ridge":
            reg, solver = "Ridge", "LBFGS"
        elif pen == "lasso":
            reg, solver = "Lasso", "ProximalGradient"
        else:
            groups = info["groups"]
            mask = (groups[None, :] == np.unique(groups)[:, None]).astype(float)
            reg, solver = nmo.regularizer.GroupLasso(mask=mask), "ProximalGradient"
        cls = nmo.glm.PopulationGLM if spec.get("k") else nmo.glm.GLM
        dt = np.float64 if self.dtype == "float64" else np.float32
        Xd, yd = np.ascontiguousarray(X, dt), np.ascontiguousarray(y, dt)

        def run():
            m = cls(
                observation_model=obs,
                regularizer=reg,
                regularizer_strength=strength,
                solver_name=solver,
                solver_kwargs=dict(setting),
            ).fit(Xd, yd)
            return np.asarray(m.coef_, float), np.asarray(m.intercept_, float)

        return run


# ----------------------------------------------------------------------------- skglm
class Skglm:
    def ladder(self, spec):
        return [{"tol": t} for t in TOLS]

    def make(self, spec, X, y, info, setting):
        _quiet()
        from skglm import GeneralizedLinearEstimator, GroupLasso, Lasso
        from skglm.datafits import Poisson, PoissonGroup
        from skglm.penalties import L1, WeightedGroupL2
        from skglm.solvers import GroupProxNewton, ProxNewton
        from skglm.utils.data import grp_converter

        pen, fam, alpha, tol = spec.get("penalty"), spec["family"], info["alpha"], setting["tol"]
        Xf = np.asfortranarray(X)
        if pen == "lasso" and fam == "poisson":

            def model():
                return GeneralizedLinearEstimator(
                    datafit=Poisson(),
                    penalty=L1(alpha),
                    solver=ProxNewton(tol=tol, fit_intercept=True, max_iter=200),
                )

        elif pen == "lasso":

            def model():
                return Lasso(alpha=alpha, tol=tol, fit_intercept=True, max_iter=1000)

        elif pen == "group":
            gs = spec["group_size"]
            ng = X.shape[1] // gs
            weights = np.full(ng, np.sqrt(gs))
            if fam == "poisson":
                grp_ptr, grp_indices = grp_converter(gs, X.shape[1])

                def model():
                    return GeneralizedLinearEstimator(
                        datafit=PoissonGroup(grp_ptr, grp_indices),
                        penalty=WeightedGroupL2(alpha, weights, grp_ptr, grp_indices),
                        solver=GroupProxNewton(tol=tol, fit_intercept=True, max_iter=200),
                    )

            else:

                def model():
                    return GroupLasso(
                        groups=gs,
                        alpha=alpha,
                        weights=weights,
                        tol=tol,
                        fit_intercept=True,
                        max_iter=1000,
                    )

        else:
            raise NotImplementedError("skglm adapter: Lasso and GroupLasso only")

        def run():
            m = model().fit(Xf, y)
            return np.asarray(m.coef_).ravel(), np.atleast_1d(m.intercept_)

        return run


class Tight:
    """Only the tightest setting of an adapter (for reference solves)."""

    def __init__(self, inner):
        self.inner = inner

    def ladder(self, spec):
        return self.inner.ladder(spec)[-1:]

    def make(self, *args):
        return self.inner.make(*args)


ADAPTERS = {
    "xglm": Xglm(),
    "xglm-float32": Xglm(dtype="float32"),
    "xglm-rowmajor": Xglm(layout="C"),
    "xglm-DataFrame": Xglm(layout="DataFrame"),
    "xglm-lbfgs": Xglm(solver="lbfgs"),
    "xglm-fista": Xglm(solver="fista"),
    "xglm-ref": Xglm(reference=True),
    "sklearn-lbfgs": Sklearn("lbfgs"),
    "sklearn-newton-cholesky": Sklearn("newton-cholesky"),
    "sklearn-cd": Sklearn("cd"),
    "glum": Glum(),
    "glum-ref": Tight(Glum()),
    "skglm-ref": Tight(Skglm()),
    "statsmodels": Statsmodels(),
    "nemos-float64": Nemos("float64"),
    "nemos-float32": Nemos("float32"),
    "skglm": Skglm(),
}
