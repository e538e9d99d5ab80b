"""The design in feature-major order: values, dtype and layout are exact."""

import numpy as np
import pytest

from xglm._device import ROW_BLOCK, column_major_empty, feature_major


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (1000, 5), (257, 12), (2 * ROW_BLOCK + 1, 4)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_feature_major_is_the_exact_transpose(shape, dtype):
    X = np.random.default_rng(0).standard_normal(shape)
    Xt = feature_major(X, dtype)
    assert Xt.shape == shape[::-1]
    assert Xt.dtype == dtype
    np.testing.assert_array_equal(np.asarray(Xt), X.T.astype(dtype))


def test_feature_major_of_a_strided_view_and_empty_design():
    X = np.arange(60.0).reshape(10, 6)[::2, 1::2]
    np.testing.assert_array_equal(np.asarray(feature_major(X, np.float64)), X.T)
    assert feature_major(np.zeros((0, 3)), np.float64).shape == (3, 0)


def test_buffers_are_reused_only_when_no_array_uses_them():
    # a live array keeps its buffer: a second transpose of the same size must not
    # write into it; once the array is gone its buffer is reused
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((3000, 50)), rng.standard_normal((3000, 50))
    first = feature_major(A, np.float64)
    second = feature_major(B, np.float64)
    assert first.unsafe_buffer_pointer() != second.unsafe_buffer_pointer()
    np.testing.assert_array_equal(np.asarray(first), A.T)
    np.testing.assert_array_equal(np.asarray(second), B.T)
    pointer = second.unsafe_buffer_pointer()
    del second
    third = feature_major(A, np.float64)
    assert third.unsafe_buffer_pointer() == pointer
    np.testing.assert_array_equal(np.asarray(third), A.T)
    np.testing.assert_array_equal(np.asarray(first), A.T)


def _unaligned(values):
    """``values`` as a column-major array whose data do not start at a 64-byte
    boundary (as NumPy's large arrays, which start 16 bytes past one): the fit copies
    it into its pool (see _device.copied_to_pool)."""
    n, p = values.shape
    buf = np.empty(values.size + 1)
    shift = int(buf.ctypes.data % 64 == 0)
    X = buf[shift : shift + values.size].reshape(p, n).T
    X[:] = values
    return X


@pytest.fixture
def empty_pool(monkeypatch):
    from xglm import _device

    monkeypatch.setattr(_device, "_POOL", [])


def test_a_snapshot_restores_the_copy_until_its_buffer_is_handed_out_again(empty_pool):
    from xglm._device import restore, snapshot

    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((3000, 50)), rng.standard_normal((3000, 50))
    first = feature_major(A, np.float64)
    snap, pointer = snapshot(first), first.unsafe_buffer_pointer()
    del first
    again = restore(snap)  # the same buffer, unwritten: the same values
    assert again.unsafe_buffer_pointer() == pointer
    np.testing.assert_array_equal(np.asarray(again), A.T)
    del again
    assert restore(snap) is not None  # restoring hands nothing out
    rewritten = feature_major(B, np.float64)  # the free buffer, written over
    assert rewritten.unsafe_buffer_pointer() == pointer
    assert restore(snap) is None
    del rewritten
    # while a restored copy is used, a transpose of its size takes another buffer
    first = feature_major(A, np.float64)
    snap = snapshot(first)
    del first
    held = restore(snap)
    other = feature_major(B, np.float64)
    assert other.unsafe_buffer_pointer() != held.unsafe_buffer_pointer()
    np.testing.assert_array_equal(np.asarray(held), A.T)
    np.testing.assert_array_equal(np.asarray(other), B.T)
    del held, other
    assert restore(snap) is None  # the pool now holds the other buffer
    # an aligned column-major design is aliased, not copied: nothing to snapshot
    F = column_major_empty(3000, 50)
    F[:] = A
    Xt = feature_major(F, np.float64)
    assert Xt.unsafe_buffer_pointer() == F.T.ctypes.data
    assert snapshot(Xt) is None


