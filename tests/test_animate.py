"""Animations (``views.animate``): frames spaced along the path, GIFs of the path and of the line, errors
in one line with nothing written."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import gradfit.views.animate as animate_module
from gradfit import OptionError, fit
from gradfit.training.config import FitConfig
from gradfit.views.animate import animate_line, animate_path, frame_indices

from .helpers import HEIGHT, WEIGHT


def test_frame_indices_keep_start_and_end_and_follow_the_path():
    straight = np.column_stack([np.arange(100.0), 3 * np.arange(100.0)])  # constant speed: evenly spread
    assert frame_indices(straight, 5).tolist() == [0, 25, 50, 75, 99]
    assert frame_indices(straight[:3], 40).tolist() == [0, 1, 2]
    halving = 2.0 ** -np.arange(30.0)  # each step half the last: frames crowd the start
    assert frame_indices(halving, 5).tolist() == [0, 1, 2, 29]  # half the way is the first step
    assert frame_indices(np.ones(10), 4).tolist() == [0, 3, 6, 9]  # no movement: evenly spread
    with pytest.raises(OptionError, match="option frames=1 must be an integer from 2 to 300"):
        frame_indices(straight, 1)


def test_animations_are_gifs_with_one_frame_per_sampled_entry(heights, tmp_path):
    path = animate_path(heights, tmp_path / "path.gif", frames=6, resolution=20)
    line = animate_line(heights, HEIGHT, WEIGHT, tmp_path / "line.gif", frames=5)
    for written, frames in ((path, 6), (line, 5)):
        with Image.open(written) as im:
            assert im.format == "GIF" and im.n_frames == frames
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line.gif", "path.gif"]  # no temporary files left


def test_animation_errors(heights, three, tmp_path, monkeypatch):
    with pytest.raises(OptionError, match="cannot write an animation to 'a.avi': use a .gif or .mp4 file name"):
        animate_path(heights, tmp_path / "a.avi")
    with pytest.raises(OptionError, match="option fps=0 must be an integer from 1 to 60"):
        animate_path(heights, tmp_path / "a.gif", fps=0)
    monkeypatch.setattr("gradfit.views.animate.shutil.which", lambda name: None)
    with pytest.raises(OptionError, match="writing 'a.mp4' needs ffmpeg on PATH; write a .gif instead"):
        animate_line(heights, HEIGHT, WEIGHT, tmp_path / "a.mp4")
    result, X, y = three
    with pytest.raises(OptionError, match="animate_line needs one feature; this fit has 3"):
        animate_line(result, X, y, tmp_path / "a.gif")
    assert not list(tmp_path.iterdir())


def test_animation_frames_follow_the_path_so_each_frame_moves(monkeypatch, tmp_path):
    """a fast fit: nearly all its movement is in the first epochs; evenly spread frames would all be still"""
    result = fit(HEIGHT[:, None], WEIGHT, FitConfig(lr=0.05, epochs=300, preprocess="standardize"))
    shown = {}
    real = animate_module.FuncAnimation

    def spy(fig, draw, frames, **kwargs):
        shown["frames"] = np.asarray(frames)
        return real(fig, draw, frames=frames, **kwargs)

    monkeypatch.setattr(animate_module, "FuncAnimation", spy)
    animate_path(result, tmp_path / "path.gif", frames=12, resolution=15)
    frames = shown["frames"]
    assert frames[0] == 0 and frames[-1] == len(result.history) - 1
    theta = np.column_stack([np.asarray(result.history.coef)[:, 0], result.history.intercept])
    scale = theta.max(axis=0) - theta.min(axis=0)
    moves = np.linalg.norm(np.diff(theta[frames] / scale, axis=0), axis=1)
    total = np.linalg.norm(np.diff(theta / scale, axis=0), axis=1).sum()
    assert len(frames) >= 6 and np.all(moves[:-1] > 0.02 * total)  # every frame but the last shows movement
    assert frames[len(frames) // 2] < 20  # half the frames are spent where the path moves
