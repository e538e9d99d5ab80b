"""xglm against statsmodels' GLM for every family x link, on seeded simulated data.

statsmodels' GLM (IRLS, expected information, ``cov_type="nonrobust"``) follows R's
conventions for the coefficients, standard errors (with ``scale="X2"``, its default for
the families that estimate a dispersion) and deviance; R's prior weights are its
``var_weights``, R's offset its ``offset`` (and ``exposure`` = ``exp(offset)``).
statsmodels is run to convergence of the coefficients (``tol_criterion="params"``,
absolute change below 1e-13: its default deviance criterion, even at ``tol=1e-12``, can
stop ~1e-6 short of the optimum for slowly converging non-canonical links).

The log-likelihood is R's ``logLik.glm``, which statsmodels' ``llf`` is not for the
Gaussian, Gamma and inverse Gaussian families (it uses its own scale there). It is
computed here with statsmodels' ``family.loglike`` at R's dispersion and with R's weight
conventions:

* gaussian: ``var_weights = w`` (R: ``nobs (log(2 pi dev/nobs) + 1) + 2 - sum(log(w))``),
  dispersion ``dev / nobs``;
* Gamma, inverse.gaussian: ``freq_weights = w`` (R: ``sum(w * dgamma(...))`` and
  ``sum(w) (log(2 pi disp) + 1) + 3 sum(w log(y))``), dispersion ``dev / sum(w)``;
* poisson, negative binomial: ``sum(w * log density)``;
* binomial and Bernoulli: ``sum(dbinom(round(w y), round(w), mu, log = TRUE))`` over
  ``w > 0`` (R's ``binomial()$aic``; with integer trials this is statsmodels' llf with a
  two-column (successes, failures) response, checked too).

R's null deviance is that of the intercept-only model (with the offset) when there is an
intercept, and that of ``mu = linkinv(offset)`` when there is none (``glm.fit``);
statsmodels always fits an intercept for it, so the no-intercept value is computed here.
"""

from __future__ import annotations

import warnings
import zlib
from functools import cache

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit, xlogy

import xglm

L = sm.families.links
RTOL_COEF = 1e-6
RTOL_BSE = 1e-5
RTOL_LIK = 1e-8
N = 200


class Softplus(L.Link):
    """``mu = log(1 + exp(eta))`` for statsmodels (it has no softplus link)."""

    def __call__(self, p):
        return p + np.log(-np.expm1(-p))

    def inverse(self, z):
        return np.logaddexp(0.0, z)

    def deriv(self, p):
        return -1.0 / np.expm1(-p)

    def deriv2(self, p):
        return -np.exp(-p) / np.expm1(-p) ** 2

    def inverse_deriv(self, z):
        return expit(z)

    def inverse_deriv2(self, z):
        s = expit(z)
        return s * (1.0 - s)


SM_LINKS = {
    "identity": L.Identity,
    "log": L.Log,
    "logit": L.Logit,
    "probit": L.Probit,
    "cloglog": L.CLogLog,
    "inverse": L.InversePower,
    "inverse_squared": L.InverseSquared,
    "sqrt": L.Sqrt,
    "softplus": Softplus,
}
NB_ALPHA = 0.5
# check_link=False: statsmodels refuses links outside its list (softplus, Gaussian-sqrt)
SM_FAMILIES = {
    "gaussian": lambda link: sm.families.Gaussian(link, check_link=False),
    "poisson": lambda link: sm.families.Poisson(link, check_link=False),
    "binomial": lambda link: sm.families.Binomial(link, check_link=False),
    "bernoulli": lambda link: sm.families.Binomial(link, check_link=False),
    "gamma": lambda link: sm.families.Gamma(link, check_link=False),
    "inverse_gaussian": lambda link: sm.families.InverseGaussian(link, check_link=False),
    "negative_binomial": lambda link: sm.families.NegativeBinomial(
        link, alpha=NB_ALPHA, check_link=False
    ),
}
XGLM_FAMILIES = {
    "gaussian": xglm.Gaussian,
    "poisson": xglm.Poisson,
    "binomial": xglm.Binomial,
    "bernoulli": xglm.Bernoulli,
    "gamma": xglm.Gamma,
    "inverse_gaussian": xglm.InverseGaussian,
    "negative_binomial": lambda link: xglm.NegativeBinomial(alpha=NB_ALPHA, link=link),
}
# range of the true mean, and the dispersion used to simulate
MEAN_RANGE = {
    "gaussian": (1.0, 3.0, 0.3),
    "poisson": (1.0, 8.0, 1.0),
    "binomial": (0.15, 0.8, 1.0),
    "bernoulli": (0.2, 0.8, 1.0),
    "gamma": (1.0, 4.0, 0.3),
    "inverse_gaussian": (0.5, 2.0, 0.3),
    "negative_binomial": (1.0, 8.0, 1.0),
}