def test_a_fingerprint_takes_the_copy_s_sum_before_its_buffer_is_written_over(
    empty_pool, monkeypatch
):
    from xglm import _device
    from xglm._design._arrays import design_checksum
    from xglm._device import copied_to_pool, restore, snapshot, watch

    sums = []
    copy_sum = _device._copy_sum
    monkeypatch.setattr(_device, "_copy_sum", lambda *a: sums.append(1) or copy_sum(*a))
    rng = np.random.default_rng(3)
    A = _unaligned(rng.standard_normal((3001, 50)))
    B = _unaligned(rng.standard_normal((3001, 50)))
    assert copied_to_pool(A, np.float64) and copied_to_pool(B, np.float64)
    first = feature_major(A, np.float64)
    snap = snapshot(first)
    fp = watch(snap)
    del first
    assert fp.value is None and not sums  # nothing summed while the copy is there
    np.testing.assert_array_equal(np.asarray(restore(snap)), A.T)
    # the next copy of that size writes over it: the sum of A is taken first, once
    second = feature_major(B, np.float64)
    assert restore(snap) is None
    assert fp.value == design_checksum(A) and len(sums) == 1
    np.testing.assert_array_equal(np.asarray(second), B.T)
    # a copy still in use leaves the pool for a fresh buffer: its waiting sum is taken
    fp2 = watch(snapshot(second))
    third = feature_major(A, np.float64)
    assert third.unsafe_buffer_pointer() != second.unsafe_buffer_pointer()
    assert fp2.value == design_checksum(B) and len(sums) == 2
    # a fingerprint nobody holds costs nothing: its buffer is written over unsummed
    gone = watch(snapshot(third))
    del gone, second, third
    feature_major(B, np.float64)
    assert len(sums) == 2


