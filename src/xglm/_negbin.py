"""Maximum-likelihood estimation of the negative binomial ``theta = 1 / alpha``.

Newton's method on the profile score with the expected information, as R's
``MASS::theta.ml``; ``glm.nb`` alternates it with the coefficient fit.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, polygamma

__all__ = ["theta_ml"]


def theta_ml(
    y, mu, w, theta0: float | None = None, maxiter: int = 50, tol: float = 1e-10
) -> tuple[float, bool]:
    """Return ``(theta, converged)`` maximising the NB log-likelihood at fixed ``mu``."""
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