# (family, link): the default run covers each family with prior weights and an offset,
# and the links that the R references do not (softplus, sqrt, probit, cloglog); every
# other combination is marked slow (each new family/link compiles the solver once, and
# test_reference_r.py already checks identity/log/inverse/logit/inverse_squared on R).
COMBOS = {
    ("gaussian", "identity"): "slow",
    ("gaussian", "log"): "slow",
    ("gaussian", "inverse"): "slow",
    ("gaussian", "softplus"): "slow",
    ("poisson", "log"): "fast",
    ("poisson", "identity"): "slow",
    ("poisson", "sqrt"): "slow",
    ("poisson", "softplus"): "fast",
    ("binomial", "logit"): "slow",
    ("binomial", "probit"): "fast",
    ("binomial", "cloglog"): "fast",
    ("bernoulli", "logit"): "slow",
    ("bernoulli", "probit"): "slow",
    ("gamma", "inverse"): "slow",
    ("gamma", "log"): "slow",
    ("gamma", "identity"): "slow",
    ("gamma", "softplus"): "slow",
    ("inverse_gaussian", "inverse_squared"): "slow",
    ("inverse_gaussian", "inverse"): "slow",
    ("inverse_gaussian", "log"): "slow",
    ("inverse_gaussian", "identity"): "slow",
    ("negative_binomial", "log"): "fast",
    ("negative_binomial", "sqrt"): "slow",
    ("negative_binomial", "softplus"): "slow",
}
# without intercept (fit_intercept=False compiles separately). Poisson-sqrt checks the
# first IRLS step from the starting means: a step taken from zero coefficients instead
# lands near eta = 0 and converges to the mirror solution (coefficients negated, eta < 0,
# which R rejects as an invalid linear predictor).
NO_INTERCEPT = {
    ("gaussian", "log"): "slow",
    ("gaussian", "identity"): "slow",
    ("poisson", "log"): "slow",
    ("poisson", "sqrt"): "fast",
    ("binomial", "probit"): "slow",
    ("binomial", "logit"): "slow",
    ("gamma", "log"): "fast",
    ("gamma", "inverse"): "slow",
    ("inverse_gaussian", "log"): "slow",
    ("negative_binomial", "log"): "slow",
}


def _params(table):
    return [
        pytest.param(*key, id="-".join(key), marks=[pytest.mark.slow] if v == "slow" else [])
        for key, v in table.items()
    ]


