"""The fast paths make exactly the plain path's trajectory (≤ 1e-9 relative, float64).

Compiled epochs (every optimizer, loss and the average) against the plain loop; the Gram path
against the residual form (tiny losses included); the one-read statistics against a
two-pass computation; the fused full pass; the exact solve; engine options and errors.
"""

import math
from fractions import Fraction

import numpy as np
import pytest

import gradfit.engines.kernels as kernels
from gradfit.descent.model import LinearModel
from gradfit.descent.preprocess import Preprocessor
from gradfit.engines.numpy import NumpyEngine, block_order
from gradfit.errors import OptionError
from gradfit.optimum.gram import block_stats
from gradfit.optimum.normal import solve_spd
from gradfit.training.config import FitConfig
from gradfit.training.solver import fit

from .helpers import assert_same_history, record_calls, uncentered_data

OPTIMIZERS = {
    "sgd": {},
    "momentum": {"momentum": 0.9},
    "nesterov": {"momentum": 0.9, "nesterov": True},
    "adam": {"optimizer": "adam"},
    "adamw": {"optimizer": "adamw", "weight_decay": 0.1},
    "averaged": {"momentum": 0.5, "average": 3},
    "adagrad": {"optimizer": "adagrad"},
    "rmsprop": {"optimizer": "rmsprop"},
}


@pytest.fixture
def kernel_calls(monkeypatch):
    """count the epochs that went through the compiled kernel"""
    return record_calls(monkeypatch, kernels, "run_epoch")


@pytest.mark.parametrize("preprocess", ["none", "standardize"])
@pytest.mark.parametrize("batch_size", [1, 7])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_kernel_epochs_match_plain_loop(name, batch_size, preprocess, kernel_calls):
    X, y = uncentered_data(n=40, d=3, seed=11)
    cfg = dict(OPTIMIZERS[name], batch_size=batch_size, preprocess=preprocess, lr=0.01, epochs=4, seed=5,
               alpha=0.02, l1_ratio=0.5)
    fast = fit(X, y, FitConfig(**cfg))
    plain = fit(X, y, FitConfig(**cfg, engine_options={"kernels": "off"}))
    assert len(kernel_calls) == 4
    assert_same_history(fast.history, plain.history, rtol=1e-9)
    assert fast.state.step == plain.state.step == 4 * math.ceil(40 / batch_size)


@pytest.mark.parametrize("case", [
    {}, {"preprocess": "none"}, {"preprocess": "center"}, {"fit_intercept": False}, {"shuffle": False},
    {"loss": "huber", "epsilon": 0.3}, {"weights": True}, {"schedule": "cosine"},
])
def test_plain_sgd_steps_in_the_data_units_match_the_plain_loop(case, monkeypatch):
    """per-sample plain SGD (no momentum, penalty or average) runs in ``kernels.plain_sgd_epoch``, which keeps
    the coefficients in the data's units: the same trajectory as the plain loop (1e-9), the same optimizer
    state, and a fit resumed from it by the plain loop equals four plain epochs"""
    taken = []
    real = kernels.plain_sgd_epoch
    monkeypatch.setattr(kernels, "plain_sgd_epoch", lambda *a: taken.append(1) or real(*a))
    case = dict(case)
    weighted = case.pop("weights", False)
    X, y = uncentered_data(n=50, d=3, seed=21)
    w = np.random.default_rng(2).uniform(0.0, 2.0, 50) if weighted else None
    cfg = dict(case, batch_size=1, lr=0.01, seed=3)
    fast = fit(X, y, FitConfig(**cfg, epochs=2), sample_weight=w, warn=False)
    plain = fit(X, y, FitConfig(**cfg, epochs=2, engine_options={"kernels": "off"}), sample_weight=w, warn=False)
    assert len(taken) == 2
    assert_same_history(fast.history, plain.history, rtol=1e-9)
    for a, b in zip(fast.state.opt_state.slots, plain.state.opt_state.slots):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-12)
    if "schedule" in case:  # (a schedule over 2 epochs and one over 4 differ: nothing to resume into)
        return
    resumed = fit(X, y, FitConfig(**cfg, engine_options={"kernels": "off"}), resume=fast, epochs=2,
                  sample_weight=w, warn=False)
    four = fit(X, y, FitConfig(**cfg, epochs=4, engine_options={"kernels": "off"}), sample_weight=w, warn=False)
    assert_same_history(resumed.history, four.history, rtol=1e-9)


