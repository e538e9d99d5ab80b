"""Maximum-likelihood estimation of the negative binomial ``theta = 1 / alpha``.

Newton's method on the profile score with the expected information, as R's
``MASS::theta.ml`` (:func:`theta_ml`); :func:`fit_alternating` alternates it with the
coefficient fit, as ``MASS::glm.nb``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from ._families import NegativeBinomial, Poisson
from .errors import ResponseError

__all__ = ["fit_alternating", "theta_ml"]


def theta_ml(
    y, mu, w, theta0: float | None = None, maxiter: int = 50, tol: float = 1e-10
) -> tuple[float, bool]:
    """Return ``(theta, converged)`` maximising the NB log-likelihood at fixed ``mu``."""
    from scipy.special import digamma, polygamma  # (imported on first use: 0.16 s)

    y = np.asarray(y, float)
    mu = np.asarray(mu, float)
    w = np.asarray(w, float)
    n = w.sum()
    if theta0 is None or not np.isfinite(theta0) or theta0 <= 0:
        theta = n / np.sum(w * (y / mu - 1.0) ** 2)
    else:
        theta = float(theta0)
    for _ in range(maxiter):
        theta = max(theta, 1e-8)
        score = np.sum(
            w
            * (
                digamma(theta + y)
                - digamma(theta)
                + np.log(theta)
                + 1
                - np.log(theta + mu)
                - (y + theta) / (mu + theta)
            )
        )
        info = np.sum(
            w
            * (
                -polygamma(1, theta + y)
                + polygamma(1, theta)
                - 1 / theta
                + 2 / (mu + theta)
                - (y + theta) / (mu + theta) ** 2
            )
        )
        delta = score / info
        theta_new = theta + delta
        if theta_new <= 0:
            theta_new = theta / 2
        if abs(theta_new - theta) <= tol * max(1.0, abs(theta)):
            return float(theta_new), True
        theta = theta_new
    return float(theta), False


def _mean(out, X, offset, family) -> np.ndarray:
    # X is the design feature-major (p, n)
    eta = (out.coef.T @ X).T + out.intercept + offset
    return np.asarray(family.link.inverse(eta))


def fit_alternating(
    run: Callable, family: NegativeBinomial, X, y, w, offset, beta0, b0, from_start: bool
):
    """Fit a negative-binomial GLM with ``alpha`` estimated by maximum likelihood.

    As ``MASS::glm.nb``: a Poisson fit first, then ``theta`` by :func:`theta_ml` at its
    means and the coefficients at that ``theta``, alternated until the coefficients
    change by less than 1e-10. ``run(family, beta0, b0, from_start)`` fits the
    coefficients for a given family; ``X`` is the design feature-major ``(p, n)``,
    ``y``, ``w`` and ``offset`` the core's arrays for one neuron. Returns the last fit
    and the family with the estimated ``alpha`` as a float.
    """
    y = np.asarray(y)
    w = np.asarray(w)
    if not np.any(y[w > 0] > 0):
        raise ResponseError(
            "y: every counted response is 0; alpha cannot be estimated without a "
            "positive count (its likelihood is flat in alpha). Fix: pass a fixed alpha, "
            "e.g. NegativeBinomial(alpha=1.0), or use the Poisson family."
        )
    fam = NegativeBinomial(alpha=1.0, link=family.link)
    out = run(Poisson(link=family.link), beta0, b0, from_start)
    theta = None
    for _ in range(50):
        theta, _ = theta_ml(y, _mean(out, X, offset, fam), w, theta)
        fam = NegativeBinomial(alpha=jnp.asarray(1.0 / theta), link=family.link)
        new = run(fam, out.coef, out.intercept, False)
        delta = float(jnp.max(jnp.abs(new.coef - out.coef))) if new.coef.size else 0.0
        delta = max(delta, abs(float(new.intercept - out.intercept)))
        out = new
        if delta < 1e-10:
            break
    theta, _ = theta_ml(y, _mean(out, X, offset, fam), w, theta)
    return out, NegativeBinomial(alpha=1.0 / theta, link=family.link)
