"""``gradfit lesson [NAME]``: list the tutorial lessons, or run one in English or Korean."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import GradfitError
from ..lessons import DEFAULT_OUT_DIR, LESSONS, LessonCheckError, describe, run_lesson
from ..lessons.text import LANGUAGES

#: exit status when a lesson's step-by-step numbers and gradfit's disagree (a bug, not a user error)
EXIT_CHECK_FAILED = 1


def lesson(
    name: Annotated[str | None, typer.Argument(help=f"The lesson to run: {', '.join(LESSONS)}. "
                                                  "Leave out to list them.")] = None,
    lang: Annotated[str, typer.Option("--lang", help=f"Language of the narration: {', '.join(LANGUAGES)}.")] = "en",
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the lesson's pictures.")] = DEFAULT_OUT_DIR,
) -> None:
    """List the tutorial lessons, or run one: the tutorial's code step by step, then gradfit in one call."""
    try:
        if name is None:
            _list(lang)
        else:
            run_lesson(name, lang=lang, out_dir=out_dir)
    except LessonCheckError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CHECK_FAILED) from None
    except GradfitError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _list(lang: str) -> None:
    """one line per lesson: its name and what it teaches"""
    descriptions = {name: describe(name, lang) for name in LESSONS}
    width = max(len(name) for name in LESSONS)
    for name, text in descriptions.items():
        typer.echo(f"{name:<{width}}  {text}")
    typer.echo(f"\nRun one with: gradfit lesson NAME [--lang {'|'.join(LANGUAGES)}] [--out-dir DIR]")


def register(app: typer.Typer) -> None:
    """add the ``lesson`` command to the gradfit app"""
    app.command("lesson")(lesson)
