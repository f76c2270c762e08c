"""``gradfit playground [DATA --target y]``: the descent in the browser, on this machine only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import OptionError
from ..playground.text import LANGUAGES

#: exit status after Ctrl-C, as for every gradfit command
EXIT_INTERRUPTED = 130


def playground(
    data: Annotated[Optional[Path], typer.Argument(help="your own CSV or Parquet file (with --target)",
                                                   show_default=False)] = None,
    target: Annotated[Optional[str], typer.Option("--target", "-t", help="the column to predict from DATA",
                                                  show_default=False)] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="port on 127.0.0.1 [default: a free one]",
                                                show_default=False)] = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="do not open a browser")] = False,
    lang: Annotated[str, typer.Option("--lang", help=f"language of the page: {', '.join(LANGUAGES)}")] = "en",
) -> None:
    """Open the playground: move the learning rate and watch gradfit's descent, step by step.

    The five tutorials' data sets and the diabetes data are built in; give DATA and
    --target to add your own. Ctrl-C stops the server.

    Examples:

    gradfit playground

    gradfit playground points.csv --target y --port 8765 --no-browser
    """
    if (data is None) != (target is None):
        raise OptionError("give DATA and --target together (the playground adds your file with its target column)")
    if lang not in LANGUAGES:
        raise OptionError(f"option --lang {lang!r} is not one of {', '.join(LANGUAGES)}")
    from ..playground.server import serve  # Panel loads only when the playground runs

    try:
        serve(data, target, port, lang, open_browser=not no_browser, announce=typer.echo)
    except KeyboardInterrupt:
        typer.echo("stopped the playground", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def register(app: typer.Typer) -> None:
    """add the ``playground`` command to the gradfit app"""
    app.command("playground")(playground)
