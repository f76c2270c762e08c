"""Sparse X (scipy.sparse CSR and CSC) on the numpy engine, never densified.

References: the same fit on the data densified (the dense numpy engine, same seed: 1e-10), scikit-learn's
SGDRegressor on the same CSR matrix (per-sample steps at a constant rate, rows in order: 1e-10), the dense
engine's Gram statistics and exact answer, and ``gradfit.optimum.accurate``'s double-double residual pass.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import SGDRegressor

import gradfit
from gradfit import GDRegressor
from gradfit.descent.losses import make_loss
from gradfit.descent.optim import make_optimizer
from gradfit.engines import kernels_lazy, kernels_sparse, sparse_passes
from gradfit.engines.kernels import Descent, Penalty
from gradfit.engines.kernels_sparse import lazy_applies
from gradfit.errors import DataError, OptionError
from gradfit.optimum.accurate import residual_pass
from gradfit.training.config import FitConfig

from .helpers import assert_same_history

TOL = 1e-10


def sparse_data(n=120, d=8, density=0.3, seed=0, fmt="csr"):
    """a random sparse X with column means away from zero (so centering moves every coordinate) and its y"""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, random_state=seed, format=fmt,
                  data_rvs=lambda k: rng.normal(loc=1.5, size=k))
    y = X @ np.linspace(-1.0, 2.0, d) + 0.5 + 0.1 * rng.normal(size=n)
    return X, y


def fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few epochs are not at the optimum, and need not be
        return model.fit(X, y)


def assert_same_fit(a, b, tol=TOL):
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=tol, atol=tol)
    assert a.intercept_ == pytest.approx(b.intercept_, rel=tol, abs=tol)
    assert_same_history(a.history_, b.history_, rtol=tol)


PENALTIES = {"none": {}, "l2": {"alpha": 0.1}, "elastic": {"alpha": 0.05, "l1_ratio": 0.5}}


@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("preprocess", ["none", "center", "standardize"])
@pytest.mark.parametrize("batch_size", [None, 1, 7])
def test_sparse_fit_equals_the_dense_fit(batch_size, preprocess, penalty):
    X, y = sparse_data()
    settings = dict(lr=0.02, epochs=3, tol=None, seed=0, batch_size=batch_size, preprocess=preprocess,
                    **PENALTIES[penalty])
    assert_same_fit(fit_quietly(GDRegressor(**settings), X, y), fit_quietly(GDRegressor(**settings), X.toarray(), y))


@pytest.mark.parametrize("settings", [
    {"optimizer": "adam", "batch_size": 5},
    {"optimizer": "sgd", "momentum": 0.9, "batch_size": 1},
    {"optimizer": "rmsprop", "batch_size": 4, "alpha": 0.1},
    {"optimizer": "sgd", "average": True, "batch_size": 1},
    {"loss": "huber", "epsilon": 0.5, "batch_size": 3},
    {"fit_intercept": False, "preprocess": "standardize", "batch_size": 1, "alpha": 0.1},
    {"fit_intercept": False, "preprocess": "none", "batch_size": 1, "alpha": 0.1},
    {"fit_intercept": False, "preprocess": "none", "batch_size": 6, "alpha": 0.1},
    {"fit_intercept": False, "preprocess": "none", "batch_size": 1},
    {"shuffle": False, "batch_size": 9},
    {"engine_options": {"shuffle_mode": "block", "shuffle_block": 16}, "batch_size": 1},
])
def test_sparse_fit_equals_the_dense_fit_for_other_settings(settings):
    """momentum, adaptive optimizers, averaging and L1 take the general steps; plain SGD the lazy ones"""
    X, y = sparse_data(seed=1)
    settings = {"lr": 0.01, "epochs": 3, "tol": None, "seed": 3, **settings}
    assert_same_fit(fit_quietly(GDRegressor(**settings), X, y), fit_quietly(GDRegressor(**settings), X.toarray(), y))


def test_lazy_steps_fold_a_small_scale_back_into_the_coefficients():
    """lr·l2 = 0.4: the penalty's decay 0.6 per step takes the lazy scale α below 1e-9 within a check's 256
    steps, many times an epoch; the coefficients still equal the dense fit's"""
    X, y = sparse_data(n=3000, d=6, seed=2)
    X = X * 0.05  # small rows: the steps are stable at this rate
    settings = dict(lr=0.4, alpha=1.0, batch_size=1, epochs=2, tol=None, seed=0, preprocess="center")
    assert_same_fit(fit_quietly(GDRegressor(**settings), X, y), fit_quietly(GDRegressor(**settings), X.toarray(), y))


