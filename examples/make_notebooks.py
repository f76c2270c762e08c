"""Write the example notebooks: one per lesson and a practitioner's tour.

Run ``python examples/make_notebooks.py`` after changing a notebook's cells here; the
notebooks are generated, not edited by hand, so they stay reproducible. The tests
execute every notebook (tests/test_notebooks.py).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from gradfit.lessons import LESSONS, describe

HERE = Path(__file__).resolve().parent

RUN_LESSON = '''from IPython.display import Image, display
from gradfit.lessons import run_lesson

# lang="ko" tells the same lesson in Korean; the pictures go to gradfit-output/lessons/
result = run_lesson({name!r}, lang="en", out_dir="gradfit-output/lessons")'''

SHOW_PICTURES = '''for path in result.paths.values():
    if path.suffix == ".png":
        display(Image(filename=str(path)))
result.agreements  # each check the lesson made: the difference and the tolerance'''

#: lesson -> (what to try, its code, an expression to show last or None): the notebook's last section
TRY_IT = {
    "hypothesis": (
        ("Change the learning rate and compare the costs: 0.05 creeps towards W = 1, 0.15 jumps past it and back, "
         "and anything above 2 / (2·mean(x²)) ≈ 0.214 diverges."),
        '''from gradfit import GDRegressor
from gradfit.views.plots import learning_curve

X, y = [[1.0], [2.0], [3.0]], [1.0, 2.0, 3.0]
fits = [GDRegressor(fit_intercept=False, preprocess="none", lr=lr, epochs=10, tol=None).fit(X, y)
        for lr in (0.05, 0.1, 0.15)]
learning_curve(*fits, log=True);''',
        "fits[-1].history_  # every recorded step, shown as a table",
    ),
    "autograd": (
        ("The same fit as a gradfit model on the torch engine: the loss surface over (W, b) with the descent's path, "
         "and the fitted estimator's HTML view."),
        '''from gradfit import GDRegressor
from gradfit.views.surface import loss_surface

heights = [[166.0], [176.0], [171.0], [173.0], [169.0]]
weights = [58.7, 75.7, 62.1, 70.4, 60.1]
model = GDRegressor(preprocess="center", init=(1.0, 1.0), lr=0.001, epochs=500, tol=None, engine="torch")
model.fit(heights, weights)
loss_surface(model);''',
        "model  # the fitted estimator, shown as HTML",
    ),
    "zero-grad": (
        ("Leaving out `zero_grad` sums every gradient so far — exactly what SGD with momentum 1 (and no damping) "
         "does with its momentum buffer. The two runs below take identical steps."),
        '''import torch

def run(momentum, zero_grad):
    x, y = torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([[2.0], [4.0], [6.0]])
    W, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([W, b], lr=0.01, momentum=momentum)
    path = []
    for epoch in range(300):
        cost = torch.mean((x * W + b - y) ** 2)
        if zero_grad:
            optimizer.zero_grad()
        cost.backward()
        optimizer.step()
        path.append((W.item(), b.item()))
    return path

forgot = run(momentum=0.0, zero_grad=False)
heavy_ball = run(momentum=1.0, zero_grad=True)
max(abs(a - c) + abs(b - d) for (a, b), (c, d) in zip(forgot, heavy_ball))''',
        None,
    ),
    "from-scratch": (
        ("`minimize` takes any function. Rosenbrock's valley defeats plain gradient descent with a fixed step, "
         "but Adam walks it in a few thousand steps."),
        '''from gradfit import maximize, minimize

def rosenbrock(v):
    return (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2

result = minimize(rosenbrock, [-1.2, 1.0], optimizer="adam", lr=0.01, epochs=5000)  # finite differences
print(result.x, result.fun, result.n_iter)
up = maximize(lambda v: -rosenbrock(v), [-1.2, 1.0], optimizer="adam", lr=0.01, epochs=5000)
print(up.x, up.fun)''',
        None,
    ),
    "neuron": (
        ("With learning rate 1 each sample drags the line towards itself. Shuffle the rows and let the learning "
         "rate decay, and the per-sample fit closes in on the least-squares line (`gap_` measures how far it is)."),
        '''from sklearn.datasets import load_diabetes
from gradfit import GDRegressor

data = load_diabetes()
x, y = data.data[:, 2:3], data.target
model = GDRegressor(loss="half_mse", batch_size=1, lr=1.0, preprocess="none", tol=None, schedule="invscaling",
                    schedule_options={"power_t": 0.5}, epochs=100, seed=0).fit(x, y)
print(model.coef_, model.intercept_)
print(model.exact_.coef, model.exact_.intercept)
model.gap_''',
        None,
    ),
}

TOUR = [
    ("md", ("# A practitioner's tour of gradfit\n\nThe diabetes data bundled with scikit-learn (442 patients, "
            "10 features, in their original units), fitted by gradient descent with the exact least-squares answer "
            "beside every fit. Nothing is downloaded.")),
    ("code", '''import numpy as np
from gradfit import GDRegressor, load_diabetes, load_model
from gradfit.views.plots import learning_curve, predicted_vs_actual, residuals
from gradfit.views.surface import loss_surface

data = load_diabetes()
frame = data.to_frame()
X, y = frame[data.feature_names], frame[data.target_name]
frame.describe().T[["mean", "std", "min", "max"]]'''),
    ("md", ("## One fit\n\nFeatures on very different scales make plain gradient descent crawl; "
            "`preprocess=\"standardize\"` fixes that inside the fit, and `lr=\"auto\"` picks a step that is safe for "
            "this data. Two blood serum measurements (s1, s2) move together, so full-batch descent needs a few "
            "thousand epochs; each costs O(d²) through the Gram statistics. Coefficients come back in the data's "
            "own units.")),
    ("code", '''model = GDRegressor(preprocess="standardize", lr="auto", epochs=5000, seed=0).fit(X, y)
model'''),
    ("code", '''print(f"learning rate chosen: {model.lr_:.4g}")
print("gap to the exact answer:", model.gap_)
dict(zip(data.feature_names, np.round(model.coef_, 3)))'''),
    ("code", "model.history_"),
    ("md", ("## Comparing ways to descend\n\nFull batches, minibatches and Adam on the same data; the curves show "
            "the loss minus the exact optimum's.")),
    ("code", '''fits = {
    "full batch, lr=auto": model,
    "minibatches of 32, lr=auto": GDRegressor(preprocess="standardize", lr="auto", batch_size=32, epochs=100,
                                              seed=0).fit(X, y),
    "adam, lr=1": GDRegressor(preprocess="standardize", optimizer="adam", lr=1.0, epochs=300, seed=0).fit(X, y),
}
learning_curve(*fits.values(), labels=list(fits), log=True, gap=True);'''),
    ("md", "## How good is the fit?"),
    ("code", '''print(f"R² on the training data: {model.score(X, y):.4f}")
predicted_vs_actual(model, X, y, target="progression");'''),
    ("code", "residuals(model, X, y, target=\"progression\");"),
    ("code", '''from gradfit.inference.stats import model_summary

model_summary(model)'''),
    ("md", ("## The loss over two coefficients\n\nThe other coefficients are held at the fit; the path is the "
            "descent's.")),
    ("code", 'loss_surface(model, params=("bmi", "s5"));'),
    ("md", ("## With scikit-learn\n\n`GDRegressor` is a scikit-learn estimator: it cross-validates and fits into "
            "pipelines.")),
    ("code", '''from sklearn.model_selection import cross_val_score

scores = cross_val_score(GDRegressor(preprocess="standardize", lr="auto", epochs=100, seed=0), X, y, cv=5)
scores.round(3), scores.mean().round(3)'''),
    ("md", "## Saving and loading"),
    ("code", '''from pathlib import Path

Path("gradfit-output").mkdir(exist_ok=True)
model.save("gradfit-output/diabetes-model.json")
loaded = load_model("gradfit-output/diabetes-model.json")
np.allclose(loaded.predict(X), model.predict(X))'''),
]


def lesson_notebook(name: str) -> nbformat.NotebookNode:
    """run the lesson, show its pictures, then something to try"""
    number = list(LESSONS).index(name) + 1
    text, code, last = TRY_IT[name]
    cells = [
        new_markdown_cell(f"# Lesson {number} · {name}\n\n{describe(name)}.\n\nThe lesson prints the tutorial's "
                          "code and output, then the same result from gradfit in one call, and checks that the two "
                          "agree."),
        new_code_cell(RUN_LESSON.format(name=name)),
        new_code_cell(SHOW_PICTURES),
        new_markdown_cell(f"## Try it\n\n{text}"),
        new_code_cell(code),
    ]
    if last is not None:
        cells.append(new_code_cell(last))
    return _notebook(cells)


def tour_notebook() -> nbformat.NotebookNode:
    return _notebook([new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in TOUR])


def _notebook(cells) -> nbformat.NotebookNode:
    for k, cell in enumerate(cells):
        cell.id = f"cell-{k}"  # fixed ids: the same cells give the same file
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def notebooks() -> dict[str, nbformat.NotebookNode]:
    """file name -> notebook, for every example notebook"""
    out = {f"lesson-{name}.ipynb": lesson_notebook(name) for name in LESSONS}
    out["practitioner-tour.ipynb"] = tour_notebook()
    return out


def main() -> None:
    for file_name, nb in notebooks().items():
        nbformat.write(nb, HERE / file_name)
        print(f"wrote {HERE / file_name}")


if __name__ == "__main__":
    main()