@pytest.mark.parametrize("settings", [{"momentum": 0.5}, {"alpha": 0.01}, {"average": 2}, {"batch_size": 2}])
def test_plain_sgd_steps_are_only_for_plain_sgd(settings, monkeypatch):
    """momentum, a penalty, the average or minibatches take the general step"""
    taken = []
    real = kernels.plain_sgd_epoch
    monkeypatch.setattr(kernels, "plain_sgd_epoch", lambda *a: taken.append(1) or real(*a))
    X, y = uncentered_data(n=30, d=2, seed=4)
    fit(X, y, FitConfig(**{"batch_size": 1, "lr": 0.01, "epochs": 1, **settings}), warn=False)
    assert taken == []


ROBUST = {"huber": {"epsilon": 0.3}, "epsilon_insensitive": {"epsilon": 0.2}, "quantile": {"quantile": 0.3}}


@pytest.mark.parametrize("batch_size", [1, 6])
@pytest.mark.parametrize("loss", list(ROBUST))
def test_kernel_epochs_match_plain_loop_for_robust_losses(loss, batch_size, kernel_calls):
    """the kernel compiles the loss's own derivative: same steps as the plain loop (1e-9; the rows never sit
    within rounding of a kink here, see test_engine_grid for the promise near one)"""
    X, y = uncentered_data(n=40, d=3, seed=15)
    cfg = dict(ROBUST[loss], loss=loss, optimizer="adam", batch_size=batch_size, lr=0.01, epochs=3, seed=2,
               alpha=0.01, average=True)
    fast = fit(X, y, FitConfig(**cfg), warn=False)
    plain = fit(X, y, FitConfig(**cfg, engine_options={"kernels": "off"}), warn=False)
    assert len(kernel_calls) == 3
    assert_same_history(fast.history, plain.history, rtol=1e-9)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "rmsprop", "averaged"])
def test_kernel_state_lets_the_plain_loop_continue(name):
    """two kernel epochs, then two plain ones from the kernel's optimizer state, equal four plain epochs"""
    X, y = uncentered_data(n=30, d=2, seed=12)
    cfg = dict(OPTIMIZERS[name], batch_size=4, lr=0.01, seed=1, shuffle=False)
    first = fit(X, y, FitConfig(**cfg, epochs=2))
    resumed = fit(X, y, FitConfig(**cfg, engine_options={"kernels": "off"}), resume=first, epochs=2)
    plain = fit(X, y, FitConfig(**cfg, epochs=4, engine_options={"kernels": "off"}))
    assert_same_history(resumed.history, plain.history, rtol=1e-9)


def test_block_shuffle_is_a_permutation_of_sequential_blocks():
    rows = block_order(103, epoch=2, seed=7, block=10)
    assert sorted(rows.tolist()) == list(range(103))
    jumps = np.flatnonzero(np.diff(rows) != 1) + 1  # where a new block starts
    assert len(jumps) <= 10 and all(rows[k] % 10 == 0 for k in jumps) and rows[0] % 10 == 0
    assert not np.array_equal(rows, np.arange(103))
    assert np.array_equal(rows, block_order(103, epoch=2, seed=7, block=10))


def test_block_shuffle_fit_follows_the_block_order(kernel_calls):
    X, y = uncentered_data(n=50, d=3, seed=13)
    opts = {"shuffle_mode": "block", "shuffle_block": 8}
    result = fit(X, y, FitConfig(batch_size=5, epochs=1, lr=0.01, seed=3, engine_options=opts, preprocess="none"))
    theta, order = np.zeros(4), block_order(50, 0, 3, 8)
    Z = np.column_stack([X, np.ones(50)])
    for start in range(0, 50, 5):  # plain SGD on the mean squared error, batch by batch in the block order
        rows = order[start : start + 5]
        theta -= 0.01 * 2.0 * Z[rows].T @ (Z[rows] @ theta - y[rows]) / len(rows)
    np.testing.assert_allclose(result.coef + [result.intercept], theta, rtol=1e-12)
    assert kernel_calls


