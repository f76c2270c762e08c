"""``gradfit report MODEL --out report.html``: one self-contained HTML report of a saved model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..io.outputs import is_stdout
from ..views.report import write_report
from ._common import all_or_nothing, check_outputs, drawing
from .plot import DataFile, ModelFile, Target, model_data


def report(
    model: ModelFile,
    out: Annotated[Path, typer.Option("--out", "-o", help="the HTML file to write")] = Path("report.html"),
    data: DataFile = None,
    target: Target = None,
    title: Annotated[Optional[str], typer.Option("--title", help="heading of the page", show_default=False)] = None,
) -> None:
    """Write one HTML file with the data summary, settings, metrics, the gap to the exact solution,
    the coefficients, inference statistics, the history and every plot that applies.

    The file embeds its images and styles: it opens in any browser with no network.

    Examples:

    gradfit report model.json --out report.html

    gradfit report model.json --data houses.csv --target price --out report.html
    """
    check_outputs({"--out": out}, {"model": model, "--data": data})
    fitted, X, y, target = model_data(model, data, target)
    with all_or_nothing(), drawing():
        written = write_report(fitted, X, y, out, target=target, title=title)
    typer.echo(f"wrote {written}", err=is_stdout(out))


def register(app: typer.Typer) -> None:
    """add the ``report`` command to the gradfit app"""
    app.command("report")(report)
