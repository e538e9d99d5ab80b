import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xglm
from xglm._links import LINK_NAMES, get_link
from xglm.errors import XglmError

# points inside every link's domain (mu) and the matching eta
MU = {
    "identity": [-2.0, 0.3, 4.0],
    "log": [0.1, 1.0, 7.0],
    "logit": [0.05, 0.5, 0.93],
    "probit": [0.05, 0.5, 0.93],
    "cloglog": [0.05, 0.5, 0.93],
    "inverse": [0.2, 1.0, 3.0],
    "inverse_squared": [0.2, 1.0, 3.0],
    "sqrt": [0.2, 1.0, 3.0],
    "softplus": [0.01, 1.0, 30.0],
}


@pytest.mark.parametrize("name", LINK_NAMES)
def test_link_inverse_and_derivatives_match_autodiff(name):
    link = get_link(name)
    mu = jnp.asarray(MU[name])
    eta = link.link(mu)
    np.testing.assert_allclose(link.inverse(eta), mu, rtol=1e-12)
    auto_inv = jax.vmap(jax.grad(link.inverse))(eta)
    np.testing.assert_allclose(link.inverse_deriv(eta), auto_inv, rtol=1e-10)
    auto_link = jax.vmap(jax.grad(link.link))(mu)
    np.testing.assert_allclose(link.deriv(mu), auto_link, rtol=1e-10)


def test_unknown_link_message():
    with pytest.raises(XglmError) as err:
        xglm.Poisson(link="logg")
    assert str(err.value) == (
        "link: got 'logg'; expected one of 'identity', 'log', 'logit', 'probit', "
        "'cloglog', 'inverse', 'inverse_squared', 'sqrt', 'softplus' or an xglm link "
        "object. Fix: pass a supported link name, e.g. link='log'."
    )


def test_links_are_immutable():
    link = xglm.Log()
    with pytest.raises(AttributeError):
        link.foo = 1
