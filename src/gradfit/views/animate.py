"""Animations of a descent: the path crossing the loss contours, and the line moving to the data.

GIF files are written with Pillow; MP4 files with ffmpeg, when it is on PATH. The
frame count is bounded: frames are spaced evenly along the path's length, not over
the epochs, so a fit that converges in a few epochs spends its frames on them
rather than on a long still tail; the start and the end are always kept.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter

from ..errors import OptionError
from ..io import outputs
from .plotdata import as_arrays, view
from .plots import line_equation, line_span, mark_optimum, new_axes
from .plottext import tr
from .surface import check_resolution, decorate, draw_levels, make_slice

#: the most frames one animation may have
MAX_FRAMES = 300


def frame_indices(points, frames: int) -> np.ndarray:
    """History entries to show: at most ``frames``, evenly spaced along the path, first and last included.

    ``points`` (k, m) are the path's coordinates, each scaled by its range, so that
    every frame shows about the same movement; a path that does not move is sampled evenly.
    """
    if not (isinstance(frames, (int, np.integer)) and 2 <= frames <= MAX_FRAMES):
        raise OptionError(f"option frames={frames!r} must be an integer from 2 to {MAX_FRAMES}")
    points = np.asarray(points, dtype=np.float64).reshape(len(points), -1)
    span = np.ptp(points, axis=0)
    steps = np.linalg.norm(np.diff(points / np.where(span > 0, span, 1.0), axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    if not (np.isfinite(arc[-1]) and arc[-1] > 0):
        arc = np.arange(len(points), dtype=np.float64)
    # the first entry that reaches each evenly spaced length along the path
    shown = np.searchsorted(arc, np.linspace(0.0, arc[-1], min(frames, len(points))) * (1 - 1e-12))
    shown[-1] = len(points) - 1
    return np.unique(shown)


def animate_path(model, out, X=None, y=None, params=None, frames: int = 40, fps: int = 8,
                 resolution: int = 60) -> Path:
    """Write an animation of the descent's path over the loss contours.

    Parameters
    ----------
    model : GDRegressor, FitResult or History
    out : str or Path
        A ``.gif`` (Pillow) or ``.mp4`` (needs ffmpeg) file.
    X, y : array-like, optional
        The data; needed unless the fit carries its Gram statistics.
    params : pair, optional
        The two parameters, as in :func:`gradfit.views.surface.loss_surface`.
    frames : int
        At most this many frames (history entries spaced evenly along the path).
    fps : int
        Frames per second.
    resolution : int
        Grid points along each axis of the contours.

    Returns
    -------
    Path
        The file written.
    """
    writer = _writer(out, fps)
    check_resolution(resolution)
    sl = make_slice(model, X, y, params)
    ax = new_axes()
    draw_levels(ax, sl, resolution)
    p, q = sl.project(*sl.fv.path())
    shown = frame_indices(np.column_stack([p, q]), frames)
    ax.plot([p[0]], [q[0]], "o", color="tab:green", mec="white", ms=10, label=tr("start"), zorder=7)
    star = sl.exact_point()
    if star is not None:
        mark_optimum(ax, *star)
    trail = ax.plot([], [], "-o", color="tab:red", lw=1.2, ms=2.5, label=tr("descent path"))[0]
    now = ax.plot([], [], "s", mfc="none", mec="tab:red", mew=2, ms=12, label=tr("current"), zorder=8)[0]
    decorate(ax, sl)
    history = sl.fv.history

    def draw(k: int):
        trail.set_data(p[: k + 1], q[: k + 1])
        now.set_data([p[k]], [q[k]])
        ax.set_title(tr("epoch {epoch}, step {step}: loss {loss:.5g}", epoch=history.epoch[k], step=history.step[k],
                        loss=history.loss[k]))
        return trail, now

    anim = FuncAnimation(ax.figure, draw, frames=shown)
    return _save(anim, ax.figure, out, writer)


def animate_line(model, X, y, out, frames: int = 40, fps: int = 8, target: str | None = None) -> Path:
    """Write an animation of the fitted line moving to the data (one feature).

    Parameters
    ----------
    model : GDRegressor, FitResult or History
    X : array-like, shape (n,) or (n, 1)
    y : array-like, shape (n,)
    out : str or Path
        A ``.gif`` (Pillow) or ``.mp4`` (needs ffmpeg) file.
    frames, fps : int
        At most this many frames, shown this many per second.
    target : str, optional
        Name of y for the axis label.

    Returns
    -------
    Path
        The file written.
    """
    writer = _writer(out, fps)
    fv = view(model)
    X, y = as_arrays(X, y, fv.model.n_features)
    if fv.model.n_features != 1:
        raise OptionError(f"animate_line needs one feature; this fit has {fv.model.n_features}")
    ax = new_axes()
    ax.scatter(X[:, 0], y, s=22, color="tab:blue", alpha=0.8, label=tr("data"), zorder=3)
    xs = line_span(X[:, 0])
    coefs, intercepts = fv.path()
    shown = frame_indices(np.column_stack([coefs[:, 0], intercepts]), frames)
    lines = np.outer(coefs[:, 0], xs) + intercepts[:, None]
    ax.set_ylim(*line_span(np.concatenate([y, lines[-1]]), pad=0.15))
    line = ax.plot([], [], color="tab:red", lw=2, label=tr("fit"))[0]
    ax.set(xlabel=fv.feature_names[0], ylabel=target or "y")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    history = fv.history

    def draw(k: int):
        line.set_data(xs, lines[k])
        ax.set_title(tr("epoch {epoch}: y = {equation}, loss {loss:.4g}", epoch=history.epoch[k],
                        equation=line_equation(coefs[k, 0], intercepts[k]), loss=history.loss[k]), fontsize="medium")
        return (line,)

    anim = FuncAnimation(ax.figure, draw, frames=shown)
    return _save(anim, ax.figure, out, writer)


def _writer(out, fps: int):
    """the writer for the file's suffix: Pillow for .gif, ffmpeg for .mp4"""
    if not (isinstance(fps, (int, np.integer)) and 1 <= fps <= 60):
        raise OptionError(f"option fps={fps!r} must be an integer from 1 to 60")
    suffix = Path(out).suffix.lower()
    if suffix == ".gif":
        return PillowWriter(fps=fps)
    if suffix == ".mp4":
        if shutil.which("ffmpeg") is None:
            raise OptionError(f"writing {Path(out).name!r} needs ffmpeg on PATH; write a .gif instead")
        return FFMpegWriter(fps=fps)
    raise OptionError(f"cannot write an animation to {Path(out).name!r}: use a .gif or .mp4 file name")


def _save(anim: FuncAnimation, fig, out, writer) -> Path:
    """render into a temporary folder, then write the file in one piece; close the figure"""
    out = Path(out)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            frames = Path(tmp) / f"animation{out.suffix}"
            anim.save(frames, writer=writer, dpi=80)
            outputs.write(out, frames.read_bytes())
    finally:
        plt.close(fig)
    return out
