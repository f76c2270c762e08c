"""One read before the epochs: what rides on the statistics pass equals its separate computation.

The largest row norm (lr="auto") from the rows the statistics pass kept, against NumPy's formula
over all rows (exactly: the kept rows are measured by the same code as the fallback pass, and
NumPy's sum differs only in rounding, ≤ 1e-12 relative); the value check (NaN, infinity, too large)
from the statistics, with the messages of the separate check; the compiled check pass of the exact
answer against the double-double residual pass (≤ 1e-12 relative).
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from gradfit import GDRegressor
from gradfit.descent.losses import make_loss
from gradfit.descent.model import LinearModel
from gradfit.descent.preprocess import Preprocessor
from gradfit.engines import residuals, row_norms
from gradfit.engines.numpy import NumpyEngine
from gradfit.errors import DataError, DivergenceError
from gradfit.io.checks import check_values
from gradfit.optimum.accurate import residual_pass as accurate_pass
from gradfit.optimum.gram import block_stats


def numpy_max_row_norm(X, prep) -> float:
    """the reference: every row preprocessed, its squared norm, the largest"""
    xt = (np.asarray(X, dtype=np.float64) - prep.x_shift) / np.asarray(prep.x_scale)
    return float(np.einsum("ij,ij->i", xt, xt).max())


def prepared_engine(X, y, mode="standardize", dtype="float64", fit_intercept=True):
    engine = NumpyEngine(X, y, dtype=dtype)
    prep = Preprocessor.from_stats(mode, engine.gram(), fit_intercept)
    engine.prepare(LinearModel(X.shape[1], fit_intercept, make_loss("mse", 0.1, 0.5)), prep)
    return engine, prep


DATA = {
    "gaussian": lambda rng: rng.normal(size=(20_000, 8)) * np.linspace(0.1, 30, 8) + np.linspace(-5, 500, 8),
    "heavy tails": lambda rng: rng.standard_t(2, size=(20_000, 5)),
    "one outlier at the end": lambda rng: np.vstack([rng.normal(size=(19_999, 4)), [[40.0, -3.0, 2.0, 9.0]]]),
    "rows of equal norm": lambda rng: np.eye(6)[rng.integers(0, 6, size=20_000)],
}


@pytest.mark.parametrize("mode", ["standardize", "center", "none"])
@pytest.mark.parametrize("case", DATA)
def test_largest_row_norm_from_the_statistics_pass_equals_numpy(case, mode):
    rng = np.random.default_rng(31)
    X = DATA[case](rng)
    y = X.sum(axis=1) + rng.normal(size=len(X))
    engine, prep = prepared_engine(X, y, mode)
    expected = numpy_max_row_norm(X, prep)
    assert engine.max_row_sq_norm() - 1.0 == pytest.approx(expected, rel=1e-12)


def test_the_sketch_answers_for_standardized_data_and_declines_what_it_cannot_prove():
    rng = np.random.default_rng(32)
    X = rng.normal(size=(50_000, 10)) * 3.0 + 7.0
    y = X @ np.ones(10)
    engine, prep = prepared_engine(X, y, "standardize")
    inv_scale = 1.0 / np.asarray(prep.x_scale)
    found = engine._sketch.largest(X, prep.x_shift, inv_scale)
    assert found == row_norms.max_sq_norm(X, prep.x_shift, inv_scale)  # the same code, the same rows: exact
    assert engine._sketch.n_kept < 1000  # a few rows measured instead of a pass
    # without centering, the offset of 7 puts every row far from the guess: no proof, the pass runs instead
    assert engine._sketch.largest(X, np.zeros(10), inv_scale) is None


def test_the_sketch_gives_up_beyond_its_budget(monkeypatch):
    monkeypatch.setattr(row_norms, "MAX_KEPT", 10)
    X = np.eye(4)[np.random.default_rng(33).integers(0, 4, size=10_000)]  # every row the same norm
    engine, prep = prepared_engine(X, X.sum(axis=1), "center")
    assert engine._sketch.overflow
    assert engine.max_row_sq_norm() - 1.0 == pytest.approx(numpy_max_row_norm(X, prep), rel=1e-12)


def test_largest_row_norm_of_float32_data():
    rng = np.random.default_rng(34)
    X = (rng.normal(size=(30_000, 6)) * 4.0 + 1.0).astype(np.float32)
    y = X.astype(np.float64).sum(axis=1)
    engine, prep = prepared_engine(X, y, "standardize", dtype="float32")
    assert engine.max_row_sq_norm() - 1.0 == pytest.approx(numpy_max_row_norm(X, prep), rel=1e-6)


def test_observer_sees_every_row_once_from_several_threads():
    X = np.arange(30_000.0).reshape(-1, 3)
    seen = []

    class Seen:
        weights = np.ones(3)

        def __call__(self, norms, start):
            seen.append((start, len(norms)))

    block_stats(X, X[:, 0], block=64, workers=3, observe=Seen())
    rows = np.concatenate([np.arange(start, start + m) for start, m in seen])
    np.testing.assert_array_equal(np.sort(rows), np.arange(10_000))


BAD = {
    "nan": (1, np.nan, r"X: column 'b' has a missing value \(NaN\) at row index 1234"),
    "inf": (0, -np.inf, r"X: column 'a' has an infinite value \(inf\) at row index 1234"),
    "huge": (2, 1e200, r"X: column 'c' holds 1e\+200 at row index 1234, too large for float64 sums of squares"),
}


@pytest.mark.parametrize("case", BAD)
def test_the_statistics_pass_finds_bad_values_and_names_them(case):
    j, value, message = BAD[case]
    X = np.random.default_rng(35).normal(size=(5000, 3))
    X[1234, j] = value
    y = X[:, 0] if np.isfinite(X[:, 0]).all() else np.ones(5000)
    stats = block_stats(X, y)
    with pytest.raises(DataError, match=message):
        check_values(stats, X, y, ["a", "b", "c"])
    with pytest.raises(DataError, match=message):
        GDRegressor(epochs=1).fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)


def test_clean_statistics_need_no_second_look(monkeypatch):
    X = np.random.default_rng(36).normal(size=(500, 3))
    stats = block_stats(X, X[:, 0])
    assert stats.finite
    monkeypatch.setattr("gradfit.io.checks.check_arrays", lambda *a, **k: pytest.fail("a second pass over the data"))
    check_values(stats, X, X[:, 0])


@pytest.mark.parametrize("layout", ["C", "F", "float32"])
@pytest.mark.parametrize("workers", [1, 3])
def test_compiled_check_pass_matches_the_double_double_pass(layout, workers):
    rng = np.random.default_rng(37)
    X = rng.normal(size=(9001, 7)) * np.linspace(1, 100, 7) + 3.0
    X = {"C": X, "F": np.asfortranarray(X), "float32": X.astype(np.float32)}[layout]
    y = X.astype(np.float64) @ np.linspace(-1, 1, 7) + 0.2 + rng.normal(size=9001)
    coef, b = np.linspace(-1, 1, 7) * 1.001, 0.25
    got = residuals.residual_pass(X, y, coef, b, workers=workers)
    ref = accurate_pass(X, y, coef, b, precise=True)
    assert got.ss == pytest.approx(ref.ss, rel=1e-12)
    scale = np.abs(X.astype(np.float64)).T @ np.abs(y - X.astype(np.float64) @ coef - b)  # the sums' own size
    np.testing.assert_allclose(got.grad.value[:-1], ref.grad.value[:-1], rtol=0, atol=1e-13 * scale.max())


def test_a_bad_target_is_still_named_before_any_pass():
    X = np.random.default_rng(38).normal(size=(100, 2))
    y = X[:, 0].copy()
    y[7] = np.nan
    with pytest.raises(DataError, match=r"^y has a missing value \(NaN\) at row index 7$"):
        GDRegressor(epochs=1).fit(X, y)


def test_the_statistics_pass_adds_blocks_by_syrk_as_a_product_would():
    """``syrk.add_upper_gram`` (BLAS SYRK through ctypes, so the pass's threads run at once) adds zᵀz's upper
    triangle in place, as NumPy's product (1e-13 relative), and refuses layouts it would misread"""
    from gradfit.optimum.syrk import add_upper_gram

    z = np.random.default_rng(2).normal(size=(1000, 7))
    c = np.asfortranarray(np.ones((7, 7)))
    add_upper_gram(c, z)
    add_upper_gram(c, z[:0])
    np.testing.assert_allclose(np.triu(c), np.triu(1.0 + z.T @ z), rtol=1e-13)
    assert np.all(c[np.tril_indices(7, -1)] == 1.0)  # the lower triangle is left as it was
    with pytest.raises(ValueError, match="C-ordered z and F-ordered c"):
        add_upper_gram(np.ones((7, 7)), z)
    with pytest.raises(ValueError, match="C-ordered z and F-ordered c"):
        add_upper_gram(c, np.asfortranarray(z))


@pytest.mark.parametrize("layout", ["C", "F", "float32"])
def test_the_compiled_block_copy_equals_numpys(layout):
    """``stats_pass.CompiledFill`` (the engines') and ``gram.numpy_fill`` (everyone else's) make the same block:
    the shifted rows, the ones, the residual column r₀ = Z·a and the rows' weighted norms (1e-14 relative: the
    compiled dot products may sum in another order)"""
    from gradfit.engines.stats_pass import CompiledFill
    from gradfit.optimum.gram import numpy_fill

    rng = np.random.default_rng(9)
    X = rng.normal(size=(300, 5)) * [1, 10, 0.1, 3, 1] + 7.0
    X = np.asfortranarray(X) if layout == "F" else X.astype(np.float32) if layout == "float32" else X
    y = rng.normal(size=300)
    shift, a, wn = rng.normal(size=6), rng.normal(size=7), rng.uniform(0.1, 2.0, 5)
    blocks = []
    for fill in (numpy_fill, CompiledFill(X, y)):
        z, norms = np.ones((200, 8)), np.empty(200)
        fill(X, y, 50, 250, shift, a, z, wn, norms)
        blocks.append((z, norms))
    np.testing.assert_allclose(blocks[1][0], blocks[0][0], rtol=1e-14, atol=1e-14 * np.abs(blocks[0][0]).max())
    np.testing.assert_allclose(blocks[1][1], blocks[0][1], rtol=1e-14)


def sketches_made(monkeypatch) -> list:
    """the row-norm sketches the statistics pass is given from now on"""
    made: list = []
    real = row_norms.RowNormSketch

    def spy(*args):
        made.append(real(*args))
        return made[-1]

    monkeypatch.setattr(row_norms, "RowNormSketch", spy)
    return made


@pytest.mark.parametrize("settings,asks", [
    (dict(batch_size=32), True),  # lr="auto" in minibatches: the largest row norm bounds the step
    (dict(batch_size=32, lr=0.001), False),  # a step given
    (dict(), False),  # lr="auto" in full batch of least squares: the curvature from the statistics sets the step
    (dict(loss="quantile", epochs=3), True),  # lr="auto" on a loss with a kink: the subgradient step's bound
])
def test_the_pass_keeps_row_norm_candidates_only_for_a_fit_that_asks_for_the_norm(monkeypatch, settings, asks):
    """the candidates cost the statistics pass a weighted sum of squares per row and a heap: a fit whose step
    does not need the largest row norm is spared them"""
    made = sketches_made(monkeypatch)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(5000, 6))
    y = X.sum(axis=1) + rng.normal(size=len(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a short fit is not at the optimum, and need not be
        GDRegressor(tol=None, seed=0, **{"epochs": 2, **settings}).fit(X, y)
    assert bool(made) == asks


def test_without_candidates_the_statistics_and_the_steps_are_the_same(monkeypatch):
    """the same fit with the step found by lr="auto" (candidates kept) and given as a number (none kept): the same
    statistics and trajectory, bit for bit; a diverging minibatch fit still names the step lr="auto" takes
    (from a pass of its own over the rows)"""
    made = sketches_made(monkeypatch)
    rng = np.random.default_rng(6)
    X = rng.normal(size=(5000, 6)) * [1.0, 2.0, 3.0, 4.0, 5.0, 60.0]
    y = X.sum(axis=1) + rng.normal(size=len(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = GDRegressor(batch_size=32, epochs=2, tol=None, seed=0, schedule="constant").fit(X, y)
        given = GDRegressor(batch_size=32, epochs=2, tol=None, seed=0, schedule="constant", lr=auto.lr_).fit(X, y)
    assert len(made) == 1
    for name in ("x_mean", "xtx", "xty"):
        np.testing.assert_array_equal(getattr(auto.gram_stats_, name), getattr(given.gram_stats_, name))
    np.testing.assert_array_equal(auto.coef_, given.coef_)
    with pytest.raises(DivergenceError, match=r"a stable learning rate for this data is lr=") as info:
        GDRegressor(batch_size=32, epochs=5, tol=None, seed=0, lr=1e3).fit(X, y)
    assert len(made) == 1
    assert info.value.suggested_lr == pytest.approx(auto.lr_, rel=1e-12)
