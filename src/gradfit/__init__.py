"""gradfit: fit linear models by gradient descent and see what the descent does."""

from .datasets import load_diabetes
from .errors import (AccuracyWarning, ConvergenceWarning, DataError, DivergenceError, GradfitError, ModelFileError,
                     NotAtOptimumWarning, OptionError, PrecisionWarning)
from .estimator import GDRegressor, load_model
from .graph import graph
from .history import History
from .minimize import check_grad, maximize, minimize
from .solver import FitResult, fit

__version__ = "0.1.0"

__all__ = [
    "GDRegressor",
    "load_model",
    "load_diabetes",
    "fit",
    "FitResult",
    "minimize",
    "maximize",
    "check_grad",
    "graph",
    "History",
    "GradfitError",
    "DataError",
    "OptionError",
    "DivergenceError",
    "ModelFileError",
    "ConvergenceWarning",
    "NotAtOptimumWarning",
    "PrecisionWarning",
    "AccuracyWarning",
    "__version__",
]
