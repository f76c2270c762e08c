"""Lesson 5, neuron: a single neuron with forpass, backprop and fit, on the diabetes data.

The third feature of scikit-learn's bundled diabetes data (body mass index, scaled)
against disease progression; per-sample updates ``w -= x·err``, ``b -= err`` with
``err = ŷ − y`` (the gradient of half the squared error, learning rate 1), starting
from w = b = 1, 100 epochs over the rows in order.
"""

from __future__ import annotations

from sklearn.datasets import load_diabetes

from ..estimator import GDRegressor
from ..views.plots import fitted_line, learning_curve
from .session import Session

FEATURE = 2  # body mass index
EPOCHS = 100
FLOAT64_TOL = 1e-9


class Neuron:
    """ŷ = x·w + b, trained one sample at a time"""

    def __init__(self):
        self.w = 1.0
        self.b = 1.0

    def forpass(self, x):
        y_hat = x * self.w + self.b
        return y_hat

    def backprop(self, x, err):
        w_grad = x * err
        b_grad = 1 * err
        return w_grad, b_grad

    def fit(self, x, y, epochs=100):
        for i in range(epochs):
            for x_i, y_i in zip(x, y):
                y_hat = self.forpass(x_i)
                err = -(y_i - y_hat)
                w_grad, b_grad = self.backprop(x_i, err)
                self.w -= w_grad
                self.b -= b_grad


def one_call(x, y) -> GDRegressor:
    """gradfit: half squared error, one sample at a time in order, learning rate 1, from w = b = 1"""
    model = GDRegressor(loss="half_mse", batch_size=1, shuffle=False, lr=1.0, init=(1.0, 1.0), epochs=EPOCHS,
                        optimizer="sgd", tol=None, preprocess="none")
    return model.fit(x.reshape(-1, 1), y)


def run(s: Session) -> dict:
    """the neuron by hand, gradfit in one call, the check and the picture"""
    diabetes = load_diabetes()
    x, y = diabetes.data[:, FEATURE], diabetes.target
    s.say("intro", n=len(y), epochs=EPOCHS)
    s.show(f"x: {x[:3]} ...  y: {y[:3]} ...")
    s.code(Neuron)
    neuron = Neuron()
    neuron.fit(x, y, epochs=EPOCHS)
    s.show(f"{neuron.w} {neuron.b}")
    s.say("result", w=neuron.w, b=neuron.b)
    s.say("one_call")
    s.code(one_call)
    model = one_call(x, y)
    s.show(f"{model.coef_[0]} {model.intercept_}")
    s.check("w and b (Neuron vs gradfit)", [neuron.w, neuron.b], [model.coef_[0], model.intercept_], FLOAT64_TOL)
    ax = fitted_line(model, x, y, target=s.words("disease progression"))
    ax.set_xlabel(s.words("body mass index (scaled, column 2)"))
    s.save(ax, "fitted-line")
    s.save(learning_curve(model, labels=[s.words("per sample, lr=1, half squared error")]), "learning-curve")
    s.say("closing", r2=model.score(x.reshape(-1, 1), y), w=model.exact_.coef[0], b=model.exact_.intercept)
    return {"w": neuron.w, "b": neuron.b, "gradfit": (float(model.coef_[0]), model.intercept_)}
