"""Plots of a descent: learning curves, fitted lines, predictions, residuals and the cost over W.

Every function takes an optional ``ax`` and returns the Axes it drew on, so users
can restyle it (``ax.figure`` is its Figure). Fits may be fitted ``GDRegressor``
objects, ``FitResult`` objects or bare ``History`` objects. Nothing here calls
``pyplot.show``; :func:`save_figure` writes a figure to a file and closes it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import LogFormatterSciNotation

from ..errors import OptionError
from ..io import outputs
from .plotdata import FitView, Objective, as_arrays, fractional_epochs, view
from .plottext import tr

#: colour of the exact answer, everywhere
EXACT_COLOR = "black"
FIGSIZE = (6.4, 4.4)
FIGSIZE_3D = (7.2, 5.6)


def new_axes(ax=None, projection: str | None = None):
    """``ax`` itself, or the Axes of a new figure"""
    if ax is not None:
        return ax
    fig = plt.figure(figsize=FIGSIZE_3D if projection == "3d" else FIGSIZE, layout="constrained")
    return fig.add_subplot(projection=projection)


def figure_bytes(ax_or_fig, fmt: str = "png", dpi: int = 110) -> bytes:
    """the figure rendered to bytes (PNG by default); the figure is closed"""
    fig = getattr(ax_or_fig, "figure", ax_or_fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def save_figure(ax_or_fig, path) -> Path:
    """write the figure to ``path`` (format from its suffix: png, svg, pdf) and close it"""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    if fmt not in ("png", "svg", "pdf"):
        raise OptionError(f"cannot write a figure to {path.name!r}: use a .png, .svg or .pdf file name")
    outputs.write(path, figure_bytes(ax_or_fig, fmt))
    return path


def learning_curve(*fits, x: str = "epoch", log: bool = False, gap: bool = False,
                   labels: Sequence[str] | None = None, optimum: bool = True, ax=None):
    """Loss against epoch or step for one or more fits, overlaid.

    Parameters
    ----------
    *fits : GDRegressor, FitResult or History
        Fits to compare (learning rates, optimizers, batch sizes ...).
    x : {"epoch", "step"}
        What the horizontal axis counts. Steps recorded within an epoch
        (``record_every="step"``) sit at fractional epochs (step / steps per epoch).
    log : bool
        Logarithmic loss axis.
    gap : bool
        Plot the loss minus the exact optimum's objective (needs the exact answer).
    labels : sequence of str, optional
        Legend labels, one per fit; by default from each fit's settings.
    optimum : bool
        Draw the exact optimum's objective (leave it out on a log axis when it is about 0).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        The exact optimum's objective, where known, is a dashed horizontal line.

    Examples
    --------
    >>> from gradfit import fit
    >>> from gradfit.training.config import FitConfig
    >>> slow, fast = (fit([[1.0], [2.0], [3.0]], [1.0, 2.0, 3.0], FitConfig(lr=lr, epochs=10)) for lr in (0.01, 0.1))
    >>> ax = learning_curve(slow, fast, log=True)
    """
    if not fits:
        raise OptionError("learning_curve needs at least one fit")
    if x not in ("epoch", "step"):
        raise OptionError(f"option x={x!r} is not one of ['epoch', 'step']")
    views = [view(f) for f in fits]
    labels = _labels(views, labels)
    ax = new_axes(ax)
    for fv, label in zip(views, labels):
        ys = np.asarray(fv.history.loss, dtype=np.float64)
        if gap:
            ys = ys - _exact(fv, "gap=True").objective
        xs = fractional_epochs(fv.history) if x == "epoch" else fv.history.step
        line = ax.plot(xs, ys, label=label, lw=1.6)[0]
        line.set_gid("loss")
    if optimum and not gap:
        _optimum_lines(ax, views, labels)
    if log:
        log_yaxis(ax)
    ax.set(xlabel=tr(x), ylabel=tr("loss − exact optimum" if gap else "loss (training objective)"),
           title=tr("Gap to the exact optimum" if gap else "Learning curve"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def log_yaxis(ax) -> None:
    """a logarithmic y axis whose tick labels are all powers of ten in one style (10⁻¹, 10⁰, 10¹)"""
    ax.set_yscale("log", nonpositive="mask")
    ax.yaxis.set_major_formatter(LogFormatterSciNotation())
    # minor ticks labelled (2×10⁻¹ ...) only when the axis spans about a decade or less
    ax.yaxis.set_minor_formatter(LogFormatterSciNotation(minor_thresholds=(1, 0.5)))


def _labels(views: list[FitView], labels) -> list[str]:
    if labels is None:
        labels = [fv.label for fv in views]
        if len(set(labels)) < len(labels):
            labels = [f"{label} (#{k + 1})" for k, label in enumerate(labels)]
        return labels
    labels = [str(label) for label in labels]
    if len(labels) != len(views):
        raise OptionError(f"option labels has {len(labels)} entries for {len(views)} fits")
    return labels


def _exact(fv: FitView, what: str):
    if fv.exact is None:
        raise OptionError(f"option {what} needs the exact solution, which this fit does not carry")
    return fv.exact


def _optimum_lines(ax, views: list[FitView], labels: list[str]) -> None:
    """one dashed line per distinct exact optimum (one line when all fits share the data)"""
    optima = [(fv.exact.objective, label) for fv, label in zip(views, labels) if fv.exact is not None]
    values = [v for v, _ in optima]
    shared = len(optima) > 0 and np.allclose(values, values[0], rtol=1e-9, atol=1e-12)
    for value, label in optima[:1] if shared else optima:
        text = tr("exact optimum") if shared else tr("exact optimum ({label})", label=label)
        line = ax.axhline(value, color=EXACT_COLOR, ls="--", lw=1, label=text, alpha=0.7 if shared else 0.5)
        line.set_gid("exact")


def fitted_line(model, X, y, epochs=None, target: str | None = None, ax=None):
    """The data as a scatter with the fitted line, in the data's units (one feature).

    Parameters
    ----------
    model : GDRegressor, FitResult or History
    X : array-like, shape (n,) or (n, 1)
    y : array-like, shape (n,)
    epochs : int or sequence of int, optional
        Earlier lines to draw, fading in: an int k picks k history entries spread
        over the descent; a sequence names the epochs.
    target : str, optional
        Name of y for the axis label.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from gradfit import fit
    >>> from gradfit.training.config import FitConfig
    >>> result = fit([[1.0], [2.0], [3.0]], [2.0, 4.0, 6.0], FitConfig(lr=0.1, epochs=50))
    >>> ax = fitted_line(result, [1, 2, 3], [2, 4, 6], epochs=5)
    """
    fv = view(model)
    X, y = as_arrays(X, y, fv.model.n_features)
    if fv.model.n_features != 1:
        raise OptionError(f"fitted_line needs one feature; this fit has {fv.model.n_features} "
                          "(use predicted_vs_actual or residuals)")
    ax = new_axes(ax)
    ax.scatter(X[:, 0], y, s=22, color="tab:blue", alpha=0.8, label=tr("data"), zorder=3)
    xs = line_span(X[:, 0])
    _earlier_lines(ax, fv, xs, _entries(fv, epochs))
    final = ax.plot(xs, fv.coef[0] * xs + fv.intercept, color="tab:red", lw=2,
                    label=tr("fit: y = {equation}", equation=line_equation(fv.coef[0], fv.intercept)), zorder=4)[0]
    final.set_gid("fit")
    if fv.exact is not None:
        w, b = fv.exact.coef[0], fv.exact.intercept
        ax.plot(xs, w * xs + b, color=EXACT_COLOR, ls="--", lw=1, label=tr("exact: y = {equation}", equation=line_equation(w, b)),
                zorder=5)[0].set_gid("exact")
    ax.set(xlabel=fv.feature_names[0], ylabel=target or "y", title=tr("Data and fitted line"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def line_span(values: np.ndarray, pad: float = 0.05) -> np.ndarray:
    """the two ends of a line drawn across ``values``"""
    return np.linspace(*padded_range(values, pad), 2)


def line_equation(w: float, b: float) -> str:
    """'w·x + b' for a legend"""
    return f"{w:.4g}·x {'−' if b < 0 else '+'} {abs(b):.4g}"


def _entries(fv: FitView, epochs) -> list[int]:
    """history indices of the earlier lines to draw (never the last entry)"""
    last = len(fv.history) - 1
    if epochs is None or last == 0:
        return []
    if isinstance(epochs, (int, np.integer)):
        if epochs < 1:
            raise OptionError(f"option epochs={epochs} must be a positive number of earlier lines")
        return sorted(set(np.linspace(0, last, min(epochs, last) + 1).round().astype(int)[:-1].tolist()))
    where = {}
    for k, e in enumerate(fv.history.epoch):
        where.setdefault(e, k)
    missing = [e for e in epochs if e not in where]
    if missing:
        raise OptionError(f"option epochs names epoch {missing[0]}, which the history does not hold")
    return sorted({where[e] for e in epochs} - {last})


def _earlier_lines(ax, fv: FitView, xs: np.ndarray, entries: list[int]) -> None:
    """grey lines that darken from the start towards the fit"""
    for rank, k in enumerate(entries):
        w, b = fv.history.coef[k][0], fv.history.intercept[k]
        alpha = 0.15 + 0.5 * (rank + 1) / len(entries)
        label = tr("earlier lines, epochs {first}–{last}", first=fv.history.epoch[entries[0]],
                   last=fv.history.epoch[entries[-1]]) if rank == 0 else None
        ax.plot(xs, w * xs + b, color="tab:gray", lw=1, alpha=alpha, label=label)[0].set_gid("earlier")


def predicted_vs_actual(model, X, y, target: str | None = None, ax=None):
    """Predicted against actual values, with the line where they agree (any number of features).

    Returns
    -------
    matplotlib.axes.Axes
        Titled with R² on this data.
    """
    fv = view(model)
    X, y = as_arrays(X, y, fv.model.n_features)
    pred = fv.predict(X)
    ax = new_axes(ax)
    ax.scatter(y, pred, s=18, alpha=0.7, color="tab:blue", label=tr("rows"), zorder=3)
    lims = line_span(np.concatenate([y, pred]), pad=0.03)
    ax.plot(lims, lims, color=EXACT_COLOR, ls="--", lw=1, label=tr("predicted = actual"))[0].set_gid("identity")
    name = target or "y"
    ax.set(xlabel=tr("actual {name}", name=name), ylabel=tr("predicted {name}", name=name),
           title=tr("Predicted vs actual (R² = {r2:.4f})", r2=r2(y, pred)))
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def residuals(model, X, y, target: str | None = None, ax=None):
    """Residuals (actual − predicted) against the predictions, around a zero line.

    Returns
    -------
    matplotlib.axes.Axes
    """
    fv = view(model)
    X, y = as_arrays(X, y, fv.model.n_features)
    pred = fv.predict(X)
    ax = new_axes(ax)
    ax.scatter(pred, y - pred, s=18, alpha=0.7, color="tab:blue", label=tr("rows"), zorder=3)
    ax.axhline(0.0, color=EXACT_COLOR, ls="--", lw=1)
    name = target or "y"
    ax.set(xlabel=tr("predicted {name}", name=name), ylabel=tr("residual (actual − predicted)"),
           title=tr("Residuals"))
    ax.grid(alpha=0.3)
    return ax


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    """coefficient of determination"""
    total = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - pred) ** 2).sum()) / total if total > 0 else float("nan")


def cost_curve(model, X=None, y=None, annotate: bool = True, ax=None):
    """The cost as a function of W for ``H(x) = Wx``, with the W of each step marked on it.

    Parameters
    ----------
    model : GDRegressor, FitResult or History
        A fit with one parameter (one feature, ``fit_intercept=False``).
    X, y : array-like, optional
        The data; needed unless the fit carries its Gram statistics.
    annotate : bool
        Number the steps (where they do not crowd each other).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from gradfit import fit
    >>> from gradfit.training.config import FitConfig
    >>> config = FitConfig(fit_intercept=False, lr=0.15, epochs=10)
    >>> result = fit([[1.0], [2.0], [3.0]], [1.0, 2.0, 3.0], config)
    >>> ax = cost_curve(result)
    """
    fv = view(model)
    if fv.n_params != 1:
        raise OptionError(f"cost_curve needs one parameter (H(x) = Wx, fit_intercept=False); this fit has "
                          f"{fv.n_params} (use loss_surface)")
    objective = Objective.of(fv, X, y)
    steps = fv.path()[0][:, 0]
    marks = [*steps, *([fv.exact.coef[0]] if fv.exact is not None else [])]
    grid = np.linspace(*padded_range(np.asarray(marks)), 300)
    ax = new_axes(ax)
    ax.plot(grid, objective(grid[:, None], np.zeros_like(grid)), color="tab:blue", lw=1.8, label=tr("cost(W)"))
    ax.plot(steps, fv.history.loss, "-o", color="tab:red", lw=0.8, ms=5, alpha=0.85,
            label=tr("steps ({n} entries)", n=len(steps)), zorder=4)[0].set_gid("steps")
    if annotate:
        _number_steps(ax, steps, np.asarray(fv.history.loss), fv.history.step, marks[len(steps):], grid[-1] - grid[0])
    if fv.exact is not None:
        mark_optimum(ax, fv.exact.coef[0], fv.exact.objective)
    name = fv.feature_names[0]
    ax.set(xlabel=tr("W (weight of {name})", name=name), ylabel=tr("cost"), title=tr("Cost as a function of W"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def padded_range(values: np.ndarray, pad: float = 0.15) -> tuple[float, float]:
    """a range around ``values`` with a margin on each side"""
    lo, hi = float(np.min(values)), float(np.max(values))
    margin = (hi - lo) * pad or max(abs(hi), 1.0) * 0.5
    return lo - margin, hi + margin


def _number_steps(ax, ws: np.ndarray, losses: np.ndarray, steps: list[int], taken: list[float], width: float) -> None:
    """number the steps that stand apart from the numbers already placed (the last ones crowd the minimum)"""
    for w, loss, step in zip(ws, losses, steps):
        if any(abs(w - t) < 0.06 * width for t in taken):
            continue
        ax.annotate(str(step), (w, loss), textcoords="offset points", xytext=(4, 6), fontsize=8, color="tab:red")
        taken.append(w)


def mark_optimum(ax, *coords: float):
    """the exact optimum's marker at (x, y) or (x, y, z)"""
    line = ax.plot(*([c] for c in coords), "*", color="gold", mec=EXACT_COLOR, ms=15, label=tr("exact optimum"), zorder=6)[0]
    line.set_gid("exact")
    return line
