"""What a fitted estimator offers: labelled coefficients, predictions, scores,
simulation, the covariance and summary tables, and saving.

:class:`FittedModel` holds these methods for :class:`~xglm._model.GLM` and
:class:`~xglm._model.PopulationGLM`. They read the fitted attributes that ``fit`` sets
(``design_``, ``family_``, ``_coef_flat``, ``_intercept``, the covariance, deferred or
not, and the statistics) and the estimator's ``_offset`` (an offset as the model takes
it), and translate results into the structure of the training input through
:mod:`xglm._results`.
"""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np
import pandas as pd

from . import _results
from ._design import prepare_new
from ._scores import score_model
from .errors import NotFittedError, SelectionInferenceWarning, XglmError

__all__ = ["FittedModel", "STATISTICS"]


class _Statistic:
    """A fitted statistic: computed, with every other, on the first use of any of them
    (see :meth:`FittedModel._defer_statistics`), then an ordinary attribute."""

    def __init__(self, doc: str):
        self.__doc__ = doc

    def __set_name__(self, owner, name: str):
        self.name = name

    def __get__(self, model, owner=None):
        if model is None:
            return self
        model._statistics_now()
        try:
            return model.__dict__[self.name]
        except KeyError:
            raise NotFittedError(
                f"{type(model).__name__} is not fitted yet; expected a fitted model before "
                f"using {self.name}. Fix: call fit(...) first."
            ) from None


