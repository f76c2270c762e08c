"""The five tutorial lessons: each runs the tutorial's code step by step, then gradfit in one call.

``LESSONS`` maps a lesson's name to where it lives; a lesson module is imported only
when it runs (two of them need PyTorch). ``run_lesson(name)`` prints the lesson in
English or Korean, saves its plots and returns a :class:`LessonResult`.
"""

from __future__ import annotations

import warnings
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import NamedTuple, TextIO

from ..errors import NotAtOptimumWarning, OptionError
from ..views.plottext import plot_language
from .session import Agreement, LessonCheckError, LessonResult, Session
from .text import LANGUAGES, narration

__all__ = [
    "LANGUAGES",
    "LESSONS",
    "Agreement",
    "Lesson",
    "LessonCheckError",
    "LessonResult",
    "describe",
    "run_lesson",
]

DEFAULT_OUT_DIR = Path("gradfit-output") / "lessons"


class Lesson(NamedTuple):
    """a lesson's name, its module and the optional package it needs"""

    name: str
    module: str
    needs: str | None = None


LESSONS: dict[str, Lesson] = {
    lesson.name: lesson
    for lesson in (
        Lesson("hypothesis", "gradfit.lessons.hypothesis"),
        Lesson("autograd", "gradfit.lessons.autograd", needs="torch"),
        Lesson("zero-grad", "gradfit.lessons.zero_grad", needs="torch"),
        Lesson("from-scratch", "gradfit.lessons.from_scratch"),
        Lesson("neuron", "gradfit.lessons.neuron"),
    )
}


def describe(name: str, lang: str = "en") -> str:
    """the one-line description of a lesson"""
    return narration(lang).get(_lesson(name).name, "title")


def _lesson(name: str) -> Lesson:
    if name not in LESSONS:
        raise OptionError(f"there is no lesson {name!r}; the lessons are {list(LESSONS)}")
    return LESSONS[name]


def run_lesson(name: str, lang: str = "en", out_dir: str | Path = DEFAULT_OUT_DIR,
               stream: TextIO | None = None) -> LessonResult:
    """Run one lesson: print it, check the step-by-step code against gradfit, save its plots.

    Parameters
    ----------
    name : str
        One of ``LESSONS``: "hypothesis", "autograd", "zero-grad", "from-scratch", "neuron".
    lang : {"en", "ko"}
        Language of the narration and of the plots; the numbers printed are the same in both.
    out_dir : path
        Folder for the lesson's pictures (created if missing).
    stream : text file, optional
        Where to print (default: standard output).

    Returns
    -------
    LessonResult
        ``numbers``, ``paths`` (pictures written), ``agreements`` (each check made) and
        ``transcript`` (every printed line with its kind).

    Raises
    ------
    OptionError
        For an unknown lesson or language, or a lesson whose package is missing.
    LessonCheckError
        When the step-by-step numbers and gradfit's differ beyond the stated tolerance.

    Examples
    --------
    >>> result = run_lesson("hypothesis", out_dir="lesson-plots")  # doctest: +SKIP
    >>> round(result.numbers["W"], 3)  # doctest: +SKIP
    1.0
    """
    lesson = _lesson(name)
    narration(lang)
    if lesson.needs is not None and find_spec(lesson.needs) is None:
        raise OptionError(f"lesson {name!r} needs {lesson.needs}, which is not installed; "
                          f"install it with: pip install 'gradfit[{lesson.needs}]'")
    module = import_module(lesson.module)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    session = Session(name, lang, out_dir, stream)
    session.say("heading", number=list(LESSONS).index(name) + 1, name=name, title=describe(name, lang))
    # a lesson replays a tutorial's fixed epochs on purpose: its fits are not meant to reach the optimum,
    # and the lesson's own checks compare them with the step-by-step code instead
    with plot_language(lang), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotAtOptimumWarning)
        numbers = module.run(session)
    return session.result(numbers)
