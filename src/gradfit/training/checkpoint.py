"""Where a descent stands, as plain data: kept in model files so a fit continues exactly where it stopped.

A fit's position is its training state (parameters in the descent's units, the
optimizer's state, epoch and step counters, the ``tol`` bookkeeping) together with
what the solver takes from the fit it resumes (preprocessing, learning rate, seed,
history). ``Checkpoint`` holds them for a model read from a file, in the shape
``gradfit.training.solver.fit(resume=...)`` takes; ``engine_state`` turns its lists back into
an engine's vectors. Values pass through JSON exactly (Python's float repr round-trips).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..descent.optim import OPTIMIZERS, OptState
from ..descent.preprocess import Preprocessor
from .history import History
from .state import Steps, TrainState
from .validation import best_from_dict

__all__ = ["Checkpoint", "descent_to_dict", "checkpoint_from_dict", "engine_state", "resumable_history", "resume_point"]


@dataclass
class Checkpoint:
    """what ``solver.fit(resume=...)`` needs to continue a descent read from a file"""

    prep: Preprocessor
    steps: Steps
    seed: int
    history: History
    state: TrainState
    interrupted: bool = False
    stopped_by: str = "epochs"

    @property
    def lr(self) -> float:
        return self.steps.lr


def resume_point(model):
    """what a model's descent continues from: its last fit in this process, or the position read from its file"""
    return getattr(model, "result_", None) or getattr(model, "checkpoint_", None)


def _as_list(v) -> list[float]:
    """an engine vector (NumPy array, torch tensor, python-engine Vec) as Python floats"""
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    values = v.v if hasattr(v, "v") else v
    return np.asarray(values, dtype=np.float64).tolist()


def descent_to_dict(point, name: str) -> dict | None:
    """the ``descent`` field of a model file (None for an optimizer state gradfit cannot write, e.g. torch.optim)"""
    state = point.state
    opt = state.opt_state
    if name not in OPTIMIZERS or type(opt) is not OptState:
        return None
    slots = dict(zip(OPTIMIZERS[name][0], (_as_list(value) for value in opt.slots)))
    outcome = getattr(point, "outcome", None)
    return {
        "epoch": state.epoch, "step": state.step, "best": state.best if math.isfinite(state.best) else None,
        "no_improve": state.no_improve, "theta": _as_list(state.theta),
        "avg": None if state.avg is None else _as_list(state.avg),
        "optimizer": {"name": name, "step": int(opt.step), "slots": slots},
        "interrupted": bool(outcome.interrupted if outcome is not None else point.interrupted),
        "stopped_by": outcome.stopped_by if outcome is not None else point.stopped_by,
        "val_best": None if state.val_best is None else state.val_best._asdict(),
        "val_no_improve": state.val_no_improve,
    }


def checkpoint_from_dict(descent: dict | None, prep: Preprocessor, steps: Steps, seed: int,
                         history: History | None) -> Checkpoint | None:
    """a Checkpoint from a model file's checked ``descent`` field (None without one, or without a history)"""
    if descent is None or history is None:
        return None
    opt = descent["optimizer"]
    names, slots = OPTIMIZERS[opt["name"]][0], opt["slots"]
    missing = [f for f in names if slots.get(f) is None]
    if missing:
        raise ValueError(f"its optimizer state lacks {missing}")
    opt_state = OptState(int(opt["step"]), tuple(slots[f] for f in names))
    best = math.inf if descent["best"] is None else float(descent["best"])
    val_best = descent.get("val_best")
    state = TrainState(list(descent["theta"]), opt_state, descent["epoch"], descent["step"], best,
                       descent["no_improve"], descent.get("avg"), best_from_dict(val_best) if val_best else None,
                       descent.get("val_no_improve", 0))
    return Checkpoint(prep, steps, seed, History.from_dict(history.to_dict()), state, descent["interrupted"],
                      descent["stopped_by"])


def engine_state(state: TrainState, engine) -> TrainState:
    """``state`` with lists (from a file) as the engine's vectors; other states pass as they are"""
    if not isinstance(state.theta, list):
        return state
    opt = state.opt_state
    avg = None if state.avg is None else engine.vector(state.avg)
    return replace(state, theta=engine.vector(state.theta), avg=avg,
                   opt_state=OptState(opt.step, tuple(engine.vector(v) for v in opt.slots)))


def resumable_history(history: History, record_every) -> History:
    """the history without the entry written only because the fit stopped off its recording schedule,
    so a resumed fit records exactly what an uninterrupted one would"""
    if record_every == "step" or len(history) < 2 or history.epoch[-1] % record_every == 0:
        return history
    trimmed = History(feature_names=history.feature_names)
    trimmed.columns = {name: values[:-1] for name, values in history.columns.items()}
    return trimmed
