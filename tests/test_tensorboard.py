"""The TensorBoard writer: event files read back with TensorBoard's own reader (EventAccumulator).

Values are compared with the history to float32's resolution (TensorBoard stores scalars as
float32: 1e-6 relative).
"""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from gradfit import GDRegressor, load_model
from gradfit.cli import app

from .helpers import uncentered_data, wait_until

pytest.importorskip("tensorboardX", reason="the TensorBoard writer needs tensorboardX (gradfit[tensorboard])")
event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="reading event files back needs the tensorboard package (gradfit[test])")

from gradfit.training.callbacks import TensorBoardWriter  # noqa: E402


def read_scalars(logdir) -> dict[str, tuple[list[int], np.ndarray]]:
    """tag -> (steps, values) of every scalar in the event files of ``logdir``"""
    acc = event_accumulator.EventAccumulator(str(logdir), size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    return {tag: ([e.step for e in acc.Scalars(tag)], np.array([e.value for e in acc.Scalars(tag)]))
            for tag in acc.Tags()["scalars"]}


def test_every_recorded_entry_is_written_as_scalars(tmp_path):
    X, y = uncentered_data(n=60)
    X_val, y_val = uncentered_data(n=20, seed=1)
    model = GDRegressor(epochs=30, lr=0.01, momentum=0.0, preprocess="none", seed=0, batch_size=20, record_every=3,
                        callbacks=[TensorBoardWriter(tmp_path / "run")])
    model.fit(X, y, validation_data=(X_val, y_val))
    scalars = read_scalars(tmp_path / "run")
    h = model.history_
    expected = {"loss/training": h.loss, "loss/validation": h.val_loss, "grad_norm": h.grad_norm, "lr": h.lr,
                "intercept": h.intercept, **{f"coef/x{j}": [c[j] for c in h.coef] for j in range(3)}}
    assert set(scalars) == set(expected)
    for tag, values in expected.items():
        steps, written = scalars[tag]
        assert steps == h.step, tag  # at each entry's optimizer step
        np.testing.assert_allclose(written, values, rtol=1e-6, err_msg=tag)


def test_a_fit_without_held_out_data_writes_no_validation_loss(tmp_path):
    X, y = uncentered_data()
    GDRegressor(epochs=5, callbacks=[TensorBoardWriter(tmp_path)]).fit(X, y)
    assert "loss/validation" not in read_scalars(tmp_path) and "loss/training" in read_scalars(tmp_path)


def test_a_writer_survives_cloning_and_pickling(tmp_path):
    import pickle

    from sklearn.base import clone

    X, y = uncentered_data()
    model = GDRegressor(epochs=3, callbacks=[TensorBoardWriter(tmp_path / "a")]).fit(X, y)
    copy = clone(model).set_params(callbacks=clone(model).callbacks)
    assert copy.callbacks[0].logdir == tmp_path / "a" and copy.callbacks[0].file is None
    again = pickle.loads(pickle.dumps(model))
    assert again.callbacks[0].written == 0
    model.callbacks[0].close()


def test_the_cli_writes_tensorboard_scalars(tmp_path):
    X, y = uncentered_data(n=50)
    rows = "\n".join(",".join(repr(v) for v in [*x, t]) for x, t in zip(X.tolist(), y.tolist()))
    (tmp_path / "d.csv").write_text("a,b,c,y\n" + rows + "\n")
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "d.csv"), "-t", "y", "--early-stopping", "--seed", "0",
                                      "--tensorboard", str(tmp_path / "tb"), "-q", "-o", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    model = load_model(tmp_path / "m.json")
    scalars = read_scalars(tmp_path / "tb")
    assert {"coef/a", "coef/b", "coef/c", "loss/validation"} <= set(scalars)
    np.testing.assert_allclose(scalars["loss/validation"][1], model.history_.val_loss, rtol=1e-6)


def test_a_killed_fit_leaves_its_events(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 3))
    rows = "\n".join(",".join(repr(v) for v in [*x, x[0] + 2 * x[1] + 3 * x[2]]) for x in X.tolist())
    (tmp_path / "d.csv").write_text("a,b,c,y\n" + rows + "\n")
    exe = Path(sys.executable).parent / "gradfit"
    proc = subprocess.Popen([str(exe), "fit", str(tmp_path / "d.csv"), "-t", "y", "--batch-size", "1", "--lr", "1e-4",
                             "--engine", "python", "--epochs", "1000", "--tensorboard", str(tmp_path / "tb"), "-q",
                             "-o", str(tmp_path / "m.json")])
    try:
        wait_until(lambda: (tmp_path / "tb").exists()
                   and len(read_scalars(tmp_path / "tb").get("loss/training", ([],))[0]) >= 3)
    finally:
        proc.kill()
        proc.wait()
    steps, _ = read_scalars(tmp_path / "tb")["loss/training"]
    assert len(steps) >= 3 and steps == [20_000 * k for k in range(len(steps))]
    assert not (tmp_path / "m.json").exists()


def test_a_resumed_fit_draws_each_step_once(tmp_path):
    """resume writes the whole history again, after a session start that retires the first file's events"""
    X, y = uncentered_data()
    model = GDRegressor(epochs=5, batch_size=10, seed=0, tol=None, callbacks=[TensorBoardWriter(tmp_path)]).fit(X, y)
    model.callbacks[0].close()
    model.set_params(callbacks=[TensorBoardWriter(tmp_path)], epochs=10).resume(X, y)
    model.callbacks[0].close()
    assert len(list(tmp_path.iterdir())) == 2
    steps, losses = read_scalars(tmp_path)["loss/training"]
    assert steps == model.history_.step and len(set(steps)) == 11
    np.testing.assert_allclose(losses, model.history_.loss, rtol=1e-6)
