"""The package's import: what ``import xglm`` loads, and the lazily loaded basis."""

import subprocess
import sys

import xglm


def _python(code: str) -> str:
    """What ``code`` prints in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_import_leaves_out_what_a_fit_without_formula_does_not_need():
    # formulaic (the bases, formulas), optimistix (the quasi-Newton solvers) and
    # scipy.special (p-values, the negative-binomial alpha) load on first use, and
    # scipy.stats not at all
    code = (
        "import sys, xglm; "
        "print(sorted(m for m in ('formulaic', 'optimistix', 'scipy.stats', "
        "'scipy.special', 'xarray') if m in sys.modules))"
    )
    assert _python(code) == "[]"


def test_a_fit_and_its_summary_do_not_import_scipy_stats():
    # the p-values and intervals come from scipy.special (scipy.stats took 0.3 s to import)
    code = (
        "import sys, numpy as np, xglm; "
        "X = np.random.default_rng(0).normal(size=(200, 2)); "
        "y = np.random.default_rng(1).poisson(1.0, 200).astype(float); "
        "m = xglm.GLM().fit(X, y); m.summary(); xglm.wald_test_terms(m); "
        "print('scipy.stats' in sys.modules)"
    )
    assert _python(code) == "False"


def test_basis_loads_on_first_use():
    assert "basis" in xglm.__all__
    assert xglm.basis.raised_cosine is sys.modules["xglm.basis"].raised_cosine
    from xglm.basis import raised_cosine

    assert raised_cosine is xglm.basis.raised_cosine


def test_unknown_attribute_is_an_attribute_error():
    try:
        xglm.no_such_name  # noqa: B018
    except AttributeError as err:
        assert str(err) == "module 'xglm' has no attribute 'no_such_name'"
    else:
        raise AssertionError("expected an AttributeError")
