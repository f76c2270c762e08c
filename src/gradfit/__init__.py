"""gradfit: fit linear models by gradient descent and see what the descent does."""

from .errors import ConvergenceWarning, DataError, DivergenceError, GradfitError, ModelFileError, OptionError
from .history import History
from .solver import FitResult, fit

__version__ = "0.1.0"

__all__ = [
    "fit",
    "FitResult",
    "History",
    "GradfitError",
    "DataError",
    "OptionError",
    "DivergenceError",
    "ModelFileError",
    "ConvergenceWarning",
    "__version__",
]
