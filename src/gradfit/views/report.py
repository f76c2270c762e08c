"""One self-contained HTML report of a fit: data, settings, metrics, the exact answer, history and plots.

The figures are embedded as base64 PNG and the styles are inline, so the file opens
anywhere without a network. Every piece of text is escaped.
"""

from __future__ import annotations

import base64
import warnings
from datetime import datetime, timezone
from html import escape
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from string import Template

import numpy as np

from ..descent.model import LinearModel
from ..descent.preprocess import Preprocessor
from ..errors import ConvergenceWarning, GradfitError, OptionError
from ..inference import stats as inference
from ..inference.summary_table import CONST, intercept_label
from ..io import outputs
from ..optimum.gram import GramStats, block_stats
from .figures import standard_figures
from .plotdata import FitView, Objective, as_arrays, batch_words, view
from .plots import figure_bytes

#: longest tables (features, coefficients) before the rest is summarized in one row
MAX_ROWS = 40
#: history rows shown at each end
HISTORY_ENDS = 5
#: coefficient columns shown in the history table
HISTORY_COEFS = 6


def write_report(model, X=None, y=None, path="report.html", *, target: str | None = None,
                 title: str | None = None) -> Path:
    """Write one self-contained HTML report of a fit.

    Parameters
    ----------
    model : GDRegressor, FitResult or History
    X, y : array-like, optional
        The training data: adds column ranges, MAE, and the plots that need rows
        (fitted line, predicted vs actual, residuals).
    path : str or Path
        The HTML file to write; it appears complete or not at all.
    target : str, optional
        Name of y.
    title : str, optional
        Heading of the page.

    Returns
    -------
    Path

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from gradfit import fit
    >>> from gradfit.training.config import FitConfig
    >>> X, y = [[1.0], [2.0], [3.0]], [2.0, 4.0, 7.0]
    >>> path = write_report(fit(X, y, FitConfig(lr=0.05, epochs=20)), X, y, pathlib.Path(tempfile.mkdtemp()) / "r.html")
    >>> "<h2 id=\\"coefficients\\">" in path.read_text()
    True
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise OptionError(f"cannot write the report to {path}: folder {path.parent} does not exist")
    outputs.write(path, render_report(model, X, y, target=target, title=title))
    return path


def render_report(model, X=None, y=None, *, target: str | None = None, title: str | None = None) -> str:
    """the report's HTML text (see :func:`write_report`)"""
    fv = view(model)
    if (X is None) != (y is None):
        raise OptionError("the report needs both X and y, or neither")
    if X is not None:
        X, y = as_arrays(X, y, fv.model.n_features)
    stats = block_stats(X, y) if X is not None else fv.stats
    sections = [
        ("data", "Data", data_section(fv, X, y, stats, target)),
        ("settings", "Settings", settings_section(fv)),
        ("metrics", "Metrics", metrics_section(fv, X, y, stats)),
        ("exact", "Gap to the exact solution", gap_section(fv)),
        ("coefficients", "Coefficients", coef_section(fv)),
        ("inference", "Inference statistics", inference_section(fv, stats, intercept_label(model))),
        ("history", "History", history_section(fv)),
        ("plots", "Plots", figures_section(fv, X, y, target)),
    ]
    sections = [s for s in sections if s[2] is not None]
    nav = "".join(f'<a href="#{key}">{escape(head)}</a>' for key, head, _ in sections)
    body = "\n".join(f'<section><h2 id="{key}">{escape(head)}</h2>\n{html}</section>' for key, head, html in sections)
    template = Template(files("gradfit.views").joinpath("templates/report.html").read_text(encoding="utf-8"))
    return template.substitute(title=escape(title or "gradfit report"), subtitle=escape(_subtitle(fv)),
                               nav=nav, body=body, version=escape(version("gradfit")))


def _subtitle(fv: FitView) -> str:
    s = fv.settings
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    what = f"{s.get('optimizer', 'sgd')}, {batch_words(s.get('batch_size'))}" if s else "a recorded descent"
    return (f"Linear model with {fv.model.n_features} feature(s) fitted by gradient descent ({what}); "
            f"{len(fv.history)} history entries; written {when}")


def fmt(value) -> str:
    """a table cell's escaped text: numbers to 6 significant digits, None as a dash"""
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return escape(str(value))