# --------------------------------------------------------------------------------------
# simulated data
# --------------------------------------------------------------------------------------
@cache
def simulate(family: str, link: str, intercept: bool = True):
    """Seeded data whose true mean lies inside the link's and family's domain.

    With an intercept: X ~ U(0, 1)^3 and a linear predictor running linearly between the
    links of the ends of the mean range. Without: the columns (1 - u, u, small noise),
    whose first two sum to one, so the same truth needs no intercept.
    """
    seed = zlib.crc32(f"{family}-{link}-{intercept}".encode())
    rng = np.random.default_rng(seed)
    lo, hi, disp = MEAN_RANGE[family]
    fam = XGLM_FAMILIES[family](link)
    e_lo, e_hi = (float(fam.link.link(np.asarray(m))) for m in (lo, hi))
    if intercept:
        X = rng.uniform(size=(N, 3))
        u = X @ np.array([0.4, 0.35, 0.25])
    else:
        u = rng.uniform(size=N)
        X = np.c_[1.0 - u, u, 0.3 * (rng.uniform(size=N) - 0.5)]
    mu = np.asarray(fam.link.inverse(np.asarray(e_lo + (e_hi - e_lo) * u)))
    w = rng.uniform(0.5, 2.5, size=N)
    offset = 0.2 * rng.uniform(size=N)
    if family == "gaussian":
        y = mu + np.sqrt(disp / w) * rng.normal(size=N)
    elif family == "poisson":
        y = rng.poisson(mu).astype(float)
    elif family == "negative_binomial":
        y = rng.poisson(rng.gamma(1 / NB_ALPHA, mu * NB_ALPHA)).astype(float)
    elif family == "binomial":
        w = rng.integers(1, 13, size=N).astype(float)  # trials
        y = rng.binomial(w.astype(int), mu) / w
    elif family == "bernoulli":
        y = rng.binomial(1, mu).astype(float)
    elif family == "gamma":
        shape = w / disp
        y = rng.gamma(shape, mu / shape)
    else:  # inverse Gaussian with variance disp mu^3 / w
        y = rng.wald(mu, w / disp)
    return X, y, w, offset


# --------------------------------------------------------------------------------------
# reference values
# --------------------------------------------------------------------------------------
def _r_loglik(family, sm_family, y, mu, w, dev):
    if family in ("binomial", "bernoulli"):
        pos = w > 0
        return np.sum(stats.binom.logpmf(np.round(w * y), np.round(w), mu)[pos])
    if family == "gaussian":
        nobs = np.sum(w > 0)
        return sm_family.loglike(y, mu, var_weights=w, scale=dev / nobs)
    if family in ("gamma", "inverse_gaussian"):
        return sm_family.loglike(y, mu, freq_weights=w, scale=dev / np.sum(w))
    return sm_family.loglike(y, mu, freq_weights=w)


def sm_fit(family, link, X, y, w=None, offset=None, exposure=None, intercept=True):
    sm_family = SM_FAMILIES[family](SM_LINKS[link]())
    Xs = sm.add_constant(X, prepend=True) if intercept else X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' DomainWarning for custom links
        res = sm.GLM(y, Xs, family=sm_family, var_weights=w, offset=offset, exposure=exposure).fit(
            tol=1e-13, tol_criterion="params", maxiter=1000
        )
    assert res.converged
    ww = np.ones_like(y) if w is None else w
    if intercept:
        null_deviance = res.null_deviance
    else:
        # R: mu = linkinv(offset). On the boundary of the mean's domain (sqrt link:
        # mu = 0; inverse link: mu = Inf) R's dev.resids give Inf for Poisson (y > 0 at
        # mu = 0; y = 0 contributes 0) and NaN for Gamma (Inf - Inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            mu0 = sm_family.link.inverse(np.zeros_like(y) if offset is None else offset)
            if family == "poisson":
                unit = 2 * (xlogy(y, y) - xlogy(y, mu0) - (y - mu0))
                null_deviance = np.sum(ww * unit)
            else:
                null_deviance = sm_family.deviance(y, mu0, var_weights=ww)
    out = dict(
        params=np.asarray(res.params),
        bse=np.asarray(res.bse),
        deviance=res.deviance,
        null_deviance=null_deviance,
        scale=res.scale,
        df_resid=res.df_resid,
        pearson_chi2=res.pearson_chi2,
        mu=np.asarray(res.mu),
    )
    if family == "binomial":
        k = np.round(y * ww)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            two = sm.GLM(
                np.c_[k, ww - k], Xs, family=SM_FAMILIES[family](SM_LINKS[link]()), offset=offset
            ).fit(tol=1e-13, tol_criterion="params", maxiter=1000)
        np.testing.assert_allclose(two.params, res.params, rtol=1e-9)
        np.testing.assert_allclose(
            two.llf, _r_loglik(family, sm_family, y, res.mu, ww, res.deviance), rtol=1e-12
        )
    out["loglik"] = _r_loglik(family, sm_family, y, res.mu, ww, res.deviance)
    fam = XGLM_FAMILIES[family](link)
    k_extra = 1 if fam.estimates_scale else 0
    out["aic"] = -2 * out["loglik"] + 2 * (Xs.shape[1] + k_extra)
    out["bic"] = -2 * out["loglik"] + np.log(np.sum(ww > 0)) * (Xs.shape[1] + k_extra)
    return out


