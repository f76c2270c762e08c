"""The playground page: Panel widgets on the left, Bokeh views of the descent on the right.

Why Panel: it is a maintained library for interactive Python apps in the browser,
built on Bokeh (which gradfit's Dask extra already brings), so every number is
computed in Python by gradfit and only drawn by the browser. One
:class:`Playground` is made per browser session: it holds the run on screen and reacts to
the widgets (a refit, a new learning rate, play and pause, the language); its parts are the
page (``page``: widgets, figures, layout, words) and the drawing of the views (``drawing``).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import replace
from html import escape
from pathlib import Path

import panel as pn

from ..errors import GradfitError
from .data import PlayData, read_csv, tutorial_sets
from .descent import Run, Settings
from .drawing import Drawing
from .page import RACERS, Page
from .text import word

#: a play shows the run in about this many frames
FRAMES = 120


class Playground(Page, Drawing):
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


def make_page(csv: Path | None = None, target: str | None = None, lang: str = "en"):
    """the playground's page for one browser session"""
    return Playground(csv, target, lang).layout
