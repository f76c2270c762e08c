"""``gradfit graph MODEL|--lesson NAME --out FILE``: draw the computation graph of the prediction and the loss."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import GradfitError, OptionError
from ..estimator import load_model
from ..views.graph import LESSONS, Graph, graph, lesson_graph, write_graph
from ._common import all_or_nothing, check_outputs


def graph_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write: .dot, .gv, .svg, .png or .pdf "
                                      "(a .dot file is always written beside a picture).")],
    model: Annotated[Optional[Path], typer.Argument(
        help="Model file written by `gradfit fit` or GDRegressor.save.")] = None,
    lesson: Annotated[Optional[str], typer.Option("--lesson", help=f"Draw a lesson's model instead: "
                                                  f"{', '.join(LESSONS)}.")] = None,
    engine: Annotated[Optional[str], typer.Option("--engine", help="Draw it as this engine computes it: torch (its "
                                                  "autograd graph), numpy or python (the model's expression). "
                                                  "Default: the model's engine; torch for lessons.")] = None,
) -> None:
    """Draw the computation graph of a model's prediction and loss, with W and b labelled (like make_dot)."""
    dot = out.with_suffix(".dot") if out.suffix.lower() not in (".dot", ".gv") else None
    try:  # (this command is also registered on plain Typer apps, without gradfit's error handling)
        check_outputs({"--out": out, "--out (its .dot file)": dot}, {"model": model})
        with all_or_nothing():
            files, hint = write_graph(_build(model, lesson, engine), out)
    except GradfitError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for path in files:
        typer.echo(f"wrote {path}")
    if hint is not None:
        typer.echo(f"hint: {hint}", err=True)


def _build(model: Path | None, lesson: str | None, engine: str | None) -> Graph:
    """the graph of a model file or of a lesson (exactly one of them)"""
    if (model is None) == (lesson is None):
        raise OptionError("give either a MODEL file or --lesson NAME (one of them)")
    if lesson is not None:
        return lesson_graph(lesson, engine=engine or "torch")
    return graph(load_model(model), engine=engine)


def register(app: typer.Typer) -> None:
    """add the ``graph`` command to the gradfit app"""
    app.command("graph")(graph_command)
