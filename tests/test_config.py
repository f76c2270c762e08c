"""Each bad option gets one line naming the option and what it must be."""

import numpy as np
import pytest

from gradfit.errors import OptionError
from gradfit.training.config import FitConfig
from gradfit.training.solver import fit

X = np.arange(12.0).reshape(6, 2) ** 1.5
Y = np.arange(6.0)


@pytest.mark.parametrize("option,value,message", [
    ("lr", 0, r"option lr=0 must be a number > 0 or 'auto'"),
    ("lr", -0.1, r"option lr=-0.1 must be a number > 0 or 'auto'"),
    ("lr", "fast", r"option lr='fast' must be a number > 0 or 'auto'"),
    ("epochs", -1, r"option epochs=-1 must be an integer >= 0"),
    ("batch_size", 0, r"option batch_size=0 must be None or an integer >= 1"),
    ("batch_size", 7, r"option batch_size=7 is larger than the data \(6 rows\)"),
    ("alpha", -1.0, r"option alpha=-1.0 must be a number >= 0"),
    ("l1_ratio", 1.5, r"option l1_ratio=1.5 must be a number in \[0, 1\]"),
    ("momentum", 1.0, r"option momentum=1.0 must be a number in \[0, 1\) or 'auto'"),
    ("optimizer", "lbfgs", r"option optimizer='lbfgs' is not one of \['sgd', 'adam', 'adamw', "),
    ("loss", "mae", r"option loss='mae' is not one of \['mse', 'half_mse', 'huber',"),
    ("schedule", "warm", r"option schedule='warm' is not one of"),
    ("preprocess", "scale", r"option preprocess='scale' is not one of \['auto', 'none', 'center', 'standardize'\]"),
    ("dtype", "float16", r"option dtype='float16' is not one of \['float32', 'float64'\]"),
    ("init", "ones", r"option init='ones' must be 'zeros', 'random', a number or \(coef, intercept\)"),
    ("tol", -1, r"option tol=-1 must be None or a number in \[0, 1\)"),
    ("tol", 1.5, r"option tol=1.5 must be None or a number in \[0, 1\)"),
    ("record_every", 0, r"option record_every=0 must be an integer >= 1 or 'step'"),
    ("seed", -3, r"option seed=-3 must be None or an integer >= 0"),
    ("engine", "jax", r"option engine='jax' is not one of \['python', 'numpy', 'torch', 'dask'"),
    ("optimizer_backend", "torch", r"option optimizer_backend='torch' is not offered by engine='numpy' \(it offers \['gradfit'\]\)"),
])
def test_bad_option_named(option, value, message):
    with pytest.raises(OptionError, match=message):
        fit(X, Y, FitConfig(**{option: value}))


def test_nesterov_without_momentum():
    with pytest.raises(OptionError, match=r"option nesterov=True needs momentum > 0"):
        fit(X, Y, FitConfig(nesterov=True))


def test_zero_variance_column_named_under_standardize():
    Xc = np.column_stack([X[:, 0], np.full(6, 3.0)])
    from gradfit.errors import DataError

    with pytest.raises(DataError, match=r"column 'b' has zero variance; it cannot be standardized"):
        fit(Xc, Y, FitConfig(preprocess="standardize"), feature_names=["a", "b"])


def test_auto_lr_without_statistics_asks_for_a_number(monkeypatch):
    monkeypatch.setattr("gradfit.training.prepare.GRAM_MAX_ENTRIES", 1)
    with pytest.raises(OptionError, match=r"option lr='auto' needs the curvature of the data, which is not "
                                          r"gathered for 2 features; give lr a number"):
        fit(X, Y, FitConfig(lr="auto"))


def test_engine_is_closed_when_preparation_fails(monkeypatch):
    from gradfit.engines.numpy import NumpyEngine

    closed = []
    monkeypatch.setattr(NumpyEngine, "close", lambda self: closed.append(True))
    with pytest.raises(OptionError, match="batch_size=7 is larger than the data"):
        fit(X, Y, FitConfig(batch_size=7))
    assert closed == [True]