@pytest.mark.parametrize("shift,scale,intercept,expected", [
    (0.0, 1.0, False, ("unit_scale", "no_shift", "alpha_moves")),
    (0.0, 2.0, False, ("column_scale", "no_shift", "alpha_moves")),
    (0.0, 1.0, True, ("unit_scale", "no_shift", "all_move")),
    (0.5, 2.0, True, ("column_scale", "row_shift", "all_move")),
])
def test_the_lazy_steps_read_and_move_only_what_the_preprocessing_has(shift, scale, intercept, expected):
    """constant readers where every scale is 1 or there is no shift; only α moves without shift and intercept
    (the fits above check each choice against the dense fit)"""
    from gradfit.engines.kernels import Fold

    X, y = sparse_data(n=50, d=4)
    rows = kernels_sparse.csr_rows(X, y)
    fold = Fold(np.full(4, shift), np.full(4, 1.0 / scale), 0.0, intercept)
    lazy = kernels_sparse.lazy_arrays(rows, fold, 1, use_lazy=True)
    chosen = kernels_sparse.readers(lazy, fold, Penalty(0.0, 0.0), rows)
    assert tuple(fn.py_func.__name__ for fn in chosen[:3]) == expected


@pytest.mark.parametrize("l2,shuffled,weighted,expected", [
    (0.0, False, False, ("no_decay", "in_order", "unit_weight")),
    (0.1, True, True, ("lazy_decay", "row_of", "weight")),
])
def test_the_lazy_steps_carry_no_decay_order_or_weight_they_do_not_have(l2, shuffled, weighted, expected):
    """constant readers without an L2 penalty (α stays 1), in row order, and unweighted"""
    from gradfit.engines.kernels import Fold

    X, y = sparse_data(n=50, d=4)
    rows = kernels_sparse.csr_rows(X, y, order=np.arange(50)[::-1].copy() if shuffled else None)
    fold = Fold(np.zeros(4), np.ones(4), 0.0, False)
    lazy = kernels_sparse.lazy_arrays(rows, fold, 1, use_lazy=True)
    weights = kernels_sparse.row_weights(np.ones(50) if weighted else None)
    chosen = kernels_sparse.readers(lazy, fold, Penalty(l2, 0.0), rows, weights)
    assert tuple(fn.py_func.__name__ for fn in chosen[3:]) == expected


@pytest.mark.parametrize("preprocess", ["none", "standardize"])
@pytest.mark.parametrize("batch_size", [1, 7])
def test_constant_readers_take_the_general_readers_steps(monkeypatch, batch_size, preprocess):
    """the steps without decay, in row order and unweighted equal those the general readers take (α = 1, i = k
    and w̃ = 1 read from the data): bit for bit where only α moves, to the last bits where a shift moves β
    (the fused multiply-adds fall otherwise once the decay is the constant 1)"""
    X, y = sparse_data(n=400, d=6, seed=5)
    settings = dict(lr=0.01, batch_size=batch_size, epochs=2, tol=None, shuffle=False, preprocess=preprocess,
                    fit_intercept=preprocess != "none")
    specialized = fit_quietly(GDRegressor(**settings), X, y)
    real = kernels_sparse.readers

    def general(lazy, fold, penalty, rows, weights=kernels_sparse.UNWEIGHTED):
        chosen = real(lazy, fold, penalty, rows, weights)
        kinds = (kernels_lazy.lazy_decay, kernels_sparse.row_of, kernels_sparse.weight)
        return chosen._replace(**{name: kernels_sparse.compiled(fn.py_func)
                                  for name, fn in zip(("decay", "row", "weight"), kinds)})

    monkeypatch.setattr(kernels_sparse, "readers", general)
    read_from_data = fit_quietly(GDRegressor(**settings), X, y)
    if preprocess == "none":
        np.testing.assert_array_equal(specialized.coef_, read_from_data.coef_)
    else:
        assert_same_fit(specialized, read_from_data, tol=1e-13)


def test_which_steps_are_lazy():
    descent = Descent(None, None, None, -1, None, 0.1, None)
    assert lazy_applies(make_optimizer("sgd"), Penalty(0.5, 0.0), descent)
    assert not lazy_applies(make_optimizer("sgd", momentum=0.5), Penalty(0.0, 0.0), descent)
    assert not lazy_applies(make_optimizer("adam"), Penalty(0.0, 0.0), descent)
    assert not lazy_applies(make_optimizer("sgd"), Penalty(0.0, 0.1), descent)  # L1: a prox on every coordinate
    assert not lazy_applies(make_optimizer("sgd"), Penalty(0.0, 0.0), descent._replace(average_from=0))
    assert not lazy_applies(make_optimizer("sgd"), Penalty(6.0, 0.0), descent)  # decay 1 − 0.6 below ½