@pytest.mark.parametrize("batch_size", [1, 8])
def test_float32_runs_in_the_kernel_and_agrees_with_float64(batch_size, kernel_calls):
    """float32 data is read as float32 (half the bytes) and stepped in float64; the fit agrees with the
    float64 one and with the plain float32 loop to 1e-5 (the data itself is rounded by 6e-8)"""
    X, y = uncentered_data(n=200, d=4, seed=14)
    cfg = dict(batch_size=batch_size, epochs=3, lr=0.01, seed=3, preprocess="standardize")
    f32 = fit(X.astype(np.float32), y.astype(np.float32), FitConfig(**cfg, dtype="float32"))
    assert len(kernel_calls) == 3
    f64 = fit(X, y, FitConfig(**cfg))
    plain32 = fit(X.astype(np.float32), y.astype(np.float32),
                  FitConfig(**cfg, dtype="float32", engine_options={"kernels": "off"}))
    assert_same_history(f32.history, f64.history, rtol=1e-5)
    assert_same_history(f32.history, plain32.history, rtol=1e-5)


@pytest.mark.parametrize("preprocess", ["none", "center", "standardize"])
@pytest.mark.parametrize("penalty", [{}, {"alpha": 0.1}, {"alpha": 0.05, "l1_ratio": 0.5}])
def test_gram_path_matches_plain_full_batch(preprocess, penalty):
    X, y = uncentered_data(n=60, d=4, seed=15)
    cfg = dict(lr=0.01, epochs=30, preprocess=preprocess, **penalty)
    gram = fit(X, y, FitConfig(**cfg))
    plain = fit(X, y, FitConfig(**cfg, gram=False))
    assert gram.used_gram and not plain.used_gram
    assert_same_history(gram.history, plain.history, rtol=1e-9)


def _residual_loss(X, y, coef, intercept):
    """mean r² in exact rational arithmetic"""
    r = [sum(Fraction(a) * Fraction(c) for a, c in zip(x, coef)) + Fraction(intercept) - Fraction(t)
         for x, t in zip(X, y)]
    return float(sum(v * v for v in r) / len(y))


def test_gram_loss_stays_accurate_near_the_optimum():
    """the tutorial line x = 1,2,3, y = 2,4,6: every loss, down to 1e-20, agrees with the exact residual form"""
    X = np.array([[1.0], [2.0], [3.0]])
    y = np.array([2.0, 4.0, 6.0])
    result = fit(X, y, FitConfig(lr=0.1, epochs=1500, preprocess="none", tol=None))
    losses = result.history.loss
    assert result.used_gram and min(losses) < 1e-20 and any(4e-8 < v < 6e-8 for v in losses)
    for loss, coef, intercept in zip(losses, result.history.coef, result.history.intercept):
        if loss > 1e-20:
            assert loss == pytest.approx(_residual_loss(X, y, coef, intercept), rel=1e-9)


def test_cost_model_and_user_choice():
    X, y = uncentered_data(n=30, d=3, seed=16)
    assert fit(X, y, FitConfig(epochs=1)).used_gram
    assert not fit(X, y, FitConfig(epochs=1, gram=False)).used_gram
    wide = np.random.default_rng(0).normal(size=(3, 5))
    assert not fit(wide, wide[:, 0], FitConfig(epochs=1)).used_gram
    assert fit(wide, wide[:, 0], FitConfig(epochs=1, gram=True)).used_gram


def test_gram_true_on_too_wide_data_names_the_option(monkeypatch):
    monkeypatch.setattr("gradfit.training.prepare.GRAM_MAX_ENTRIES", 4)
    X, y = uncentered_data(n=10, d=3, seed=17)
    with pytest.raises(OptionError, match=r"option gram=True needs the Gram statistics"):
        fit(X, y, FitConfig(epochs=1, gram=True))
    result = fit(X, y, FitConfig(epochs=3, lr=0.01))
    assert not result.used_gram and result.exact is None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_read_statistics_match_two_pass_centering(dtype):
    rng = np.random.default_rng(18)
    X = (rng.normal(size=(1000, 5)) * [1.0, 1e-3, 10.0, 1.0, 1.0] + [1e4, -3.0, 0.0, 5e5, 1.0]).astype(dtype)
    y = (X.astype(np.float64) @ np.arange(5.0) + rng.normal(size=1000)).astype(dtype)
    stats = block_stats(X, y, block=64, workers=3)
    X64, y64 = X.astype(np.float64), y.astype(np.float64)
    xc, yc = X64 - X64.mean(axis=0), y64 - y64.mean()
    np.testing.assert_allclose(stats.x_mean, X64.mean(axis=0), rtol=1e-13)
    assert stats.y_mean == pytest.approx(y64.mean(), rel=1e-12)
    np.testing.assert_allclose(stats.xtx, xc.T @ xc, rtol=1e-9, atol=1e-9 * np.abs(xc.T @ xc).max())
    np.testing.assert_allclose(stats.xty, xc.T @ yc, rtol=1e-9)
    assert stats.yty == pytest.approx(yc @ yc, rel=1e-11)
    assert stats.n == 1000