def table(head: list[str], rows: list, names: int = 1) -> str:
    """an HTML table; the first ``names`` columns are left-aligned text, a str row is a note across it"""
    if len(rows) > MAX_ROWS:
        rows = [*rows[:MAX_ROWS], f"… {len(rows) - MAX_ROWS} more rows"]
    body = "".join(_row(r, names, len(head)) for r in rows)
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f'<div class="scroll"><table><tr>{header}</tr>{body}</table></div>'


def _row(row, names: int, width: int) -> str:
    if isinstance(row, str):
        return f'<tr class="gap"><td colspan="{width}">{escape(row)}</td></tr>'
    cells = (f'<td class="name">{fmt(v)}</td>' if j < names else f"<td>{fmt(v)}</td>" for j, v in enumerate(row))
    return f"<tr>{''.join(cells)}</tr>"


def data_section(fv: FitView, X, y, stats: GramStats | None, target: str | None) -> str | None:
    """rows, and each column's mean, spread and range"""
    names = [*fv.feature_names, f"{target or 'y'} (target)"]
    if X is not None:
        data = np.column_stack([X, y])
        rows = [[n, c.mean(), c.std(), c.min(), c.max()] for n, c in zip(names, data.T)]
        return f"<p>{len(y)} rows, {X.shape[1]} feature(s).</p>" + table(["column", "mean", "std", "min", "max"], rows)
    if stats is None:
        return None
    means = [*stats.x_mean, stats.y_mean]
    stds = [*stats.x_std, float(np.sqrt(stats.yty / stats.n))]
    rows = [[n, m, s] for n, m, s in zip(names, means, stds)]
    return (f"<p>{stats.n} rows, {len(stats.x_mean)} feature(s) (from the model's statistics; "
            f"pass the data for ranges and plots of the rows).</p>" + table(["column", "mean", "std"], rows))


def settings_section(fv: FitView) -> str:
    """every setting of the fit"""
    if not fv.settings:
        return "<p>This history carries no settings.</p>"
    return pairs_table(list(fv.settings.items()))


def pairs_table(items: list[tuple[str, object]], per_row: int = 3) -> str:
    """name–value pairs laid out ``per_row`` to a row, to keep a long list short"""
    rows = []
    for start in range(0, len(items), per_row):
        chunk = items[start : start + per_row]
        cells = "".join(f'<th>{escape(str(k))}</th><td class="text">{fmt(v)}</td>' for k, v in chunk)
        rows.append(f"<tr>{cells}</tr>")
    return f'<div class="scroll"><table class="pairs">{"".join(rows)}</table></div>'


def metrics_section(fv: FitView, X, y, stats: GramStats | None) -> str:
    """where the descent ended, and how well the line fits"""
    h = fv.history
    rows = [["final loss (training objective)", h.loss[-1]], ["epochs", h.epoch[-1]], ["steps", h.step[-1]],
            ["history entries", len(h)], ["at the optimum (to tol)", fv.converged]]
    if stats is not None:
        d = fv.model.n_features
        plain = Objective(LinearModel(d, fv.model.fit_intercept), Preprocessor.identity(d), stats)  # mean r²
        mse = float(plain(fv.coef, [fv.intercept])[0])
        r2 = 1.0 - mse * stats.n / stats.yty if stats.yty > 0 else None
        rows += [["R²", r2], ["MSE", mse], ["RMSE", float(np.sqrt(mse))]]
    if X is not None:
        rows.append(["MAE", float(np.abs(y - fv.predict(X)).mean())])
    return table(["metric", "value"], rows + held_out_rows(fv))


def held_out_rows(fv: FitView) -> list[list]:
    """the held-out rows' verdict: the best epoch, its validation loss and the last one, what was returned"""
    held = fv.held_out
    if held is None:
        return []
    returned = f"epoch {held.best.epoch}'s (early stopping)" if held.restored else "the last epoch's"
    return [["held-out rows", held.n_rows], ["lowest validation loss", held.best.val_loss],
            ["at epoch", held.best.epoch], ["training objective at that epoch", held.best.loss],
            ["validation loss at the end", fv.history.val_loss[-1]],
            ["parameters returned", returned]]


