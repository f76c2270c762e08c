"""Engines by name. Register a new one with ``register``; the trainer never changes."""

from __future__ import annotations

from importlib import import_module

from ..errors import OptionError
from .base import Engine

_REGISTRY: dict[str, "type[Engine] | str"] = {
    "python": "gradfit.engines.python:PythonEngine",
    "numpy": "gradfit.engines.numpy:NumpyEngine",
    "torch": "gradfit.engines.torch:TorchEngine",
    "dask": "gradfit.engines.dask:DaskEngine",
}

__all__ = ["Engine", "register", "get_engine", "available_engines"]


def register(name: str, engine: "type[Engine] | str") -> None:
    """make ``engine`` (a class, or 'module:Class' imported on first use) known as ``name``"""
    _REGISTRY[name] = engine


def available_engines() -> list[str]:
    return list(_REGISTRY)


def get_engine(name: str) -> "type[Engine]":
    """the engine class registered as ``name``"""
    if name not in _REGISTRY:
        raise OptionError(f"option engine={name!r} is not one of {available_engines()}")
    entry = _REGISTRY[name]
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        try:
            entry = getattr(import_module(module), attr)
        except ImportError as exc:
            raise OptionError(f"option engine={name!r} needs a package that is not installed ({exc.name}); "
                              f"install it with: pip install 'gradfit[{name}]'") from None
        _REGISTRY[name] = entry
    return entry
