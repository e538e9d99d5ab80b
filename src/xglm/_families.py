"""Exponential-family distributions as immutable equinox modules.

Each family knows its variance function, unit deviance, full log-likelihood with all
constants (R's conventions, so ``loglik_`` and ``aic_`` equal R's ``logLik``/``AIC``),
starting values, the support of ``y`` and how to sample. Non-canonical links work
everywhere: the Newton solver steps on the observed information
(:meth:`Family.observed_weights`), the statistics use the expected (Fisher) one, as R.
"""

from __future__ import annotations

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.special import gammaln, xlogy

from ._links import Link, get_link
from .errors import ResponseError, XglmError

__all__ = [
    "Family",
    "Gaussian",
    "Poisson",
    "Binomial",
    "Bernoulli",
    "Gamma",
    "InverseGaussian",
    "NegativeBinomial",
    "get_family",
    "FAMILY_NAMES",
]


def _xlogx_ratio(y, mu):
    """``y * log(y / mu)`` with the convention ``0 log 0 = 0``."""
    return xlogy(y, y) - xlogy(y, mu)


class Family(eqx.Module):
    """Abstract exponential-dispersion family with a link."""

    link: Link
    name: ClassVar[str]
    estimates_scale: ClassVar[bool] = False

    def __check_init__(self):
        if not isinstance(self.link, Link):
            raise XglmError(
                f"link: got {self.link!r}; expected an xglm link object or name. Fix: pass a "
                "supported link name, e.g. link='log'."
            )

    # --- to be provided by subclasses -----------------------------------------
    def variance(self, mu):  # pragma: no cover - abstract
        raise NotImplementedError

    def unit_deviance(self, y, mu):  # pragma: no cover - abstract
        raise NotImplementedError

    def log_likelihood(self, y, mu, w, scale):  # pragma: no cover - abstract
        """Sum of the log-likelihood contributions with R's weight conventions."""
        raise NotImplementedError

    def check_y(self, y: np.ndarray, w: np.ndarray | None = None) -> None:
        """Raise :class:`~xglm.errors.ResponseError` if ``y`` is outside the support."""

    def mu_start(self, y, w):
        return y

    def sample(self, key, mu, scale, w):  # pragma: no cover - abstract
        raise NotImplementedError

    # --- the solvers' kernels ----------------------------------------------------
    # The unit deviance splits as d(y, mu) = deviance_constant(y) + deviance_eta(y, eta):
    # solvers evaluate the second part on every trial point and the first once per fit,
    # so that with the canonical (or log) link the hot loop needs no logarithm.
    def deviance_constant(self, y):
        """The part of the unit deviance that depends on ``y`` alone (default 0)."""
        return jnp.zeros_like(y)

    def deviance_eta(self, y, eta):
        """``unit_deviance(y, mu(eta)) - deviance_constant(y)``."""
        return self.unit_deviance(y, self.link.inverse(eta))

    def score_terms(self, y, eta, w):
        """``(mu, r, wk)`` at ``eta``: the mean, the score residual
        ``w (y - mu) mu'(eta) / V(mu)`` and the working weight ``w mu'(eta)^2 / V(mu)``.

        Non-finite values (an overflowing mean, say) are set to 0. With the canonical
        link ``mu' = V`` and the ratio is not formed.
        """
        mu = self.link.inverse(eta)
        d = self.link.inverse_deriv(eta)
        if self.canonical:
            r, wk = w * (y - mu), w * d
        else:
            v = self.variance(mu)
            r, wk = w * (y - mu) * d / v, w * d**2 / v
        return mu, jnp.where(jnp.isfinite(r), r, 0.0), jnp.where(jnp.isfinite(wk), wk, 0.0)

    def observed_weights(self, y, eta, w):
        """The weights of the observed information ``X^T diag(.) X`` (minus the Hessian
        of the log-likelihood in the coefficients), clipped at 0:
        ``max(w mu'^2 / V - w (y - mu) d/deta(mu' / V), 0)``.

        With the canonical link they are the working weights (``mu' / V = 1``). With
        another link the Fisher (expected) information leaves out the second term, so
        Fisher scoring converges only linearly where the residuals are large (a
        misspecified fit); each clipped weight lies between the observed one and the
        Fisher one, so the matrix is closer to the Hessian than Fisher's, and positive
        semi-definite.
        """
        mu, _, wk = self.score_terms(y, eta, w)
        if self.canonical:
            return wk

        def ratio(e):
            return self.link.inverse_deriv(e) / self.variance(self.link.inverse(e))

        # elementwise, so the derivative along a vector of ones is the derivative
        _, d_ratio = jax.jvp(ratio, (eta,), (jnp.ones_like(eta),))
        obs = wk - w * (y - mu) * d_ratio
        return jnp.where(jnp.isfinite(obs), jnp.maximum(obs, 0.0), wk)

    def saturated_loglik_terms(self, y):
        """``loglik(y | mu = y)`` per observation, for the families whose log-likelihood
        is the (weighted) sum of these minus half the deviance (no dispersion in it);
        ``None`` for the others."""
        return None

    @property
    def canonical(self) -> bool:
        """Whether ``mu'(eta) = V(mu)`` exactly: Gaussian/identity, Poisson/log and
        Binomial/logit."""
        return self.link.name == _CANONICAL.get(self.name)

    # --- shared ---------------------------------------------------------------
    def deviance(self, y, mu, w):
        return jnp.sum(w * self.unit_deviance(y, mu), axis=0)

    def r_scale(self, dev, w):
        """The dispersion R plugs into ``family$aic``."""
        return jnp.ones_like(dev)

    def n_extra_params(self) -> int:
        """Parameters beyond the coefficients counted by R's ``logLik`` (dispersion)."""
        return 1 if self.estimates_scale else 0

    def boundary_distance(self, mu):
        """Distance of each mean from the boundary of the support, or ``None`` for the
        families whose mean is unbounded."""
        return None

    @staticmethod
    def at_boundary(distance) -> bool:
        """R's ``glm.fit`` test: a fitted mean within ``10 eps`` of the boundary."""
        return bool(distance < _EPS10)

    # what at_boundary found, for the warning
    boundary_description: ClassVar[str] = ""

    def boundary_response(self, ybar):
        """From the weighted mean responses ``ybar`` ``(k,)``: flags of the neurons whose
        every counted response lies on the boundary of the support, where the
        intercept-only fit tends to it, and the mean ``(k,)`` their fit stops at (at the
        boundary by ``at_boundary``). Only families whose mean is bounded have them."""
        return jnp.zeros(ybar.shape, bool), jnp.ones_like(ybar)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(link={self.link.name!r})"


