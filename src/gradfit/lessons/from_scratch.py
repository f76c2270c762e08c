"""Lesson 4, from-scratch: gradient descent in plain Python, after Data Science from Scratch, chapter 8.

No NumPy: vectors are lists. Minimize the sum of squares of a 3-vector; the same as
ascent on its negation; then fit y = 20x + 5 for x = -50 … 49 with full batches,
minibatches of 20 and single samples, each checked against gradfit's python engine.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

from ..descent.minimize import maximize, minimize
from ..estimator import GDRegressor
from ..views.plots import learning_curve
from .session import Session

Vector = list[float]

SEED = 0
STEP = 0.01
EPOCHS = 1000
LR = 0.001
FULL_EPOCHS, MINI_EPOCHS, SINGLE_EPOCHS = 5000, 1000, 100
BATCH_SIZE = 20
INPUTS = [(x, 20 * x + 5) for x in range(-50, 50)]
FLOAT64_TOL = 1e-9
#: runs that shuffle differently (the book's batch order, gradfit's rows) end this close
SHUFFLED_TOL = 1e-3
#: the book's own checks: within 0.001 of the origin; 19.9 < slope < 20.1 and 4.9 < intercept < 5.1
ORIGIN_TOL = 0.001
BOOK_TOL = 0.1
#: full batches converge much further in 5000 epochs than the book asks
FULL_TOL = 0.01


def add(v: Vector, w: Vector) -> Vector:
    return [v_i + w_i for v_i, w_i in zip(v, w)]


def scalar_multiply(c: float, v: Vector) -> Vector:
    return [c * v_i for v_i in v]


def vector_mean(vectors: list[Vector]) -> Vector:
    n = len(vectors)
    return [sum(v[i] for v in vectors) / n for i in range(len(vectors[0]))]


def distance(v: Vector, w: Vector) -> float:
    return math.sqrt(sum((v_i - w_i) ** 2 for v_i, w_i in zip(v, w)))


def gradient_step(v: Vector, gradient: Vector, step_size: float) -> Vector:
    """moves step_size in the gradient direction from v"""
    return add(v, scalar_multiply(step_size, gradient))


def sum_of_squares(v: Vector) -> float:
    return sum(v_i * v_i for v_i in v)


def sum_of_squares_gradient(v: Vector) -> Vector:
    return [2 * v_i for v_i in v]


def descend_to_origin(v: Vector, step: float, epochs: int, show=print) -> Vector:
    for epoch in range(epochs):
        grad = sum_of_squares_gradient(v)
        v = gradient_step(v, grad, -step)
        if epoch % 200 == 0 or epoch == epochs - 1:
            show(f"{epoch} {v}")
    return v


def linear_gradient(x: float, y: float, theta: Vector) -> Vector:
    """the gradient of (slope·x + intercept − y)² with respect to (slope, intercept)"""
    slope, intercept = theta
    predicted = slope * x + intercept
    error = predicted - y
    return [2 * error * x, 2 * error]


def full_batch(inputs: list[tuple[float, float]], theta: Vector, lr: float, epochs: int, show=print) -> Vector:
    for epoch in range(epochs):
        grad = vector_mean([linear_gradient(x, y, theta) for x, y in inputs])
        theta = gradient_step(theta, grad, -lr)
        if epoch % 1000 == 0 or epoch == epochs - 1:
            show(f"{epoch} {theta}")
    return theta


def minibatches(dataset: list, batch_size: int, rng: random.Random, shuffle: bool = True) -> Iterator[list]:
    """batches of batch_size rows, taken in a shuffled order of their starts"""
    batch_starts = [start for start in range(0, len(dataset), batch_size)]
    if shuffle:
        rng.shuffle(batch_starts)
    for start in batch_starts:
        yield dataset[start:start + batch_size]


def minibatch_descent(inputs, theta: Vector, lr: float, epochs: int, rng: random.Random, show=print) -> Vector:
    for epoch in range(epochs):
        for batch in minibatches(inputs, batch_size=BATCH_SIZE, rng=rng):
            grad = vector_mean([linear_gradient(x, y, theta) for x, y in batch])
            theta = gradient_step(theta, grad, -lr)
        if epoch % 200 == 0 or epoch == epochs - 1:
            show(f"{epoch} {theta}")
    return theta


def single_sample_descent(inputs, theta: Vector, lr: float, epochs: int, show=print) -> Vector:
    for epoch in range(epochs):
        for x, y in inputs:
            grad = linear_gradient(x, y, theta)
            theta = gradient_step(theta, grad, -lr)
        if epoch % 20 == 0 or epoch == epochs - 1:
            show(f"{epoch} {theta}")
    return theta


def one_call(theta: Vector, epochs: int, batch_size: int | None, shuffle: bool) -> GDRegressor:
    """gradfit's pure-Python engine from the same start; "mse" averages 2·error·(x, 1) like the book"""
    model = GDRegressor(engine="python", loss="mse", optimizer="sgd", lr=LR, epochs=epochs, tol=None,
                        preprocess="none", init=(theta[0], theta[1]), batch_size=batch_size, shuffle=shuffle,
                        seed=SEED)
    return model.fit([[x] for x, _ in INPUTS], [y for _, y in INPUTS])