def gap_section(fv: FitView) -> str | None:
    """the closed-form optimum of the same objective, and how far the descent is from it"""
    exact, gap = fv.exact, fv.gap
    if exact is None:
        return None
    rows = [["exact solution method", exact.method], ["condition number", exact.condition],
            ["exact objective", exact.objective]]
    if gap is not None:
        rows += [["fit objective", gap.objective], ["objective gap (fit − exact)", gap.objective_gap],
                 ["relative parameter distance ‖θ − θ*‖ / ‖θ*‖", gap.param_distance]]
    verdict = ""
    if gap is not None and fv.converged is not None:
        what = "at" if fv.converged else "not at"
        kept = fv.held_out is not None and fv.held_out.restored and fv.held_out.best.epoch < fv.history.epoch[-1]
        why = f"; early stopping returned epoch {fv.held_out.best.epoch}'s parameters on purpose" if kept else ""
        verdict = (f'<p class="{"good" if fv.converged else "warn"}">The descent is {what} the exact solution '
                   f'(relative distance {gap.distance:.3g}{why}).</p>')
    return verdict + table(["quantity", "value"], rows)


def coef_section(fv: FitView) -> str:
    """fitted and exact coefficients side by side, in the data's units"""
    fitted = [*fv.coef, fv.intercept] if fv.model.fit_intercept else list(fv.coef)
    names = [*fv.feature_names, "intercept"][: len(fitted)]
    if fv.exact is None:
        return table(["parameter", "fitted"], [[n, float(v)] for n, v in zip(names, fitted)])
    exact = [*fv.exact.coef, fv.exact.intercept][: len(fitted)]
    rows = [[n, float(f), float(e), float(f - e)] for n, f, e in zip(names, fitted, exact)]
    return table(["parameter", "fitted", "exact", "fitted − exact"], rows)


def inference_section(fv: FitView, stats: GramStats | None, intercept: str = CONST) -> str | None:
    """gradfit.inference.stats' OLS-style summary, where the statistics are there and the loss is squared error
    (the intercept labelled ``intercept``: see ``inference.summary_table.intercept_label``)"""
    if stats is None:
        return None
    if not fv.model.loss.is_quadratic:
        return (f"<p>Inference statistics are those of least squares and hold for the squared losses only; "
                f"this fit minimizes loss={escape(repr(fv.model.loss.name))}, so none are given.</p>")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # the gap has its own section
            # a fit short of its optimum is summarized at the exact answer, and the summary says so
            summary = inference.summarize(stats, fv.coef, fv.intercept, fit_intercept=fv.model.fit_intercept,
                                          feature_names=fv.feature_names, penalized=fv.model.alpha > 0,
                                          gap=fv.gap, rss=stats.rss_min, exact=fv.exact,
                                          at=inference.default_at(fv.gap, fv.exact), intercept_name=intercept)
    except GradfitError as exc:
        return f"<p>No inference statistics for this fit: {escape(str(exc))}</p>"
    return summary._repr_html_()


def history_section(fv: FitView) -> str:
    """the first and last entries of the history"""
    records = fv.history.to_records()
    keys = [k for k in records[0] if not k.startswith("coef[")]
    coef_keys = [k for k in records[0] if k.startswith("coef[")][:HISTORY_COEFS]
    head = [*keys[:3], *coef_keys, *keys[3:]]
    rows = [[r[k] for k in head] for r in records]
    if len(rows) > 2 * HISTORY_ENDS + 1:  # hide at least two entries, else show them all
        hidden = len(rows) - 2 * HISTORY_ENDS
        rows = [*rows[:HISTORY_ENDS], f"… {hidden} entries not shown …", *rows[-HISTORY_ENDS:]]
    return table(head, rows, names=0)


def figures_section(fv: FitView, X, y, target: str | None) -> str:
    """every plot that applies, embedded as PNG"""
    items = []
    for fig in standard_figures(fv, X, y, target):
        data = base64.b64encode(figure_bytes(fig.draw())).decode("ascii")
        items.append(f'<figure id="fig-{escape(fig.name)}"><img alt="{escape(fig.caption)}" '
                     f'src="data:image/png;base64,{data}"><figcaption>{escape(fig.caption)}</figcaption></figure>')
    return f'<div class="figures">{"".join(items)}</div>'
