"""The plots' words (``views.plottext``): Korean labels with a Hangul font and no missing glyph, English
again outside ``plot_language``, and one warning without such a font."""

from __future__ import annotations

import re
import warnings

import pytest

from gradfit import OptionError
from gradfit.views import plottext
from gradfit.views.animate import animate_path
from gradfit.views.figures import standard_figures
from gradfit.views.plots import cost_curve, learning_curve, save_figure
from gradfit.views.plottext import hangul_font, plot_language

from .helpers import HEIGHT, WEIGHT


def test_korean_plots_have_korean_labels_and_no_missing_glyph(heights, hypothesis, tmp_path):
    if hangul_font() is None:
        pytest.skip("no font with Hangul (install fonts-noto-cjk: make system-deps)")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font")
        with plot_language("ko"):
            for figure in standard_figures(heights, HEIGHT, WEIGHT, target="몸무게 (kg)"):
                ax = figure.draw()
                assert re.search("[가-힣]", ax.get_title()), figure.name
                assert not re.search("[A-Za-z]{4,}", ax.get_title() + ax.get_xlabel()), figure.name
                save_figure(ax, tmp_path / f"{figure.name}.png")
            ax = learning_curve(heights)
            assert (ax.get_xlabel(), ax.get_title()) == ("에포크", "학습 곡선")
            assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sgd, lr=0.1, 전체 배치", "정확한 최적값"]
            save_figure(cost_curve(hypothesis), tmp_path / "cost.png")
            animate_path(heights, tmp_path / "path.gif", frames=3, resolution=10)
    ax = learning_curve(heights)
    assert ax.get_title() == "Learning curve"  # English again outside the block


def test_plot_language_errors_and_missing_font(monkeypatch):
    with pytest.raises(OptionError, match=r"option lang='fr' is not one of \['en', 'ko'\]"):
        with plottext.plot_language("fr"):
            pass
    monkeypatch.setattr(plottext, "hangul_font", lambda: None)
    with pytest.warns(UserWarning, match="Korean plot labels need a font with Hangul .*fonts-noto-cjk"):
        with plottext.plot_language("ko") as used:
            assert used == "en" and plottext.tr("Learning curve") == "Learning curve"
