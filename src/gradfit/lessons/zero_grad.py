"""Lesson 3, zero-grad: what ``optimizer.zero_grad()`` is for.

x = 1, 2, 3 and y = 2, 4, 6; W = b = 0; seed 1; SGD with learning rate 0.01 for
2000 epochs, printing every 100. Then the same loop without ``zero_grad``: each
``backward()`` adds to the gradients already there, and the fit goes wrong.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from ..estimator import GDRegressor
from ..views.plots import learning_curve
from .session import Session

X = [1.0, 2.0, 3.0]
Y = [2.0, 4.0, 6.0]
LR = 0.01
EPOCHS = 2000
EVERY = 100
#: float32 arithmetic in a different order (torch vs gradfit's engine) agrees to about this much
FLOAT32_TOL = 1e-5
#: how many steps of the broken loop show their piled-up gradients
SHOWN_STEPS = 5


def train(x: torch.Tensor, y: torch.Tensor, lr: float, epochs: int, zero_grad: bool = True, show=print):
    """the tutorial's loop; prints W and b after the step and the cost before it every 100 epochs"""
    torch.manual_seed(1)
    W = torch.zeros(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([W, b], lr=lr)
    costs, Ws = [], []
    for epoch in range(epochs):
        hypothesis = x * W + b
        cost = torch.mean((hypothesis - y) ** 2)
        if zero_grad:
            optimizer.zero_grad()
        cost.backward()
        optimizer.step()
        costs.append(cost.item())
        Ws.append((W.item(), b.item()))
        if epoch % 100 == 0:
            show(f"Epoch {epoch:4d}/{epochs - 1} W: {W.item():.3f}, b: {b.item():.3f} Cost: {cost.item():.6f}")
    return costs, Ws


def piling_up(calls: int, show=print) -> list[float]:
    """z = 2w, differentiated again and again without zeroing: w.grad grows by 2 each call"""
    w = torch.tensor(2.0, requires_grad=True)
    grads = []
    for call in range(calls):
        z = 2 * w
        z.backward()
        grads.append(w.grad.item())
        show(f"call {call + 1}: dz/dw = {w.grad.item():.1f}")
    return grads


def accumulated_vs_true(x: torch.Tensor, y: torch.Tensor, lr: float, steps: int, show=print):
    """the broken loop's first steps: .grad holds the sum of every gradient so far, not this step's"""
    W = torch.zeros(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([W, b], lr=lr)
    rows = []
    for step in range(steps):
        cost = torch.mean((x * W + b - y) ** 2)
        true_W, true_b = torch.autograd.grad(cost, (W, b), retain_graph=True)  # this step's own gradient
        cost.backward()  # no zero_grad: adds this step's gradient to what .grad held
        rows.append((W.grad.item(), true_W.item(), b.grad.item(), true_b.item()))
        show(f"step {step + 1}: W.grad = {W.grad.item():9.4f} (true {true_W.item():9.4f})   "
             f"b.grad = {b.grad.item():9.4f} (true {true_b.item():9.4f})")
        optimizer.step()
    return rows


def one_call(x: list[float], y: list[float]) -> GDRegressor:
    """gradfit: the correct loop (gradients are fresh every step), float32 like torch"""
    model = GDRegressor(loss="mse", optimizer="sgd", lr=LR, epochs=EPOCHS, tol=None, preprocess="none",
                        init="zeros", batch_size=None, engine="torch", dtype="float32")
    return model.fit([[v] for v in x], y)


def run(s: Session) -> dict:
    """the right loop, gradfit's one call, then the loop without zero_grad"""
    x, y = torch.tensor(X).unsqueeze(1), torch.tensor(Y).unsqueeze(1)
    s.say("intro", lr=LR, epochs=EPOCHS, every=EVERY)
    s.code(train)
    costs, Ws = train(x, y, LR, EPOCHS, show=s.show)
    W, b = Ws[-1]
    s.say("result", W=W, b=b)
    s.say("one_call")
    s.code(one_call)
    model = one_call(X, Y)
    history = model.history_
    s.show(f"W: {model.coef_[0]:.6f}, b: {model.intercept_:.6f}")
    s.check("W, b after each step and each cost (torch loop vs gradfit)",
            [Ws, costs], [[(c[0], i) for c, i in zip(history.coef[1:], history.intercept[1:])], history.loss[:-1]],
            FLOAT32_TOL)
    s.say("piling_up")
    s.code(piling_up)
    piled = piling_up(SHOWN_STEPS, show=s.show)
    s.say("accumulated")
    s.code(accumulated_vs_true)
    rows = accumulated_vs_true(x, y, LR, SHOWN_STEPS, show=s.show)
    s.say("broken")
    bad_costs, bad_Ws = train(x, y, LR, EPOCHS, zero_grad=False, show=s.show)
    bad_W, bad_b = bad_Ws[-1]
    worst = max(bad_costs[EPOCHS // 2:])
    s.say("broken_result", W=bad_W, b=bad_b, distance=abs(bad_W - 2) + abs(bad_b), worst=worst, good=costs[-1])
    save_plot(s, model, bad_costs, bad_Ws)
    s.say("closing")
    return {"W": W, "b": b, "costs": costs, "gradfit": (float(model.coef_[0]), model.intercept_),
            "piled": piled, "accumulated": rows, "broken_W": bad_W, "broken_b": bad_b, "broken_costs": bad_costs}


def save_plot(s: Session, model: GDRegressor, bad_costs: list[float], bad_Ws: list[tuple[float, float]]) -> None:
    """cost and W per epoch, with and without zero_grad"""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    without, with_ = s.words("without zero_grad"), s.words("with zero_grad")
    left.plot(range(len(bad_costs)), bad_costs, color="tab:orange", lw=0.6, alpha=0.8, label=without)
    learning_curve(model, log=True, labels=[s.words("with zero_grad (gradfit = the torch loop)")], optimum=False,
                   ax=left)
    left.set_ylim(bottom=1e-6)
    left.set_title(s.words("cost per epoch"))
    right.plot(range(1, len(bad_Ws) + 1), [w for w, _ in bad_Ws], color="tab:orange", lw=0.8, label=without)
    right.plot(model.history_.epoch, [c[0] for c in model.history_.coef], color="tab:blue", lw=1.6, label=with_)
    right.axhline(2.0, color="black", ls="--", lw=1, label=s.words("W = 2 (the answer)"))
    right.set(xlabel=s.words("epoch"), ylabel="W", title=s.words("W per epoch"))
    right.grid(alpha=0.3)
    right.legend(fontsize="small", loc="lower right")
    s.save(fig, "costs")
