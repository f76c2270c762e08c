"""Lesson 2, autograd: heights and weights of five people, gradients from PyTorch's autograd.

x (height, cm) and y (weight, kg) are centered; W = B = 1; learning rate 0.001 for
500 epochs; parameters updated by hand under ``torch.no_grad()`` and gradients
zeroed; then the same with a ``torch.optim.SGD`` object; then gradfit in one call.
"""

from __future__ import annotations

import warnings

import torch

from ..estimator import GDRegressor
from ..graph import GraphvizMissingWarning, autograd_graph
from ..plots import fitted_line, learning_curve
from .session import Session

HEIGHTS = [166.0, 176.0, 171.0, 173.0, 169.0]
WEIGHTS = [58.7, 75.7, 62.1, 70.4, 60.1]
LR = 0.001
EPOCHS = 500
EVERY = 10
EXPRESSIONS = {"prediction": "W * x + B", "loss": "((prediction - y) ** 2).mean()"}
#: float32 arithmetic in a different order (torch vs gradfit's engine) agrees to about this much
FLOAT32_TOL = 1e-5


def by_hand(x: torch.Tensor, y: torch.Tensor, lr: float, epochs: int, every: int, show=print):
    """autograd for the gradients, the update written out, gradients zeroed after each step"""
    W = torch.tensor(1.0, requires_grad=True)
    B = torch.tensor(1.0, requires_grad=True)
    losses = []
    for epoch in range(epochs):
        prediction = W * x + B
        loss = ((prediction - y) ** 2).mean()
        if epoch % every == 0:
            losses.append(loss.item())
        if epoch % 100 == 0:
            show(f"Epoch {epoch:4d}/{epochs} W: {W.item():.6f} B: {B.item():.6f} loss: {loss.item():.6f}")
        loss.backward()  # fills W.grad and B.grad
        with torch.no_grad():  # the update itself must not be recorded in the graph
            W -= lr * W.grad
            B -= lr * B.grad
        W.grad.zero_()
        B.grad.zero_()
    show(f"Epoch {epochs:4d}/{epochs} W: {W.item():.6f} B: {B.item():.6f}")
    return W.item(), B.item(), losses


def with_optimizer(x: torch.Tensor, y: torch.Tensor, lr: float, epochs: int, every: int):
    """the same loop with a torch.optim.SGD object doing the update and the zeroing"""
    W = torch.tensor(1.0, requires_grad=True)
    B = torch.tensor(1.0, requires_grad=True)
    optimizer = torch.optim.SGD([W, B], lr=lr)
    losses = []
    for epoch in range(epochs):
        loss = ((W * x + B - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if epoch % every == 0:
            losses.append(loss.item())
    return W.item(), B.item(), losses


def one_call(heights: list[float], weights: list[float]) -> GDRegressor:
    """gradfit: center x and y, start at W = B = 1 (in the centered units), float32 like torch"""
    model = GDRegressor(preprocess="center", init=(1.0, 1.0), lr=LR, epochs=EPOCHS, loss="mse",
                        record_every=EVERY, engine="torch", dtype="float32", tol=None)
    return model.fit([[h] for h in heights], weights)


def centered() -> tuple[torch.Tensor, torch.Tensor]:
    """heights and weights as float32 tensors, each minus its mean"""
    x, y = torch.tensor(HEIGHTS), torch.tensor(WEIGHTS)
    return x - x.mean(), y - y.mean()


def run(s: Session) -> dict:
    """by hand, with an optimizer object, in one call; the graph, the curve and the line"""
    x, y = centered()
    s.say("intro", lr=LR, epochs=EPOCHS, every=EVERY)
    s.code(centered, by_hand)
    W, B, losses = by_hand(x, y, LR, EPOCHS, EVERY, show=s.show)
    intercept = sum(WEIGHTS) / 5 + B - W * sum(HEIGHTS) / 5
    s.say("result", W=W, B=B, sign="−" if intercept < 0 else "+", magnitude=abs(intercept), at170=W * 170 + intercept)
    draw_graphs(s, x, y)
    s.say("optimizer")
    s.code(with_optimizer)
    W2, B2, losses2 = with_optimizer(x, y, LR, EPOCHS, EVERY)
    s.show(f"W: {W2:.6f} B: {B2:.6f}")
    s.check("W, B and the recorded losses (by hand vs torch.optim.SGD)", [W, B, *losses], [W2, B2, *losses2], 1e-6)
    s.say("one_call")
    s.code(one_call)
    model = one_call(HEIGHTS, WEIGHTS)
    centered_theta = model.preprocessor_.to_transformed(model.coef_.tolist(), model.intercept_, model.result_.model)
    s.show(f"W: {centered_theta[0]:.6f} B: {centered_theta[1]:.6f}")
    s.show(f"coef_: {model.coef_[0]:.6f} intercept_: {model.intercept_:.6f}")
    s.check("W, B and the recorded losses (by hand vs gradfit)", [W, B, *losses],
            [*centered_theta, *model.history_.loss[:-1]], FLOAT32_TOL)
    s.check("the line in cm and kg (by hand vs gradfit)", [W, intercept], [model.coef_[0], model.intercept_],
            FLOAT32_TOL)
    save_plots(s, model)
    s.say("closing")
    return {"W": W, "B": B, "losses": losses, "intercept": intercept, "optimizer": (W2, B2, losses2),
            "gradfit": (*centered_theta, float(model.coef_[0]), float(model.intercept_))}


def draw_graphs(s: Session, x: torch.Tensor, y: torch.Tensor) -> None:
    """the autograd graphs of the prediction and of the loss at the start (W = B = 1)"""
    W = torch.tensor(1.0, requires_grad=True)
    B = torch.tensor(1.0, requires_grad=True)
    prediction = W * x + B
    loss = ((prediction - y) ** 2).mean()
    for what, output in (("prediction", prediction), ("loss", loss)):
        g = autograd_graph(output, {"W": W, "B": B}, title=f"{what} = {EXPRESSIONS[what]} (autograd)",
                           output_name=what)
        s.show(f"{what}: {' -> '.join(g.ops)}")
        kind = f"graph-{what}"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GraphvizMissingWarning)
            files = g.render(s.out_dir / f"{s.name}-{kind}.png")
        for warning in caught:
            s.say("no_graphviz", hint=str(warning.message))
        s.record_file(kind, files[-1])


def save_plots(s: Session, model: GDRegressor) -> None:
    """the learning curve and the data with the fitted line in centimetres and kilograms"""
    s.save(learning_curve(model, labels=[f"lr={LR}, every {EVERY} epochs"]), "learning-curve")
    ax = fitted_line(model, HEIGHTS, WEIGHTS, epochs=5, target="weight (kg)")
    ax.set_xlabel("height (cm)")
    s.save(ax, "fitted-line")