# y log y and log y! for the counts 0..255
_XLOGX = np.array([v * math.log(v) if v else 0.0 for v in range(256)])
_LOG_FACTORIAL = np.array([math.lgamma(v + 1.0) for v in range(256)])


def _by_count(y, table, exact):
    """``table[y]`` when every ``y`` is a whole number below the table's length (spike
    counts: a gather costs a fraction of ``log`` and ``lgamma``), else ``exact()``.

    The test is on the whole array, so call it outside ``jax.vmap``.
    """

    def lookup():
        idx = jnp.clip(y, 0, table.size - 1).astype(jnp.int32)
        return jnp.asarray(table, y.dtype)[idx]

    small = jnp.all((y >= 0) & (y < table.size) & (y == jnp.floor(y)))
    return lax.cond(small, lookup, exact)


# family -> the link with mu'(eta) = V(mu) exactly (Gamma's and the inverse Gaussian's
# canonical links match their variance only up to a constant factor)
_CANONICAL = {
    "gaussian": "identity",
    "poisson": "log",
    "binomial": "logit",
    "bernoulli": "logit",
}


def _in_range(y, lo, hi, lo_open=False) -> bool:
    """Whether every value is finite and within the range: two reductions (NaN
    propagates through them), no full-size temporaries."""
    if y.size == 0:
        return True
    ymin, ymax = float(np.min(y)), float(np.max(y))
    ok = np.isfinite(ymin) and np.isfinite(ymax) and ymax <= hi
    return bool(ok and (ymin > lo if lo_open else ymin >= lo))


