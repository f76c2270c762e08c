"""The ``gradfit`` command: a Typer app; each command group is a module here with ``register(app)``.

User errors (bad data, options, model files, a diverging fit) print one line,
``error: ...``, on stderr and exit with status 2, without a traceback.
"""

from __future__ import annotations

import sys
import warnings
from importlib import import_module

import typer
from typer.core import TyperGroup

from ..errors import ConvergenceWarning, GradfitError

#: modules of this package that add commands, each through ``register(app: typer.Typer) -> None``
COMMANDS = ("fit", "summary", "plot", "report", "graph", "lesson", "playground")

#: exit status for user errors (like a usage error) and for Ctrl-C
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def _fail(message: str, status: int) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(status)


def _one_line(exc: BaseException) -> str:
    """the first line of an error's message (an OSError as 'reason: path')"""
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    else:
        text = str(exc)
    return " ".join(text.split()) or type(exc).__name__


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    typer.echo(f"warning: {_one_line(message) if isinstance(message, Warning) else message}", err=True)


class GradfitGroup(TyperGroup):
    """runs a command, turning user errors into one line on stderr and exit status 2"""

    def invoke(self, ctx: typer.Context):
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                warnings.simplefilter("always", ConvergenceWarning)  # a fit short of the optimum always says so
                return super().invoke(ctx)
        except BrokenPipeError:
            raise
        except (GradfitError, OSError) as exc:
            _fail(f"error: {_one_line(exc)}", EXIT_USER_ERROR)
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_INTERRUPTED)


app = typer.Typer(
    name="gradfit",
    cls=GradfitGroup,
    help="Fit linear models by gradient descent, and see what the descent does.\n\n"
    "Start with [bold]gradfit demo[/bold]; then [bold]gradfit fit DATA --target COLUMN[/bold].",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)



def _register_commands(target: typer.Typer) -> None:
    for name in COMMANDS:
        import_module(f"{__name__}.{name}").register(target)


_register_commands(app)


def main() -> None:
    """entry point of the ``gradfit`` script"""
    try:
        app(prog_name="gradfit")
    except BrokenPipeError:  # `gradfit predict ... | head`: the reader left; nothing to report
        sys.stderr.close()