def test_a_fitted_model_does_not_keep_the_fit_s_copy_of_the_design():
    # the lazy covariance keeps the response, not the transposed design: a refit of the
    # same shapes writes into the same buffer and both models keep their own results
    import xglm

    rng = np.random.default_rng(2)
    X = rng.standard_normal((30_000, 90))
    y = rng.poisson(np.exp(0.1 * X[:, 0])).astype(float)
    m1 = xglm.GLM(regularizer="Ridge", regularizer_strength=1e-3).fit(X, y)
    c1 = m1.coef_.copy()
    m2 = xglm.GLM(regularizer="Ridge", regularizer_strength=1e-2).fit(X * 2.0, y)
    np.testing.assert_array_equal(m1.coef_, c1)
    ref = xglm.GLM(regularizer="Ridge", regularizer_strength=1e-3).fit(X, y)
    # the deferred covariance of the first model is computed after the refit
    np.testing.assert_allclose(np.asarray(m1.bse_), np.asarray(ref.bse_), rtol=1e-12)
    assert not np.allclose(m2.coef_, c1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_column_major_design_is_aliased_or_copied_contiguously(dtype):
    from xglm._device import column_major_empty

    rng = np.random.default_rng(3)
    X = column_major_empty(2000, 7)
    X[...] = rng.standard_normal((2000, 7))
    assert X.flags.f_contiguous and X.T.ctypes.data % 64 == 0
    Xt = feature_major(X, dtype)
    np.testing.assert_array_equal(np.asarray(Xt), X.T.astype(dtype))
    # float64 and aligned: no copy at all
    assert (Xt.unsafe_buffer_pointer() == X.T.ctypes.data) == (dtype == np.float64)
    # a Fortran-ordered array off the 64-byte boundary is copied into an aligned buffer
    F = np.asfortranarray(rng.standard_normal((301, 5)))
    odd = np.empty(F.size + 1)[1:].reshape(5, 301).T
    odd[...] = F
    np.testing.assert_array_equal(np.asarray(feature_major(odd, np.float64)), F.T)


def test_labelled_and_pytree_designs_are_built_column_major_with_equal_fits():
    # DataFrames, dicts of columns and datasets give column-major designs the solvers
    # read without a transpose, and the same fit as the NumPy array
    import pandas as pd
    import xarray as xr

    import xglm
    from xglm._design import prepare

    rng = np.random.default_rng(4)
    X = rng.standard_normal((3000, 4))
    y = rng.poisson(np.exp(0.2 + X @ [0.3, -0.2, 0.1, 0.0])).astype(float)
    names = ["a", "b", "c", "d"]
    df = pd.DataFrame(X, columns=names)
    inputs = {
        "DataFrame": df,
        "dict": {c: df[c].to_numpy() for c in names},
        "Dataset": xr.Dataset({c: ("time", df[c].to_numpy()) for c in names}),
    }
    ref = xglm.GLM().fit(X, y)
    for kind, data in inputs.items():
        design, _ = prepare(data, y, formula=None, population=False, na_action="raise")
        assert design.X.flags.f_contiguous, kind
        np.testing.assert_array_equal(design.X, X)
        m = xglm.GLM().fit(data, y)
        np.testing.assert_array_equal(m._coef_flat, ref.coef_)
        np.testing.assert_array_equal(m.intercept_, ref.intercept_)
    design, _ = prepare(
        df.assign(y=y), None, formula="y ~ a + b + c + d", population=False, na_action="raise"
    )
    assert design.X.flags.f_contiguous
    np.testing.assert_array_equal(design.X, X)


def test_a_dataframe_s_float_block_is_the_design_without_a_copy():
    import pandas as pd

    from xglm._design import prepare

    rng = np.random.default_rng(5)
    X = rng.standard_normal((500, 3))
    y = rng.poisson(1.0, 500).astype(float)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    design, _ = prepare(df, y, formula=None, population=False, na_action="raise")
    assert np.shares_memory(design.X, df.to_numpy())
    assert not design.X.flags.writeable
    np.testing.assert_array_equal(design.X, X)
    # columns out of storage order, or stored in separate blocks: copied, same values
    for frame, expected in [
        (df[["c", "a"]], X[:, [2, 0]]),
        (df.assign(d=np.arange(500)), np.column_stack([X, np.arange(500.0)])),
    ]:
        design, _ = prepare(frame, y, formula=None, population=False, na_action="raise")
        np.testing.assert_array_equal(design.X, expected)
        assert design.X.flags.f_contiguous


def test_statistics_on_first_use_read_the_fitted_data_or_refuse_a_modified_design():
    import xglm
    from xglm._design._arrays import design_checksum
    from xglm.errors import DesignError

    rng = np.random.default_rng(6)
    X = rng.standard_normal((30_000, 90))
    y = rng.poisson(np.exp(0.1 * X[:, 0])).astype(float)
    ref = xglm.GLM(regularizer="Ridge", regularizer_strength=1e-3).fit(X.copy(), y)
    ref_stats = (ref.deviance_, ref.aic_, np.asarray(ref.bse_))

    def fit():
        return xglm.GLM(regularizer="Ridge", regularizer_strength=1e-3).fit(X, y)

    # while the fit's own copy of the design is unwritten, the statistics and the
    # deferred covariance are read from it: a design modified in place since does not
    # change them
    m = fit()
    deviance = m.deviance_
    assert m._cov_pending is not None  # large and penalized: deferred further
    total, original = design_checksum(X), X[0, 0]
    np.testing.assert_allclose(total, np.sum(X), rtol=1e-12)
    X[0, 0] += 1.0
    changed = design_checksum(X)
    assert (deviance, m.aic_) == ref_stats[:2]
    np.testing.assert_allclose(np.asarray(m.bse_), ref_stats[2], rtol=1e-12)
    # once a fit of the same size wrote over that copy, the design the model was given
    # is read, and refused when it changed (the message gives both sums)
    X[0, 0] = original
    m, other = fit(), fit()
    m.deviance_  # noqa: B018
    X[0, 0] += 1.0
    xglm.GLM(regularizer="Ridge", regularizer_strength=1e-3).fit(X.copy(), y)
    with pytest.raises(DesignError) as err:
        m.bse_
    assert str(err.value) == (
        f"X: the design was modified in place after fit (its sum changed from {total!r} "
        f"to {changed!r}); the covariance, computed on first use, needs the data the "
        "model was fitted to. Fix: refit, or pass a copy to fit (X.copy()) when the data "
        "are modified later."
    )
    with pytest.raises(DesignError) as err:
        other.aic_
    assert str(err.value) == (
        f"X: the design was modified in place after fit (its sum changed from {total!r} "
        f"to {changed!r}); the fit's statistics, computed on first use, need the data the "
        "model was fitted to. Fix: refit, or pass a copy to fit (X.copy()) when the data "
        "are modified later."
    )
    X[0, 0] = original  # restored: the values are computed, as from the reference fit
    np.testing.assert_allclose(np.asarray(m.bse_), ref_stats[2], rtol=1e-12)
    assert other.aic_ == ref_stats[1]


def test_a_fitted_model_with_a_deferred_covariance_pickles_with_every_value():
    import copy
    import pickle

    import xglm

    rng = np.random.default_rng(7)
    X = rng.standard_normal((30_000, 90))
    y = rng.poisson(np.exp(0.1 * X[:, 0])).astype(float)
    m = xglm.GLM(regularizer="Ridge", regularizer_strength=1e-3).fit(X, y)
    assert m._statistics_pending is not None  # deferred
    for other in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        assert other._statistics_pending is None and other._cov_pending is None
        np.testing.assert_array_equal(other.coef_, m.coef_)
        np.testing.assert_array_equal(other.intercept_, m.intercept_)
        np.testing.assert_array_equal(other.cov_params(), m.cov_params())
        for name in ("deviance_", "loglik_", "aic_", "bic_", "scale_", "dof_resid_"):
            assert getattr(other, name) == getattr(m, name), name
        np.testing.assert_array_equal(other.predict(X[:50]), m.predict(X[:50]))
        pd_summary = other.summary()
        assert pd_summary.equals(m.summary())


# --------------------------------------- a column-major design the fit copies as it is
def _pooled_design(seed, n=30_000, p=40):
    """A column-major float64 design that the fit copies into its pool as it is, whose
    check of its values the fit takes over (see design_from_arrays)."""
    from xglm._device import copied_to_pool

    rng = np.random.default_rng(seed)
    X = _unaligned(rng.standard_normal((n, p)))
    assert copied_to_pool(X, np.float64)
    y = rng.poisson(np.exp(0.2 * X[:, 0])).astype(float)
    return X, y


_MODELS = {
    "ridge": lambda: xglm_models().GLM(regularizer="Ridge", regularizer_strength=1e-3),
    "unpenalized": lambda: xglm_models().GLM(),
    "lasso": lambda: xglm_models().GLM(regularizer="Lasso", regularizer_strength=1e-3),
    # (80 features: the Lasso fit runs on active sets, which check before the fit)
    "lasso_active_sets": lambda: xglm_models().GLM(regularizer="Lasso", regularizer_strength=1e-3),
    "lbfgs": lambda: xglm_models().GLM(solver="lbfgs"),
    "population": lambda: xglm_models().PopulationGLM(),
}


def xglm_models():
    import xglm

    return xglm


@pytest.mark.parametrize("model", list(_MODELS))
@pytest.mark.parametrize(
    ("bad", "counts"), [(np.nan, "1 NaN and 0 infinite"), (np.inf, "0 NaN and 1 infinite")]
)
def test_a_non_finite_value_of_a_pooled_design_is_reported_as_by_an_up_front_check(
    model, bad, counts
):
    # the Newton solver's scores at the start (or, for the other solvers and the
    # active-set fits, a check before the fit) report it, with the same message
    from xglm.errors import DesignError

    X, y = _pooled_design(4, p=80 if model == "lasso_active_sets" else 40)
    X[7, 3] = bad
    w = np.ones(len(y))
    w[7] = 0.0  # a row without weight still counts
    Y = np.column_stack([y, y[::-1], y]) if model == "population" else y
    with pytest.raises(DesignError) as err:
        _MODELS[model]().fit(X, Y, sample_weight=w)
    assert str(err.value) == (
        f"X: found {counts} value(s) in column(s) ['x3']; expected finite numbers. Fix: "
        "remove or impute those rows (formula and labelled input also accept "
        "na_action='drop')."
    )


def test_a_deferred_check_s_statistics_read_the_copy_or_its_sum(empty_pool):
    import xglm
    from xglm._design._arrays import design_checksum
    from xglm.errors import DesignError

    X, y = _pooled_design(5)
    total = design_checksum(X)

    def fit(data):
        return xglm.GLM(regularizer="Ridge", regularizer_strength=1e-3).fit(data, y)

    ref = fit(np.ascontiguousarray(X))  # checked and summed before its fit
    ref_bse = np.asarray(ref.bse_)
    m = fit(X)
    assert "checksum" not in m.design_.extra  # no pass over the design for its sum
    assert m._statistics_pending is not None
    # the next fit of that size writes over m's copy, whose sum is taken first
    other = fit(X)
    original = X[0, 0]
    X[0, 0] += 1.0
    changed = design_checksum(X)
    # other's statistics read its own copy, unwritten: the modification does not reach
    # them; m's read the design, which no longer has the sum it was fitted with
    np.testing.assert_allclose(np.asarray(other.bse_), ref_bse, rtol=1e-12)
    assert other.deviance_ == ref.deviance_
    with pytest.raises(DesignError) as err:
        m.deviance_  # noqa: B018
    assert str(err.value) == (
        f"X: the design was modified in place after fit (its sum changed from {total!r} "
        f"to {changed!r}); the fit's statistics, computed on first use, need the data the "
        "model was fitted to. Fix: refit, or pass a copy to fit (X.copy()) when the data "
        "are modified later."
    )
    X[0, 0] = original  # restored: the statistics are those of the reference fit
    assert m.deviance_ == ref.deviance_
    np.testing.assert_allclose(np.asarray(m.bse_), ref_bse, rtol=1e-12)


@pytest.mark.parametrize("bad", [None, np.nan])
def test_a_deferred_check_reads_the_design_only_for_a_non_finite_score(
    bad, monkeypatch, empty_pool
):
    # a finite design is neither checked nor summed by a pass of its own: the fit's
    # copy and the solver's first scores serve; a non-finite one is checked after them
    import xglm
    from xglm import _model
    from xglm._design import _arrays

    calls = []
    for module, name in [(_model, "check_finite"), (_arrays, "design_checksum")]:
        original = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda *a, _f=original, _n=name, **kw: calls.append(_n) or _f(*a, **kw)
        )
    X, y = _pooled_design(6)
    if bad is not None:
        X[11, 0] = bad
        with pytest.raises(xglm.errors.DesignError):
            xglm.GLM(regularizer="Ridge", regularizer_strength=1e-3).fit(X, y)
        assert calls == ["check_finite", "design_checksum"]
    else:
        xglm.GLM(regularizer="Ridge", regularizer_strength=1e-3).fit(X, y)
        assert calls == []
