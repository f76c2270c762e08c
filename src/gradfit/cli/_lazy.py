"""Commands imported when they are used: ``gradfit --help`` lists them from their modules' source.

Each command module adds its commands in ``register(app)`` with lines ``app.command("name")(function)``;
reading those lines and the functions' docstrings (``ast``, no import) gives the listing, so printing
help never loads scikit-learn, Matplotlib, PyTorch or Dask. Running a command, or asking for its own
help, imports its module and nothing else.
"""

from __future__ import annotations

import ast
from functools import cache
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import NamedTuple

import typer
from typer.core import TyperCommand


class Listed(NamedTuple):
    """a command as its module's source declares it"""

    module: str
    function: str
    help: str


@cache
def listed(package: str, modules: tuple[str, ...]) -> dict[str, Listed]:
    """command name -> its module, function and docstring, in the order the modules register them"""
    commands = {}
    for module in modules:
        name = f"{package}.{module}"
        tree = ast.parse(Path(find_spec(name).origin).read_text(encoding="utf-8"))
        functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
        for command, function in _registered(functions["register"]):
            commands[command] = Listed(name, function, ast.get_docstring(functions[function]) or "")
    return commands


def _registered(register: ast.FunctionDef) -> list[tuple[str, str]]:
    """the (command, function) pairs of the statements ``app.command("name")(function)``"""
    pairs = []
    for statement in register.body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Call)
                and isinstance(call.func.func, ast.Attribute) and call.func.func.attr == "command"):
            pairs.append((call.func.args[0].value, call.args[0].id))
    return pairs


def placeholder(name: str, entry: Listed, markup_mode) -> TyperCommand:
    """a stand-in that carries what the listing shows (the name and the docstring)"""
    return TyperCommand(name=name, help=entry.help, rich_markup_mode=markup_mode)


def load(module: str, markup_mode) -> dict:
    """the Click commands that ``module.register`` adds"""
    app = typer.Typer(rich_markup_mode=markup_mode, add_completion=False)
    import_module(module).register(app)
    return dict(typer.main.get_group(app).commands)