def _all_integer(y, block: int = 1 << 16) -> bool:
    """Whether every value is a whole number, in cache-sized blocks (no full-size
    temporaries); a column-major ``y`` is read in its memory order, not copied."""
    flat = np.ravel(y, order="K")
    buf = np.empty(min(block, flat.size), flat.dtype)
    for start in range(0, flat.size, block):
        part = flat[start : start + block]
        out = buf[: part.size]
        np.floor(part, out=out)
        if not np.array_equal(out, part):
            return False
    return True


def _nonneg_check(name, y, integer=False):
    if _in_range(y, 0.0, np.inf) and (not integer or _all_integer(y)):
        return
    bad = ~np.isfinite(y) | (y < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise ResponseError(
            f"y: the {name} family needs non-negative values; got {int(bad.sum())} "
            f"invalid value(s) (first: {float(y.ravel()[i])!r} at position {i}). Fix: pass "
            f"counts >= 0 or choose another family."
        )
    if integer and not np.all(np.mod(y, 1) == 0):
        i = int(np.flatnonzero(np.mod(y.ravel(), 1) != 0)[0])
        raise ResponseError(
            f"y: the {name} family needs integer counts; got a non-integer value "
            f"{float(y.ravel()[i])!r} at position {i}. Fix: pass spike counts (integers), "
            "or use family='gaussian' / 'gamma' for continuous responses."
        )


class Gaussian(Family):
    """Normal distribution; canonical link ``identity``."""

    name = "gaussian"
    estimates_scale: ClassVar[bool] = True

    def __init__(self, link: str | Link = "identity"):
        self.link = get_link(link)

    def variance(self, mu):
        return jnp.ones_like(mu)

    def unit_deviance(self, y, mu):
        return (y - mu) ** 2

    def r_scale(self, dev, w):
        return dev / jnp.sum(w > 0, axis=0)

    def log_likelihood(self, y, mu, w, scale):
        pos = w > 0
        safe_w = jnp.where(pos, w, 1.0)
        ll = -0.5 * (w * (y - mu) ** 2 / scale + jnp.log(2 * jnp.pi * scale / safe_w))
        return jnp.sum(jnp.where(pos, ll, 0.0), axis=0)

    def check_y(self, y, w=None):
        pass

    def mu_start(self, y, w):
        return y

    def sample(self, key, mu, scale, w):
        return mu + jnp.sqrt(scale / w) * jax.random.normal(key, mu.shape, mu.dtype)


_EPS = float(np.finfo(np.float64).eps)
_EPS10 = 10 * _EPS


class Poisson(Family):
    """Poisson counts; canonical link ``log`` (``softplus`` is common for rates)."""

    name = "poisson"
    boundary_description: ClassVar[str] = (
        "fitted rates numerically 0: a neuron without spikes, or predictors that separate "
        "the zero counts"
    )

    def boundary_distance(self, mu):
        return mu

    def boundary_response(self, ybar):
        # counts are >= 0: a zero mean is every counted response 0
        return ybar == 0, jnp.full_like(ybar, _EPS)

    def __init__(self, link: str | Link = "log"):
        self.link = get_link(link)

    def variance(self, mu):
        return mu

    def unit_deviance(self, y, mu):
        return 2.0 * (_xlogx_ratio(y, mu) - (y - mu))

    def deviance_eta(self, y, eta):
        if self.link.name == "log":
            return 2.0 * (jnp.exp(eta) - y * eta)
        mu = self.link.inverse(eta)
        return 2.0 * (mu - xlogy(y, mu))

    def log_likelihood(self, y, mu, w, scale):
        return jnp.sum(w * (xlogy(y, mu) - mu - gammaln(y + 1.0)), axis=0)

    def deviance_constant(self, y):
        # y log y without xlogy's guards (several times slower on the CPU): y is a
        # count (check_y), so y log max(y, 1) is exact
        return 2.0 * (y * jnp.log(jnp.maximum(y, 1.0)) - y)

    def saturated_loglik_terms(self, y):
        terms = _by_count(y, _XLOGX - _LOG_FACTORIAL, lambda: xlogy(y, y) - gammaln(y + 1.0))
        return terms - y

    def check_y(self, y, w=None):
        _nonneg_check("poisson", y, integer=True)

    def mu_start(self, y, w):
        return y + 0.1

    def sample(self, key, mu, scale, w):
        return jax.random.poisson(key, mu, mu.shape).astype(mu.dtype)


class Binomial(Family):
    """Binomial proportions ``y`` in [0, 1] with ``sample_weight`` = number of trials.

    With unit weights this is the Bernoulli family. Canonical link ``logit``.
    """

    name = "binomial"
    boundary_description: ClassVar[str] = (
        "fitted probabilities numerically 0 or 1: the predictors separate the outcomes"
    )

    def boundary_distance(self, mu):
        return jnp.minimum(mu, 1.0 - mu)

    def boundary_response(self, ybar):
        # proportions are in [0, 1]: a mean of 0 or 1 is every counted response 0 or 1
        ones = ybar == 1
        return (ybar == 0) | ones, jnp.where(ones, 1.0 - _EPS, _EPS).astype(ybar.dtype)

    def __init__(self, link: str | Link = "logit"):
        self.link = get_link(link)

    def variance(self, mu):
        return mu * (1.0 - mu)

    def unit_deviance(self, y, mu):
        return 2.0 * (_xlogx_ratio(y, mu) + _xlogx_ratio(1.0 - y, 1.0 - mu))

    def deviance_constant(self, y):
        return 2.0 * (xlogy(y, y) + xlogy(1.0 - y, 1.0 - y))

    def deviance_eta(self, y, eta):
        if self.link.name == "logit":
            # y log mu + (1 - y) log(1 - mu) = y eta - log(1 + e^eta)
            return 2.0 * (jax.nn.softplus(eta) - y * eta)
        mu = self.link.inverse(eta)
        return -2.0 * (xlogy(y, mu) + xlogy(1.0 - y, 1.0 - mu))

    def log_likelihood(self, y, mu, w, scale):
        # R: sum over w > 0 of dbinom(round(w * y), round(w), mu, log = TRUE)
        m = jnp.round(w)
        k = jnp.round(w * y)
        ll = (
            gammaln(m + 1.0)
            - gammaln(k + 1.0)
            - gammaln(m - k + 1.0)
            + xlogy(k, mu)
            + xlogy(m - k, 1.0 - mu)
        )
        return jnp.sum(jnp.where(w > 0, ll, 0.0), axis=0)

    def check_y(self, y, w=None):
        if _in_range(y, 0.0, 1.0):
            return
        bad = ~np.isfinite(y) | (y < 0) | (y > 1)
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            raise ResponseError(
                f"y: the {self.name} family needs values in [0, 1]; got "
                f"{int(bad.sum())} value(s) outside (first: {float(y.ravel()[i])!r} at position "
                f"{i}). Fix: pass 0/1 outcomes, or proportions successes/trials with "
                "sample_weight=trials."
            )

    def mu_start(self, y, w):
        return (w * y + 0.5) / (w + 1.0)

    def sample(self, key, mu, scale, w):
        n = jnp.round(w)
        return jax.random.binomial(key, n, mu, mu.shape).astype(mu.dtype) / jnp.where(n > 0, n, 1.0)


class Bernoulli(Binomial):
    """Binary outcomes ``y`` in {0, 1}; the Binomial family with one trial."""

    name = "bernoulli"


class Gamma(Family):
    """Gamma distribution for positive continuous ``y``; canonical link ``inverse``."""

    name = "gamma"
    estimates_scale: ClassVar[bool] = True

    def __init__(self, link: str | Link = "inverse"):
        self.link = get_link(link)

    def variance(self, mu):
        return mu**2

    def unit_deviance(self, y, mu):
        return 2.0 * (-jnp.log(y / mu) + (y - mu) / mu)

    def deviance_constant(self, y):
        return -2.0 * (jnp.log(y) + 1.0)

    def deviance_eta(self, y, eta):
        if self.link.name == "log":
            return 2.0 * (eta + y * jnp.exp(-eta))
        mu = self.link.inverse(eta)
        return 2.0 * (jnp.log(mu) + y / mu)

    def r_scale(self, dev, w):
        return dev / jnp.sum(w, axis=0)

    def log_likelihood(self, y, mu, w, scale):
        # R: sum(dgamma(y, 1/disp, scale = mu * disp, log = TRUE) * wt)
        shape = 1.0 / scale
        theta = mu * scale
        ld = (shape - 1.0) * jnp.log(y) - y / theta - gammaln(shape) - shape * jnp.log(theta)
        return jnp.sum(w * ld, axis=0)

    def check_y(self, y, w=None):
        if _in_range(y, 0.0, np.inf, lo_open=True):
            return
        bad = ~np.isfinite(y) | (y <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            raise ResponseError(
                f"y: the gamma family needs strictly positive values; got "
                f"{int(bad.sum())} value(s) <= 0 or non-finite (first: {float(y.ravel()[i])!r} "
                f"at position {i}). Fix: remove or shift those rows, or use another family."
            )

    def sample(self, key, mu, scale, w):
        shape = w / scale
        return jax.random.gamma(key, shape, mu.shape, mu.dtype) * mu / shape


class InverseGaussian(Family):
    """Inverse Gaussian (Wald) for positive ``y``; canonical link ``inverse_squared``."""

    name = "inverse_gaussian"
    estimates_scale: ClassVar[bool] = True

    def __init__(self, link: str | Link = "inverse_squared"):
        self.link = get_link(link)

    def variance(self, mu):
        return mu**3

    def unit_deviance(self, y, mu):
        return (y - mu) ** 2 / (y * mu**2)

    def r_scale(self, dev, w):
        return dev / jnp.sum(w, axis=0)

    def log_likelihood(self, y, mu, w, scale):
        # R: -aic/2 with aic = sum(wt) (log(disp 2 pi) + 1) + 3 sum(log(y) wt), where the
        # sum(wt) term is sum(wt (y-mu)^2 / (y mu^2)) / disp at R's dispersion.
        quad = w * (y - mu) ** 2 / (y * mu**2) / scale
        return -0.5 * jnp.sum(w * jnp.log(2 * jnp.pi * scale) + quad + 3 * w * jnp.log(y), axis=0)

    def check_y(self, y, w=None):
        if _in_range(y, 0.0, np.inf, lo_open=True):
            return
        bad = ~np.isfinite(y) | (y <= 0)
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            raise ResponseError(
                f"y: the inverse_gaussian family needs strictly positive values; got "
                f"{int(bad.sum())} value(s) <= 0 or non-finite (first: {float(y.ravel()[i])!r} "
                f"at position {i}). Fix: remove or shift those rows, or use another family."
            )

    def sample(self, key, mu, scale, w):
        k1, k2 = jax.random.split(key)
        lam = w / scale
        nu = jax.random.normal(k1, mu.shape, mu.dtype) ** 2
        x = (
            mu
            + mu**2 * nu / (2 * lam)
            - mu / (2 * lam) * jnp.sqrt(4 * mu * lam * nu + mu**2 * nu**2)
        )
        u = jax.random.uniform(k2, mu.shape, mu.dtype)
        return jnp.where(u <= mu / (mu + x), x, mu**2 / x)


class NegativeBinomial(Family):
    """Negative binomial counts with variance ``mu + alpha * mu**2``; link ``log``.

    ``alpha`` is fixed when given as a number; ``alpha="estimate"`` estimates it by
    maximum likelihood, alternating with the coefficients as R's ``MASS::glm.nb`` does
    (``theta = 1 / alpha``).
    """

    name = "negative_binomial"
    alpha: float | jax.Array = 1.0
    # counts, as Poisson's
    boundary_description: ClassVar[str] = Poisson.boundary_description
    boundary_distance = Poisson.boundary_distance
    boundary_response = Poisson.boundary_response

    def __init__(self, alpha: float | str = 1.0, link: str | Link = "log"):
        self.link = get_link(link)
        if isinstance(alpha, str):
            if alpha != "estimate":
                raise XglmError(
                    f"alpha: got {alpha!r}; expected a positive number or 'estimate'. "
                    "Fix: NegativeBinomial(alpha=1.0) or NegativeBinomial(alpha='estimate')."
                )
            self.alpha = float("nan")
        else:
            if not np.all(np.asarray(alpha) > 0):
                raise XglmError(
                    f"alpha: got {alpha!r}; expected a positive dispersion (variance is "
                    "mu + alpha * mu**2). Fix: pass alpha > 0 or alpha='estimate'."
                )
            self.alpha = alpha

    @property
    def estimate_alpha(self) -> bool:
        return isinstance(self.alpha, float) and np.isnan(self.alpha)

    def variance(self, mu):
        return mu + self.alpha * mu**2

    def unit_deviance(self, y, mu):
        a = self.alpha
        return 2.0 * (_xlogx_ratio(y, mu) - (y + 1.0 / a) * (jnp.log1p(a * y) - jnp.log1p(a * mu)))

    def log_likelihood(self, y, mu, w, scale):
        theta = 1.0 / self.alpha
        ll = (
            gammaln(theta + y)
            - gammaln(theta)
            - gammaln(y + 1.0)
            + theta * jnp.log(theta)
            + xlogy(y, mu)
            - (theta + y) * jnp.log(theta + mu)
        )
        return jnp.sum(w * ll, axis=0)

    def n_extra_params(self) -> int:
        return 1 if self.estimate_alpha else 0

    def check_y(self, y, w=None):
        _nonneg_check("negative_binomial", y, integer=True)

    def mu_start(self, y, w):
        return y + (y == 0) / 6.0

    def sample(self, key, mu, scale, w):
        k1, k2 = jax.random.split(key)
        theta = 1.0 / self.alpha
        lam = jax.random.gamma(k1, theta, mu.shape, mu.dtype) * mu / theta
        return jax.random.poisson(k2, lam, mu.shape).astype(mu.dtype)

    def __repr__(self) -> str:
        a = "'estimate'" if self.estimate_alpha else f"{float(np.asarray(self.alpha)):g}"
        return f"NegativeBinomial(alpha={a}, link={self.link.name!r})"


_FAMILIES: dict[str, type[Family]] = {
    "gaussian": Gaussian,
    "normal": Gaussian,
    "poisson": Poisson,
    "binomial": Binomial,
    "bernoulli": Bernoulli,
    "logistic": Bernoulli,
    "gamma": Gamma,
    "inverse_gaussian": InverseGaussian,
    "inversegaussian": InverseGaussian,
    "negative_binomial": NegativeBinomial,
    "negativebinomial": NegativeBinomial,
}
FAMILY_NAMES = (
    "gaussian",
    "poisson",
    "binomial",
    "bernoulli",
    "gamma",
    "inverse_gaussian",
    "negative_binomial",
)


def get_family(family: str | Family) -> Family:
    """Resolve a family name or object to a :class:`Family` instance."""
    if isinstance(family, Family):
        return family
    if isinstance(family, str):
        key = family.lower().replace("-", "_").replace(" ", "_")
        if key in _FAMILIES:
            return _FAMILIES[key]()
    raise XglmError(
        f"family: got {family!r}; expected one of {', '.join(map(repr, FAMILY_NAMES))} "
        "or an xglm family object such as xglm.Poisson(link='softplus'). "
        "Fix: pass a supported family name."
    )