def xglm_fit(family, link, X, y, w=None, offset=None, intercept=True):
    model = xglm.GLM(family=XGLM_FAMILIES[family](link), fit_intercept=intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("error", xglm.errors.ConvergenceWarning)
        model.fit(X, y, sample_weight=w, offset=offset)
    assert model.converged_
    if intercept:
        params = np.r_[model.intercept_, model.coef_]
        bse = np.asarray(model.bse_)
    else:
        params = np.asarray(model.coef_)
        bse = np.asarray(model.bse_)[1:]
    return model, dict(
        params=params,
        bse=bse,
        deviance=model.deviance_,
        null_deviance=model.null_deviance_,
        scale=model.scale_,
        df_resid=model.dof_resid_,
        pearson_chi2=model.pearson_chi2_,
        mu=np.asarray(model.predict(X, offset=offset)),
        loglik=model.loglik_,
        aic=model.aic_,
        bic=model.bic_,
    )


TOLS = dict(
    params=RTOL_COEF,
    bse=RTOL_BSE,
    deviance=RTOL_LIK,
    null_deviance=RTOL_LIK,
    loglik=RTOL_LIK,
    aic=RTOL_LIK,
    bic=RTOL_LIK,
    scale=RTOL_BSE,
    pearson_chi2=RTOL_BSE,
    mu=RTOL_COEF,
)


def assert_same(got, ref, label):
    assert got["df_resid"] == ref["df_resid"], label
    for key, rtol in TOLS.items():
        # (NaN equals NaN and Inf equals Inf here: see the null deviance above)
        np.testing.assert_allclose(got[key], ref[key], rtol=rtol, err_msg=f"{label}: {key}")


# --------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("family", "link"), _params(COMBOS))
def test_family_link(family, link):
    """Plain fit, then with prior weights and an offset (same shapes: no recompilation)."""
    X, y, w, offset = simulate(family, link)
    if family == "binomial":
        # the plain fit of a binomial proportion needs its trials; use the Bernoulli
        # data's convention only for 0/1 responses
        variants = [("trials", w, None), ("trials+offset", w, offset)]
    else:
        variants = [("plain", None, None), ("weights+offset", w, offset)]
    for label, ww, off in variants:
        _, got = xglm_fit(family, link, X, y, ww, off)
        ref = sm_fit(family, link, X, y, ww, off)
        assert_same(got, ref, f"{family}-{link} {label}")


@pytest.mark.parametrize(("family", "link"), _params(NO_INTERCEPT))
def test_without_intercept(family, link):
    X, y, w, offset = simulate(family, link, intercept=False)
    ww = w if family == "binomial" else None
    for label, wv, off in [("plain", ww, None), ("weights+offset", w, offset)]:
        model, got = xglm_fit(family, link, X, y, wv, off, intercept=False)
        ref = sm_fit(family, link, X, y, wv, off, intercept=False)
        assert_same(got, ref, f"{family}-{link} no intercept {label}")
        assert np.asarray(model.intercept_).tolist() == [0.0]
        assert "Intercept" not in model.cov_params().index


def test_poisson_exposure():
    """statsmodels' ``exposure`` is xglm's ``offset=log(exposure)``, alone and combined."""
    X, y, w, offset = simulate("poisson", "log")
    exposure = np.exp(offset) * 3.0
    _, got = xglm_fit("poisson", "log", X, y, w, np.log(exposure))
    ref = sm_fit("poisson", "log", X, y, w, exposure=exposure)
    assert_same(got, ref, "poisson exposure")
    _, got = xglm_fit("poisson", "log", X, y, None, offset + np.log(exposure))
    ref = sm_fit("poisson", "log", X, y, offset=offset, exposure=exposure)
    assert_same(got, ref, "poisson offset + exposure")


def test_binomial_trials_equal_frequency_weights():
    """Proportions with ``sample_weight=trials`` = statsmodels' Binomial with
    ``freq_weights=trials`` (coefficients, standard errors, deviance) and = the data
    expanded to one 0/1 row per trial (coefficients, standard errors)."""
    X, y, w, _ = simulate("binomial", "probit")
    _, got = xglm_fit("binomial", "probit", X, y, w)
    Xs = sm.add_constant(X)
    family = sm.families.Binomial(L.Probit())
    res = sm.GLM(y, Xs, family=family, freq_weights=w).fit(tol=1e-13, tol_criterion="params")
    np.testing.assert_allclose(got["params"], res.params, rtol=RTOL_COEF)
    np.testing.assert_allclose(got["bse"], res.bse, rtol=RTOL_BSE)
    np.testing.assert_allclose(got["deviance"], res.deviance, rtol=RTOL_LIK)
    k = np.round(y * w).astype(int)
    n = w.astype(int)
    rows = np.repeat(np.arange(N), n)
    yy = np.concatenate(
        [np.r_[np.ones(ki), np.zeros(ni - ki)] for ki, ni in zip(k, n, strict=True)]
    )
    res01 = sm.GLM(yy, Xs[rows], family=family).fit(tol=1e-13, tol_criterion="params")
    np.testing.assert_allclose(got["params"], res01.params, rtol=RTOL_COEF)
    np.testing.assert_allclose(got["bse"], res01.bse, rtol=RTOL_BSE)


def test_negative_binomial_fixed_alpha_matches_family_loglike():
    """NB with fixed alpha: scale 1 (like glm.nb), AIC without a dispersion parameter."""
    X, y, w, offset = simulate("negative_binomial", "log")
    model, got = xglm_fit("negative_binomial", "log", X, y, w, offset)
    assert model.scale_ == 1.0
    assert model.aic_ == pytest.approx(-2 * model.loglik_ + 2 * 4, rel=1e-14)


def test_negative_binomial_estimated_alpha():
    """alpha='estimate' = statsmodels' discrete NB2 maximum likelihood (coefficients and
    alpha); standard errors = the GLM at the estimated alpha (as R's glm.nb)."""
    X, y, w, offset = simulate("negative_binomial", "log")
    Xs = sm.add_constant(X)
    for off in (None, offset):
        model = xglm.GLM(family=xglm.NegativeBinomial(alpha="estimate")).fit(X, y, offset=off)
        assert model.converged_
        nb = sm.NegativeBinomial(y, Xs, loglike_method="nb2", offset=off).fit(
            method="newton", maxiter=200, tol=1e-12, disp=0
        )
        assert nb.mle_retvals["converged"]
        params = np.r_[model.intercept_, model.coef_]
        np.testing.assert_allclose(params, nb.params[:-1], rtol=RTOL_COEF)
        np.testing.assert_allclose(model.alpha_, nb.params[-1], rtol=1e-6)
        np.testing.assert_allclose(model.loglik_, nb.llf, rtol=RTOL_LIK)
        # coefficients + alpha
        np.testing.assert_allclose(model.aic_, nb.aic, rtol=RTOL_LIK)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fixed = sm.GLM(
                y,
                Xs,
                family=sm.families.NegativeBinomial(alpha=model.alpha_),
                offset=off,
            ).fit(tol=1e-13, tol_criterion="params")
        np.testing.assert_allclose(model.bse_, fixed.bse, rtol=RTOL_BSE)


def test_negative_binomial_refit_with_fixed_alpha_forgets_the_estimate():
    """A refit of the same estimator with a fixed alpha reports no estimated alpha and
    counts no extra parameter in the AIC."""
    X, y, w, offset = simulate("negative_binomial", "log")
    model = xglm.GLM(family=xglm.NegativeBinomial(alpha="estimate")).fit(X, y)
    estimated = model.alpha_
    model.set_params(family=xglm.NegativeBinomial(alpha=estimated)).fit(X, y)
    assert not hasattr(model, "alpha_")
    assert model.aic_ == pytest.approx(-2 * model.loglik_ + 2 * 4, rel=1e-14)
