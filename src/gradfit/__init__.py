"""gradfit: fit linear models by gradient descent and see what the descent does.

The names below are imported on first use (PEP 562): ``import gradfit`` and the ``gradfit`` command
load scikit-learn, SciPy or Numba only when something needs them.
"""

import sys
from importlib import import_module
from types import ModuleType

__version__ = "0.1.0"

#: public name -> the module (in this package) that defines it
_EXPORTS = {
    "GDRegressor": "estimator",
    "load_model": "estimator",
    "load_diabetes": "datasets",
    "fit": "solver",
    "FitResult": "solver",
    "minimize": "minimize",
    "maximize": "minimize",
    "check_grad": "minimize",
    "graph": "graph",
    "History": "history",
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


class _Package(ModuleType):
    """keeps ``gradfit.graph`` and ``gradfit.minimize`` the functions when their modules are imported"""

    def __setattr__(self, name: str, value) -> None:
        if isinstance(value, ModuleType) and _EXPORTS.get(name) == name:
            return  # the submodule stays reachable as sys.modules["gradfit.<name>"]
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