def test_fused_full_pass_matches_two_matrix_products(monkeypatch):
    monkeypatch.setattr("gradfit.engines.numpy.PASS_BYTES", 64)  # many tiny blocks
    X, y = uncentered_data(n=301, d=6, seed=19)
    engine = NumpyEngine(X, y)
    prep = Preprocessor.from_stats("standardize", block_stats(X, y))
    engine.prepare(LinearModel(6), prep)
    theta = np.linspace(-1, 1, 7)
    loss, grad = engine.loss_grad(theta)
    loss_all, grad_all = engine.loss_grad(theta, np.arange(301))
    assert loss == pytest.approx(loss_all, rel=1e-12)
    np.testing.assert_allclose(grad, grad_all, rtol=1e-11)


def test_engine_never_copies_float64_data():
    X, y = uncentered_data(n=20, d=3, seed=20)
    engine = NumpyEngine(X, y)
    assert np.shares_memory(engine.X, X) and np.shares_memory(engine.y, y)


def test_exact_solve_equilibrates_badly_scaled_columns():
    rng = np.random.default_rng(21)
    X = rng.normal(size=(200, 3)) * [1e-4, 1.0, 1e5]
    y = X @ [3e4, 1.0, 2e-5] + rng.normal(size=200)
    result = fit(X, y, FitConfig(epochs=0))
    ref = np.linalg.lstsq(np.column_stack([X, np.ones(200)]), y, rcond=None)[0]
    assert result.exact.method == "cholesky"
    np.testing.assert_allclose(result.exact.coef, ref[:3], rtol=1e-9)


def test_solve_spd_falls_back_on_a_singular_matrix():
    M = np.array([[1.0, 1.0], [1.0, 1.0]])
    w, method, cond = solve_spd(M, np.array([2.0, 2.0]))
    # the smallest singular value is 0 in exact arithmetic; LAPACK builds round it to 0 or to ~1e-17
    assert method == "lstsq" and cond > 1e15
    np.testing.assert_allclose(w, [1.0, 1.0], rtol=1e-12)


@pytest.mark.parametrize(("options", "message"), [
    ({"kernel": "off"}, r"option engine_options\['kernel'\] is not known"),
    ({"shuffle_mode": "rows"}, r"option engine_options\['shuffle_mode'\]='rows' is not one of"),
    ({"shuffle_block": 0}, r"option engine_options\['shuffle_block'\]=0 must be an integer >= 1"),
])
def test_engine_option_errors(options, message):
    X, y = uncentered_data(n=10, d=2, seed=22)
    with pytest.raises(OptionError, match=message):
        fit(X, y, FitConfig(epochs=1, engine_options=options))


@pytest.mark.parametrize("batch_size", [16, None])
def test_f_order_data_is_copied_to_rows_once_for_the_kernel(monkeypatch, batch_size):
    """a DataFrame's values are an F-order view: the kernel, which reads row by row, gets one row-major
    copy, made by the statistics pass's read of X (not by a read of its own at the first epoch) and kept; a
    full-batch fit, whose epochs read no rows, makes none; the fit is the C-order fit's"""
    import gradfit.engines.stats_pass as stats_pass
    from gradfit.engines.numpy import NumpyEngine

    seen, copies, asked = [], [], []
    real_epoch, real_fill, real_rows = kernels.run_epoch, stats_pass.CompiledFill.__init__, NumpyEngine._row_major
    monkeypatch.setattr(kernels, "run_epoch", lambda rows, *rest: seen.append(rows.X) or real_epoch(rows, *rest))
    monkeypatch.setattr(stats_pass.CompiledFill, "__init__",
                        lambda self, X, y, rows=None: copies.append(rows) or real_fill(self, X, y, rows))
    monkeypatch.setattr(NumpyEngine, "_row_major", lambda self: asked.append(self.X.flags.c_contiguous) or
                        real_rows(self))
    X, y = uncentered_data(n=300, d=5, seed=21)
    cfg = FitConfig(batch_size=batch_size, epochs=3, lr=0.01, seed=4)
    f_order = fit(np.asfortranarray(X), y, cfg)
    if batch_size is None:
        assert copies == [None] and not seen
    else:
        assert len(copies) == 1 and copies[0].shape == X.shape and copies[0].flags.c_contiguous
        assert len(seen) == 3 and all(a.base is copies[0] for a in seen) and all(asked)  # no copy at an epoch
        np.testing.assert_array_equal(seen[0], X)
    np.testing.assert_allclose(f_order.coef, fit(X, y, cfg).coef, rtol=1e-12)


