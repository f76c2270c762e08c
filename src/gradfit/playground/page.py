"""The playground page's parts: Panel widgets on the left, Bokeh figures with their data sources on the
right, the layout that places them, and the words on them in the chosen language.

``Page`` is a part of :class:`~gradfit.playground.app.Playground` (a mixin): it builds the widgets and
connects each to the playground's reaction (a refit, a new learning rate, a redraw), but holds no run
and draws nothing itself.
"""

from __future__ import annotations

from html import escape

import panel as pn
from bokeh.models import ColumnDataSource, CustomJSTickFormatter, Range1d
from bokeh.plotting import figure

from .descent import LOSSES, OPTIMIZERS, PREPROCESS
from .drawing import COLOURS
from .text import LANGUAGES, word

#: the race's choices: label -> the settings that differ from the main run's
RACERS = {"sgd": dict(optimizer="sgd", momentum=0.0), "momentum 0.9": dict(optimizer="sgd", momentum=0.9),
          "adam": dict(optimizer="adam"), "rmsprop": dict(optimizer="rmsprop"), "adagrad": dict(optimizer="adagrad")}
#: learning-rate slider: log10 of the rate
LR_RANGE = (-5.0, 1.0)


class Page:
    """the widgets, figures and layout of one learner's page (``Playground`` reacts to them)"""

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
