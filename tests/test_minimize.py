"""minimize / maximize against closed forms and hand-written loops; finite differences; check_grad."""

import importlib.util
import math
import sys

import numpy as np
import pytest

from gradfit.descent.minimize import Step, check_grad, maximize, minimize, numerical_gradient
from gradfit.errors import DivergenceError, OptionError

A = np.array([[3.0, 0.5, 0.0], [0.5, 2.0, 0.3], [0.0, 0.3, 1.0]])
B = np.array([1.0, -2.0, 0.5])
X_STAR = np.linalg.solve(A, B)  # argmin of ½xᵀAx − bᵀx


def quadratic(x):
    x = np.asarray(x)
    return float(0.5 * x @ A @ x - B @ x)


def quadratic_grad(x):
    return (A @ np.asarray(x) - B).tolist()


def rosenbrock(v):
    return (1.0 - v[0]) ** 2 + 100.0 * (v[1] - v[0] ** 2) ** 2


def rosenbrock_grad(v):
    return [-2.0 * (1.0 - v[0]) - 400.0 * v[0] * (v[1] - v[0] ** 2), 200.0 * (v[1] - v[0] ** 2)]


@pytest.mark.parametrize("options", [
    {"optimizer": "sgd", "lr": 0.2},
    {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9},
    {"optimizer": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": True},
    {"optimizer": "adam", "lr": 0.05, "schedule": "exponential", "schedule_options": {"gamma": 0.998}},
    {"optimizer": "rmsprop", "lr": 0.05, "schedule": "cosine"},
])
def test_quadratic_reaches_the_closed_form_minimum(options):
    result = minimize(quadratic, [4.0, -3.0, 2.0], quadratic_grad, epochs=2000, **options)
    np.testing.assert_allclose(result.x, X_STAR, atol=1e-6)
    assert result.fun == pytest.approx(-0.5 * B @ X_STAR, abs=1e-10)


def test_rosenbrock_with_adam_reaches_one_one():
    result = minimize(rosenbrock, [-1.2, 1.0], rosenbrock_grad, optimizer="adam", lr=0.01, epochs=5000)
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=1e-3)
    assert result.fun < 1e-6


