"""gradfit: fit linear models by gradient descent and see what the descent does.

The names below are imported on first use (PEP 562): ``import gradfit`` and the ``gradfit`` command
load scikit-learn, SciPy or Numba only when something needs them.
"""

from importlib import import_module

__version__ = "0.1.0"

#: public name -> the module (in this package) that defines it
_EXPORTS = {
    "GDRegressor": "estimator",
    "load_model": "estimator",
    "load_diabetes": "io.datasets",
    "fit": "training.solver",
    "FitResult": "training.result",
    "minimize": "descent.minimize",
    "maximize": "descent.minimize",
    "check_grad": "descent.minimize",
    "graph": "views.graph",
    "History": "training.history",
    **dict.fromkeys(("GradfitError", "DataError", "OptionError", "DivergenceError", "ModelFileError",
                     "ConvergenceWarning", "NotAtOptimumWarning", "PrecisionWarning", "AccuracyWarning"), "errors"),
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

