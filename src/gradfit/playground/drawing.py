"""Drawing the playground's views: the loss surface (or the cost over W with one parameter) with each
run's path, the loss and gap curves, the fitted line (or predicted against actual values), the 3-D
surface, the status line and the step table at the step on screen, and the exported code.

``Drawing`` is a part of :class:`~gradfit.playground.app.Playground` (a mixin): it reads the run and
the racers the playground holds and writes into the page's figures and data sources (``Page``). The
numbers come from gradfit (``views``, ``views.plotdata``); only the browser draws them.
"""

from __future__ import annotations

import warnings
from html import escape
from pathlib import Path

import numpy as np

from ..views.plotdata import Objective
from ..views.plots import padded_range
from ..views.plottext import plot_language
from . import export
from .descent import Run
from .text import word
from .views import projected, run_view, step_table, surface_grid, surface_slice

#: racers' colours, after the main run's red
COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


class Drawing:
    """the views of the run on screen, drawn again after a change and moved to each step shown"""

    def _params(self) -> tuple[str, str]:
        """the two parameters the surface spans (two different ones)"""
        x, y = self.param_x.value, self.param_y.value
        if x == y:
            y = next(name for name in self.param_x.options if name != x)
        return x, y

    def _redraw_all(self, cursor: int | None = None) -> None:
        if getattr(self, "_muted", False) or self.run is None:
            return
        self.cursor = min(self.cursor if cursor is None else cursor, len(self.run) - 1)
        runs = [self.run, *self.racers]
        if self._two_params():
            self._draw_surface(runs)
        else:
            self._draw_cost(runs)
        self._draw_curves(runs)
        self._draw_line_frame()
        self.code_gradfit.object = _code_block(export.gradfit_code(self.run, self.csv if self._is_csv() else None),
                                               word("export_note", self.lang))
        self.code_torch.object = _code_block(export.torch_code(self.run, self.csv if self._is_csv() else None),
                                             word("export_note", self.lang) + " " + word("adaptive_note", self.lang))
        self._show(self.cursor)
        self._draw_3d()

    def _is_csv(self) -> bool:
        return self.csv is not None and self.dataset.value == Path(self.csv).stem

    def _draw_surface(self, runs: list[Run]) -> None:
        fig = _cleared(self.fig_surface)
        sl = surface_slice(self.run, self._params())
        self.paths = [projected(sl, run) for run in runs]
        xs, ys, Z, levels = surface_grid(sl, self.paths)
        fig.image(image=[Z], x=xs[0], y=ys[0], dw=xs[-1] - xs[0], dh=ys[-1] - ys[0], palette="Viridis256",
                  level="image")
        fig.contour(xs, ys, Z, levels=levels, line_color="white", line_alpha=0.45, line_width=0.6)
        fig.x_range.start, fig.x_range.end = float(xs[0]), float(xs[-1])
        fig.y_range.start, fig.y_range.end = float(ys[0]), float(ys[-1])
        star = sl.exact_point()
        self.src_star.data = dict(x=[star[0]], y=[star[1]]) if star else dict(x=[], y=[])
        fig.scatter("x", "y", source=self.src_star, marker="star", size=18, color="gold", line_color="black",
                    legend_label=word("exact", self.lang))
        self._draw_paths(runs)
        with warnings.catch_warnings():  # the browser draws the Hangul: Matplotlib's fonts do not matter here
            warnings.simplefilter("ignore")
            with plot_language(self.lang):
                fig.xaxis.axis_label, fig.yaxis.axis_label = sl.names()
        fig.title.text = word("surface", self.lang)

    def _two_params(self) -> bool:
        return self.run.settings.fit_intercept or len(self.data.feature_names) > 1

    def _draw_cost(self, runs: list[Run]) -> None:
        """one parameter (H(x) = Wx): the cost over W with each run's steps on it"""
        fig = _cleared(self.fig_surface)
        fv = run_view(self.run)
        objective = Objective.of(fv, self.data.X, self.data.y)
        self.paths = [np.column_stack([run.theta[:, 0], run.column("loss")]) for run in runs]
        marks = np.concatenate([path[:, 0] for path in self.paths] + ([fv.exact.coef[:1]] if fv.exact else []))
        grid = np.linspace(*padded_range(marks), 300)
        cost = objective(grid[:, None], np.zeros_like(grid))
        fig.line(grid, cost, color="#1f77b4", line_width=2)
        self._draw_paths(runs)
        if fv.exact is not None:
            self.src_star.data = dict(x=[fv.exact.coef[0]], y=[fv.exact.objective])
            fig.scatter("x", "y", source=self.src_star, marker="star", size=18, color="gold", line_color="black",
                        legend_label=word("exact", self.lang))
        fig.x_range.start, fig.x_range.end = float(grid[0]), float(grid[-1])
        fig.y_range.start, fig.y_range.end = padded_range(np.append(cost, self.paths[0][:, 1]), pad=0.05)
        fig.xaxis.axis_label, fig.yaxis.axis_label = "W", word("loss_axis", self.lang)
        fig.title.text = word("surface", self.lang)

    def _draw_paths(self, runs: list[Run]) -> None:
        """each run's path (drawn up to the cursor by _show), its start and the current point"""
        fig = self.fig_surface
        for k, (path, run) in enumerate(zip(self.paths, runs)):
            self.src_path[k].data = dict(x=path[:1, 0], y=path[:1, 1])
            fig.line("x", "y", source=self.src_path[k], color=COLOURS[k], line_width=2,
                     legend_label=run.settings.label)
            fig.scatter("x", "y", source=self.src_path[k], color=COLOURS[k], size=3)
        self.src_start.data = dict(x=[self.paths[0][0, 0]], y=[self.paths[0][0, 1]])
        fig.scatter("x", "y", source=self.src_start, size=12, color="#2ca02c", line_color="white",
                    legend_label=word("start", self.lang))
        fig.scatter("x", "y", source=self.src_now, marker="square", size=14, fill_alpha=0, line_color="#d62728",
                    line_width=2, legend_label=word("now", self.lang))
        fig.legend.location, fig.legend.label_text_font_size = "top_right", "9pt"
        fig.legend.background_fill_alpha = 0.7

    def _draw_curves(self, runs: list[Run]) -> None:
        fig = _cleared(self.fig_curve)
        optimum = self.run.exact().objective if self.run.exact() is not None else 0.0
        for k, run in enumerate(runs):
            loss = run.column("loss")
            self.curves = getattr(self, "curves", {})
            self.curves[k] = (run.epochs, loss, np.maximum(loss - optimum, 1e-300))
            fig.line("x", "loss", source=self.src_curve[k], color=COLOURS[k], line_width=2,
                     legend_label=f"{word('loss_axis', self.lang)}: {run.settings.label}")
            fig.line("x", "gap", source=self.src_curve[k], color=COLOURS[k], line_width=1.5, line_dash="dashed",
                     legend_label=f"{word('gap', self.lang)}: {run.settings.label}")
        fig.legend.location, fig.legend.label_text_font_size = "top_right", "8pt"
        fig.legend.background_fill_alpha = 0.7
        fig.xaxis.axis_label, fig.yaxis.axis_label = word("epoch_axis", self.lang), word("loss_axis", self.lang)
        fig.title.text = word("curve", self.lang)

    def _draw_line_frame(self) -> None:
        fig = _cleared(self.fig_line)
        data = self.data
        one = data.X.shape[1] == 1
        if one:
            self.src_points.data = dict(x=data.X[:, 0], y=data.y)
            fig.scatter("x", "y", source=self.src_points, size=6, color="#1f77b4", legend_label=word("data_points", self.lang))
            fig.line("x", "y", source=self.src_fit, color="#d62728", line_width=2, legend_label=word("fit", self.lang))
            exact = self.run.exact()
            if exact is not None:
                xs = np.array([data.X[:, 0].min(), data.X[:, 0].max()])
                self.src_exact.data = dict(x=xs, y=exact.coef[0] * xs + exact.intercept)
                fig.line("x", "y", source=self.src_exact, color="black", line_dash="dashed",
                         legend_label=word("exact", self.lang))
            fig.xaxis.axis_label, fig.yaxis.axis_label = data.feature_names[0], data.target_name
            fig.title.text = word("line", self.lang)
        else:
            fig.scatter("x", "y", source=self.src_fit, size=5, color="#1f77b4")
            lo, hi = float(data.y.min()), float(data.y.max())
            fig.line([lo, hi], [lo, hi], color="black", line_dash="dashed")
            fig.xaxis.axis_label, fig.yaxis.axis_label = data.target_name, "ŷ"
            fig.title.text = word("pred", self.lang)
        fig.legend.location = "top_left"

    def _show(self, k: int, table: bool = True) -> None:
        """the views at entry k: the paths so far, the current line, the status and (not while playing) the
        step's numbers"""
        self.cursor = k
        run = self.run
        if hasattr(self, "paths"):
            for j, path in enumerate(self.paths):
                upto = min(k, len(path) - 1) + 1
                self.src_path[j].data = dict(x=path[:upto, 0], y=path[:upto, 1])
            self.src_now.data = dict(x=[self.paths[0][k, 0]], y=[self.paths[0][k, 1]])
        for j, (x, loss, gap) in getattr(self, "curves", {}).items():
            upto = min(k, len(x) - 1) + 1
            self.src_curve[j].data = dict(x=x[:upto], loss=loss[:upto], gap=gap[:upto])
        theta = run.theta[k]
        data = self.data
        if data.X.shape[1] == 1:
            xs = np.array([data.X[:, 0].min(), data.X[:, 0].max()])
            self.src_fit.data = dict(x=xs, y=theta[0] * xs + theta[-1])
        else:
            self.src_fit.data = dict(x=data.y, y=data.X @ theta[:-1] + theta[-1])
        loss = float(run.column("loss")[k])
        exact = run.exact()
        gap = loss - exact.objective if exact is not None else float("nan")
        self.status.object = (f'<p class="gf-status-line" data-step="{k}" data-loss="{loss!r}" '
                              f'data-lr="{run.settings.lr}" data-segments="{len(run.segments)}">'
                              f'{escape(word("status", self.lang, step=k, steps=len(run) - 1, epoch=run.epochs[k], loss=loss, gap=gap))}</p>')
        if table:
            self.table.object = step_table(run, k, self.lang)

    def _draw_3d(self) -> None:
        self.surface3d.visible = bool(self.show3d.value)
        if not self.show3d.value or self.run is None or not self._two_params():
            return
        import matplotlib.pyplot as plt

        from ..views.surface import loss_surface

        with plot_language(self.lang):
            ax = loss_surface(run_view(self.run), self.data.X, self.data.y, params=self._params(), kind="surface",
                              resolution=40)
            old, self.surface3d.object = self.surface3d.object, ax.figure
        if old is not None:
            plt.close(old)


def _cleared(fig):
    """the figure without its glyphs and legend entries, ready to be drawn again"""
    fig.renderers = []
    for legend in fig.legend:
        legend.items = []
    return fig


def _code_block(code: str, note: str) -> str:
    return (f'<p style="margin:2px 0">{escape(note)}</p>'
            f'<pre class="gf-code" style="white-space:pre;overflow:auto;max-height:420px;font-size:12px">'
            f'{escape(code)}</pre>')
