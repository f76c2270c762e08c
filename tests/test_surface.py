"""Loss surfaces (``views.surface``): contours and 3-D surfaces over two parameters, with the path, its ends
and the exact optimum; slices through fits of several parameters; errors in one line."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from gradfit import OptionError, fit
from gradfit.training.config import FitConfig
from gradfit.views.surface import loss_surface

from .helpers import HEIGHT, WEIGHT, by_gid, texts_outside_the_figure


def test_contour_has_the_path_its_ends_and_the_exact_optimum(heights):
    ax = loss_surface(heights)  # from the fit's own Gram statistics: no data needed
    (path,) = by_gid(ax, "path")
    assert len(path.get_xdata()) == len(heights.history)
    np.testing.assert_array_equal(path.get_xdata(), np.asarray(heights.history.coef)[:, 0])
    np.testing.assert_array_equal(path.get_ydata(), heights.history.intercept)
    (start,), (end,), (star,) = by_gid(ax, "start"), by_gid(ax, "end"), by_gid(ax, "exact")
    assert (start.get_xdata()[0], start.get_ydata()[0]) == (path.get_xdata()[0], path.get_ydata()[0])
    assert (end.get_xdata()[0], end.get_ydata()[0]) == (path.get_xdata()[-1], path.get_ydata()[-1])
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (heights.exact.coef[0], heights.exact.intercept)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("W", "b (intercept)")
    assert len(ax.figure.axes) == 2  # the plot and its colour bar
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    assert xlim[0] < min(path.get_xdata()) and max(path.get_xdata()) < xlim[1]
    assert ylim[0] < min(path.get_ydata()) and max(path.get_ydata()) < ylim[1]


def test_surface_in_3d_draws_the_path_on_the_surface(heights):
    ax = loss_surface(heights, HEIGHT, WEIGHT, kind="surface", resolution=20)
    assert ax.name == "3d"
    (path,) = by_gid(ax, "path")
    xs, ys, zs = path.get_data_3d()
    assert len(xs) == len(heights.history)
    np.testing.assert_allclose(zs, heights.history.loss, rtol=1e-10)
    (star,) = by_gid(ax, "exact")
    assert star.get_data_3d()[2][0] == pytest.approx(heights.exact.objective, rel=1e-10)


def test_slice_over_two_of_several_parameters(three):
    result, X, y = three
    ax = loss_surface(result, X, y, params=("c", "b"), resolution=15)
    (path,) = by_gid(ax, "path")
    np.testing.assert_array_equal(path.get_xdata(), np.asarray(result.history.coef)[:, 2])
    assert "others held at the fit" in ax.get_title() and ax.get_xlabel() == "w[c]"
    (star,) = by_gid(loss_surface(result, params=(0, 1), resolution=15), "exact")
    assert (star.get_xdata()[0], star.get_ydata()[0]) == tuple(result.exact.coef[:2])


@pytest.mark.parametrize("kwargs, message", [
    (dict(params=(0, 0)), r"option params=\(0, 0\) must name two different parameters"),
    (dict(params=(0, 7)), r"option params names coefficient 7, but the fit has 3 \(0..2\)"),
    (dict(params=("a", "zz")), "option params names 'zz', which is not 'W', 'b', a coefficient index or a feature"),
    (dict(kind="wire"), r"option kind='wire' is not one of \['contour', 'surface'\]"),
    (dict(resolution=1), "option resolution=1 must be an integer >= 2"),
    (dict(kind="surface", ax="2d"), "option kind='surface' needs a 3-D Axes"),
])
def test_loss_surface_errors(three, kwargs, message):
    result, _, _ = three
    if kwargs.get("ax") == "2d":
        kwargs["ax"] = plt.figure().add_subplot()
    with pytest.raises(OptionError, match=message):
        loss_surface(result, **kwargs)


def test_loss_surface_of_one_parameter_or_no_intercept(hypothesis):
    with pytest.raises(OptionError, match="a loss surface needs two parameters; this fit has one"):
        loss_surface(hypothesis)
    no_b = fit(np.column_stack([HEIGHT, HEIGHT**0.5]), WEIGHT, FitConfig(fit_intercept=False, lr=1e-6, epochs=3))
    with pytest.raises(OptionError, match="names the intercept 'b', but this fit has fit_intercept=False"):
        loss_surface(no_b, params=(0, "b"))



def test_contour_from_the_command_line_keeps_its_title_and_legend_inside(long_names):
    result, _, _ = long_names
    ax = loss_surface(result, params=("body_mass_index", "serum_cholesterol"))
    assert texts_outside_the_figure(ax.figure) == []
