"""Interruption and resume through the real command (issue 15, items 11 and 12).

The CLI runs as a subprocess; a small harness (``HARNESS``) prints a marker on stderr and
waits at a chosen optimizer step (or while outputs are committed), so the test knows
where the signal lands without any timing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from gradfit import load_model
from gradfit.cli import app

#: runs ``gradfit`` with a pause at step GRADFIT_PAUSE_STEP and (optionally) during the commit of outputs
HARNESS = r"""
import os, sys, time
import gradfit.training.train as train, gradfit.io.outputs as outputs
pause, at_commit = int(os.environ.get("GRADFIT_PAUSE_STEP", "-1")), os.environ.get("GRADFIT_PAUSE_COMMIT")
apply = train.Loop.apply
def paused_apply(self, state, grad, lr):
    apply(self, state, grad, lr)
    if state.step == pause:
        print("PAUSED", flush=True, file=sys.stderr)
        time.sleep(120)
train.Loop.apply = paused_apply
commit = outputs.Transaction.commit
def paused_commit(self):
    if at_commit:
        print("COMMITTING", flush=True, file=sys.stderr)
        time.sleep(3)
    commit(self)
outputs.Transaction.commit = paused_commit
sys.argv[0] = "gradfit"
from gradfit.cli import main
main()
"""

SETTINGS = ["--engine", "python", "--optimizer", "adam", "--lr", "0.05", "--batch-size", "4", "--seed", "3",
            "--epochs", "12", "--record-every", "3", "--schedule", "cosine"]


@pytest.fixture
def data_csv(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(23, 2))
    y = X @ [1.5, -2.0] + 0.3 + 0.1 * rng.normal(size=23)
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n" + "".join(f"{a!r},{b!r},{t!r}\n" for (a, b), t in zip(X.tolist(), y.tolist())))
    return path


def _start(args, cwd, **env):
    return subprocess.Popen([sys.executable, "-c", HARNESS, *map(str, args)], cwd=cwd, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, **env})


def _wait_for(proc, marker: str) -> None:
    for line in proc.stderr:
        if marker in line:
            return
    raise AssertionError(f"the command ended before {marker}: {proc.wait()}")


def _finish(proc) -> tuple[int, str]:
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, err


def run(*args):
    """the command in this process"""
    return CliRunner().invoke(app, [str(a) for a in args])


def _same_descent(a, b) -> None:
    assert a.coef_.tolist() == b.coef_.tolist() and a.intercept_ == b.intercept_
    assert (a.n_iter_, a.t_) == (b.n_iter_, b.t_)
    for name in ("epoch", "step", "loss", "coef", "intercept", "grad_norm", "lr"):
        assert a.history_.columns[name] == b.history_.columns[name], name


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_keeps_the_model_exits_130_and_resume_ends_bit_for_bit(sig, data_csv, tmp_path, monkeypatch):
    monkeypatch.chdir(os.getcwd())  # restored after the test
    step = int(np.random.default_rng().integers(1, 70))  # 6 steps an epoch, 72 in all: a random one, mid-epoch or not
    proc = _start(["fit", data_csv, "-t", "y", "-o", "cut.json", "-q", *SETTINGS], tmp_path,
                  GRADFIT_PAUSE_STEP=str(step))
    _wait_for(proc, "PAUSED")
    proc.send_signal(sig)
    code, err = _finish(proc)
    assert code == 130, err
    epoch = (step - 1) // 6  # the step that paused may be the last of its epoch, not yet counted
    assert err.strip().splitlines()[-1] == (
        f"interrupted at epoch {epoch} of 12: the model as it stands is in cut.json; "
        f"continue with: gradfit fit {data_csv} --target y --resume cut.json"), (step, err)
    cut = load_model(tmp_path / "cut.json")
    assert cut.n_iter_ == epoch and cut.t_ == 6 * epoch  # back to the last whole epoch
    os.chdir(tmp_path)  # (the harness ran there too; the CLI runs in this process from here)
    assert run("fit", data_csv, "-t", "y", "-o", "whole.json", "-q", *SETTINGS).exit_code == 0
    assert run("fit", data_csv, "-t", "y", "--resume", "cut.json", "-q").exit_code == 0
    _same_descent(load_model(tmp_path / "cut.json"), load_model(tmp_path / "whole.json"))
    again = run("fit", data_csv, "-t", "y", "--resume", "cut.json")
    assert again.exit_code == 0 and again.stderr == "nothing to resume: the fit in cut.json finished (12 of 12 epochs)\n"


def test_a_second_ctrl_c_does_not_lose_what_the_first_kept(data_csv, tmp_path):
    (tmp_path / "cut.json").write_text("previous")
    proc = _start(["fit", data_csv, "-t", "y", "-o", "cut.json", "--history", "h.csv", "-q", *SETTINGS], tmp_path,
                  GRADFIT_PAUSE_STEP="20", GRADFIT_PAUSE_COMMIT="1")
    _wait_for(proc, "PAUSED")
    proc.send_signal(signal.SIGINT)
    _wait_for(proc, "COMMITTING")
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGTERM)
    code, err = _finish(proc)
    assert code == 130 and "still writing what was kept" in err and "Traceback" not in err
    assert load_model(tmp_path / "cut.json").n_iter_ == 3 and (tmp_path / "h.csv").read_text().startswith("epoch")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.json", "d.csv", "h.csv"]


def test_an_interrupt_in_the_first_epoch_keeps_the_start(data_csv, tmp_path):
    proc = _start(["fit", data_csv, "-t", "y", "-o", "m.json", "-q", *SETTINGS], tmp_path, GRADFIT_PAUSE_STEP="1")
    _wait_for(proc, "PAUSED")
    proc.send_signal(signal.SIGINT)
    code, err = _finish(proc)
    assert code == 130 and "interrupted at epoch 0 of 12" in err
    assert load_model(tmp_path / "m.json").n_iter_ == 0


def test_resume_refuses_changed_settings_and_files_without_state(data_csv, tmp_path):
    assert run("fit", data_csv, "-t", "y", "-o", tmp_path / "m.json", "-q", "--epochs", "3").exit_code == 0
    changed = run("fit", data_csv, "-t", "y", "--resume", tmp_path / "m.json", "--lr", "0.1")
    assert changed.exit_code == 2 and "option --lr cannot be changed with --resume" in changed.stderr
    doc = json.loads((tmp_path / "m.json").read_text())
    doc["descent"] = None
    doc["n_iter"] = 1
    (tmp_path / "old.json").write_text(json.dumps(doc))
    stateless = run("fit", data_csv, "-t", "y", "--resume", tmp_path / "old.json")
    assert stateless.exit_code == 2 and "keeps no descent state to continue" in stateless.stderr
