"""The HTML report: one self-contained file with every section, escaped text, and a clean render in Chromium."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from gradfit import GDRegressor, OptionError, fit
from gradfit.cli import GradfitGroup
from gradfit.cli import plot as plot_cli
from gradfit.cli import report as report_cli
from gradfit.training.config import FitConfig
from gradfit.views.figures import standard_figures
from gradfit.views.report import render_report, write_report

HEIGHT = np.array([166.0, 176.0, 171.0, 173.0, 169.0])
WEIGHT = np.array([58.7, 75.7, 62.1, 70.4, 60.1])
SECTIONS = ["data", "settings", "metrics", "exact", "coefficients", "inference", "history", "plots"]


@pytest.fixture(scope="module")
def heights():
    return fit(HEIGHT[:, None], WEIGHT, FitConfig(lr=0.1, epochs=30, preprocess="standardize"),
               feature_names=["height"])


def section_ids(html: str) -> list[str]:
    return re.findall(r'<h2 id="([a-z]+)">', html)


def images(html: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


def test_report_is_one_self_contained_file_with_every_section(heights, tmp_path):
    path = write_report(heights, HEIGHT, WEIGHT, tmp_path / "report.html", target="weight")
    assert list(tmp_path.iterdir()) == [path]
    html = path.read_text(encoding="utf-8")
    assert section_ids(html) == SECTIONS
    assert not re.search(r"https?:", html) and not re.search(r'(src|href)="(?!data:|#)', html)
    assert "<link" not in html and "<script" not in html
    pngs = images(html)
    assert len(pngs) == len(standard_figures(heights, HEIGHT, WEIGHT)) == 7
    assert all(Image.open(io.BytesIO(p)).format == "PNG" for p in pngs)


def test_report_numbers_match_the_fit(heights):
    html = render_report(heights, HEIGHT, WEIGHT, target="weight")
    pred = heights.coef[0] * HEIGHT + heights.intercept
    r2 = 1 - ((WEIGHT - pred) ** 2).sum() / ((WEIGHT - WEIGHT.mean()) ** 2).sum()
    assert f"<td>{r2:.6g}</td>" in html
    assert f"<td>{np.abs(WEIGHT - pred).mean():.6g}</td>" in html
    assert f"<td>{heights.exact.coef[0]:.6g}</td>" in html and f"<td>{heights.gap.objective_gap:.6g}</td>" in html
    assert "weight (target)" in html and '<td class="name">height</td>' in html
    assert "… 21 entries not shown …" in html  # 31 entries: the first and last 5


def test_report_escapes_every_text(tmp_path):
    evil = "<script>alert(1)</script>"
    result = fit(HEIGHT[:, None], WEIGHT, FitConfig(lr=0.1, epochs=5, preprocess="standardize"), feature_names=[evil])
    html = render_report(result, HEIGHT, WEIGHT, target='"><img src=x>', title="<b>mine</b>")
    assert "<script" not in html and "<img src=x>" not in html and "<b>mine" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;mine&lt;/b&gt;" in html


def test_report_of_a_saved_model_without_data(tmp_path):
    model = GDRegressor(lr=0.1, epochs=20, preprocess="standardize").fit(pd.DataFrame({"height": HEIGHT}), WEIGHT)
    html = render_report(model)
    assert section_ids(html) == SECTIONS
    assert "5 rows, 1 feature(s) (from the model's statistics" in html
    assert len(images(html)) == len(standard_figures(model)) == 4  # no plots of the rows
    assert "<td>MAE</td>" not in html and '<td class="name">R²</td>' in html


def test_report_of_a_bare_history(heights):
    html = render_report(heights.history)
    assert section_ids(html) == ["settings", "metrics", "coefficients", "history", "plots"]
    assert "This history carries no settings." in html


def test_report_errors(heights, tmp_path):
    with pytest.raises(OptionError, match="cannot write the report to .*: folder .*missing does not exist"):
        write_report(heights, path=tmp_path / "missing" / "r.html")
    with pytest.raises(OptionError, match="the report needs both X and y, or neither"):
        render_report(heights, HEIGHT)


CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium on PATH (headless browser check)")
def test_report_renders_in_headless_chromium(heights, tmp_path):
    path = write_report(heights, HEIGHT, WEIGHT, tmp_path / "report.html", target="weight")
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,2000",
                    path.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    with Image.open(shot) as im:
        assert im.size == (1200, 2000)
        pixels = np.asarray(im.convert("L"))
    inked = (pixels < 200).mean()
    assert 0.01 < inked < 0.6, inked  # text and tables drawn, not a blank or an error page
    assert len(np.unique(pixels)) > 50


def test_report_command(tmp_path):
    app = typer.Typer(cls=GradfitGroup)
    plot_cli.register(app)
    report_cli.register(app)
    GDRegressor(lr=0.1, epochs=20, preprocess="standardize").fit(
        pd.DataFrame({"height": HEIGHT}), WEIGHT).save(tmp_path / "model.json")
    pd.DataFrame({"height": HEIGHT, "weight": WEIGHT}).to_csv(tmp_path / "hw.csv", index=False)
    out = tmp_path / "report.html"
    args = ["report", str(tmp_path / "model.json"), "--out", str(out), "--data", str(tmp_path / "hw.csv"),
            "--target", "weight", "--title", "Heights"]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<title>Heights</title>" in html and section_ids(html) == SECTIONS and len(images(html)) == 7
    result = CliRunner().invoke(app, ["report", str(tmp_path / "model.json"), "--data", str(tmp_path / "hw.csv"),
                                      "--out", str(tmp_path / "r2.html")])
    assert result.exit_code == 2 and result.output.strip() == (
        "error: option --data needs --target, the column the model predicts")
    assert not (tmp_path / "r2.html").exists()


def test_report_of_a_fit_short_of_the_optimum_says_so_and_infers_at_the_exact_answer(tmp_path):
    short = fit(HEIGHT[:, None], WEIGHT, FitConfig(lr=0.01, epochs=3, preprocess="standardize", tol=None),
                feature_names=["height"])
    assert not short.converged
    html = render_report(short, HEIGHT[:, None], WEIGHT, target="weight")
    assert "The descent is not at the exact solution" in html
    assert "statistics at the exact least-squares answer, not at the fit" in html
    assert "at the optimum (to tol)" in html
