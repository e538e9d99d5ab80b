"""Families: unit deviances and variance functions against statsmodels, log-likelihoods
against scipy's densities (R's weight conventions), and the moments of ``family.sample``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

import xglm
from xglm._families import FAMILY_NAMES, get_family

ALPHA = 0.7
_rng = np.random.default_rng(11)


def _data(name, n=40):
    """Responses in the family's support and means in its domain."""
    if name in ("poisson", "negative_binomial"):
        mu = _rng.uniform(0.2, 9.0, n)
        y = _rng.poisson(mu).astype(float)
        y[:3] = 0.0  # zeros exercise 0 log 0
    elif name in ("binomial", "bernoulli"):
        mu = _rng.uniform(0.05, 0.95, n)
        y = _rng.binomial(1, mu).astype(float) if name == "bernoulli" else _rng.uniform(0, 1, n)
        y[:2] = [0.0, 1.0]
    elif name == "gaussian":
        mu = _rng.normal(size=n) * 3
        y = mu + _rng.normal(size=n)
    else:
        mu = _rng.uniform(0.3, 5.0, n)
        y = _rng.gamma(2.0, mu / 2.0)
    return y, mu


def _family(name):
    return xglm.NegativeBinomial(alpha=ALPHA) if name == "negative_binomial" else get_family(name)


SM = {
    "gaussian": sm.families.Gaussian(),
    "poisson": sm.families.Poisson(),
    "binomial": sm.families.Binomial(),
    "bernoulli": sm.families.Binomial(),
    "gamma": sm.families.Gamma(),
    "inverse_gaussian": sm.families.InverseGaussian(),
    "negative_binomial": sm.families.NegativeBinomial(alpha=ALPHA),
}


def _loglik_each(family, y, mu, w, scale):
    """Per-observation log-likelihood terms (the family sums over axis 0)."""
    return np.asarray(family.log_likelihood(y[None, :], mu[None, :], w[None, :], scale))


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_unit_deviance_and_variance_match_statsmodels(name):
    fam = _family(name)
    y, mu = _data(name)
    sm_fam = SM[name]
    # statsmodels' deviance residuals are sign(y - mu) sqrt(unit deviance)
    expected = sm_fam.resid_dev(y, mu) ** 2
    np.testing.assert_allclose(fam.unit_deviance(jnp.asarray(y), jnp.asarray(mu)), expected,
                               rtol=1e-12, atol=1e-14)  # fmt: skip
    np.testing.assert_allclose(fam.variance(jnp.asarray(mu)), sm_fam.variance(mu), rtol=1e-14)
    w = _rng.uniform(0.5, 3.0, y.shape)
    np.testing.assert_allclose(
        fam.deviance(jnp.asarray(y), jnp.asarray(mu), jnp.asarray(w)),
        sm_fam.deviance(y, mu, var_weights=w),
        rtol=1e-12,
    )
    # zero at the saturated model, positive elsewhere
    assert np.allclose(fam.unit_deviance(jnp.asarray(y), jnp.asarray(y)), 0.0, atol=1e-12)
    assert np.all(np.asarray(fam.unit_deviance(jnp.asarray(y), jnp.asarray(mu))) >= 0)


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_loglik_matches_scipy_densities(name):
    """R's conventions; with unit weights every one is the proper density."""
    fam = _family(name)
    y, mu = _data(name)
    scale = 0.6
    w = _rng.uniform(0.5, 3.0, y.shape)
    if name == "gaussian":
        # R: -(nobs log(2 pi disp) + sum(w (y-mu)^2)/disp - sum(log w)) / 2: y ~ N(mu, disp/w)
        expected = stats.norm.logpdf(y, mu, np.sqrt(scale / w))
    elif name == "poisson":
        expected = w * stats.poisson.logpmf(y, mu)  # R: sum(dpois(y, mu, log) * wt)
    elif name in ("binomial", "bernoulli"):
        w = _rng.integers(1, 10, y.shape).astype(float)  # trials
        y = np.round(y * w) / w
        expected = stats.binom.logpmf(y * w, w, mu)  # R: dbinom(round(w y), round(w), mu)
    elif name == "gamma":
        # R: sum(wt * dgamma(y, 1/disp, scale = mu disp, log = TRUE))
        expected = w * stats.gamma.logpdf(y, 1 / scale, scale=mu * scale)
    elif name == "inverse_gaussian":
        # R: sum(wt) (log(2 pi disp) + 1) + 3 sum(wt log y) at disp = dev/sum(wt), i.e.
        # sum(wt * log density) with lambda = 1/disp
        lam = 1 / scale
        expected = w * stats.invgauss.logpdf(y, mu / lam, scale=lam)
    else:
        # MASS::negative.binomial()$aic: 2 sum(wt * -log density)
        theta = 1 / ALPHA
        expected = w * stats.nbinom.logpmf(y, theta, theta / (theta + mu))
    got = _loglik_each(fam, y, mu, w, scale)
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_deviance_is_twice_the_loglik_gap_to_the_saturated_model(name):
    fam = _family(name)
    y, mu = _data(name)
    if name in ("binomial", "bernoulli"):
        y = (y > 0.5).astype(float)
    w = np.ones_like(y)
    scale = 1.0
    if name in ("binomial", "bernoulli"):
        saturated = np.clip(y, 1e-15, 1 - 1e-15)
    elif name in ("poisson", "negative_binomial"):
        saturated = np.clip(y, 1e-300, None)
    else:
        saturated = y
    ll_sat = _loglik_each(fam, y, saturated, w, scale)
    ll = _loglik_each(fam, y, mu, w, scale)
    np.testing.assert_allclose(
        2 * (ll_sat - ll), fam.unit_deviance(jnp.asarray(y), jnp.asarray(mu)),
        rtol=1e-8, atol=1e-8,
    )  # fmt: skip


