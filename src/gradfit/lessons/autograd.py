"""Lesson 2, autograd: heights and weights of five people, gradients from PyTorch's autograd.

The tutorial centers x (height, cm) and y (weight, kg) with NumPy in float64 and then
makes float32 tensors; W = B = 1; learning rate 0.001 for 500 epochs; the update is
written by hand under ``torch.no_grad()`` and the gradients are zeroed. It prints the
loss every 10 epochs, then the first and last recorded losses and W and B. Then the
same with a ``torch.optim.SGD`` object; then gradfit in one call.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ..estimator import GDRegressor
from ..views.graph import GraphvizMissingWarning, autograd_graph
from ..views.plots import fitted_line, learning_curve
from .session import Session

HEIGHTS = [166.0, 176.0, 171.0, 173.0, 169.0]
WEIGHTS = [58.7, 75.7, 62.1, 70.4, 60.1]
LR = 0.001
EPOCHS = 500
EVERY = 10
EXPRESSIONS = {"prediction": "W * x + B", "loss": "((prediction - y) ** 2).mean()"}
#: float32 arithmetic in a different order (torch vs gradfit's engine) agrees to about this much
FLOAT32_TOL = 1e-5


def centered() -> tuple[torch.Tensor, torch.Tensor]:
    """heights and weights minus their means, in float64 with NumPy, then float32 tensors"""
    x, y = np.array(HEIGHTS), np.array(WEIGHTS)
    return torch.tensor(x - x.mean(), dtype=torch.float32), torch.tensor(y - y.mean(), dtype=torch.float32)


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
            show(f"epoch = {epoch} loss = {loss.item():.4f}")
        loss.backward()  # fills W.grad and B.grad
        with torch.no_grad():  # the update itself must not be recorded in the graph
            W -= lr * W.grad
            B -= lr * B.grad
        W.grad.zero_()
        B.grad.zero_()
    show(f"initial loss = {losses[0]:.4f}, final loss = {losses[-1]:.4f}")
    show(f"W = {str(W.detach().numpy())}")  # as print("W =", W.detach().numpy()) shows a float32
    show(f"B = {str(B.detach().numpy())}")
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
    model = GDRegressor(preprocess="center", init=(1.0, 1.0), optimizer="sgd", lr=LR, epochs=EPOCHS, tol=None,
                        loss="mse", record_every=EVERY, engine="torch", dtype="float32")
    return model.fit([[h] for h in heights], weights)


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
        if any(issubclass(w.category, GraphvizMissingWarning) for w in caught):
            s.say("no_graphviz", path=files[-1])
        s.record_file(kind, files[-1])


def save_plots(s: Session, model: GDRegressor) -> None:
    """the learning curve and the data with the fitted line in centimetres and kilograms"""
    s.save(learning_curve(model, labels=[s.words("lr={lr}, every {every} epochs", lr=LR, every=EVERY)]),
           "learning-curve")
    ax = fitted_line(model, HEIGHTS, WEIGHTS, epochs=5, target=s.words("weight (kg)"))
    ax.set_xlabel(s.words("height (cm)"))
    s.save(ax, "fitted-line")
