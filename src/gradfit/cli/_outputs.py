"""What the commands share that loads nothing heavy: output options, checking outputs, writing all or nothing."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer

from ..io.outputs import transaction
from . import signals

OUTPUT = "Output"

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="print nothing but errors", rich_help_panel=OUTPUT)]
JsonOut = Annotated[bool, typer.Option("--json", help="print the result as JSON on stdout", rich_help_panel=OUTPUT)]


def check_outputs(outputs: dict, inputs: dict | None = None, folders: dict | None = None) -> None:
    """refuse, before any work, outputs that collide with inputs or each other, or cannot be written"""
    from ..io.outputs import check_outputs as check

    check(outputs, inputs or {}, folders or {})


@contextlib.contextmanager
def all_or_nothing():
    """every file written inside is kept only if the block succeeds; stop signals wait until it ends"""
    with signals.keeping(), transaction():
        yield