def test_gram_statistics_and_exact_answer_equal_the_dense_ones():
    X, y = sparse_data(n=200, d=6, seed=4)
    a, b = GDRegressor().fit(X, y), GDRegressor().fit(X.toarray(), y)
    assert a.converged_ and b.converged_
    for name in ("x_mean", "xtx", "xty"):
        np.testing.assert_allclose(getattr(a.gram_stats_, name), getattr(b.gram_stats_, name), rtol=1e-12,
                                   atol=1e-12 * np.abs(getattr(b.gram_stats_, name)).max())
    np.testing.assert_allclose(a.exact_.coef, b.exact_.coef, rtol=1e-12)
    assert a.exact_.intercept == pytest.approx(b.exact_.intercept, rel=1e-12)
    np.testing.assert_allclose(a.coef_, a.exact_.coef, rtol=1e-5)


def test_double_double_residual_pass_equals_the_dense_one():
    X, y = sparse_data(n=300, d=5, seed=5)
    coef, b = np.linspace(0.3, -0.7, 5), 0.25
    engine = gradfit.engines.get_engine("numpy").for_sparse(X.shape)(X, y)
    for precise in (False, True):
        got, want = engine.residual_pass(coef, b, precise), residual_pass(X.toarray(), y, coef, b, precise)
        assert got.ss == pytest.approx(want.ss, rel=1e-14)
        np.testing.assert_allclose(got.grad.value, want.grad.value, rtol=1e-13, atol=1e-13)
    assert engine.design() is None  # the exact answer never asks for the dense design


@pytest.mark.parametrize(("ours", "theirs"), [("half_mse", "squared_error"), ("huber", "huber"),
                                              ("epsilon_insensitive", "epsilon_insensitive")])
def test_per_sample_steps_equal_sgd_regressor_on_the_same_csr_matrix(ours, theirs):
    """SGDRegressor at a constant rate, no penalty, rows in order, on the same CSR matrix: its steps are ours
    (without an intercept: on sparse data scikit-learn moves the intercept at 1% of the rate,
    SPARSE_INTERCEPT_DECAY, so its intercept follows another path)"""
    X, y = sparse_data(n=150, d=10, seed=6)
    ref = SGDRegressor(loss=theirs, epsilon=0.3, penalty=None, learning_rate="constant", eta0=0.01, max_iter=3,
                       tol=None, shuffle=False, fit_intercept=False)
    fit_quietly(ref, X, y)
    model = fit_quietly(GDRegressor(loss=ours, epsilon=0.3, lr=0.01, momentum=0.0, batch_size=1, shuffle=False,
                                    epochs=3, preprocess="none", fit_intercept=False, tol=None), X, y)
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=TOL, atol=TOL)


def test_a_matrix_too_large_to_densify_fits_in_memory_bounded_by_its_nonzeros():
    """2,000,000 × 50,000 (800 GB dense) with one nonzero a row: a per-sample epoch and a minibatch epoch, the
    peak of NumPy's allocations a small multiple of the nonzeros' bytes"""
    n, d = 2_000_000, 50_000
    rng = np.random.default_rng(7)
    X = sp.csr_matrix((rng.normal(size=n), rng.integers(0, d, size=n).astype(np.int32), np.arange(n + 1)),
                      shape=(n, d))
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    nonzeros = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    for batch_size in (1, 256):
        tracemalloc.start()
        model = fit_quietly(GDRegressor(lr=0.1, batch_size=batch_size, epochs=1, tol=None, seed=0), X, y)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert model.coef_.shape == (d,) and np.isfinite(model.coef_).all()
        assert model.gram_stats_ is None and model.verdict_.reason == "no-exact-answer"  # d² too large
        assert peak < 4 * nonzeros, (peak, nonzeros)
    assert model.predict(X[:5]).shape == (5,)


def test_csc_and_coo_give_the_csr_fit():
    X, y = sparse_data(seed=8)
    settings = dict(lr=0.02, epochs=2, tol=None, seed=0, batch_size=4)
    ref = fit_quietly(GDRegressor(**settings), X.tocsr(), y)
    for other in (X.tocsc(), X.tocoo()):
        assert_same_fit(fit_quietly(GDRegressor(**settings), other, y), ref, tol=1e-13)


def test_gradfit_fit_takes_sparse_x():
    X, y = sparse_data(seed=9)
    result = gradfit.fit(X, y, FitConfig())
    np.testing.assert_allclose(result.coef, result.exact.coef, rtol=1e-5)


