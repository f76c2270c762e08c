"""The standard set of figures (``views.figures``): every plot that applies to a fit, written as PNG, with
every title, label and legend inside the figure."""

from __future__ import annotations

import pytest

from gradfit import OptionError
from gradfit.views.figures import standard_figures, write_standard_plots

from .helpers import HEIGHT, PNG, WEIGHT, texts_outside_the_figure


def test_standard_plots_are_every_plot_that_applies(heights, hypothesis, three, tmp_path):
    written = write_standard_plots(heights, HEIGHT, WEIGHT, tmp_path / "a")
    assert [p.stem for p in written] == ["learning_curve", "convergence", "fitted_line", "predicted_vs_actual",
                                         "residuals", "loss_contour", "loss_surface"]
    assert all(p.read_bytes().startswith(PNG) for p in written)
    assert [f.name for f in standard_figures(hypothesis)] == ["learning_curve", "convergence", "cost_curve"]
    result, _, _ = three
    assert [f.name for f in standard_figures(result)] == ["learning_curve", "convergence", "loss_contour"]
    assert [f.name for f in standard_figures(result.history)] == ["learning_curve"]
    (tmp_path / "file").write_text("")
    with pytest.raises(OptionError, match="plot folder .*file is a file, not a folder"):
        write_standard_plots(heights, out_dir=tmp_path / "file")


def test_standard_figures_keep_every_title_label_and_legend_inside_the_figure(long_names, heights):
    result, X, y = long_names
    for fv, data in ((result, (X, y)), (heights, (HEIGHT, WEIGHT))):
        for figure in standard_figures(fv, *data, target="disease progression"):
            ax = figure.draw()
            assert texts_outside_the_figure(ax.figure) == [], figure.name