def run(s: Session) -> dict:
    """the sum of squares, then the line three ways, each beside gradfit"""
    rng = random.Random(SEED)
    origin = sum_of_squares_part(s, rng)
    s.say("line_intro", lr=LR, full=FULL_EPOCHS, mini=MINI_EPOCHS, single=SINGLE_EPOCHS, batch=BATCH_SIZE)
    s.code(linear_gradient, one_call)
    fits = {mode: line_part(s, rng, mode) for mode in MODES}
    ax = learning_curve(*(model for _, model in fits.values()), log=True,
                        labels=[s.words("full batch"), s.words("minibatches of {size}", size=BATCH_SIZE),
                                s.words("single samples")], optimum=False)
    ax.set_ylim(bottom=1e-10)
    s.save(ax, "learning-curves")
    s.say("closing")
    return {"origin": origin, **{mode: theta for mode, (theta, _) in fits.items()},
            **{f"gradfit_{mode}": [float(m.coef_[0]), m.intercept_] for mode, (_, m) in fits.items()}}


def sum_of_squares_part(s: Session, rng: random.Random) -> dict:
    """descend to the origin by hand, then with gradfit's minimize and maximize"""
    v0 = [rng.uniform(-10, 10) for _ in range(3)]
    s.say("squares_intro", step=STEP, epochs=EPOCHS)
    s.code(gradient_step, sum_of_squares_gradient, descend_to_origin)
    v = descend_to_origin(v0, STEP, EPOCHS, show=s.show)
    s.say("squares_result", distance=distance(v, [0, 0, 0]))
    s.check("the point after 1000 steps vs the origin", [distance(v, [0, 0, 0])], [0.0], ORIGIN_TOL)
    s.say("squares_gradfit")
    s.code(minimize_and_maximize)
    down, up, numeric = minimize_and_maximize(v0)
    s.show(f"minimize: {down.x}")
    s.show(f"maximize: {up.x}")
    s.check("the point after 1000 steps, by hand vs minimize", v, down.x, FLOAT64_TOL)
    s.check("the point after 1000 steps, by hand vs maximize of −f", v, up.x, FLOAT64_TOL)
    s.check("the point, analytic vs finite-difference gradient", v, numeric.x, 1e-6)
    return {"start": v0, "end": v, "distance": distance(v, [0, 0, 0]), "minimize": down.x, "maximize": up.x}


def minimize_and_maximize(v0: Vector):
    """descent on the sum of squares, ascent on its negation, and descent without a gradient"""
    down = minimize(sum_of_squares, v0, sum_of_squares_gradient, lr=STEP, epochs=EPOCHS)
    up = maximize(lambda v: -sum_of_squares(v), v0, lambda v: [-2 * v_i for v_i in v], lr=STEP, epochs=EPOCHS)
    numeric = minimize(sum_of_squares, v0, lr=STEP, epochs=EPOCHS)  # central finite differences
    return down, up, numeric


def by_hand(mode: str, theta: Vector, rng: random.Random, show) -> Vector:
    """the book's loop for one way of batching"""
    if mode == "full":
        return full_batch(INPUTS, theta, LR, FULL_EPOCHS, show=show)
    if mode == "minibatch":
        return minibatch_descent(INPUTS, theta, LR, MINI_EPOCHS, rng, show=show)
    return single_sample_descent(INPUTS, theta, LR, SINGLE_EPOCHS, show=show)


def line_part(s: Session, rng: random.Random, mode: str) -> tuple[Vector, GDRegressor]:
    """one way of fitting the line by hand, and gradfit's one call from the same start"""
    epochs, batch_size, code, truth_tol = MODES[mode]
    theta0 = [rng.uniform(-1, 1), rng.uniform(-1, 1)]
    s.say(f"{mode}_intro", slope=theta0[0], intercept=theta0[1])
    s.code(*code)
    theta = by_hand(mode, theta0, rng, s.show)
    s.say("line_result", slope=theta[0], intercept=theta[1])
    s.check(f"slope and intercept ({mode}) vs the true (20, 5)", theta, [20.0, 5.0], truth_tol)
    shuffle = mode == "minibatch"
    model = one_call(theta0, epochs, batch_size, shuffle)
    s.say("gradfit_line", slope=model.coef_[0], intercept=model.intercept_)
    # the book shuffles the order of the batches, gradfit the rows: the paths differ, the answer does not
    s.check(f"slope and intercept ({mode}), by hand vs gradfit", theta, [model.coef_[0], model.intercept_],
            SHUFFLED_TOL if shuffle else FLOAT64_TOL)
    return theta, model


#: mode -> (epochs, gradfit batch_size, the step-by-step code it shows, tolerance to the true line)
MODES = {
    "full": (FULL_EPOCHS, None, (full_batch,), FULL_TOL),
    "minibatch": (MINI_EPOCHS, BATCH_SIZE, (minibatches, minibatch_descent), BOOK_TOL),
    "single": (SINGLE_EPOCHS, 1, (single_sample_descent,), BOOK_TOL),
}