def test_predict_and_score_on_sparse_x():
    X, y = sparse_data(seed=10)
    model = GDRegressor().fit(X, y)
    for data in (X, X.tocsc()):
        np.testing.assert_allclose(model.predict(data), model.predict(X.toarray()), rtol=1e-12, atol=1e-12)
    assert model.score(X, y) == pytest.approx(model.score(X.toarray(), y), rel=1e-12)


def test_partial_fit_and_resume_on_sparse_x():
    X, y = sparse_data(seed=11)
    settings = dict(lr=0.02, epochs=3, tol=None, seed=0, batch_size=1)
    model = GDRegressor(**settings)
    for _ in range(3):
        model.partial_fit(X, y)
    assert_same_fit(model, fit_quietly(GDRegressor(**settings), X.toarray(), y))


@pytest.mark.parametrize(("value", "what"), [(np.nan, r"a missing value \(NaN\)"), (np.inf, r"an infinite value \(inf\)")])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_non_finite_values_in_sparse_x_are_refused_naming_row_and_column(value, what, fmt):
    X, y = sparse_data(seed=12)
    X = X.tolil()
    X[7, 3], X[5, 6] = value, value  # the first in row order is named
    X = X.asformat(fmt)
    with pytest.raises(DataError, match=rf"^X: column 'x6' has {what} at row index 5$"):
        GDRegressor().fit(X, y)
    model = GDRegressor().fit(*sparse_data(seed=12))
    with pytest.raises(DataError, match=rf"^X: column 'x6' has {what} at row index 5$"):
        model.predict(X)


def broken(fmt: str, where: str):
    """sparse_data(seed=17) as ``fmt`` with one stored index, or its index pointers, out of place (built with
    check=False, as scipy lets a caller build it)"""
    X = sparse_data(seed=17)[0].asformat(fmt)
    indptr, indices = X.indptr.copy(), X.indices.copy()
    k = int(indptr[5])  # the first stored value of row (column) 5
    if where == "negative":
        indices[k] = -1
    elif where == "beyond":
        indices[k] = X.shape[1] if fmt == "csr" else X.shape[0]
    else:
        indptr[3], indptr[4] = indptr[4], indptr[3]  # pointers that go back
    make = sp.csr_matrix if fmt == "csr" else sp.csc_matrix
    return make((X.data, indices, indptr), shape=X.shape, copy=False)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("where", ["negative", "beyond"])
def test_sparse_x_with_an_index_out_of_range_is_refused_naming_it(fmt, where):
    """the kernels index without Python's negative-index wrap (unsigned): an index outside the matrix, which
    scipy takes without a full check, is refused before any kernel reads it"""
    X, y = broken(fmt, where), sparse_data(seed=17)[1]
    major, minor, size = ("row", "column", X.shape[1]) if fmt == "csr" else ("column", "row", X.shape[0])
    bad = -1 if where == "negative" else size
    message = (rf"^X \(sparse {fmt.upper()}\): {major} index 5 stores a value at {minor} index {bad}, outside "
               rf"0\.\.{size - 1}; rebuild the matrix \(scipy: X\.check_format\(full_check=True\)\)$")
    with pytest.raises(DataError, match=message):
        GDRegressor().fit(X, y)
    with pytest.raises(DataError, match=message):
        gradfit.fit(X, y, FitConfig())
    model = GDRegressor().fit(*sparse_data(seed=17))
    with pytest.raises(DataError, match=message):
        model.predict(X)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_x_whose_index_pointers_go_back_is_refused(fmt):
    X, y = broken(fmt, "pointers"), sparse_data(seed=17)[1]
    major = "rows" if fmt == "csr" else "columns"
    message = (rf"^X \(sparse {fmt.upper()}\): its index pointers \(indptr\) do not describe {X.shape[fmt == 'csc']} "
               rf"{major} of stored values; rebuild the matrix \(scipy: X\.check_format\(full_check=True\)\)$")
    with pytest.raises(DataError, match=message):
        GDRegressor().fit(X, y)


def test_too_large_values_in_sparse_x_are_refused():
    X, y = sparse_data(seed=13)
    X = X.tolil()
    X[2, 1] = 1e160
    with pytest.raises(DataError, match=r"^X: column 'x1' holds 1e\+160 at row index 2, too large"):
        GDRegressor().fit(X.tocsr(), y)


