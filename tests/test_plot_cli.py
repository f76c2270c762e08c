"""The ``gradfit plot`` command: every kind written from a model file (and its data where needed), animations
and the cost curve, Korean labels, and errors in one line with exit status 2 and nothing written."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from gradfit import GDRegressor
from gradfit.cli import GradfitGroup
from gradfit.cli import plot as plot_cli
from gradfit.cli import report as report_cli
from gradfit.views.animate import frame_indices
from gradfit.views.plotdata import view
from gradfit.views.plots import save_figure
from gradfit.views.plottext import hangul_font

from .helpers import HEIGHT, HOURS, PNG, POINTS, WEIGHT


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """a gradfit app with the plot and report commands, a saved model and its data"""
    app = typer.Typer(cls=GradfitGroup)
    plot_cli.register(app)
    report_cli.register(app)
    where = tmp_path_factory.mktemp("cli")
    pd.DataFrame({"height": HEIGHT, "weight": WEIGHT}).to_csv(where / "hw.csv", index=False)
    model = GDRegressor(lr=0.1, epochs=20, preprocess="standardize").fit(
        pd.DataFrame({"height": HEIGHT}), WEIGHT)
    model.save(where / "model.json")
    return app, where


def run(cli, *args):
    app, where = cli
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("kind, needs_data", [
    ("loss", False), ("contour", False), ("surface", False), ("line", True), ("pred", True), ("residuals", True),
])
def test_plot_command_writes_each_kind(cli, kind, needs_data, tmp_path):
    _, where = cli
    data = ["--data", where / "hw.csv", "--target", "weight"] if needs_data else []
    out = tmp_path / f"{kind}.png"
    result = run(cli, "plot", where / "model.json", "--kind", kind, "--out", out, *data)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(PNG) and f"wrote {out}" in result.output


def test_plot_command_animation_and_cost(cli, hypothesis, tmp_path):
    _, where = cli
    out = tmp_path / "path.gif"
    assert run(cli, "plot", where / "model.json", "--kind", "animation", "--frames", "4", "--out", out).exit_code == 0
    with Image.open(out) as im:
        assert im.n_frames == 4
    GDRegressor(fit_intercept=False, lr=0.15, epochs=10, preprocess="none", tol=None).fit(HOURS, POINTS).save(
        tmp_path / "w.json")
    pd.DataFrame({"x0": HOURS[:, 0], "y": POINTS}).to_csv(tmp_path / "w.csv", index=False)
    assert run(cli, "plot", tmp_path / "w.json", "--kind", "cost", "--out", tmp_path / "c.png").exit_code == 0
    result = run(cli, "plot", tmp_path / "w.json", "--kind", "animation", "--out", tmp_path / "w.gif",
                 "--data", tmp_path / "w.csv", "--target", "y")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "w.gif") as im:  # W jumps 0, 1.4, 0.84, ...: the frames follow the jumps
        assert im.n_frames == len(frame_indices(np.column_stack([view(hypothesis).path()[0][:, 0]]), 40))


@pytest.mark.parametrize("args, message", [
    (["--kind", "line"], "error: option --kind line needs the data: add --data FILE --target COLUMN"),
    (["--kind", "pie"], "error: option --kind 'pie' is not one of loss, line, surface"),
    (["--data", "{where}/hw.csv"], "error: option --data needs --target, the column the model predicts"),
    (["--kind", "line", "--data", "{where}/hw.csv", "--target", "mass"], "error: data file .*mass"),
    (["--kind", "cost"], "error: cost_curve needs one parameter"),
    (["--kind", "contour", "--params", "W"], "error: option --params 'W' must name two parameters"),
    (["--lang", "fr"], "error: option --lang 'fr' is not one of en, ko"),
])
def test_plot_command_errors_are_one_line_and_exit_2(cli, args, message, tmp_path):
    _, where = cli
    out = tmp_path / "x.png"
    args = [a.replace("{where}", str(where)) for a in args]
    result = run(cli, "plot", where / "model.json", "--out", out, *args)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert re.match(message, result.output.strip()), result.output
    assert not out.exists()


def test_plot_command_with_a_missing_model_or_folder(cli, tmp_path):
    result = run(cli, "plot", tmp_path / "none.json", "--out", tmp_path / "x.png")
    assert result.exit_code == 2 and "error: model file" in result.output and "does not exist" in result.output
    _, where = cli
    result = run(cli, "plot", where / "model.json", "--out", tmp_path / "no" / "x.png")
    assert result.exit_code == 2 and "error: option --out" in result.output


def test_plot_command_draws_korean_labels(cli, tmp_path, monkeypatch):
    if hangul_font() is None:
        pytest.skip("no font with Hangul (install fonts-noto-cjk: make system-deps)")
    titles = []
    monkeypatch.setattr(plot_cli, "save_figure", lambda ax, out: titles.append(ax.get_title()) or save_figure(ax, out))
    _, where = cli
    result = run(cli, "plot", where / "model.json", "--kind", "contour", "--lang", "ko", "--out", tmp_path / "k.png")
    assert result.exit_code == 0, result.output
    assert titles == ["W와 b에 대한 손실"] and (tmp_path / "k.png").read_bytes().startswith(PNG)
