"""Plots of a fit: the objective they draw on (``plotdata``), learning curves, lines, predicted against actual
values and the cost over W (``plots``): each draws the right data, and says what is wrong in one line."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.metrics import r2_score

from gradfit import DataError, GDRegressor, History, OptionError, fit, load_model
from gradfit.training.config import FitConfig
from gradfit.views.plotdata import Objective, view
from gradfit.views.plots import cost_curve, fitted_line, learning_curve, predicted_vs_actual, residuals, save_figure
from gradfit.views.surface import loss_surface

from .helpers import HEIGHT, HOURS, POINTS, WEIGHT, by_gid

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


def test_user_axes_are_drawn_on_and_returned(heights):
    fig, axes = plt.subplots(1, 3)
    assert learning_curve(heights, ax=axes[0]) is axes[0]
    assert fitted_line(heights, HEIGHT, WEIGHT, ax=axes[1]) is axes[1]
    assert loss_surface(heights, ax=axes[2]) is axes[2]
    assert len(by_gid(axes[2], "path")) == 1 and len(fig.axes) == 4  # three plots and the surface's colour bar


def test_save_figure_formats(heights, tmp_path):
    assert save_figure(learning_curve(heights), tmp_path / "a.svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(OptionError, match="cannot write a figure to 'a.jpg': use a .png, .svg or .pdf file name"):
        save_figure(learning_curve(heights), tmp_path / "a.jpg")


# ------------------------------------------------------------------ plots that never mislead (issue 13)

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