@pytest.mark.parametrize("engine", ["python", "torch"])
def test_other_engines_say_which_engine_takes_sparse_x(engine):
    X, y = sparse_data(seed=14)
    message = (rf"^X is a scipy.sparse matrix: engine='{engine}' does not take sparse input; use engine='numpy' "
               r"\(sparse kernels, X never densified\), or densify X yourself \(X.toarray\(\): .* GiB for 120×8 float64\)$")
    with pytest.raises(DataError, match=message):
        GDRegressor(engine=engine).fit(X, y)
    with pytest.raises(DataError, match=message):
        gradfit.fit(X, y, FitConfig(engine=engine))


def test_float32_is_refused_for_sparse_x():
    X, y = sparse_data(seed=15)
    with pytest.raises(OptionError, match=r"^option dtype='float32' is not available for sparse X"):
        GDRegressor(dtype="float32").fit(X, y)


def test_wide_sparse_data_takes_the_wide_data_path():
    """d = 5000: the 5000×5000 Gram matrix is above GRAM_MAX_ENTRIES; no statistics, no exact answer, said so"""
    rng = np.random.default_rng(16)
    X = sp.random(400, 5000, density=0.002, random_state=16, format="csr")
    y = rng.normal(size=400)
    model = fit_quietly(GDRegressor(lr=0.1, batch_size=1, epochs=2), X, y)
    assert model.gram_stats_ is None and model.exact_ is None
    assert model.verdict_.reason == "no-exact-answer" and "too many features" in model.verdict_.message
    with pytest.raises(OptionError, match=r"^option preprocess='standardize' needs column statistics"):
        GDRegressor(lr=0.1, preprocess="standardize").fit(X, y)


def test_a_robust_loss_on_sparse_x_has_no_exact_answer_and_says_why():
    X, y = sparse_data(seed=17)
    model = fit_quietly(GDRegressor(loss="huber", lr=0.05, batch_size=1, epochs=2), X, y)
    assert model.exact_ is None and "sparse" in model.verdict_.message


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC3"])
def test_summary_on_sparse_x_equals_the_dense_one(cov_type):
    """the robust covariances read the sparse rows a block at a time"""
    X, y = sparse_data(n=300, d=5, seed=18)
    a = GDRegressor().fit(X, y).summary(X, y, cov_type=cov_type).to_dict()["coefficients"]
    b = GDRegressor().fit(X.toarray(), y).summary(X.toarray(), y, cov_type=cov_type).to_dict()["coefficients"]
    for got, want in zip(a, b):
        for key in ("coef", "std_err"):
            assert got[key] == pytest.approx(want[key], rel=1e-10)


def test_the_full_pass_in_two_halves_equals_one_pass_on_any_number_of_cores(monkeypatch):
    """from SPLIT_FROM nonzeros the pass reads two halves of the rows (two threads where the process has two
    cores, one after the other where it has one): the same sums as one pass, whatever the cores"""
    X, y = sparse_data(n=2000, d=30, density=0.2, seed=19)
    v, loss = np.linspace(-0.4, 0.6, 30), make_loss("huber", epsilon=0.5)
    rows, weights = kernels_sparse.csr_rows(X, y), kernels_sparse.row_weights(np.linspace(0.0, 2.0, 2000))
    one = sparse_passes.loss_pass(rows, weights, v, 0.3, loss)
    monkeypatch.setattr(sparse_passes, "SPLIT_FROM", 100)
    assert len(sparse_passes.halves(X.indptr)) == 3
    two = sparse_passes.loss_pass(rows, weights, v, 0.3, loss)
    beside_busy = sparse_passes.loss_pass(rows, weights, v, 0.3, loss, one_thread=True)
    monkeypatch.setattr(sparse_passes, "two_cores", lambda: False)
    serial = sparse_passes.loss_pass(rows, weights, v, 0.3, loss)
    for alone in (serial, beside_busy):
        assert alone[0] == two[0] and alone[2] == two[2] and (alone[1] == two[1]).all()
    assert two[0] == pytest.approx(one[0], rel=1e-13) and two[2] == pytest.approx(one[2], rel=1e-13)
    np.testing.assert_allclose(two[1], one[1], rtol=1e-13, atol=1e-13 * np.abs(one[1]).max())
    w = weights.w
    r = X @ v + 0.3 - y
    assert one[0] == pytest.approx(float(w @ loss.value(r, loss.params)), rel=1e-12)
    np.testing.assert_allclose(one[1], X.T @ (w * loss.deriv(r, loss.params)), rtol=1e-12, atol=1e-12)


def test_the_second_half_hands_back_its_result_or_its_error():
    from gradfit.descent.threads import beside

    assert beside(max, 3, 4)() == 4
    with pytest.raises(ZeroDivisionError):
        beside(lambda: 1 / 0)()
