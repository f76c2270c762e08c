"""``gradfit plot MODEL --kind KIND --out FILE``: one plot or animation of a saved model's descent."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import OptionError
from ..estimator import load_model
from ..io.encoding import read_labelled
from ..io.outputs import is_stdout
from ..views.animate import animate_line, animate_path
from ..views.plotdata import view
from ..views.plots import cost_curve, fitted_line, learning_curve, predicted_vs_actual, residuals, save_figure
from ..views.plottext import PLOT_LANGUAGES, plot_language
from ..views.surface import loss_surface
from ._common import all_or_nothing, check_outputs, drawing

#: kind -> (what it draws, whether it needs the data)
KINDS = {
    "loss": ("the learning curve (loss per epoch)", False),
    "line": ("the data with the fitted line (one feature)", True),
    "surface": ("the 3-D loss surface over two parameters with the path", False),
    "contour": ("loss contours over two parameters with the path", False),
    "cost": ("the cost over W with each step (H(x) = Wx)", False),
    "residuals": ("residuals against predictions", True),
    "pred": ("predicted against actual", True),
    "animation": ("the path over the contours, or the line moving to the data (GIF, or MP4 with ffmpeg)", False),
}

ModelFile = Annotated[Path, typer.Argument(help="model file written by gradfit fit", show_default=False)]
DataFile = Annotated[Optional[Path], typer.Option(
    "--data", help="the training data (CSV or Parquet), for plots of the rows", show_default=False)]
Target = Annotated[Optional[str], typer.Option("--target", "-t", help="the column the model predicts (with --data)",
                                               show_default=False)]


def model_data(model_path: Path, data: Path | None, target: str | None):
    """(model, X, y, target): the saved model, and its training data when --data is given"""
    model = load_model(model_path)
    if data is None:
        return model, None, None, target
    if target is None and not hasattr(model.encoding_, "formula"):
        raise OptionError("option --data needs --target, the column the model predicts")
    names = getattr(model, "feature_names_in_", None)
    X, y, target = read_labelled(data, None if names is None else [str(n) for n in names], model.encoding_, target)
    return model, X, y, target


def plot(
    model: ModelFile,
    out: Annotated[Path, typer.Option("--out", "-o", help="file to write: .png, .svg, .pdf; .gif or .mp4 for "
                                      "--kind animation", show_default=False)],
    kind: Annotated[str, typer.Option("--kind", "-k", help="; ".join(f"{k}: {v[0]}" for k, v in KINDS.items()))]
    = "loss",
    data: DataFile = None,
    target: Target = None,
    params: Annotated[Optional[str], typer.Option(
        "--params", help="the two parameters of surface, contour and animation, e.g. W,b or 0,2 or area,b "
        "[default: W,b for one feature, else the first two coefficients]", show_default=False)] = None,
    log: Annotated[bool, typer.Option("--log", help="logarithmic loss axis (--kind loss)")] = False,
    frames: Annotated[int, typer.Option("--frames", help="most frames of an animation")] = 40,
    lang: Annotated[str, typer.Option("--lang", help=f"language of the labels: {', '.join(PLOT_LANGUAGES)}")] = "en",
) -> None:
    """Draw one plot of a saved model's descent (or an animation) and write it to a file.

    Examples:

    gradfit plot model.json --kind loss --log --out loss.png

    gradfit plot model.json --kind line --data points.csv --target y --out line.png

    gradfit plot model.json --kind animation --out path.gif

    gradfit plot model.json --kind contour --lang ko --out contour.png
    """
    if kind not in KINDS:
        raise OptionError(f"option --kind {kind!r} is not one of {', '.join(KINDS)}")
    if lang not in PLOT_LANGUAGES:
        raise OptionError(f"option --lang {lang!r} is not one of {', '.join(PLOT_LANGUAGES)}")
    check_outputs({"--out": out}, {"model": model, "--data": data})
    if KINDS[kind][1] and data is None:
        raise OptionError(f"option --kind {kind} needs the data: add --data FILE --target COLUMN")
    fitted, X, y, target = model_data(model, data, target)
    pair = _params(params)
    with all_or_nothing(), drawing(), plot_language(lang):
        if kind == "animation":
            written = _animate(fitted, X, y, out, pair, frames, target)
        else:
            written = save_figure(_draw(kind, fitted, X, y, pair, log, target), out)
    typer.echo(f"wrote {written}", err=is_stdout(out))


def _params(text: str | None):
    """'W,b' -> ('W', 'b'); numbers become coefficient indices"""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise OptionError(f"option --params {text!r} must name two parameters, e.g. W,b or 0,1")
    return tuple(int(p) if p.isdigit() else p for p in parts)


def _draw(kind: str, model, X, y, params, log: bool, target):
    """the Axes of one plot kind"""
    if kind == "loss":
        return learning_curve(model, log=log)
    if kind == "line":
        return fitted_line(model, X, y, epochs=5, target=target)
    if kind in ("surface", "contour"):
        return loss_surface(model, X, y, params=params, kind="surface" if kind == "surface" else "contour")
    if kind == "cost":
        return cost_curve(model, X, y)
    if kind == "residuals":
        return residuals(model, X, y, target=target)
    return predicted_vs_actual(model, X, y, target=target)


def _animate(model, X, y, out: Path, params, frames: int, target):
    """the line moving to the data for a one-parameter fit (needs the data), else the path on the contours"""
    if view(model).n_params >= 2:
        return animate_path(model, out, X, y, params=params, frames=frames)
    if X is None:
        raise OptionError("option --kind animation of a one-parameter model needs the data: "
                          "add --data FILE --target COLUMN")
    return animate_line(model, X, y, out, frames=frames, target=target)


def register(app: typer.Typer) -> None:
    """add the ``plot`` command to the gradfit app"""
    app.command("plot")(plot)
