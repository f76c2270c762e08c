"""What is on screen, as code: the gradfit calls, and the tutorial-style PyTorch loop.

Both programs carry the data (or read the user's file), run the same segments as the
playground (a continued run is a second fit from where the first was cut) and print
the final coefficients and intercept in the data's units, so a learner can paste
either into Python and get the numbers the page shows.
"""

from __future__ import annotations

from pathlib import Path

from .descent import Run

TORCH_OPTIMIZERS = {
    "sgd": "torch.optim.SGD([W, b], lr={lr!r}, momentum={momentum!r}, nesterov={nesterov!r})",
    "adam": "torch.optim.Adam([W, b], lr={lr!r}, betas=({beta1!r}, {beta2!r}), eps={eps!r})",
    "rmsprop": "torch.optim.RMSprop([W, b], lr={lr!r}, alpha={rho!r}, eps={eps!r})",
    "adagrad": "torch.optim.Adagrad([W, b], lr={lr!r}, eps={eps!r})",
}


def data_code(run: Run, source: Path | None = None) -> list[str]:
    """lines that make X (n, d) and y (n,)"""
    data = run.data
    if source is not None:
        return ["import pandas as pd", "",
                f"frame = pd.read_csv({str(source)!r})",
                f"X = frame[{data.feature_names!r}].to_numpy(dtype=float)",
                f"y = frame[{data.target_name!r}].to_numpy(dtype=float)"]
    return [f"X = np.array({data.X.tolist()!r})  # {', '.join(data.feature_names)}",
            f"y = np.array({data.y.tolist()!r})  # {data.target_name}"]


def gradfit_code(run: Run, source: Path | None = None) -> str:
    """the GDRegressor calls that reproduce the run"""
    lines = ["import numpy as np", "from gradfit import GDRegressor", "", *data_code(run, source), ""]
    for number, segment in enumerate(run.segments):
        params = run.settings.params(segment.init, segment.epochs, segment.lr)
        if number:
            lines.append(f"# continued from step {segment_start(run, number)} with lr={segment.lr!r}")
            params["init"] = "CUT"
        args = ",\n    ".join(f"{key}={value!r}" for key, value in params.items())
        lines.append(f"model = GDRegressor(\n    {args},\n)".replace("'CUT'", "cut"))
        lines.append("model.fit(X, y)")
        if number < len(run.segments) - 1:
            keep = segment.keep - 1
            lines += [f"# the run is cut after step {keep}: its parameters in the descent's units",
                      f"coef, intercept = model.history_.coef[{keep}], model.history_.intercept[{keep}]",
                      "theta = model.preprocessor_.to_transformed(coef, intercept, model.result_.model)",
                      "cut = (theta[:-1], theta[-1])" if run.settings.fit_intercept else "cut = (theta, 0.0)"]
    lines += ["print(model.coef_.tolist(), model.intercept_)"]
    return "\n".join(lines) + "\n"


def segment_start(run: Run, number: int) -> int:
    return sum(s.keep - 1 for s in run.segments[:number])


def torch_code(run: Run, source: Path | None = None) -> str:
    """the tutorial's loop in PyTorch (zero_grad, backward, step) that makes the same steps"""
    s = run.settings
    prep = run.segments[0].model.preprocessor_
    d = run.data.X.shape[1]
    half = " / 2" if s.loss == "half_mse" else ""
    lines = ["import numpy as np", "import torch", "", *data_code(run, source), "",
             "# the descent runs on x̃ = (x − shift) / scale and ỹ = y − y_shift (gradfit's preprocess="
             f"{s.preprocess!r})",
             f"shift, scale, y_shift = np.array({list(prep.x_shift)!r}), np.array({list(prep.x_scale)!r}), "
             f"{prep.y_shift!r}",
             "x = torch.tensor((X - shift) / scale, dtype=torch.float64)",
             "t = torch.tensor(y - y_shift, dtype=torch.float64)",
             f"n, batch_size, seed = len(t), {s.batch_size or 'len(t)'}, {s.seed!r}",
             "",
             "def order(epoch):",
             "    # gradfit's seeded row order: the same permutation for the same (seed, epoch)",
             "    return np.random.default_rng([seed, epoch]).permutation(n) if batch_size < n else np.arange(n)",
             "",
             f"W = torch.zeros({d}, dtype=torch.float64, requires_grad=True)",
             f"b = torch.zeros(1, dtype=torch.float64, requires_grad={s.fit_intercept!r})"]
    for number, segment in enumerate(run.segments):
        if number:
            lines += ["", f"# continued from step {segment_start(run, number)} with lr={segment.lr!r}: "
                          "the same parameters, a fresh optimizer"]
            lines += [f"W, b = W.detach().clone().requires_grad_(True), b.detach().clone().requires_grad_("
                      f"{s.fit_intercept!r})"]
        lines += _torch_loop(run, number, half)
    lines += ["", "coef = (W.detach().numpy() / scale).tolist()",
              "intercept = float(y_shift + b.item() - np.dot(coef, shift))",
              "print(coef, intercept)"]
    return "\n".join(lines) + "\n"


def _torch_loop(run: Run, number: int, half: str) -> list[str]:
    """one segment's loop: the steps it keeps, with the learning rate it ran at"""
    s = run.settings
    segment = run.segments[number]
    lr = float(segment.model.lr_)
    optimizer = TORCH_OPTIMIZERS[s.optimizer].format(lr=lr, momentum=s.momentum, nesterov=bool(s.nesterov and s.momentum),
                                                      beta1=s.beta1, beta2=s.beta2, eps=s.eps, rho=s.rho)
    return [f"optimizer = {optimizer}",
            f"steps = 0  # this segment makes {segment.keep - 1} steps",
            f"for epoch in range({segment.epochs}):",
            "    rows_in_order = order(epoch)",
            "    for start in range(0, n, batch_size):",
            f"        if steps == {segment.keep - 1}:",
            "            break",
            "        rows = rows_in_order[start:start + batch_size]",
            "        prediction = x[rows] @ W + b",
            f"        cost = ((prediction - t[rows]) ** 2).mean(){half}",
            "        optimizer.zero_grad()",
            "        cost.backward()",
            "        optimizer.step()",
            "        steps += 1"]