def test_r_dispersion_for_loglik():
    """R plugs dev/nobs (Gaussian; nobs counts positive weights) or dev/sum(w) (Gamma,
    inverse Gaussian) into family$aic, and 1 elsewhere."""
    dev = jnp.asarray(12.0)
    w = jnp.asarray([0.0, 1.0, 2.0, 3.0])
    assert float(xglm.Gaussian().r_scale(dev, w)) == 4.0
    assert float(xglm.Gamma().r_scale(dev, w)) == 2.0
    assert float(xglm.InverseGaussian().r_scale(dev, w)) == 2.0
    assert float(xglm.Poisson().r_scale(dev, w)) == 1.0
    assert [get_family(n).n_extra_params() for n in FAMILY_NAMES] == [1, 0, 0, 0, 1, 1, 0]
    assert xglm.NegativeBinomial(alpha="estimate").n_extra_params() == 1


def test_zero_weights_drop_out_of_the_likelihood():
    for name in ("gaussian", "binomial"):
        fam = _family(name)
        y, mu = _data(name)
        w = np.tile([1.0, 0.0, 2.0, 1.0, 0.0, 3.0, 4.0, 2.0], len(y) // 8)
        if name == "binomial":
            y = np.round(y * w) / np.where(w > 0, w, 1)
        keep = w > 0
        full = _loglik_each(fam, y, mu, w, 0.5)
        part = _loglik_each(fam, y[keep], mu[keep], w[keep], 0.5)
        np.testing.assert_array_equal(full[~keep], 0.0)
        assert full.sum() == pytest.approx(part.sum(), rel=1e-14)


# --------------------------------------------------------------------------------------
# sampling
# --------------------------------------------------------------------------------------
SAMPLE_CASES = {
    # family: (means, dispersion, prior weights)
    "gaussian": ([-1.0, 2.0], 0.5, [1.0, 2.0]),
    "poisson": ([0.3, 4.0], 1.0, [1.0, 1.0]),
    "binomial": ([0.2, 0.7], 1.0, [5.0, 12.0]),
    "bernoulli": ([0.2, 0.7], 1.0, [1.0, 1.0]),
    "gamma": ([0.5, 3.0], 0.4, [1.0, 2.0]),
    "inverse_gaussian": ([0.5, 2.0], 0.3, [1.0, 2.0]),
    "negative_binomial": ([0.5, 6.0], 1.0, [1.0, 1.0]),
}
N_DRAWS = 40_000


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_sample_moments(name):
    fam = _family(name)
    means, scale, weights = SAMPLE_CASES[name]
    mu = np.repeat(means, N_DRAWS)
    w = np.repeat(weights, N_DRAWS)
    args = (jnp.asarray(mu), jnp.asarray(scale), jnp.asarray(w))
    draws = np.asarray(fam.sample(jax.random.PRNGKey(0), *args))
    assert draws.shape == mu.shape
    # reproducible with the same key, different with another
    np.testing.assert_array_equal(fam.sample(jax.random.PRNGKey(0), *args), draws)
    assert np.any(np.asarray(fam.sample(jax.random.PRNGKey(1), *args)) != draws)
    for m, wi in zip(means, weights, strict=True):
        x = draws[(mu == m) & (w == wi)]
        var = scale * float(fam.variance(jnp.asarray(m)))
        if name not in ("poisson", "negative_binomial"):
            var = var / wi  # prior weights divide the variance (Binomial: trials)
        # the mean within 5 standard errors; the variance within 5 standard errors of the
        # sample variance, from the sample's fourth central moment
        se_mean = np.sqrt(var / len(x))
        assert abs(x.mean() - m) < 5 * se_mean, (name, m, x.mean())
        m4 = np.mean((x - x.mean()) ** 4)
        se_var = np.sqrt((m4 - x.var() ** 2) / len(x))
        assert abs(x.var() - var) < 5 * se_var, (name, m, x.var(), var)
    # support
    if name in ("poisson", "negative_binomial"):
        assert np.all(draws >= 0) and np.all(draws == np.round(draws))
    if name in ("binomial", "bernoulli"):
        trials = w
        assert np.all((draws >= 0) & (draws <= 1))
        np.testing.assert_allclose(draws * trials, np.round(draws * trials), atol=1e-9)
    if name in ("gamma", "inverse_gaussian"):
        assert np.all(draws > 0)


LINKS = {
    "gaussian": ["identity", "log"],
    "poisson": ["log", "softplus", "sqrt", "identity"],
    "binomial": ["logit", "probit", "cloglog"],
    "bernoulli": ["logit"],
    "gamma": ["inverse", "log", "identity"],
    "inverse_gaussian": ["inverse_squared", "log"],
    "negative_binomial": ["log"],
}


@pytest.mark.parametrize(("name", "link"), [(f, lk) for f, links in LINKS.items() for lk in links])
def test_solver_kernels_split_the_unit_deviance_and_give_the_score(name, link):
    # the solvers' kernels: d(y, mu) = deviance_constant(y) + deviance_eta(y, eta), and
    # score_terms = (mu, w (y - mu) mu' / V, w mu'^2 / V), for every family and link
    y, mu = _data(name)
    if name == "gaussian" and link != "identity":
        mu = np.abs(mu) + 0.5  # inside the link's domain
    fam = _family(name)
    fam = type(fam)(alpha=ALPHA, link=link) if name == "negative_binomial" else type(fam)(link)
    eta = fam.link.link(jnp.asarray(mu))
    w = _rng.uniform(0.5, 2.0, y.size)
    whole = np.asarray(fam.unit_deviance(jnp.asarray(y), fam.link.inverse(eta)))
    split = np.asarray(
        fam.deviance_constant(jnp.asarray(y)) + fam.deviance_eta(jnp.asarray(y), eta)
    )
    np.testing.assert_allclose(split, whole, rtol=1e-9, atol=1e-12)
    m, r, wk = (np.asarray(a) for a in fam.score_terms(jnp.asarray(y), eta, jnp.asarray(w)))
    d = np.asarray(fam.link.inverse_deriv(eta))
    v = np.asarray(fam.variance(fam.link.inverse(eta)))
    np.testing.assert_allclose(m, mu, rtol=1e-12)
    np.testing.assert_allclose(r, w * (y - mu) * d / v, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(wk, w * d**2 / v, rtol=1e-10)
    assert fam.canonical == (
        (name, link)
        in {
            ("gaussian", "identity"),
            ("poisson", "log"),
            ("binomial", "logit"),
            ("bernoulli", "logit"),
        }
    )


@pytest.mark.parametrize(("name", "link"), [(f, lk) for f, links in LINKS.items() for lk in links])
def test_observed_weights_are_the_hessian_clipped_at_zero(name, link):
    # the Newton solver's information: the second derivative in eta of each
    # observation's half unit deviance (autodiff), clipped at 0; the working weights
    # themselves for the canonical links
    y, mu = _data(name)
    if name == "gaussian" and link != "identity":
        mu = np.abs(mu) + 0.5
    fam = _family(name)
    fam = type(fam)(alpha=ALPHA, link=link) if name == "negative_binomial" else type(fam)(link)
    eta = fam.link.link(jnp.asarray(mu))
    # residuals large enough that some observed weights are negative
    y = np.asarray(y) * (1.5 if name not in ("binomial", "bernoulli") else 1.0)
    w = _rng.uniform(0.5, 2.0, y.size)

    def half_deviance(e, yi, wi):
        return 0.5 * wi * fam.unit_deviance(yi, fam.link.inverse(e))

    hess = np.asarray(jax.vmap(jax.grad(jax.grad(half_deviance)))(eta, y, w))
    got = np.asarray(fam.observed_weights(jnp.asarray(y), eta, jnp.asarray(w)))
    np.testing.assert_allclose(got, np.maximum(hess, 0.0), rtol=1e-8, atol=1e-12)
    if fam.canonical:
        np.testing.assert_allclose(got, np.asarray(fam.score_terms(y, eta, w)[2]), rtol=1e-12)


@pytest.mark.parametrize("top", [30, 5000])
def test_poisson_saturated_loglik_from_its_table_and_beyond(top):
    # the table covers counts below 256; larger counts take lgamma: both must equal
    # loglik(mu) + deviance(mu) / 2 for any mu
    fam = get_family("poisson")
    y = np.concatenate([_rng.integers(0, top, size=(3, 200)), np.zeros((3, 1))], axis=1)
    w = _rng.uniform(0.5, 2.0, size=(3, 201))
    mu = _rng.uniform(0.5, top, size=y.shape)
    sat = np.sum(w * np.asarray(fam.saturated_loglik_terms(jnp.asarray(y))), axis=-1)
    yj, muj, wj = (jnp.asarray(a.T) for a in (y, mu, w))
    ll = np.asarray(fam.log_likelihood(yj, muj, wj, 1.0))
    dev = np.asarray(fam.deviance(yj, muj, wj))
    np.testing.assert_allclose(sat, ll + dev / 2, rtol=1e-12)
    assert get_family("gamma").saturated_loglik_terms(jnp.asarray(y)) is None
