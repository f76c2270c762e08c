"""Errors and warnings that users see: one clear line naming the culprit.

``ConvergenceWarning`` (and ``NotAtOptimumWarning``) subclass scikit-learn's, whose import takes about
a second; they are made on first use (PEP 562), so commands that fit nothing never pay for it.
"""

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


class PrecisionWarning(UserWarning):
    """the data lose digits in the floating-point type the descent runs in"""


class AccuracyWarning(RuntimeWarning):
    """the exact answer is less accurate, or less unique, than a least-squares answer usually is"""


class ConvergenceWarningBase(UserWarning):
    """a base of ``ConvergenceWarning`` that loads nothing, for warning filters set before any fit"""


def _convergence_warnings() -> dict:
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning

    class ConvergenceWarning(SklearnConvergenceWarning, ConvergenceWarningBase):
        """the fit did not reach what it was asked to reach"""

    class NotAtOptimumWarning(ConvergenceWarning):
        """the fit ended farther from the exact optimum than ``tol``; the message says why and what would fix it"""

    for cls in (ConvergenceWarning, NotAtOptimumWarning):
        cls.__module__, cls.__qualname__ = __name__, cls.__name__
    return {"ConvergenceWarning": ConvergenceWarning, "NotAtOptimumWarning": NotAtOptimumWarning}


def __getattr__(name: str):
    if name in ("ConvergenceWarning", "NotAtOptimumWarning"):
        globals().update(_convergence_warnings())
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
