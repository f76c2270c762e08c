"""What the playground draws, as plain data: the surface grid, paths, curves and the step table (HTML)."""

from __future__ import annotations

from html import escape

import numpy as np

from ..training.history import Entry, History
from ..views.plotdata import FitView, view
from ..views.plots import padded_range
from ..views.surface import Slice, contour_levels, make_slice
from .descent import Run
from .steps import MAX_ROWS, step_numbers
from .text import word


def run_view(run: Run) -> FitView:
    """the whole run (all its segments) as one FitView, for gradfit's surface code"""
    first = view(run.segments[0].model)
    history = History(feature_names=list(run.data.feature_names))
    theta, loss, step, lrs = run.theta, run.column("loss"), run.column("step"), run.column("lr")
    for k in range(len(run)):
        history.append(Entry(int(np.floor(run.epochs[k] + 1e-9)), int(step[k]), float(loss[k]),
                             theta[k, :-1].tolist(), float(theta[k, -1]), 0.0, float(lrs[k]), 0.0))
    return FitView(history, first.model, first.prep, first.exact, first.gap, first.stats, first.settings)


def surface_slice(run: Run, params: tuple) -> Slice:
    """the objective over the two chosen parameters, the others held at the run's end"""
    return make_slice(run_view(run), run.data.X, run.data.y, params)


def surface_grid(sl: Slice, paths: list[np.ndarray], resolution: int = 60):
    """(x range, y range, Z, levels) over a box that holds every path and the exact optimum"""
    p = np.concatenate([path[:, 0] for path in paths])
    q = np.concatenate([path[:, 1] for path in paths])
    star = sl.exact_point()
    if star is not None:
        p, q = np.append(p, star[0]), np.append(q, star[1])
    xs, ys = np.linspace(*padded_range(p), resolution), np.linspace(*padded_range(q), resolution)
    P, Q = np.meshgrid(xs, ys)
    Z = sl.values(P, Q)
    return xs, ys, Z, contour_levels(Z)


def projected(sl: Slice, run: Run) -> np.ndarray:
    """the run's path in the slice's two coordinates, shape (len, 2)"""
    theta = run.theta
    p, q = sl.project(theta[:, :-1], theta[:, -1])
    return np.column_stack([p, q])


def _cell(value: float, key: str) -> str:
    return f'<td data-key="{key}" data-value="{float(value)!r}">{float(value):.6g}</td>'


def step_table(run: Run, k: int, lang: str) -> str:
    """the numbers of step k as HTML (full precision in each cell's data-value)"""
    if k == 0:
        return f'<p class="gf-start">{escape(word("start_row", lang))}</p>'
    s = step_numbers(run, k)
    d = s.x.shape[1]
    names = [*run.data.feature_names[:d], "b"][: len(s.before)]
    caption = word("step_caption", lang, step=s.step, epoch=s.epoch, rows=s.rows[:MAX_ROWS] if len(s.rows) > MAX_ROWS
                   else s.rows, lr=s.lr, before=s.loss_before, after=s.loss_after)
    head = "".join(f"<th>{escape(word(key, lang))}</th>" for key in ("row", "x", "y", "prediction", "residual"))
    rows = []
    for i, row in enumerate(s.rows[:MAX_ROWS]):
        x_text = ", ".join(f"{v:.4g}" for v in s.x[i])
        rows.append(f"<tr><td>{row}</td><td>{escape(x_text)}</td>{_cell(s.y[i], f'y-{i}')}"
                    f"{_cell(s.prediction[i], f'prediction-{i}')}{_cell(s.residual[i], f'residual-{i}')}</tr>")
    more = (f'<tr><td colspan="5">{escape(word("more_rows", lang, more=len(s.rows) - MAX_ROWS))}</td></tr>'
            if len(s.rows) > MAX_ROWS else "")
    keys = ("before", "gradient", "minus_lr_grad", "update", "after", "after_data")
    values = (s.before, s.gradient, -s.lr * s.gradient, s.update, s.after, s.after_original)
    param_head = "".join(f"<th>{escape(word(key, lang))}</th>" for key in ("param", *keys))
    param_rows = "".join(
        f"<tr><td>{escape(name)}</td>" + "".join(_cell(v[j], f"{key}-{j}") for key, v in zip(keys, values)) + "</tr>"
        for j, name in enumerate(names))
    return (f'<div class="gf-step" data-step="{s.step}"><p>{escape(caption)}</p>'
            f'<table class="gf-rows"><tr>{head}</tr>{"".join(rows)}{more}</table>'
            f'<table class="gf-params"><tr>{param_head}</tr>{param_rows}</table>'
            f'<p class="gf-note">{escape(word("units_note", lang))}</p></div>')