def test_sgd_matches_a_hand_written_loop_with_a_step_schedule():
    x, lr0 = [4.0, -3.0, 2.0], 0.1
    hand = [list(x)]
    for epoch in range(30):
        lr = lr0 * 0.5 ** (epoch // 10)
        g = quadratic_grad(x)
        x = [xi - lr * gi for xi, gi in zip(x, g)]
        hand.append(x)
    result = minimize(quadratic, [4.0, -3.0, 2.0], quadratic_grad, lr=lr0, epochs=30,
                      schedule="step", schedule_options={"step_size": 10, "gamma": 0.5})
    np.testing.assert_allclose([s.x for s in result.history], hand, rtol=1e-15, atol=1e-15)
    assert result.n_iter == 30 and len(result.history) == 31 and not result.converged


def test_history_holds_f_and_gradient_norm_at_each_point():
    result = minimize(quadratic, [1.0, 1.0, 1.0], quadratic_grad, lr=0.1, epochs=5)
    for step in result.history:
        assert isinstance(step, Step)
        assert step.fun == pytest.approx(quadratic(step.x), rel=1e-15)
        assert step.grad_norm == pytest.approx(np.linalg.norm(quadratic_grad(step.x)), rel=1e-15)
    assert result.fun == result.history[-1].fun and result.x == result.history[-1].x


def test_finite_differences_match_the_analytic_gradient():
    point = [1.3, -250.0, 0.02]
    f = lambda v: math.sin(v[0]) * v[1] ** 2 + math.exp(v[2]) * v[0]
    exact = [math.cos(1.3) * 250.0**2 + math.exp(0.02), 2 * math.sin(1.3) * -250.0, math.exp(0.02) * 1.3]
    # f ≈ 6e4 here: its rounding error over a 6e-6 step limits the small component to ~1e-7 absolute
    np.testing.assert_allclose(numerical_gradient(f, point), exact, rtol=1e-8, atol=1e-6)


def test_without_grad_the_descent_follows_the_analytic_one():
    analytic = minimize(quadratic, [4.0, -3.0, 2.0], quadratic_grad, lr=0.2, epochs=200)
    numeric = minimize(quadratic, [4.0, -3.0, 2.0], lr=0.2, epochs=200)
    np.testing.assert_allclose(numeric.x, analytic.x, atol=1e-8)


def test_maximize_is_ascent_and_reports_f_itself():
    f = lambda v: -quadratic(v) + 7.0
    g = lambda v: [-gi for gi in quadratic_grad(v)]
    up = maximize(f, [4.0, -3.0, 2.0], g, lr=0.2, epochs=400)
    down = minimize(quadratic, [4.0, -3.0, 2.0], quadratic_grad, lr=0.2, epochs=400)
    np.testing.assert_allclose(up.x, X_STAR, atol=1e-9)
    assert up.x == down.x
    assert up.fun == pytest.approx(7.0 + 0.5 * B @ X_STAR, rel=1e-12)
    assert up.history[0].fun == pytest.approx(f([4.0, -3.0, 2.0]), rel=1e-15)
    assert all(a.fun <= b.fun + 1e-12 for a, b in zip(up.history, up.history[1:]))


def test_maximize_passes_f_to_the_callback_and_without_grad():
    seen = []
    result = maximize(lambda v: -(v[0] - 2.0) ** 2, [0.0], lr=0.25, epochs=50,
                      callback=lambda epoch, step: seen.append(step.fun) or epoch == 3)
    assert result.n_iter == 3 and len(seen) == 3 and all(v <= 0.0 for v in seen)
    assert result.fun == seen[-1]


def test_check_grad_accepts_a_right_gradient_and_catches_a_wrong_one():
    assert check_grad(rosenbrock, rosenbrock_grad, [-1.2, 1.0]) < 1e-7
    wrong = lambda v: [-2.0 * (1.0 - v[0]), 200.0 * (v[1] - v[0] ** 2)]  # forgot a term
    assert check_grad(rosenbrock, wrong, [-1.2, 1.0]) > 0.5
    with pytest.raises(OptionError, match="grad returned 1 components for a point with 2"):
        check_grad(rosenbrock, lambda v: [0.0], [0.0, 0.0])


def test_tol_stops_when_the_gradient_is_small():
    result = minimize(quadratic, [4.0, -3.0, 2.0], quadratic_grad, lr=0.2, epochs=10_000, tol=1e-10)
    assert result.converged and result.n_iter < 10_000
    assert result.history[-1].grad_norm <= 1e-10 < result.history[-2].grad_norm


def test_divergence_raises_a_clear_error():
    with pytest.raises(DivergenceError, match=r"diverged at epoch \d+: f\(x\) = (inf|nan) with lr=10; "
                                              r"try a smaller lr such as 1") as info:
        minimize(lambda v: v[0] ** 2, [1.0], lambda v: [2 * v[0]], lr=10.0, epochs=10_000)
    assert info.value.suggested_lr == 1.0


@pytest.mark.parametrize("kwargs, message", [
    ({"optimizer": "lbfgs"}, r"option optimizer='lbfgs' is not one of"),
    ({"lr": "auto"}, r"option lr='auto' needs a linear model's curvature"),
    ({"lr": -1.0}, r"option lr=-1.0 must be a number > 0"),
    ({"epochs": 2.5}, r"option epochs=2.5 must be an integer >= 0"),
    ({"schedule": "linear"}, r"option schedule='linear' is not one of"),
    ({"grad": "symbolic"}, r"option grad='symbolic' must be a function, None or 'autograd'"),
])
def test_bad_options_name_the_option(kwargs, message):
    with pytest.raises(OptionError, match=message):
        minimize(quadratic, [0.0, 0.0, 0.0], **kwargs)


@pytest.mark.parametrize("x0, message", [
    (3.0, r"option x0=3.0 must be a sequence of numbers"),
    ([], r"option x0=\[\] must hold at least one number, all finite"),
    ([1.0, float("nan")], r"option x0=\[1.0, nan\] must hold at least one number, all finite"),
])
def test_bad_start_is_named(x0, message):
    with pytest.raises(OptionError, match=message):
        minimize(quadratic, x0)


def test_autograd_without_torch_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(OptionError, match=r"option grad='autograd' needs PyTorch, which is not installed; "
                                          r"install it with: pip install 'gradfit\[torch\]'"):
        minimize(lambda t: (t**2).sum(), [1.0], "autograd")


@pytest.mark.skipif(importlib.util.find_spec("gradfit.engines.torch") is None,
                    reason="gradfit's torch engine module (engines/torch.py) is not in this checkout")
def test_autograd_gradient_gives_the_analytic_descent():
    import torch

    def torch_rosenbrock(t):
        return (1.0 - t[0]) ** 2 + 100.0 * (t[1] - t[0] ** 2) ** 2

    auto = minimize(torch_rosenbrock, [-1.2, 1.0], "autograd", optimizer="adam", lr=0.01, epochs=300)
    hand = minimize(rosenbrock, [-1.2, 1.0], rosenbrock_grad, optimizer="adam", lr=0.01, epochs=300)
    np.testing.assert_allclose(auto.x, hand.x, rtol=1e-12)
    assert auto.fun == pytest.approx(hand.fun, rel=1e-10)
    up = maximize(lambda t: -torch_rosenbrock(t), [-1.2, 1.0], "autograd", optimizer="adam", lr=0.01, epochs=300)
    np.testing.assert_allclose(up.x, hand.x, rtol=1e-12)
    assert isinstance(torch_rosenbrock(torch.zeros(2, dtype=torch.float64)), torch.Tensor)
