"""The ``gradfit`` command: a Typer app; each command group is a module here with ``register(app)``.

User errors (bad data, options, model files, a diverging fit) print one line,
``error: ...``, on stderr and exit with status 2, without a traceback.
"""

from __future__ import annotations

import sys
import warnings

import typer
from typer.core import TyperGroup

from ..errors import ConvergenceWarningBase, GradfitError
from . import _lazy, signals
from ._click import ClickException, NoArgsIsHelpError, UsageError

#: modules of this package that add commands, each through ``register(app: typer.Typer) -> None``;
#: a module is imported only when one of its commands runs or shows its help (see ``_lazy``)
COMMANDS = ("fit", "predict", "summary", "plot", "report", "graph", "lesson", "playground")

#: exit status for user errors (like a usage error) and for Ctrl-C
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = signals.EXIT_INTERRUPTED


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


class GradfitGroup(TyperGroup):
    """runs a command, turning user errors into one line on stderr and exit status 2.

    Warnings are held back while the command runs and printed, one line each, only if it
    succeeds: a failing command prints its error line alone. SIGTERM and SIGHUP stop a
    command like Ctrl-C (exit status 130); see ``gradfit.cli.signals``.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Click's main, with its usage errors (a missing option, a value of the wrong type) as one line"""
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:
            typer.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
            code = 0
        except UsageError as exc:
            command = exc.ctx.command_path if exc.ctx is not None else "gradfit"
            typer.echo(f"error: {' '.join(exc.format_message().split())} (see: {command} --help)", err=True)
            code = EXIT_USER_ERROR
        except ClickException as exc:
            typer.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
            code = exc.exit_code
        except typer.Abort:
            typer.echo("interrupted", err=True)
            code = EXIT_INTERRUPTED
        if not standalone_mode:
            return code
        sys.exit(code or 0)

    def invoke(self, ctx: typer.Context):
        held: list[str] = []
        try:
            with warnings.catch_warnings(), signals.stop_on_signals():
                warnings.showwarning = lambda message, *_a, **_k: held.append(_one_line(message) if isinstance(
                    message, Warning) else str(message))
                warnings.simplefilter("always", ConvergenceWarningBase)  # a fit short of the optimum always says so
                result = super().invoke(ctx)
        except BrokenPipeError:
            raise
        except (GradfitError, OSError) as exc:
            _fail(f"error: {_one_line(exc)}", EXIT_USER_ERROR)
        except KeyboardInterrupt:
            _fail("interrupted; nothing was written", EXIT_INTERRUPTED)
        except typer.Exit:
            _show_warnings(held)
            raise
        _show_warnings(held)
        return result


class LazyGradfitGroup(GradfitGroup):
    """the ``gradfit`` group: the commands of ``COMMANDS``, each module imported when first needed"""

    _listing = False  # True while the help lists the commands: stand-ins are enough

    def _listed(self) -> dict:
        return _lazy.listed(__name__, COMMANDS)

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return [*self._listed(), *(name for name in self.commands if name not in self._listed())]

    def get_command(self, ctx: typer.Context, cmd_name: str):
        entry = self._listed().get(cmd_name)
        if cmd_name not in self.commands and entry is not None:
            if self._listing:
                return _lazy.placeholder(cmd_name, entry, self.rich_markup_mode)
            for name, command in _lazy.load(entry.module, self.rich_markup_mode).items():
                self.commands.setdefault(name, command)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: typer.Context, args: list[str]):
        if args and args[0] in self._listed():
            return super().resolve_command(ctx, args)
        unknown = {name: None for name in self._listed() if name not in self.commands}
        self.commands.update(unknown)  # names only: an unknown command's error suggests the closest
        try:
            return super().resolve_command(ctx, args)
        finally:
            for name in unknown:
                del self.commands[name]

    def format_help(self, ctx: typer.Context, formatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def _show_warnings(held: list[str]) -> None:
    for text in dict.fromkeys(held):  # each distinct warning once, in order
        typer.echo(f"warning: {text}", err=True)


app = typer.Typer(
    name="gradfit",
    cls=LazyGradfitGroup,
    help="Fit linear models by gradient descent, and see what the descent does.\n\n"
    "Start with [bold]gradfit demo[/bold]; then [bold]gradfit fit DATA --target COLUMN[/bold].",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"gradfit {version('gradfit')}")
        raise typer.Exit()


@app.callback()
def _group(version: bool = typer.Option(False, "--version", help="print gradfit's version and exit",
                                        callback=_version, is_eager=True)) -> None:
    """makes ``app`` a group before any command is loaded (the help is the app's); --version"""


def main() -> None:
    """entry point of the ``gradfit`` script"""
    try:
        app(prog_name="gradfit")
    except BrokenPipeError:  # `gradfit predict ... | head`: the reader left; nothing to report
        sys.stderr.close()
