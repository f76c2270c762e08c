"""Early stopping on held-out rows: the seeded split (with the rows' weights), the validation loss, the best
epoch returned and the last kept, the verdict, the stop at the training optimum, and every engine alike.

References: the validation loss is recomputed with NumPy from the recorded parameters (1e-12
relative); the split's training rows are checked against NumPy's least squares on those rows
(the exact answer, 1e-8); engines are compared with the NumPy engine at 1e-9 relative.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from gradfit import GDRegressor, NotAtOptimumWarning, fit
from gradfit.errors import OptionError
from gradfit.training.config import FitConfig
from gradfit.training.validation import split_rows

from .helpers import OVERFIT_SETTINGS, assert_same_history, mse_at, overfit_data, uncentered_data


def test_the_split_is_seeded_and_partitions_the_rows():
    split = split_rows(101, 0.1, seed=7)
    assert len(split.val) == 11 and len(split.train) == 90  # ceil(0.1·101), as scikit-learn's train_test_split
    assert np.array_equal(np.sort(np.concatenate(split)), np.arange(101))
    assert np.all(np.diff(split.train) > 0) and np.all(np.diff(split.val) > 0)
    again = split_rows(101, 0.1, seed=7)
    assert np.array_equal(split.val, again.val) and np.array_equal(split.train, again.train)
    assert not np.array_equal(split.val, split_rows(101, 0.1, seed=8).val)


def test_early_stopping_holds_out_the_seeded_rows_and_trains_on_the_others():
    X, y = overfit_data()
    model = GDRegressor(**OVERFIT_SETTINGS).fit(X, y)
    split = split_rows(len(y), 0.25, seed=0)
    assert model.held_out_.n_rows == 25 and model.gram_stats_.n == 75
    # the exact answer is least squares on the training rows alone
    design = np.column_stack([X[split.train], np.ones(75)])
    reference = np.linalg.lstsq(design, y[split.train], rcond=None)[0]
    np.testing.assert_allclose(model.exact_.coef, reference[:-1], rtol=1e-8, atol=1e-8)
    # every recorded validation loss is the held-out rows' mean squared error at the recorded parameters
    recomputed = [mse_at(X[split.val], y[split.val], e.coef, e.intercept) for e in model.history_]
    np.testing.assert_allclose(model.history_.val_loss, recomputed, rtol=1e-12)
    # the same seed holds out the same rows: the same fit
    assert_same_history(model.history_, GDRegressor(**OVERFIT_SETTINGS).fit(X, y).history_, rtol=0)


def test_the_fit_returns_the_best_epoch_and_keeps_the_last_one():
    X, y = overfit_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotAtOptimumWarning)  # stopping on purpose is not a warning
        model = GDRegressor(**OVERFIT_SETTINGS).fit(X, y)
    h = model.history_
    best = int(np.argmin(h.val_loss))
    assert h.epoch == list(range(len(h)))  # record_every=1: entry k is epoch k
    assert model.best_epoch_ == best and model.best_val_loss_ == h.val_loss[best]
    assert 0 < best < model.n_iter_ - 1 and h.val_loss[-1] > h.val_loss[best]  # it overfits after the best epoch
    np.testing.assert_array_equal(model.coef_, h.coef[best])
    assert model.intercept_ == h.intercept[best]
    np.testing.assert_array_equal(model.last_coef_, h.coef[-1])
    assert model.last_intercept_ == h.intercept[-1]
    # stopped by the held-out rule: n_iter_no_change epochs without a better validation loss
    assert model.result_.outcome.stopped_by == "validation" and model.n_iter_ == best + 20
    np.testing.assert_allclose(model.predict(X), X @ h.coef[best] + h.intercept[best], rtol=1e-12)


def test_the_verdict_says_early_stopping_kept_the_fit_short_on_purpose():
    X, y = overfit_data()
    model = GDRegressor(**OVERFIT_SETTINGS).fit(X, y)
    verdict = model.verdict_
    assert not model.converged_ and verdict.reason == "early-stopped"
    assert f"early stopping returned epoch {model.best_epoch_}'s parameters" in verdict.message
    assert "failed to improve for 20 epochs" in verdict.message and "too few" not in str(verdict)
    assert "early_stopping=False" in verdict.remedy
    # the gap is that of the returned parameters, on the training objective
    assert verdict.distance == pytest.approx(model.gap_.distance) and model.gap_.distance > 0.01
    assert model.gap_.objective == pytest.approx(model.history_.loss[model.best_epoch_], rel=1e-12)


def test_the_training_optimum_still_stops_the_fit():
    X, y = uncentered_data(n=200, d=3, noise=0.0)  # no noise: the held-out rows fit best at the optimum
    model = GDRegressor(early_stopping=True, seed=0).fit(X, y)
    assert model.converged_ and model.verdict_.reason == "at-optimum"
    assert model.best_epoch_ == model.n_iter_ and model.result_.outcome.stopped_by == "tol"
    X, y = uncentered_data(n=200, d=3)
    X_val, y_val = uncentered_data(n=50, d=3, seed=1)  # held-out rows of a flatter line: best before the optimum
    model = GDRegressor(early_stopping=True, seed=0, n_iter_no_change=100).fit(X, y, validation_data=(X_val,
                                                                                                      0.8 * y_val))
    assert model.result_.outcome.stopped_by == "tol" and model.best_epoch_ < model.n_iter_
    assert model.verdict_.reason == "early-stopped" and "went on to the training optimum" in model.verdict_.message


def test_early_stopping_takes_plain_steps_and_may_stop_where_the_loss_is_lowest():
    from gradfit import load_diabetes

    data = load_diabetes()
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotAtOptimumWarning)
        model = GDRegressor(early_stopping=True, validation_fraction=0.2, n_iter_no_change=10, seed=0).fit(
            data.X, data.y)
    # no heavy ball: its objective first swings up, which the held-out rule would take for overfitting
    assert model.momentum_ == 0.0 and GDRegressor(seed=0).fit(data.X, data.y).momentum_ > 0.0
    assert np.all(np.diff(model.history_.loss) < 0)
    # the validation loss still fell, by less than tol: stopped at its lowest, on purpose
    assert model.best_epoch_ == model.n_iter_ and model.result_.outcome.stopped_by == "validation"
    assert model.verdict_.reason == "early-stopped" and "fell by less than tol=1e-06" in model.verdict_.message



def _engines():
    engines = ["python", "numpy"]
    for name, module in (("torch", "torch"), ("dask", "distributed")):
        try:
            __import__(module)
            engines.append(name)
        except ImportError:
            pass
    return engines


@pytest.mark.parametrize("batch_size", [None, 7])
@pytest.mark.parametrize("engine", [e for e in _engines() if e != "numpy"])
def test_every_engine_holds_out_the_same_rows_and_stops_at_the_same_epoch(engine, batch_size, request):
    X, y = overfit_data(n=60, d=30)
    config = dict(early_stopping=True, validation_fraction=0.2, n_iter_no_change=5, lr=0.01, momentum=0.0,
                  epochs=60, seed=3, batch_size=batch_size, gram=False)
    reference = fit(X, y, FitConfig(**config))
    data = (X, y)
    if engine == "dask":
        import dask.array as da

        request.getfixturevalue("client")  # the shared cluster (conftest.py)
        data = (da.from_array(X, chunks=(17, -1)), da.from_array(y, chunks=17))
    result = fit(*data, FitConfig(**{**config, "engine": engine}))
    assert_same_history(reference.history, result.history, fields=("loss", "coef", "intercept", "val_loss"))
    assert result.held_out.best.epoch == reference.held_out.best.epoch
    assert result.outcome.stopped_by == reference.outcome.stopped_by
    np.testing.assert_allclose(result.coef, reference.coef, rtol=1e-9)


def test_partial_fit_holds_nothing_out():
    X, y = uncentered_data()
    model = GDRegressor(early_stopping=True, seed=0)
    model.partial_fit(X, y)
    model.partial_fit(X, y)
    assert model.gram_stats_.n == len(y) and model.best_epoch_ is None and model.n_iter_ == 2
    assert math.isclose(model.history_.loss[-1], mse_at(X, y, model.coef_, model.intercept_) , rel_tol=1e-9)


def test_the_split_carries_the_weights_of_its_rows():
    """the held-out rows keep their weights (the validation loss is their weighted mean) and the training rows
    theirs: the fit equals the same fit on the split rows with validation_data (1e-12), and the exact answer is
    weighted least squares on the training rows (1e-8)"""
    X, y = overfit_data()
    w = np.random.default_rng(3).integers(1, 5, size=len(y)).astype(float)  # 75 training rows, 61 parameters
    split = split_rows(len(y), 0.25, seed=0)
    model = GDRegressor(**OVERFIT_SETTINGS).fit(X, y, sample_weight=w)
    explicit = GDRegressor(**{**OVERFIT_SETTINGS, "early_stopping": True}).fit(
        X[split.train], y[split.train], sample_weight=w[split.train],
        validation_data=(X[split.val], y[split.val], w[split.val]))
    assert model.coef_ == pytest.approx(explicit.coef_, rel=1e-12, abs=1e-14)
    r = X[split.val] @ model.coef_ + model.intercept_ - y[split.val]
    assert model.best_val_loss_ == pytest.approx(np.sum(w[split.val] * r**2) / w[split.val].sum(), rel=1e-12)
    sw = np.sqrt(w[split.train])
    A = np.column_stack([X[split.train], np.ones(len(split.train))]) * sw[:, None]
    beta = np.linalg.lstsq(A, y[split.train] * sw, rcond=None)[0]
    assert np.asarray(model.exact_.coef) == pytest.approx(beta[:-1], rel=1e-8, abs=1e-10)


def test_held_out_rows_that_all_weigh_zero_are_refused():
    X, y = overfit_data()
    w = np.ones(len(y))
    w[split_rows(len(y), 0.25, seed=0).val] = 0.0
    with pytest.raises(OptionError, match=r"^early stopping: every one of the 25 held-out rows has weight 0"):
        GDRegressor(**OVERFIT_SETTINGS).fit(X, y, sample_weight=w)
