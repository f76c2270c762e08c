"""One run of a lesson: what it prints, the checks it makes, the files it writes."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ..errors import GradfitError
from ..views.plots import save_figure
from .text import narration

#: the line under a block of code
RULE = "─" * 28


class LessonCheckError(GradfitError):
    """the step-by-step code and gradfit's one call disagree beyond the stated tolerance"""


@dataclass(frozen=True)
class Agreement:
    """how far two computations of the same numbers are apart, and how far they may be"""

    what: str
    difference: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.difference <= self.tolerance


@dataclass
class LessonResult:
    """what a lesson computed, the files it wrote and the agreements it checked.

    ``transcript`` holds every printed line as (kind, text): "say" narration (translated),
    "out" the tutorial's output (never translated), "code" source that ran, "check" an
    agreement line, "file" a file written.
    """

    name: str
    lang: str
    numbers: dict[str, Any]
    paths: dict[str, Path]
    agreements: list[Agreement]
    transcript: list[tuple[str, str]]

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.agreements)

    def lines(self, kind: str = "out") -> list[str]:
        """the transcript's lines of one kind ("say", "out", "code", "check")"""
        return [text for k, text in self.transcript if k == kind]


def flatten(values) -> Iterator[float]:
    """the numbers of a nested structure (lists, tuples, arrays) in order"""
    if isinstance(values, (int, float, np.number)):
        yield float(values)
        return
    for item in values:
        yield from flatten(item)


def difference(ours, theirs) -> float:
    """max over entries of |a − b| / max(1, |a|, |b|): relative for large numbers, absolute near 0"""
    a = np.fromiter(flatten(ours), dtype=np.float64)
    b = np.fromiter(flatten(theirs), dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))))


@dataclass
class Session:
    """a lesson's voice (in one language), its checks and its output folder"""

    name: str
    lang: str
    out_dir: Path
    stream: TextIO | None = None
    transcript: list[tuple[str, str]] = field(default_factory=list)
    agreements: list[Agreement] = field(default_factory=list)
    paths: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self):
        self.text = narration(self.lang)

    def _emit(self, kind: str, text: str) -> None:
        stream = self.stream or sys.stdout
        if self.transcript and kind == "say" and self.transcript[-1][0] != kind:
            print(file=stream)  # a blank line where narration begins
        self.transcript.append((kind, text))
        print(text, file=stream)

    def say(self, key: str, **values) -> None:
        """narration: the lesson's text for ``key`` (else the common one) in the session's language"""
        section = self.name if self.text.has(self.name, key) else "common"
        self._emit("say", self.text.get(section, key).format(**values))

    def words(self, english: str, **values) -> str:
        """a label for the lesson's plots, in the session's language"""
        text = self.text.words(self.name, english)
        return text.format(**values) if values else text

    def show(self, line: str) -> None:
        """a line the tutorial's code prints (numbers only, the same in every language)"""
        self._emit("out", line)

    def code(self, *functions: Callable) -> None:
        """print the source of the functions and classes that ran"""
        self._emit("say", self.text.get("common", "code"))
        self._emit("code", "\n\n".join(inspect.getsource(func).rstrip() for func in functions) + "\n" + RULE)

    def check(self, what: str, ours, theirs, tolerance: float) -> Agreement:
        """compare step-by-step numbers with gradfit's; raise LessonCheckError beyond ``tolerance``"""
        agreement = Agreement(what, difference(ours, theirs), tolerance)
        self.agreements.append(agreement)
        key = "agree" if agreement.ok else "disagree"
        self._emit("check", self.text.get("common", key).format(
            what=self.text.label(self.name, what), difference=agreement.difference, tolerance=tolerance))
        if not agreement.ok:
            raise LessonCheckError(f"lesson {self.name!r}: {what} differ by {agreement.difference:.3g}, "
                                   f"more than the tolerance {tolerance:g}")
        return agreement

    def save(self, figure, kind: str) -> Path:
        """write a figure (Axes or Figure) to ``<out_dir>/<lesson>-<kind>.png``"""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = save_figure(figure, self.out_dir / f"{self.name}-{kind}.png")
        return self.record_file(kind, path)

    def record_file(self, kind: str, path: Path) -> Path:
        """note a written file and tell the learner where it is"""
        self.paths[kind] = Path(path)
        self._emit("file", self.text.get("common", "saved").format(path=path))
        return Path(path)

    def result(self, numbers: dict[str, Any]) -> LessonResult:
        return LessonResult(self.name, self.lang, numbers, dict(self.paths), list(self.agreements),
                            list(self.transcript))