class FittedModel:
    """The fitted estimator's outputs (a base of :class:`~xglm._model.GLM`)."""

    scale_ = _Statistic(
        "Dispersion: Pearson chi^2 / dof_resid_ where the family estimates it, else 1."
    )
    dof_resid_ = _Statistic("Residual degrees of freedom: observations less parameters.")
    rank_ = _Statistic("Number of estimated (active) parameters, the intercept included.")
    deviance_ = _Statistic("Deviance, with the prior weights.")
    objective_ = _Statistic("The penalized objective at the returned coefficients.")
    null_deviance_ = _Statistic("Deviance of the intercept-only model (with the offset).")
    pearson_chi2_ = _Statistic("Pearson chi^2 statistic.")
    loglik_ = _Statistic("Log-likelihood with all constants, as R's logLik.glm.")
    null_loglik_ = _Statistic("Log-likelihood of the intercept-only model.")
    nobs_ = _Statistic("Number of observations with a non-zero weight.")
    null_intercept_ = _Statistic("Intercept of the intercept-only model.")
    _loglik_scale = _Statistic("Dispersion at which loglik_ is evaluated (R's).")
    _null_loglik_scale = _Statistic("Dispersion at which null_loglik_ is evaluated (R's).")
    aic_ = _Statistic("Akaike information criterion, as R's AIC.")
    bic_ = _Statistic("Bayesian information criterion, as R's BIC.")

    def _defer_statistics(self, compute) -> None:
        """Drop the statistics of an earlier fit; ``compute()`` returns this fit's
        (:class:`~xglm._statistics.ModelStatistics`) on their first use."""
        for name in (*STATISTICS, "_cov_value", "_cov_pending"):
            self.__dict__.pop(name, None)
        self._statistics_pending = compute

    def _statistics_now(self) -> None:
        """Compute the deferred statistics, if any, and set them as attributes."""
        compute = self.__dict__.get("_statistics_pending")
        if compute is None:
            return
        st = compute()
        self.__dict__.update(st.attributes)
        self._cov_value, self._cov_pending = st.cov, st.cov_pending
        self._statistics_pending = None

    def __getstate__(self) -> dict:
        """Pickling (``pickle``, ``joblib``, ``copy.deepcopy``): statistics and a
        covariance deferred to first use are computed now, since pending computations
        cannot be pickled."""
        self._statistics_now()
        state = self.__dict__.copy()
        if state.get("_cov_pending") is not None:
            state["_cov_value"] = self._cov
            state["_cov_pending"] = None
        return state

    @property
    def _cov(self):
        """Covariance of (intercept, coefficients), computed on first use when deferred."""
        self._statistics_now()
        value = self.__dict__.get("_cov_value")
        if value is None and self.__dict__.get("_cov_pending") is not None:
            value = self._cov_pending()
            self._cov_value = value
            self._cov_pending = None
        if value is None:
            raise NotFittedError(
                f"{type(self).__name__} has no covariance yet; expected a fitted model. "
                "Fix: call fit(...) first."
            )
        return value

    @_cov.setter
    def _cov(self, value):
        self._cov_value = np.asarray(value)
        self._cov_pending = None

    # ------------------------------------------------------------------ outputs
    def _check_fitted(self, what="this method"):
        if not hasattr(self, "_coef_flat"):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet; expected a fitted model before "
                f"using {what}. Fix: call fit(...) first."
            )

    @property
    def coef_(self):
        """Coefficients with the structure of ``X`` (array, pytree or DataArray)."""
        self._check_fitted("coef_")
        return _results.coef_out(self)

    @property
    def intercept_(self):
        """Intercept: shape ``(1,)`` for GLM, ``(n_neurons,)`` for PopulationGLM."""
        self._check_fitted("intercept_")
        return _results.intercept_out(self)

    def _linear_predictor(self, X, offset=None):
        self._check_fitted("predict")
        design = prepare_new(self.design_, X, na_action=self.na_action)
        n = design.n_samples
        k = self._n_neurons
        off = self._offset(offset, design, n, k, self.response_.neuron_labels)
        eta = design.X @ self._coef_flat + (
            self._intercept if k is not None else self._intercept[0]
        )
        return design, eta + off

    @property
    def _n_neurons(self):
        return self._coef_flat.shape[1] if self._coef_flat.ndim == 2 else None

    def predict(self, X, offset=None, type="response"):
        """Predicted mean (``type="response"``) or linear predictor (``type="link"``)."""
        if type not in ("response", "link"):
            raise XglmError(
                f"type: got {type!r}; expected 'response' (the mean) or 'link' (the linear "
                "predictor). Fix: type='link' for the linear predictor, the default for the "
                "mean."
            )
        design, eta = self._linear_predictor(X, offset)
        out = eta if type == "link" else np.asarray(self.family_.link.inverse(jnp.asarray(eta)))
        return _results.samples_out(self, design, np.asarray(out))

    def score(
        self,
        X,
        y=None,
        sample_weight=None,
        offset=None,
        score_type="log-likelihood",
        null="train",
        per_neuron=False,
    ):
        """Goodness of fit on ``(X, y)``, training or held-out; higher is better.

        Parameters
        ----------
        X, y, sample_weight, offset
            Data to score, as for :meth:`GLM.fit <xglm.GLM.fit>` (``y`` omitted with a formula).
        score_type : str, default "log-likelihood"
            ``"log-likelihood"`` (mean log-likelihood per observation, R's constants),
            ``"deviance"`` (minus the mean unit deviance), ``"pseudo-r2-McFadden"``
            (``1 - LL/LL_null``), ``"pseudo-r2-Cohen"`` and ``"deviance-explained"``
            (both ``1 - D/D_null``), ``"bits-per-spike"``
            (``(LL - LL_null) / (log 2 * n_spikes)``).
        null : {"train", "data"}, default "train"
            The null (intercept-only) model: fitted on the training data (R's null
            model, ``null_intercept_``), or on the scored data itself.
        per_neuron : bool, default False
            Population fits: one score per neuron (a DataArray over the neurons for
            labelled input), or by default one score pooled over the neurons (every
            sum of the definition also runs over the neurons, as NeMoS'
            ``PopulationGLM.score``: what scikit-learn's model selection needs). No
            effect for one neuron.

        Returns
        -------
        float, or with ``per_neuron=True`` one value per neuron of a population.

        Examples
        --------
        >>> import numpy as np, xglm
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(400, 2))
        >>> y = rng.poisson(np.exp(0.2 + X @ [0.5, -0.3]))
        >>> m = xglm.GLM().fit(X[:300], y[:300])
        >>> train = m.score(X[:300], y[:300], score_type="deviance-explained")
        >>> bool(np.isclose(train, 1 - m.deviance_ / m.null_deviance_))
        True
        >>> bool(m.score(X[300:], y[300:], score_type="bits-per-spike") > 0)
        True
        """
        return score_model(self, X, y, sample_weight, offset, score_type, null, per_neuron)

    def simulate(self, X, random_key=0, offset=None, sample_weight=None):
        """Draw responses from the fitted model at ``X``; returns ``(samples, mean)``.

        Parameters
        ----------
        X : as for :meth:`GLM.fit <xglm.GLM.fit>`
        random_key : int or jax.random key, default 0
        offset : array-like, optional
        sample_weight : array-like (n_samples,), optional
            Prior weights of the simulated samples, as R's ``simulate`` uses a fit's:
            the number of trials for Binomial (whole numbers; each draw is a proportion
            of its trials), a precision for Gaussian, Gamma and inverse Gaussian (the
            variance is ``scale_ * V(mu) / w``). Poisson and negative binomial counts
            do not depend on them. Default: 1 for every sample.

        Examples
        --------
        >>> import numpy as np, xglm
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(300, 2))
        >>> trials = rng.integers(1, 20, size=300)
        >>> succ = rng.binomial(trials, 1 / (1 + np.exp(-X @ [0.5, -0.5])))
        >>> m = xglm.GLM(family="binomial").fit(X, succ / trials, sample_weight=trials)
        >>> draws, mean = m.simulate(X, sample_weight=trials)
        >>> bool(np.allclose(draws * trials, np.round(draws * trials)))
        True
        """
        import jax

        design, eta = self._linear_predictor(X, offset)
        mu = self.family_.link.inverse(jnp.asarray(eta))
        if isinstance(random_key, (int, np.integer)) and not isinstance(random_key, bool):
            key = jax.random.PRNGKey(int(random_key))
        elif isinstance(random_key, jax.Array):
            key = random_key
        else:
            raise XglmError(
                f"random_key: got {random_key!r}; expected an integer seed or a JAX random "
                "key. Fix: e.g. random_key=0, or random_key=jax.random.PRNGKey(0)."
            )
        scale = jnp.asarray(self.scale_)
        w = self._sample_weights(sample_weight, design.n_samples, self._n_neurons, design)
        if self.family_.name == "binomial" and not np.all(w == np.round(w)):
            raise XglmError(
                "sample_weight: got non-integer weights for a Binomial simulation; expected "
                "whole numbers of trials. Fix: pass the trials of each sample, as R's "
                "simulate does (it cannot simulate non-integer prior weights either)."
            )
        w = jnp.broadcast_to(jnp.asarray(w, mu.dtype), mu.shape)
        sample = self.family_.sample(key, mu, scale, w)
        return (
            _results.samples_out(self, design, np.asarray(sample)),
            _results.samples_out(self, design, np.asarray(mu)),
        )

    def cov_params(self):
        """Covariance of (intercept, coefficients) as a labelled DataFrame (per neuron:
        a DataArray with dims ``(neuron, parameter, parameter_2)``).

        For a penalized fit it is the inverse of the penalized information (with an L1
        or group penalty, on the nonzero coefficients, warning with
        :class:`~xglm.errors.SelectionInferenceWarning`).
        """
        self._check_fitted("cov_params")
        self._warn_selection("cov_params")
        return _results.cov_out(self)

    def _selects_features(self) -> bool:
        """Whether the fit's penalty has a positive L1 or group strength."""
        pen = self.penalty_
        return bool(
            (pen.has_l1 and np.any(np.asarray(pen.l1) > 0))
            or (pen.has_group and np.any(np.asarray(pen.group_alpha) > 0))
        )

    def _warn_selection(self, what: str) -> None:
        """Warn when the fit's L1 or group penalty selected its features: inference that
        holds the selection fixed is not valid inference."""
        if self._selects_features():
            warnings.warn(
                f"{what}: the fit's {self.regularizer_!r} penalty selects features; its "
                "standard errors, tests and intervals hold that selection fixed (NaN for "
                "the coefficients at zero) and ignore it, so p-values are too small and "
                "intervals too narrow. Fix: for valid inference, refit the selected "
                "features with regularizer=None on data not used to select them; "
                "silence this with warnings.simplefilter('ignore', "
                "xglm.errors.SelectionInferenceWarning).",
                SelectionInferenceWarning,
                stacklevel=3,
            )

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Coefficient table: ``coef, std_err, z, p_value, ci_lower, ci_upper``.

        One row per parameter (per neuron), the intercept first. For families with an
        estimated dispersion the statistic follows Student's t with ``dof_resid_``
        degrees of freedom, as in R's ``summary.glm``. A fit whose L1 or group penalty
        selects features warns (:class:`~xglm.errors.SelectionInferenceWarning`): its
        table holds the selection fixed.
        """
        self._check_fitted("summary")
        self._warn_selection("summary")
        return _results.summary_table(self, level)

    def wald_test_terms(self, test=None) -> pd.DataFrame:
        """Joint Wald test that all coefficients of a term are zero, one row per term.

        See :func:`xglm.wald_test_terms` (same numbers as statsmodels'
        ``results.wald_test_terms()``).
        """
        from ._compare import wald_table

        self._check_fitted("wald_test_terms")
        self._warn_selection("wald_test_terms")
        return wald_table(self, test=test)

    def summary_text(self, level: float = 0.95) -> str:
        """A plain-text summary like statsmodels' ``summary()``: configuration, fit
        statistics and the coefficient table (per neuron for populations).

        ``print(model.summary_text())``; :meth:`summary` stays a DataFrame.
        """
        from ._repr import summary_text

        return summary_text(self, level)

    def save(self, path, *, overwrite: bool = True) -> None:
        """Save the fitted model to a netCDF file (or a zarr store: a path ending in
        ``.zarr``); read it back with :func:`xglm.load`.

        The file holds the coefficients with their labels, the covariance, every fitted
        statistic, the family/link/penalty/solver configuration, the estimator
        parameters, the layout of ``X`` (pytree structure and key order, or formula and
        its state), the response labels, package versions and a format version. It is
        an ordinary xarray Dataset (``xarray.open_dataset(path)`` shows the labelled
        ``coef`` and ``cov``). The training data are not stored.

        Parameters
        ----------
        path : str or path-like
        overwrite : bool, default True

        Examples
        --------
        >>> import os, tempfile, numpy as np, xglm
        >>> rng = np.random.default_rng(0)
        >>> X = {"speed": rng.normal(size=200), "pos": rng.normal(size=(200, 3))}
        >>> y = rng.poisson(np.exp(0.3 * X["speed"]))
        >>> m = xglm.GLM().fit(X, y)
        >>> path = os.path.join(tempfile.mkdtemp(), "fit.nc")
        >>> m.save(path)
        >>> list(xglm.load(path).coef_)
        ['speed', 'pos']
        """
        from ._io import save_model

        save_model(self, path, overwrite=overwrite)

    @property
    def bse_(self):
        """Standard errors of (intercept, coefficients)."""
        self._check_fitted("bse_")
        cov = self._cov
        return np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))

    # ------------------------------------------------------------------ labelled views
    @property
    def dropped_(self):
        """Sample labels of the rows dropped for missing values (``na_action="drop"``).

        A pandas Index (empty when nothing was dropped, or for array input).
        """
        self._check_fitted("dropped_")
        dropped = self.design_.extra.get("dropped")
        return dropped if dropped is not None else pd.Index([])

    def coef_by_term(self):
        """Coefficients as an ``xarray.Dataset``: one variable per term, each with its
        own feature dimension (and the neuron dimension for populations).

        Variables are named by the term's short label when it is unambiguous
        (``"position"`` for ``bs(position, df=8)``), else by the full term name.

        Examples
        --------
        >>> import numpy as np, pandas as pd, xglm
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame({"x": rng.uniform(size=400), "g": rng.choice(["a", "b"], 400)})
        >>> df["y"] = rng.poisson(np.exp(np.sin(3 * df.x)))
        >>> ds = xglm.glm("y ~ bs(x, df=4) + C(g)", data=df).coef_by_term()
        >>> list(ds.data_vars), ds["x"].dims
        (['Intercept', 'x', 'g'], ('x_feature',))
        """
        self._check_fitted("coef_by_term")
        return _results.coef_by_term(self)

    def term_effect(self, term, grid=None, level: float = 0.95, intercept: bool = False):
        """The fitted contribution of one term over a grid, with a confidence band.

        For a tuning term (``bs(position, df=8)``, ``cyclic_bs(hd)``, ``speed``,
        ``C(trial)``) this is the term's contribution to the linear predictor at the grid
        values (a tuning curve on the log scale for Poisson); for ``history(...)`` and
        ``convolve(...)`` terms it is the temporal filter over lags. The band is the
        pointwise Wald interval from ``cov_params()`` (which, for a fit whose L1 or
        group penalty selects features, holds the selection fixed: see
        :class:`~xglm.errors.SelectionInferenceWarning`).

        Parameters
        ----------
        term : str
            A term name (``"bs(position, df=8)"``) or its short label (``"position"``).
        grid : array-like, dict or DataFrame, optional
            Values of the term's variable (a dict/DataFrame for several variables).
            Default: 200 points over the fitted range, the categories of a categorical,
            or the lags of a filter.
        level : float, default 0.95
            Confidence level of the band.
        intercept : bool, default False
            Add the intercept (and its uncertainty, with its covariance with the term) to
            the effect: ``np.exp`` of it is then the rate when the other terms are zero,
            with a band that does not depend on where the term's basis is anchored.

        Returns
        -------
        xarray.DataArray
            The effect, with coordinates ``ci_lower``, ``ci_upper`` and ``std_err`` on
            the same dimensions.

        Examples
        --------
        >>> import numpy as np, pandas as pd, xglm
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame({"x": rng.uniform(size=500)})
        >>> df["y"] = rng.poisson(np.exp(np.sin(3 * df.x)))
        >>> eff = xglm.glm("y ~ bs(x, df=5)", data=df).term_effect("x", grid=[0.1, 0.5])
        >>> eff.dims, bool((eff.ci_lower < eff).all())
        (('x',), True)
        """
        self._check_fitted("term_effect")
        self._warn_selection("term_effect")
        return _results.term_effect(self, term, grid, level, intercept)


# the fitted statistics computed on first use (see FittedModel._defer_statistics)
STATISTICS = tuple(
    name for name, value in vars(FittedModel).items() if isinstance(value, _Statistic)
)
