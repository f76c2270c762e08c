"""Errors and warnings that users see: one clear line naming the culprit."""

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning

__all__ = [
    "GradfitError",
    "DataError",
    "OptionError",
    "DivergenceError",
    "ModelFileError",
    "ConvergenceWarning",
    "NotAtOptimumWarning",
    "PrecisionWarning",
    "AccuracyWarning",
]


class GradfitError(ValueError):
    """a user error: the message is one line that names the column, row, file or option at fault"""


class DataError(GradfitError):
    """the data cannot be used as given (non-numeric, missing, infinite, wrong shape)"""


class OptionError(GradfitError):
    """an option has a value gradfit cannot use"""


class DivergenceError(GradfitError):
    """the descent blew up; the message suggests a stable learning rate"""

    def __init__(self, message: str, *, epoch: int, suggested_lr: float | None, history=None):
        super().__init__(message)
        self.epoch = epoch
        self.suggested_lr = suggested_lr
        self.history = history


class ModelFileError(GradfitError):
    """a model file is missing, malformed or written by an incompatible version"""


class ConvergenceWarning(_SklearnConvergenceWarning):
    """the fit did not reach what it was asked to reach"""


class NotAtOptimumWarning(ConvergenceWarning):
    """the fit ended farther from the exact optimum than ``tol``; the message says why and what would fix it"""


class PrecisionWarning(UserWarning):
    """the data lose digits in the floating-point type the descent runs in"""


class AccuracyWarning(RuntimeWarning):
    """the exact answer is less accurate, or less unique, than a least-squares answer usually is"""
