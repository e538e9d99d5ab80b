"""Link functions as immutable equinox modules.

A link ``g`` maps the mean ``mu`` to the linear predictor ``eta = g(mu)``. Each link
provides ``link``, ``inverse`` (``g^-1``), ``inverse_deriv`` (``d mu / d eta``) and
``deriv`` (``d eta / d mu``), written by hand for numerical stability and checked
against autodiff in the tests.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr, ndtri

from .errors import XglmError

__all__ = [
    "Link",
    "Identity",
    "Log",
    "Logit",
    "Probit",
    "CLogLog",
    "Inverse",
    "InverseSquared",
    "Sqrt",
    "Softplus",
    "get_link",
    "LINK_NAMES",
]

_TINY = 1e-300


class Link(eqx.Module):
    """Abstract link function ``eta = g(mu)``."""

    name: ClassVar[str]

    def link(self, mu):  # pragma: no cover - abstract
        raise NotImplementedError

    def inverse(self, eta):  # pragma: no cover - abstract
        raise NotImplementedError

    def inverse_deriv(self, eta):  # pragma: no cover - abstract
        raise NotImplementedError

    def deriv(self, mu):
        """``d eta / d mu`` evaluated at ``mu``."""
        return 1.0 / self.inverse_deriv(self.link(mu))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Identity(Link):
    """``eta = mu``."""

    name = "identity"

    def link(self, mu):
        return mu

    def inverse(self, eta):
        return eta

    def inverse_deriv(self, eta):
        return jnp.ones_like(eta)

    def deriv(self, mu):
        return jnp.ones_like(mu)


class Log(Link):
    """``eta = log(mu)``."""

    name = "log"

    def link(self, mu):
        return jnp.log(mu)

    def inverse(self, eta):
        return jnp.exp(eta)

    def inverse_deriv(self, eta):
        return jnp.exp(eta)

    def deriv(self, mu):
        return 1.0 / mu


class Logit(Link):
    """``eta = log(mu / (1 - mu))``."""

    name = "logit"

    def link(self, mu):
        return jnp.log(mu) - jnp.log1p(-mu)

    def inverse(self, eta):
        return jax.nn.sigmoid(eta)

    def inverse_deriv(self, eta):
        s = jax.nn.sigmoid(eta)
        return s * (1.0 - s)

    def deriv(self, mu):
        return 1.0 / (mu * (1.0 - mu))


class Probit(Link):
    """``eta = Phi^-1(mu)``, the standard normal quantile."""

    name = "probit"

    def link(self, mu):
        return ndtri(mu)

    def inverse(self, eta):
        return ndtr(eta)

    def inverse_deriv(self, eta):
        return jnp.exp(-0.5 * eta**2) / jnp.sqrt(2.0 * jnp.pi)


class CLogLog(Link):
    """``eta = log(-log(1 - mu))``."""

    name = "cloglog"

    def link(self, mu):
        return jnp.log(-jnp.log1p(-mu))

    def inverse(self, eta):
        return -jnp.expm1(-jnp.exp(eta))

    def inverse_deriv(self, eta):
        return jnp.exp(eta - jnp.exp(eta))


class Inverse(Link):
    """``eta = 1 / mu``."""

    name = "inverse"

    def link(self, mu):
        return 1.0 / mu

    def inverse(self, eta):
        return 1.0 / eta

    def inverse_deriv(self, eta):
        return -1.0 / eta**2

    def deriv(self, mu):
        return -1.0 / mu**2


class InverseSquared(Link):
    """``eta = 1 / mu**2``."""

    name = "inverse_squared"

    def link(self, mu):
        return 1.0 / mu**2

    def inverse(self, eta):
        return 1.0 / jnp.sqrt(eta)

    def inverse_deriv(self, eta):
        return -0.5 * eta ** (-1.5)

    def deriv(self, mu):
        return -2.0 / mu**3


class Sqrt(Link):
    """``eta = sqrt(mu)``."""

    name = "sqrt"

    def link(self, mu):
        return jnp.sqrt(mu)

    def inverse(self, eta):
        return eta**2

    def inverse_deriv(self, eta):
        return 2.0 * eta

    def deriv(self, mu):
        return 0.5 / jnp.sqrt(mu)


class Softplus(Link):
    """``mu = log(1 + exp(eta))``: a smooth, non-negative rate (common for spike trains)."""

    name = "softplus"

    def link(self, mu):
        # log(expm1(mu)), stable for large mu
        return mu + jnp.log(-jnp.expm1(-mu))

    def inverse(self, eta):
        return jax.nn.softplus(eta)

    def inverse_deriv(self, eta):
        return jax.nn.sigmoid(eta)


_LINKS: dict[str, type[Link]] = {
    cls.name: cls
    for cls in (Identity, Log, Logit, Probit, CLogLog, Inverse, InverseSquared, Sqrt, Softplus)
}
LINK_NAMES = tuple(_LINKS)


def get_link(link: str | Link) -> Link:
    """Resolve a link name or object to a :class:`Link` instance."""
    if isinstance(link, Link):
        return link
    if isinstance(link, str) and link.lower() in _LINKS:
        return _LINKS[link.lower()]()
    raise XglmError(
        f"link: got {link!r}; expected one of {', '.join(map(repr, LINK_NAMES))} "
        "or an xglm link object. Fix: pass a supported link name, e.g. link='log'."
    )
