"""Validation data given to ``fit`` (``validation_data``): its loss recorded after every epoch (the training
loss without the penalty, a weighted mean with weights), stopping only with early stopping, columns matched
by name, and each error in one line. Reference: the loss recomputed with NumPy (1e-12 relative)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gradfit import GDRegressor
from gradfit.errors import DataError, OptionError

from .helpers import OVERFIT_SETTINGS, mse_at, overfit_data, uncentered_data


def test_validation_data_is_recorded_and_only_stops_with_early_stopping():
    X, y = overfit_data()
    X_val, y_val = overfit_data(n=50, seed=1)
    settings = {**OVERFIT_SETTINGS, "early_stopping": False, "epochs": 150}
    model = GDRegressor(**settings).fit(X, y, validation_data=(X_val, y_val))
    assert model.n_iter_ == 150 and model.gram_stats_.n == 100  # nothing held out of the training rows
    np.testing.assert_allclose(model.history_.val_loss, [mse_at(X_val, y_val, e.coef, e.intercept)
                                                         for e in model.history_], rtol=1e-12)
    np.testing.assert_array_equal(model.coef_, model.history_.coef[-1])  # monitored only: the last parameters
    assert model.best_epoch_ == int(np.argmin(model.history_.val_loss)) and not model.held_out_.restored
    stopped = GDRegressor(**{**settings, "early_stopping": True}).fit(X, y, validation_data=(X_val, y_val))
    assert stopped.n_iter_ < 150 and stopped.held_out_.n_rows == 50
    np.testing.assert_array_equal(stopped.coef_, stopped.history_.coef[stopped.best_epoch_])


@pytest.mark.parametrize("loss", ["huber", "quantile"])
def test_the_validation_loss_is_the_training_loss_without_the_penalty(loss):
    X, y = uncentered_data(n=60)
    X_val, y_val = uncentered_data(n=30, seed=1)
    model = GDRegressor(loss=loss, alpha=0.1, l1_ratio=1.0 if loss == "quantile" else 0.0, epochs=20,
                        seed=0).fit(X, y, validation_data=(X_val, y_val))
    for e in model.history_:
        r = X_val @ np.asarray(e.coef) + e.intercept - y_val
        if loss == "huber":  # ½r² inside ε = 0.1, ε|r| − ½ε² beyond
            values = np.where(np.abs(r) <= 0.1, 0.5 * r**2, 0.1 * np.abs(r) - 0.005)
        else:  # pinball at τ = 0.5
            values = np.maximum(0.5 * r, -0.5 * r)
        assert e.val_loss == pytest.approx(values.mean(), rel=1e-12)


def test_validation_weights_give_a_weighted_mean():
    X, y = uncentered_data(n=60)
    X_val, y_val = uncentered_data(n=30, seed=1)
    w = np.random.default_rng(2).integers(0, 4, size=30).astype(float)
    model = GDRegressor(epochs=5, seed=0).fit(X, y, validation_data=(X_val, y_val, w))
    repeated = np.repeat(np.arange(30), w.astype(int))  # integer weights are repeated rows
    for e in model.history_:
        assert e.val_loss == pytest.approx(mse_at(X_val[repeated], y_val[repeated], e.coef, e.intercept), rel=1e-12)



def test_held_out_errors_are_one_line():
    X, y = uncentered_data(n=10)
    with pytest.raises(OptionError, match=r"option validation_fraction=1\.5 must be a number in \(0, 1\)"):
        GDRegressor(early_stopping=True, validation_fraction=1.5).fit(X, y)
    with pytest.raises(OptionError, match=r"validation_fraction=0\.9 leaves 1 of the 10 rows for training"):
        GDRegressor(early_stopping=True, validation_fraction=0.9).fit(X, y)
    with pytest.raises(OptionError, match=r"option early_stopping='yes' must be True or False"):
        GDRegressor(early_stopping="yes").fit(X, y)
    with pytest.raises(DataError, match=r"validation_data: X_val has 2 features but the training data has 3"):
        GDRegressor().fit(X, y, validation_data=(X[:, :2], y))
    with pytest.raises(DataError, match=r"validation_data: X_val has 10 rows but y_val has 9"):
        GDRegressor().fit(X, y, validation_data=(X, y[:9]))
    with pytest.raises(DataError, match=r"validation_data: y_val has a missing or infinite value at row index 4"):
        GDRegressor().fit(X, y, validation_data=(X, np.where(np.arange(10) == 4, np.nan, y)))
    bad = X.copy()
    bad[2, 1] = np.inf
    with pytest.raises(DataError, match=r"validation_data X_val: column 'x1' has an infinite value \(inf\) at row index 2"):
        GDRegressor().fit(X, y, validation_data=(bad, y))
    with pytest.raises(OptionError, match=r"option validation_data must be a pair \(X_val, y_val\)"):
        GDRegressor().fit(X, y, validation_data=X)
    with pytest.raises(DataError, match=r"validation_data: sample_weight_val must be >= 0"):
        GDRegressor().fit(X, y, validation_data=(X, y, -np.ones(10)))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    with pytest.raises(DataError, match=r"validation_data: X_val has no column 'c' \(the training data's columns"):
        GDRegressor().fit(frame, y, validation_data=(frame.rename(columns={"c": "d"}), y))


def test_validation_columns_are_matched_by_name():
    X, y = uncentered_data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    X_val, y_val = uncentered_data(n=20, seed=1)
    val = pd.DataFrame(X_val, columns=["a", "b", "c"])
    model = GDRegressor(epochs=5).fit(frame, y, validation_data=(val[["c", "a", "b"]], y_val))
    assert model.history_.val_loss == GDRegressor(epochs=5).fit(frame, y, validation_data=(val, y_val)).history_.val_loss
