"""Plots, loss surfaces, animations and the ``gradfit plot`` command: every kind renders, and draws the right data."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import typer
from PIL import Image
from sklearn.metrics import r2_score
from typer.testing import CliRunner

import gradfit.views.animate as animate_module
from gradfit import DataError, GDRegressor, History, OptionError, fit, load_model
from gradfit.cli import GradfitGroup
from gradfit.cli import plot as plot_cli
from gradfit.cli import report as report_cli
from gradfit.training.config import FitConfig
from gradfit.views.animate import animate_line, animate_path, frame_indices
from gradfit.views.figures import standard_figures, write_standard_plots
from gradfit.views.plotdata import Objective, view
from gradfit.views.plots import cost_curve, fitted_line, learning_curve, predicted_vs_actual, residuals, save_figure
from gradfit.views.surface import loss_surface

HOURS = np.array([[1.0], [2.0], [3.0]])
POINTS = np.array([1.0, 2.0, 3.0])
HEIGHT = np.array([166.0, 176.0, 171.0, 173.0, 169.0])
WEIGHT = np.array([58.7, 75.7, 62.1, 70.4, 60.1])
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def hypothesis():
    """the 'hypothesis' lesson: H(x) = Wx, W from 0, lr 0.15, 10 epochs"""
    return fit(HOURS, POINTS, FitConfig(fit_intercept=False, lr=0.15, epochs=10, preprocess="none", tol=None))


@pytest.fixture(scope="module")
def heights():
    return fit(HEIGHT[:, None], WEIGHT, FitConfig(lr=0.1, epochs=30, preprocess="standardize"))


@pytest.fixture(scope="module")
def three():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3)) + [1.0, -2.0, 0.5]
    y = X @ [1.5, -0.5, 2.0] + 0.7 + 0.3 * rng.normal(size=60)
    result = fit(X, y, FitConfig(lr=0.05, epochs=25, batch_size=16, seed=0), feature_names=["a", "b2", "c"])
    return result, X, y


def by_gid(ax, gid):
    return [line for line in ax.get_lines() if line.get_gid() == gid]


# ------------------------------------------------------------------ the objective behind the surfaces

@pytest.mark.parametrize("config", [
    FitConfig(lr=0.001, epochs=8),
    FitConfig(lr=0.05, epochs=8, preprocess="standardize", loss="half_mse", alpha=0.3, l1_ratio=0.4),
    FitConfig(fit_intercept=False, lr=0.002, epochs=5, batch_size=7, seed=2, alpha=0.1),
])
def test_objective_on_the_path_equals_the_recorded_loss(config, three):
    _, X, y = three
    result = fit(X, y, config)
    objective = Objective.of(view(result), X, y)
    coefs, intercepts = view(result).path()
    np.testing.assert_allclose(objective(coefs, intercepts), result.history.loss, rtol=1e-10)
    assert objective([result.exact.coef], [result.exact.intercept])[0] == pytest.approx(result.exact.objective, rel=1e-10)


def test_objective_matches_residuals_computed_row_by_row(three):
    """an independent reference: the loss from the rows, for random parameters"""
    _, X, y = three
    result = fit(X, y, FitConfig(lr=0.01, epochs=2, alpha=0.2, l1_ratio=0.5, loss="half_mse", preprocess="none"))
    rng = np.random.default_rng(0)
    coefs, intercepts = rng.normal(size=(7, 3)), rng.normal(size=7)
    resid = y[None, :] - coefs @ X.T - intercepts[:, None]
    expected = 0.5 * (resid**2).mean(axis=1) + 0.5 * 0.1 * (coefs**2).sum(axis=1) + 0.1 * np.abs(coefs).sum(axis=1)
    np.testing.assert_allclose(Objective.of(view(result), X, y)(coefs, intercepts), expected, rtol=1e-11)


def test_view_of_an_estimator_a_loaded_model_and_a_history(tmp_path):
    model = GDRegressor(lr=0.1, epochs=15, preprocess="standardize").fit(HEIGHT[:, None], WEIGHT)
    model.save(tmp_path / "m.json")
    loaded = load_model(tmp_path / "m.json")
    for fv in (view(model), view(loaded)):
        assert fv.model.fit_intercept and fv.prep.mode == "standardize" and fv.stats is not None
        np.testing.assert_allclose(fv.coef, model.coef_, rtol=1e-12)
        assert fv.exact.objective == pytest.approx(model.exact_.objective, rel=1e-12)
    bare = view(model.history_)
    assert bare.model.fit_intercept and bare.exact is None and bare.label == "fit"
    with pytest.raises(OptionError, match="not fitted yet; call fit"):
        view(GDRegressor())
    with pytest.raises(OptionError, match="cannot plot a str"):
        view("model.json")
    with pytest.raises(OptionError, match="history is empty"):
        view(History())


# ------------------------------------------------------------------ learning curves

def test_learning_curve_overlays_fits_and_marks_the_shared_optimum():
    fits = [fit(HOURS, [2.0, 4.0, 7.0], FitConfig(lr=lr, epochs=12)) for lr in (0.01, 0.05, 0.1)]
    ax = learning_curve(*fits)
    lines = by_gid(ax, "loss")
    assert len(lines) == 3
    for line, result in zip(lines, fits):
        assert list(line.get_xdata()) == result.history.epoch
        np.testing.assert_array_equal(line.get_ydata(), result.history.loss)
    (exact,) = by_gid(ax, "exact")
    assert exact.get_ydata()[0] == pytest.approx(fits[0].exact.objective)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "sgd, lr=0.01, full batch", "sgd, lr=0.05, full batch", "sgd, lr=0.1, full batch", "exact optimum"]
    assert ax.get_xlabel() == "epoch"


def test_learning_curve_by_step_log_gap_and_labels(three):
    result, _, _ = three
    ax = learning_curve(result, x="step", log=True, gap=True, labels=["minibatch"])
    (line,) = by_gid(ax, "loss")
    assert list(line.get_xdata()) == result.history.step
    np.testing.assert_allclose(line.get_ydata(), np.asarray(result.history.loss) - result.exact.objective)
    assert ax.get_yscale() == "log" and not by_gid(ax, "exact")
    assert ax.get_legend().get_texts()[0].get_text() == "minibatch"


def test_learning_curve_of_different_data_draws_one_optimum_per_fit(hypothesis, heights):
    ax = learning_curve(hypothesis, heights.history, heights, labels=["a", "b", "c"])
    assert len(by_gid(ax, "loss")) == 3 and len(by_gid(ax, "exact")) == 2


@pytest.mark.parametrize("call, message", [
    (lambda r: learning_curve(), "needs at least one fit"),
    (lambda r: learning_curve(r, x="time"), r"option x='time' is not one of \['epoch', 'step'\]"),
    (lambda r: learning_curve(r, r, labels=["one"]), "option labels has 1 entries for 2 fits"),
    (lambda r: learning_curve(r.history, gap=True), "option gap=True needs the exact solution"),
])
def test_learning_curve_errors(heights, call, message):
    with pytest.raises(OptionError, match=message):
        call(heights)


# ------------------------------------------------------------------ one feature: the line

def test_fitted_line_in_original_units_with_earlier_lines_fading_in(heights):
    ax = fitted_line(heights, HEIGHT, WEIGHT, epochs=4, target="weight (kg)")
    (final,) = by_gid(ax, "fit")
    xs = final.get_xdata()
    np.testing.assert_allclose(final.get_ydata(), heights.coef[0] * xs + heights.intercept)
    (exact,) = by_gid(ax, "exact")
    np.testing.assert_allclose(exact.get_ydata(), heights.exact.coef[0] * xs + heights.exact.intercept)
    earlier = by_gid(ax, "earlier")
    assert len(earlier) == 4
    assert np.all(np.diff([line.get_alpha() for line in earlier]) > 0)
    np.testing.assert_allclose(earlier[0].get_ydata(), heights.history.intercept[0])  # the start: W = 0
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), np.column_stack([HEIGHT, WEIGHT]))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x0", "weight (kg)")


def test_fitted_line_named_epochs_and_errors(heights, three):
    assert len(by_gid(fitted_line(heights, HEIGHT, WEIGHT, epochs=[0, 10, 20]), "earlier")) == 3
    assert not by_gid(fitted_line(heights, HEIGHT, WEIGHT), "earlier")
    with pytest.raises(OptionError, match="option epochs names epoch 99, which the history does not hold"):
        fitted_line(heights, HEIGHT, WEIGHT, epochs=[99])
    with pytest.raises(OptionError, match="option epochs=0 must be a positive number"):
        fitted_line(heights, HEIGHT, WEIGHT, epochs=0)
    result, X, y = three
    with pytest.raises(OptionError, match="fitted_line needs one feature; this fit has 3"):
        fitted_line(result, X, y)
    with pytest.raises(DataError, match="X has 3 columns but the model was fitted on 1 features"):
        predicted_vs_actual(heights, X, y)
    with pytest.raises(DataError, match=r"X has shape \(5, 1\) but y has 4 values"):
        fitted_line(heights, HEIGHT, WEIGHT[:4])


# ------------------------------------------------------------------ several features

def test_predicted_vs_actual_and_residuals(three):
    result, X, y = three
    pred = X @ np.asarray(result.coef) + result.intercept
    ax = predicted_vs_actual(result, X, y, target="price")
    np.testing.assert_allclose(ax.collections[0].get_offsets(), np.column_stack([y, pred]))
    (identity,) = by_gid(ax, "identity")
    np.testing.assert_array_equal(identity.get_xdata(), identity.get_ydata())
    assert f"R² = {r2_score(y, pred):.4f}" in ax.get_title()
    assert ax.get_xlabel() == "actual price"
    ax = residuals(result, X, y)
    np.testing.assert_allclose(ax.collections[0].get_offsets(), np.column_stack([pred, y - pred]))


# ------------------------------------------------------------------ one parameter: the cost over W

def test_cost_curve_of_the_hypothesis_lesson(hypothesis):
    # the tutorial's recurrence: cost(W) = (14/3)(W − 1)², so W ← W − 0.15·(28/3)(W − 1)
    w, expected = 0.0, []
    for _ in range(11):
        expected.append(w)
        w -= 0.15 * 28.0 / 3.0 * (w - 1.0)
    ax = cost_curve(hypothesis, HOURS, POINTS)
    (steps,) = by_gid(ax, "steps")
    np.testing.assert_allclose(steps.get_xdata(), expected, rtol=1e-12)
    np.testing.assert_allclose(steps.get_ydata(), 14.0 / 3.0 * (np.array(expected) - 1.0) ** 2, rtol=1e-10)
    curve = ax.get_lines()[0]
    np.testing.assert_allclose(curve.get_ydata(), 14.0 / 3.0 * (curve.get_xdata() - 1.0) ** 2, rtol=1e-10, atol=1e-14)
    (star,) = by_gid(ax, "exact")
    assert star.get_xdata()[0] == pytest.approx(1.0) and star.get_ydata()[0] == pytest.approx(0.0, abs=1e-12)
    labels = [t.get_text() for t in ax.texts]
    assert labels[:3] == ["0", "1", "2"] and len(labels) < 11  # the crowded last steps go unnumbered


def test_cost_curve_needs_one_parameter_and_the_data(heights, hypothesis):
    with pytest.raises(OptionError, match=r"cost_curve needs one parameter \(H\(x\) = Wx, fit_intercept=False\); "
                                          "this fit has 2"):
        cost_curve(heights)
    with pytest.raises(OptionError, match="needs the data"):
        cost_curve(hypothesis.history)
    assert len(by_gid(cost_curve(hypothesis.history, HOURS, POINTS), "steps")[0].get_xdata()) == 11


# ------------------------------------------------------------------ two parameters: surfaces

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


def test_user_axes_are_drawn_on_and_returned(heights):
    fig, axes = plt.subplots(1, 3)
    assert learning_curve(heights, ax=axes[0]) is axes[0]
    assert fitted_line(heights, HEIGHT, WEIGHT, ax=axes[1]) is axes[1]
    assert loss_surface(heights, ax=axes[2]) is axes[2]
    assert len(by_gid(axes[2], "path")) == 1 and len(fig.axes) == 4  # three plots and the surface's colour bar


# ------------------------------------------------------------------ animations

def test_frame_indices_keep_start_and_end_and_follow_the_path():
    straight = np.column_stack([np.arange(100.0), 3 * np.arange(100.0)])  # constant speed: evenly spread
    assert frame_indices(straight, 5).tolist() == [0, 25, 50, 75, 99]
    assert frame_indices(straight[:3], 40).tolist() == [0, 1, 2]
    halving = 2.0 ** -np.arange(30.0)  # each step half the last: frames crowd the start
    assert frame_indices(halving, 5).tolist() == [0, 1, 2, 29]  # half the way is the first step
    assert frame_indices(np.ones(10), 4).tolist() == [0, 3, 6, 9]  # no movement: evenly spread
    with pytest.raises(OptionError, match="option frames=1 must be an integer from 2 to 300"):
        frame_indices(straight, 1)


def test_animations_are_gifs_with_one_frame_per_sampled_entry(heights, tmp_path):
    path = animate_path(heights, tmp_path / "path.gif", frames=6, resolution=20)
    line = animate_line(heights, HEIGHT, WEIGHT, tmp_path / "line.gif", frames=5)
    for written, frames in ((path, 6), (line, 5)):
        with Image.open(written) as im:
            assert im.format == "GIF" and im.n_frames == frames
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line.gif", "path.gif"]  # no temporary files left


def test_animation_errors(heights, three, tmp_path, monkeypatch):
    with pytest.raises(OptionError, match="cannot write an animation to 'a.avi': use a .gif or .mp4 file name"):
        animate_path(heights, tmp_path / "a.avi")
    with pytest.raises(OptionError, match="option fps=0 must be an integer from 1 to 60"):
        animate_path(heights, tmp_path / "a.gif", fps=0)
    monkeypatch.setattr("gradfit.views.animate.shutil.which", lambda name: None)
    with pytest.raises(OptionError, match="writing 'a.mp4' needs ffmpeg on PATH; write a .gif instead"):
        animate_line(heights, HEIGHT, WEIGHT, tmp_path / "a.mp4")
    result, X, y = three
    with pytest.raises(OptionError, match="animate_line needs one feature; this fit has 3"):
        animate_line(result, X, y, tmp_path / "a.gif")
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------ the standard set

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


def test_save_figure_formats(heights, tmp_path):
    assert save_figure(learning_curve(heights), tmp_path / "a.svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(OptionError, match="cannot write a figure to 'a.jpg': use a .png, .svg or .pdf file name"):
        save_figure(learning_curve(heights), tmp_path / "a.jpg")


# ------------------------------------------------------------------ gradfit plot

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


# ------------------------------------------------------------------ plots that never mislead (issue 13)

def _texts_outside_the_figure(fig) -> list[str]:
    """what is drawn (partly) outside the figure when it is saved: axes with their texts, figure legends, titles"""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    parts = [(ax.get_title() or ax.get_label() or "axes", ax.get_tightbbox(renderer)) for ax in fig.axes]
    parts += [("figure legend", legend.get_window_extent(renderer)) for legend in fig.legends]
    if fig._suptitle is not None:
        parts.append((fig._suptitle.get_text(), fig._suptitle.get_window_extent(renderer)))
    width, height = fig.bbox.width, fig.bbox.height
    return [name for name, box in parts
            if box.x0 < -1 or box.x1 > width + 1 or box.y0 < -1 or box.y1 > height + 1]


@pytest.fixture(scope="module")
def long_names():
    """a long fit on features with long names: long legend entries and a long title"""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 3))
    y = X @ [2.0, -1.0, 0.5] + 3.0 + 0.1 * rng.normal(size=80)
    names = ["body_mass_index", "blood_pressure", "serum_cholesterol"]
    return fit(X, y, FitConfig(lr=0.01, epochs=1500, seed=0), feature_names=names), X, y


def test_standard_figures_keep_every_title_label_and_legend_inside_the_figure(long_names, heights):
    result, X, y = long_names
    for fv, data in ((result, (X, y)), (heights, (HEIGHT, WEIGHT))):
        for figure in standard_figures(fv, *data, target="disease progression"):
            ax = figure.draw()
            assert _texts_outside_the_figure(ax.figure) == [], figure.name


def test_contour_from_the_command_line_keeps_its_title_and_legend_inside(long_names):
    result, _, _ = long_names
    ax = loss_surface(result, params=("body_mass_index", "serum_cholesterol"))
    assert _texts_outside_the_figure(ax.figure) == []


def test_learning_curve_recorded_every_step_is_drawn_against_fractional_epochs():
    X = np.linspace(0.0, 1.0, 10)[:, None]
    result = fit(X, 3 * X[:, 0] + 1, FitConfig(lr=0.1, epochs=4, batch_size=3, seed=0, record_every="step"))
    assert result.history.epoch[:5] == [0, 0, 0, 0, 1]  # four steps an epoch, recorded at whole epochs
    (line,) = by_gid(learning_curve(result), "loss")
    xs = np.asarray(line.get_xdata(), dtype=float)
    assert np.all(np.diff(xs) > 0)  # no vertical spikes: every step has its own place
    np.testing.assert_allclose(xs, np.asarray(result.history.step) / 4)
    (line,) = by_gid(learning_curve(result, x="step"), "loss")
    assert list(line.get_xdata()) == result.history.step


def test_log_axis_tick_labels_share_one_style(heights):
    ax = learning_curve(heights, gap=True, log=True)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text() and t.get_visible()]
    bottom, top = ax.get_ylim()
    shown = [t for t, v in zip(ax.get_yticklabels(), ax.get_yticks()) if t.get_text() and bottom <= v <= top]
    assert len(shown) >= 3
    assert all(re.fullmatch(r"\$\\mathdefault\{(\d(\\times)?)?10\^\{-?\d+\}\}\$", label) for label in labels), labels


def test_animation_frames_follow_the_path_so_each_frame_moves(monkeypatch, tmp_path):
    """a fast fit: nearly all its movement is in the first epochs; evenly spread frames would all be still"""
    result = fit(HEIGHT[:, None], WEIGHT, FitConfig(lr=0.05, epochs=300, preprocess="standardize"))
    shown = {}
    real = animate_module.FuncAnimation

    def spy(fig, draw, frames, **kwargs):
        shown["frames"] = np.asarray(frames)
        return real(fig, draw, frames=frames, **kwargs)

    monkeypatch.setattr(animate_module, "FuncAnimation", spy)
    animate_path(result, tmp_path / "path.gif", frames=12, resolution=15)
    frames = shown["frames"]
    assert frames[0] == 0 and frames[-1] == len(result.history) - 1
    theta = np.column_stack([np.asarray(result.history.coef)[:, 0], result.history.intercept])
    scale = theta.max(axis=0) - theta.min(axis=0)
    moves = np.linalg.norm(np.diff(theta[frames] / scale, axis=0), axis=1)
    total = np.linalg.norm(np.diff(theta / scale, axis=0), axis=1).sum()
    assert len(frames) >= 6 and np.all(moves[:-1] > 0.02 * total)  # every frame but the last shows movement
    assert frames[len(frames) // 2] < 20  # half the frames are spent where the path moves


def test_korean_plots_have_korean_labels_and_no_missing_glyph(heights, hypothesis, tmp_path):
    import warnings

    from gradfit.views.plottext import hangul_font, plot_language

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
    from gradfit.views import plottext

    with pytest.raises(OptionError, match=r"option lang='fr' is not one of \['en', 'ko'\]"):
        with plottext.plot_language("fr"):
            pass
    monkeypatch.setattr(plottext, "hangul_font", lambda: None)
    with pytest.warns(UserWarning, match="Korean plot labels need a font with Hangul .*fonts-noto-cjk"):
        with plottext.plot_language("ko") as used:
            assert used == "en" and plottext.tr("Learning curve") == "Learning curve"


def test_plot_command_draws_korean_labels(cli, tmp_path, monkeypatch):
    from gradfit.views.plottext import hangul_font

    if hangul_font() is None:
        pytest.skip("no font with Hangul (install fonts-noto-cjk: make system-deps)")
    titles = []
    monkeypatch.setattr(plot_cli, "save_figure", lambda ax, out: titles.append(ax.get_title()) or save_figure(ax, out))
    _, where = cli
    result = run(cli, "plot", where / "model.json", "--kind", "contour", "--lang", "ko", "--out", tmp_path / "k.png")
    assert result.exit_code == 0, result.output
    assert titles == ["W와 b에 대한 손실"] and (tmp_path / "k.png").read_bytes().startswith(PNG)