@pytest.mark.parametrize("settings", [dict(optimizer="adam", lr=0.05, batch_size=8), dict(batch_size=1),
                                      dict(batch_size=32, lr="auto", momentum=0.9), dict()])
@pytest.mark.parametrize("n", [300, 20_000])
def test_a_fit_is_the_same_to_the_bit_whatever_the_layout_of_x(settings, n):
    """the same numbers in C order, F order (a DataFrame's values) or a strided view give the same statistics and
    step size bit for bit (no sum's order may follow the memory layout: before, F order gave other scales and another
    trajectory), and the same trajectory to rounding (the epochs read one row-major copy; under two test workers
    sharing the kernel cache, 1 run in 5 the last bit of an Adam trajectory has differed, not yet explained)"""
    X, y = uncentered_data(n=n, d=7, seed=8)
    wide = np.empty((n, 9))
    wide[:, 1:8] = X
    cfg = FitConfig(epochs=3, seed=4, tol=None, **settings)
    fits = [fit(data, y, cfg) for data in (X, np.asfortranarray(X), wide[:, 1:8])]
    for other in fits[1:]:
        assert other.lr == fits[0].lr and other.prep == fits[0].prep
        np.testing.assert_allclose([*other.coef, other.intercept], [*fits[0].coef, fits[0].intercept], rtol=1e-13)


def test_writable_and_read_only_data_meet_one_compiled_signature(monkeypatch):
    """the statistics kernel and the epochs get X and y read-only whatever was given (``jit_cache.frozen``), so
    one machine code serves both: one compile, one cache entry, the same rounding"""
    import gradfit.engines.stats_pass as stats_pass
    from numba import typeof

    kinds = set()
    real_fill, real_epoch = stats_pass._fill, kernels.run_epoch
    monkeypatch.setattr(stats_pass, "_fill", lambda X, y, *rest: kinds.add(("fill", typeof(X), typeof(y)))
                        or real_fill(X, y, *rest))
    monkeypatch.setattr(kernels, "run_epoch", lambda rows, *rest: kinds.add(("epoch", typeof(rows.X), typeof(rows.y)))
                        or real_epoch(rows, *rest))
    X, y = uncentered_data(n=300, d=4, seed=2)
    frozen_X, frozen_y = X.copy(), y.copy()
    frozen_X.flags.writeable = frozen_y.flags.writeable = False
    cfg = FitConfig(batch_size=16, epochs=2, lr=0.01, seed=4, tol=None)
    assert fit(X, y, cfg).coef == fit(frozen_X, frozen_y, cfg).coef
    assert {kind for kind, *_ in kinds} == {"fill", "epoch"} and len(kinds) == 2, kinds
    assert all(not t.mutable for _, *types in kinds for t in types)


def test_float32_fit_of_f_order_data_converts_once_into_rows(monkeypatch):
    """float32 asked of float64 F-order X (a DataFrame's values): the conversion, a copy anyway, is made into the
    kernels' row order, so no epoch copies X again; the same fit as from a C-order X"""
    import pandas as pd

    from gradfit.engines.numpy import NumpyEngine

    seen, asked = [], []
    real_epoch, real_rows = kernels.run_epoch, NumpyEngine._row_major
    monkeypatch.setattr(kernels, "run_epoch", lambda rows, *rest: seen.append(rows.X) or real_epoch(rows, *rest))
    monkeypatch.setattr(NumpyEngine, "_row_major", lambda self: asked.append(self.X.flags.c_contiguous) or
                        real_rows(self))
    X, y = uncentered_data(n=300, d=5, seed=23)
    cfg = FitConfig(batch_size=16, epochs=3, lr=0.01, seed=4, dtype="float32")
    frame = pd.DataFrame(X, columns=list("abcde"))
    assert np.asarray(frame).flags.f_contiguous
    from_frame = fit(frame, y, cfg)
    assert len(seen) == 3 and seen[0].dtype == np.float32 and asked == [True] * 3  # no copy at an epoch
    np.testing.assert_array_equal(from_frame.coef, fit(X, y, cfg).coef)
