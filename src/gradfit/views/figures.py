"""The standard set of figures for a fit: every plot that applies to it, by name.

``gradfit fit --plots DIR`` writes them as PNG files; the HTML report embeds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, NamedTuple

from ..errors import OptionError
from .plotdata import FitView, view
from .plots import cost_curve, fitted_line, learning_curve, predicted_vs_actual, residuals, save_figure
from .surface import loss_surface


class Figure(NamedTuple):
    """a figure that applies to a fit: file stem, caption, and how to draw it (returns its Axes)"""

    name: str
    caption: str
    draw: Callable


def standard_figures(model, X=None, y=None, target: str | None = None) -> list[Figure]:
    """the figures that apply to this fit, given what is known (data, Gram statistics)"""
    fv = view(model)
    has_data = X is not None and y is not None
    figures = [Figure("learning_curve", "Loss at each recorded epoch, with the exact optimum",
                      lambda: learning_curve(fv))]
    if fv.exact is not None:
        figures.append(Figure("convergence", "Distance to the exact optimum's loss, log scale",
                              lambda: learning_curve(fv, gap=True, log=True)))
    if has_data and fv.model.n_features == 1:
        figures.append(Figure("fitted_line", "The data and the fitted line, earlier epochs in grey",
                              lambda: fitted_line(fv, X, y, epochs=5, target=target)))
    if has_data:
        figures += [Figure("predicted_vs_actual", "Predictions against the actual values",
                           lambda: predicted_vs_actual(fv, X, y, target=target)),
                    Figure("residuals", "Residuals against the predictions",
                           lambda: residuals(fv, X, y, target=target))]
    if has_data or (fv.stats is not None and fv.model.loss.is_quadratic):  # other losses need the rows
        figures += _objective_figures(fv, X, y)
    return figures


def _objective_figures(fv: FitView, X, y) -> list[Figure]:
    """figures drawn on the objective: the cost over W, or contours and a surface over two parameters"""
    if fv.n_params == 1:
        return [Figure("cost_curve", "Cost as a function of W, each step marked", lambda: cost_curve(fv, X, y))]
    figures = [Figure("loss_contour", "Loss contours with the descent path", lambda: loss_surface(fv, X, y))]
    if fv.n_params == 2:
        figures.append(Figure("loss_surface", "The loss surface with the descent path",
                              lambda: loss_surface(fv, X, y, kind="surface")))
    return figures


def write_standard_plots(model, X=None, y=None, out_dir=".", target: str | None = None) -> list[Path]:
    """Write every plot that applies to a fit as PNG files in ``out_dir``.

    Parameters
    ----------
    model : GDRegressor, FitResult or History
    X, y : array-like, optional
        The training data; without it only the plots that need no rows are written
        (learning curves, and the loss surface from the model's Gram statistics).
    out_dir : str or Path
        Created if missing.
    target : str, optional
        Name of y for axis labels.

    Returns
    -------
    list of Path
        The files written, e.g. ``learning_curve.png``, ``loss_contour.png``.

    Examples
    --------
    >>> import tempfile
    >>> from gradfit import fit
    >>> from gradfit.training.config import FitConfig
    >>> result = fit([[1.0], [2.0], [3.0]], [2.0, 4.0, 7.0], FitConfig(lr=0.05, epochs=20))
    >>> [p.name for p in write_standard_plots(result, [[1.0], [2.0], [3.0]], [2.0, 4.0, 7.0], tempfile.mkdtemp())][:3]
    ['learning_curve.png', 'convergence.png', 'fitted_line.png']
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OptionError(f"plot folder {out_dir} is a file, not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    return [save_figure(fig.draw(), out_dir / f"{fig.name}.png") for fig in standard_figures(model, X, y, target)]
