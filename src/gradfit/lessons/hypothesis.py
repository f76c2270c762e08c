"""Lesson 1, hypothesis: H(x) = Wx with no bias, its cost over W, and gradient descent on W.

Hours studied against points: (1, 1), (2, 2), (3, 3). W starts at 0; SGD with
learning rate 0.15 for 10 epochs, printing the epoch, W and the cost of the current W.
First the tutorial's own PyTorch program (``torch.optim.SGD([W], lr=0.15)``,
``zero_grad``, ``backward``, ``step``) prints exactly what the tutorial printed;
then the same descent derived by hand in plain Python; then gradfit in one call.
"""

from __future__ import annotations

from ..estimator import GDRegressor
from ..views.plots import cost_curve
from .session import Session

try:
    import torch
except ImportError:  # the tutorial's program needs PyTorch; the plain-Python derivation does not
    torch = None

HOURS = [1.0, 2.0, 3.0]
POINTS = [1.0, 2.0, 3.0]
LR = 0.15
EPOCHS = 10


#: torch computes in float32: its W and cost agree with the float64 derivation to about this much
FLOAT32_TOL = 1e-6


def tutorial(lr: float, epochs: int, show=print) -> list[tuple[float, float]]:
    """the tutorial's PyTorch program: W and the cost of that W at each epoch, then a step"""
    x_train = torch.FloatTensor([[1], [2], [3]])
    y_train = torch.FloatTensor([[1], [2], [3]])
    W = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([W], lr=lr)
    path = []
    for epoch in range(epochs + 1):
        hypothesis = x_train * W
        cost = torch.mean((hypothesis - y_train) ** 2)
        show("EPOCH {}, W:{}, cost:{}".format(epoch, W, cost.item()))
        path.append((W.item(), cost.item()))
        optimizer.zero_grad()
        cost.backward()
        optimizer.step()
    return path


def hypothesis(W: float, x: float) -> float:
    """H(x) = W·x"""
    return W * x


def cost(W: float, xs: list[float], ys: list[float]) -> float:
    """mean squared error of H over the data"""
    return sum((hypothesis(W, x) - y) ** 2 for x, y in zip(xs, ys)) / len(xs)


def gradient(W: float, xs: list[float], ys: list[float]) -> float:
    """d cost / dW = 2·mean((W·x − y)·x)"""
    return 2 * sum((hypothesis(W, x) - y) * x for x, y in zip(xs, ys)) / len(xs)


def epoch_line(epoch: int, epochs: int, W: float, cost: float) -> str:
    return f"Epoch {epoch:4d}/{epochs} W: {W:.3f}, Cost: {cost:.6f}"


def descend(xs: list[float], ys: list[float], lr: float, epochs: int, show=print) -> list[tuple[float, float]]:
    """gradient descent on W from 0; prints and returns (W, cost) before each step and at the end"""
    W = 0.0
    path = []
    for epoch in range(epochs + 1):
        c = cost(W, xs, ys)
        show(epoch_line(epoch, epochs, W, c))
        path.append((W, c))
        if epoch < epochs:
            W -= lr * gradient(W, xs, ys)
    return path


def one_call(xs: list[float], ys: list[float], lr: float, epochs: int) -> GDRegressor:
    """the same descent with gradfit: no intercept, mean squared error, plain SGD from W = 0"""
    model = GDRegressor(fit_intercept=False, loss="mse", optimizer="sgd", lr=lr, epochs=epochs, tol=None,
                        preprocess="none", init="zeros", engine="python")
    return model.fit([[x] for x in xs], ys)


def run(s: Session) -> dict:
    """the tutorial's program, the derivation by hand, then gradfit in one call, the checks and the picture"""
    s.say("intro", lr=LR, epochs=EPOCHS)
    torch_path = replay_tutorial(s)
    s.say("by_hand", lr=LR)
    s.code(hypothesis, cost, gradient, epoch_line, descend)
    path = descend(HOURS, POINTS, LR, EPOCHS, show=s.show)
    if torch_path is not None:
        s.check("W and cost at every epoch (tutorial vs by hand)", torch_path, path, FLOAT32_TOL)
    W, final_cost = path[-1]
    curvature = 2 * sum(x * x for x in HOURS) / len(HOURS)  # d²cost/dW²
    s.say("result", W=W, cost=final_cost, factor=1 - LR * curvature)
    s.say("one_call")
    s.code(one_call)
    model = one_call(HOURS, POINTS, LR, EPOCHS)
    history = model.history_
    for epoch, coef, loss in zip(history.epoch, history.coef, history.loss):
        s.show(epoch_line(epoch, EPOCHS, coef[0], loss))
    s.check("W and cost at every epoch", path, list(zip((c[0] for c in history.coef), history.loss)), 1e-12)
    ax = cost_curve(model)
    ax.set_xlabel(s.words("W (points per hour studied)"))
    s.save(ax, "cost-curve")
    s.say("closing")
    return {"W": W, "cost": final_cost, "path": path, "gradfit_W": float(model.coef_[0]), "torch_path": torch_path}


def replay_tutorial(s: Session) -> list[tuple[float, float]] | None:
    """the tutorial's PyTorch program and its printed lines; None (and a note) without PyTorch"""
    if torch is None:
        s.say("no_torch")
        return None
    s.say("tutorial")
    s.code(tutorial)
    return tutorial(LR, EPOCHS, show=s.show)
