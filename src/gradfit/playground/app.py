"""The playground page: Panel widgets on the left, Bokeh views of the descent on the right.

Why Panel: it is a maintained library for interactive Python apps in the browser,
built on Bokeh (which gradfit's Dask extra already brings), so every number is
computed in Python by gradfit and only drawn by the browser. One
:class:`Playground` is made per browser session.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import replace
from html import escape
from pathlib import Path

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, CustomJSTickFormatter, Range1d
from bokeh.plotting import figure

from ..errors import GradfitError
from ..views.plotdata import Objective
from ..views.plots import padded_range
from ..views.plottext import plot_language
from . import export
from .data import PlayData, read_csv, tutorial_sets
from .descent import LOSSES, OPTIMIZERS, PREPROCESS, Run, Settings
from .text import LANGUAGES, word
from .views import projected, run_view, step_table, surface_grid, surface_slice

#: racers' colours, after the main run's red
COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
#: the race's choices: label -> the settings that differ from the main run's
RACERS = {"sgd": dict(optimizer="sgd", momentum=0.0), "momentum 0.9": dict(optimizer="sgd", momentum=0.9),
          "adam": dict(optimizer="adam"), "rmsprop": dict(optimizer="rmsprop"), "adagrad": dict(optimizer="adagrad")}
#: learning-rate slider: log10 of the rate
LR_RANGE = (-5.0, 1.0)
#: a play shows the run in about this many frames
FRAMES = 120


class Playground:
    """one learner's page: the settings, the run on screen and the step the views show"""

    def __init__(self, csv: Path | None = None, target: str | None = None, lang: str = "en"):
        self.sets = tutorial_sets()
        self.csv = csv
        if csv is not None:
            user = read_csv(csv, target)
            self.sets = {user.name: user, **self.sets}
        self.lang = lang
        self.run: Run | None = None
        self.racers: list[Run] = []
        self.cursor = 0
        self.playing = None
        self._make_widgets()
        self._make_views()
        self.layout = self._layout()
        self._pick_data()
        self._relabel()

    # ------------------------------------------------------------------ widgets

    def _make_widgets(self) -> None:
        w = pn.widgets
        first = next(iter(self.sets))
        self.language = w.RadioButtonGroup(options={v: k for k, v in LANGUAGES.items()}, value=self.lang,
                                           css_classes=["gf-lang"])
        self.dataset = w.Select(options=list(self.sets), value=first, css_classes=["gf-data"])
        self.features = w.MultiChoice(options=[], value=[], css_classes=["gf-features"])
        self.bias = w.Checkbox(value=True, css_classes=["gf-bias"])
        self.loss = w.Select(options=list(LOSSES), value="mse")
        self.optimizer = w.Select(options=list(OPTIMIZERS), value="sgd", css_classes=["gf-optimizer"])
        self.momentum = w.FloatSlider(start=0.0, end=0.99, step=0.01, value=0.0)
        self.nesterov = w.Checkbox(value=False)
        self.beta1 = w.FloatInput(value=0.9, start=0.0, end=0.999, step=0.01, width=140)
        self.beta2 = w.FloatInput(value=0.999, start=0.0, end=0.9999, step=0.001, width=140)
        self.rho = w.FloatInput(value=0.99, start=0.0, end=0.999, step=0.01)
        self.lr = w.FloatSlider(start=LR_RANGE[0], end=LR_RANGE[1], step=0.05, value=-2.0, css_classes=["gf-lr"],
                                format=CustomJSTickFormatter(code="return Number(Math.pow(10, tick).toPrecision(3)).toString()"))
        self.lr_auto = w.Checkbox(value=False, css_classes=["gf-lr-auto"])
        self.on_change = w.RadioButtonGroup(options=["continue", "restart"], value="continue", css_classes=["gf-mode"])
        self.batch = w.RadioButtonGroup(options=["full", "1", "k"], value="full", css_classes=["gf-batch"])
        self.batch_size = w.IntInput(value=2, start=1, step=1, width=80)
        self.epochs = w.IntInput(value=30, start=1, end=5000, step=1, css_classes=["gf-epochs"])
        self.preprocess = w.Select(options=list(PREPROCESS), value="none", css_classes=["gf-preprocess"])
        self.seed = w.IntInput(value=0, start=0, step=1, css_classes=["gf-seed"])
        self.param_x = w.Select(options=[], css_classes=["gf-param-x"], width=140)
        self.param_y = w.Select(options=[], css_classes=["gf-param-y"], width=140)
        self.race = w.CheckButtonGroup(options=list(RACERS), value=[], css_classes=["gf-race"])
        self.race_label = pn.pane.HTML("")
        self.play = w.Button(color="primary", css_classes=["gf-run"])
        self.step = w.Button(css_classes=["gf-step-button"])
        self.replay = w.Button(css_classes=["gf-replay"])
        self.show3d = w.Toggle(value=False, css_classes=["gf-3d"])
        self.status = pn.pane.HTML("", css_classes=["gf-status"], sizing_mode="stretch_width")
        self.table = pn.pane.HTML("", css_classes=["gf-table"], sizing_mode="stretch_width")
        self.code_gradfit = pn.pane.HTML("", css_classes=["gf-export-gradfit"], sizing_mode="stretch_width")
        self.code_torch = pn.pane.HTML("", css_classes=["gf-export-torch"], sizing_mode="stretch_width")
        self.surface3d = pn.pane.Matplotlib(None, dpi=80, tight=True, visible=False, sizing_mode="scale_width")
        settings = (self.bias, self.loss, self.optimizer, self.momentum, self.nesterov, self.beta1, self.beta2,
                    self.rho, self.lr_auto, self.batch, self.batch_size, self.epochs, self.preprocess, self.seed)
        for widget in settings:
            widget.param.watch(lambda _: self._refit(), "value")
        self.dataset.param.watch(lambda _: self._pick_data(), "value")
        self.features.param.watch(lambda _: self._pick_features(), "value")
        self.lr.param.watch(lambda _: self._change_lr(), "value_throttled")
        for widget in (self.param_x, self.param_y):
            widget.param.watch(lambda _: self._redraw_all(), "value")
        self.race.param.watch(lambda _: self._refit(), "value")
        self.language.param.watch(lambda event: self._set_language(event.new), "value")
        self.play.on_click(lambda _: self._toggle_play())
        self.step.on_click(lambda _: self.run and self._show(min(self.cursor + 1, len(self.run) - 1)))
        self.replay.on_click(lambda _: self.run and self._show(0))
        self.show3d.param.watch(lambda _: self._draw_3d(), "value")

    def _make_views(self) -> None:
        tools = "pan,wheel_zoom,box_zoom,reset,save"
        self.fig_surface = figure(height=360, sizing_mode="stretch_width", tools=tools, x_range=Range1d(0, 1),
                                  y_range=Range1d(0, 1))
        self.fig_curve = figure(height=300, sizing_mode="stretch_width", tools=tools, y_axis_type="log")
        self.fig_line = figure(height=300, sizing_mode="stretch_width", tools=tools)
        self.src_path = [ColumnDataSource(dict(x=[], y=[])) for _ in COLOURS]
        self.src_curve = [ColumnDataSource(dict(x=[], loss=[], gap=[])) for _ in COLOURS]
        self.src_now = ColumnDataSource(dict(x=[], y=[]))
        self.src_start = ColumnDataSource(dict(x=[], y=[]))
        self.src_star = ColumnDataSource(dict(x=[], y=[]))
        self.src_points = ColumnDataSource(dict(x=[], y=[]))
        self.src_fit = ColumnDataSource(dict(x=[], y=[]))
        self.src_exact = ColumnDataSource(dict(x=[], y=[]))
        self.src_marker = ColumnDataSource(dict(x=[], y=[]))
        self.pane_surface = pn.pane.Bokeh(self.fig_surface, sizing_mode="stretch_width")
        self.pane_curve = pn.pane.Bokeh(self.fig_curve, sizing_mode="stretch_width")
        self.pane_line = pn.pane.Bokeh(self.fig_line, sizing_mode="stretch_width")

    def _layout(self):
        self.controls = pn.Column(
            self.language, self.dataset, self.features, self.bias, self.loss, self.optimizer, self.momentum,
            self.nesterov, pn.Row(self.beta1, self.beta2), self.rho, self.lr, self.lr_auto, self.on_change,
            pn.Row(self.batch, self.batch_size), self.epochs, self.preprocess, self.seed,
            pn.Row(self.param_x, self.param_y), self.race_label, self.race, width=320, css_classes=["gf-controls"])
        buttons = pn.Row(self.play, self.step, self.replay, self.show3d, sizing_mode="stretch_width")
        self.export_tabs = pn.Tabs(("gradfit", self.code_gradfit), ("PyTorch", self.code_torch),
                                   sizing_mode="stretch_width")
        self.card_surface = pn.Card(self.pane_surface, self.surface3d, collapsible=False, sizing_mode="stretch_width")
        self.card_curve = pn.Card(self.pane_curve, collapsible=False, sizing_mode="stretch_width")
        self.card_line = pn.Card(self.pane_line, collapsible=False, sizing_mode="stretch_width")
        self.card_table = pn.Card(self.table, collapsible=False, sizing_mode="stretch_width")
        self.card_export = pn.Card(self.export_tabs, collapsed=True, sizing_mode="stretch_width")
        self.heading = pn.pane.HTML("", css_classes=["gf-title"], sizing_mode="stretch_width")
        for card in (self.card_curve, self.card_line):
            card.sizing_mode, card.styles = None, {"flex": "1 1 340px", "min-width": "300px"}
        views = pn.Column(buttons, self.status, self.card_surface,
                          pn.FlexBox(self.card_curve, self.card_line, flex_wrap="wrap", sizing_mode="stretch_width",
                                     gap="8px"),
                          self.card_table, self.card_export, styles={"flex": "1 1 600px", "min-width": "300px"})
        self.controls.styles = {"flex": "0 0 330px"}
        return pn.Column(self.heading, pn.FlexBox(self.controls, views, flex_wrap="wrap", sizing_mode="stretch_width",
                                                  gap="12px"),
                         sizing_mode="stretch_width", styles={"padding": "8px"})

    # ------------------------------------------------------------------ state changes

    @property
    def data(self) -> PlayData:
        base = self.sets[self.dataset.value]
        chosen = [base.feature_names.index(name) for name in self.features.value] or [0]
        return base._replace(X=base.X[:, chosen], feature_names=[base.feature_names[j] for j in chosen])

    def settings(self) -> Settings:
        batch = {"full": None, "1": 1, "k": max(1, int(self.batch_size.value or 1))}[self.batch.value]
        return Settings(fit_intercept=self.bias.value, loss=self.loss.value, optimizer=self.optimizer.value,
                        lr="auto" if self.lr_auto.value else self.lr_value, momentum=float(self.momentum.value),
                        nesterov=self.nesterov.value, beta1=float(self.beta1.value), beta2=float(self.beta2.value),
                        rho=float(self.rho.value), batch_size=batch, epochs=int(self.epochs.value or 1),
                        preprocess=self.preprocess.value, seed=int(self.seed.value or 0))

    @property
    def lr_value(self) -> float:
        """the slider's learning rate, rounded to 3 significant digits as the slider shows it"""
        return float(f"{10 ** self.lr.value:.3g}")

    def _pick_data(self) -> None:
        """a data set was chosen: its features, the tutorial's bias, and a fresh run"""
        base = self.sets[self.dataset.value]
        preset = base.preset
        with self._quiet():
            self.features.options = list(base.feature_names)
            self.features.value = base.feature_names[:1]
            self.bias.value = base.fit_intercept
            self.lr.value = math.log10(preset["lr"])
            self.lr_auto.value = False
            self.epochs.value, self.preprocess.value, self.loss.value = (preset["epochs"], preset["preprocess"],
                                                                         preset["loss"])
            self.batch.value = {None: "full", 1: "1"}.get(preset["batch"], "k")
            if preset["batch"] not in (None, 1):
                self.batch_size.value = preset["batch"]
        self._pick_features()

    def _pick_features(self) -> None:
        names = [*self.data.feature_names, *(["b"] if self.bias.value else [])]
        with self._quiet():
            self.param_x.options, self.param_y.options = names, names
            self.param_x.value = names[0]
            self.param_y.value = names[1] if len(names) > 1 else names[0]
        self._refit()

    def _refit(self) -> None:
        """new settings: the run from the start (same seed, same start), and the racers"""
        if getattr(self, "_muted", False):
            return
        settings = self.settings()
        try:
            self.run = Run.start(self.data, settings)
            self.racers = [Run.start(self.data, replace(settings, **RACERS[name])) for name in self.race.value]
        except GradfitError as exc:
            self.run = None
            self._error(exc)
            return
        self._pick_features_if_needed()
        self._redraw_all(cursor=0)

    def _pick_features_if_needed(self) -> None:
        names = [*self.data.feature_names, *(["b"] if self.bias.value else [])]
        if list(self.param_x.options) != names:
            with self._quiet():
                self.param_x.options, self.param_y.options = names, names
                self.param_x.value, self.param_y.value = names[0], names[1] if len(names) > 1 else names[0]

    def _change_lr(self) -> None:
        """the slider moved: continue from the step on screen, or restart, as chosen"""
        if self.run is None or self.lr_auto.value:
            return
        try:
            if self.on_change.value == "restart":
                self.run = self.run.change_lr(self.lr_value, 0, "restart")
                cursor = 0
            else:
                self.run = self.run.change_lr(self.lr_value, self.cursor, "continue")
                cursor = self.cursor
        except GradfitError as exc:
            self._error(exc)
            return
        self._redraw_all(cursor=cursor)

    def _toggle_play(self) -> None:
        if self.run is None:
            return
        if self.playing is not None:
            self._stop()
            return
        if self.cursor >= len(self.run) - 1:
            self._show(0)
        self.playing = pn.state.add_periodic_callback(self._tick, period=60)
        self.play.name = word("pause", self.lang)

    def _tick(self) -> None:
        if self.run is None:
            self._stop()
            return
        stride = max(1, math.ceil(len(self.run) / FRAMES))
        self._show(min(self.cursor + stride, len(self.run) - 1), table=False)
        if self.cursor >= len(self.run) - 1:
            self._stop()

    def _stop(self) -> None:
        if self.playing is not None:
            self.playing.stop()
            self.playing = None
            self._show(self.cursor)
        self.play.name = word("run", self.lang)

    def _set_language(self, lang: str) -> None:
        self.lang = lang
        self._relabel()
        self._redraw_all()

    def _error(self, exc: Exception) -> None:
        self.status.object = f'<p class="gf-error" style="color:#b00">{escape(word("error", self.lang, message=str(exc)))}</p>'

    @contextlib.contextmanager
    def _quiet(self):
        """change widgets without refitting at each change (nests)"""
        self._muted = getattr(self, "_muted", 0) + 1
        try:
            yield
        finally:
            self._muted -= 1

    # ------------------------------------------------------------------ drawing

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

    def _relabel(self) -> None:
        """every visible word in the chosen language"""
        lang = self.lang
        labels = {self.dataset: "data", self.features: "features", self.bias: "bias", self.loss: "loss",
                  self.optimizer: "optimizer", self.momentum: "momentum", self.nesterov: "nesterov",
                  self.beta1: "beta1", self.beta2: "beta2", self.rho: "rho", self.lr: "lr", self.lr_auto: "lr_auto",
                  self.batch_size: "batch_size", self.epochs: "epochs", self.preprocess: "preprocess",
                  self.seed: "seed", self.param_x: "params", self.step: "step", self.replay: "reset",
                  self.show3d: "surface3d"}
        for widget, key in labels.items():
            widget.name = word(key, lang)
        self.param_y.name = " "
        self.play.name = word("pause" if self.playing is not None else "run", lang)
        self.on_change.options = {word("continue", lang): "continue", word("restart", lang): "restart"}
        self.batch.options = {word("full", lang): "full", word("one", lang): "1", word("k", lang): "k"}
        self.card_surface.title, self.card_curve.title = word("surface", lang), word("curve", lang)
        self.card_line.title, self.card_table.title = word("line", lang), word("table", lang)
        self.card_export.title = word("export", lang)
        self.heading.object = f'<h2 style="margin:4px 0">{escape(word("title", lang))}</h2>'
        self.race_label.object = f"<b>{escape(word('race', lang))}</b>"


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


def make_page(csv: Path | None = None, target: str | None = None, lang: str = "en"):
    """the playground's page for one browser session"""
    return Playground(csv, target, lang).layout
