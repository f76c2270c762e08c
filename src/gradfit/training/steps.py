"""The steps of a fit, with 'auto' resolved from this data's curvature: learning rate, momentum,
schedule and epochs.

The learning rate is Polyak's heavy ball (full-batch SGD on a smooth quadratic objective), the safe
step 1/L_b (minibatches, an L1 part, early stopping, Huber), about 1% of the solution's size
(adaptive optimizers) or the subgradient method's step (a loss with a kink); ``choose_steps`` gives
the rules, with the schedule and the epochs that go with them. ``divergence_advice`` is what the loop's
divergence guard suggests.
"""

from __future__ import annotations

import math

from ..descent import curvature as curv
from ..descent.batching import n_batches
from ..descent.schedules import adaptive_lr, power_iteration, safe_sgd_lr
from ..errors import OptionError
from .config import FitConfig
from .prepare import Prepared
from .state import Steps
from .verdict import DEFAULT_TOL

#: epochs='auto': the most epochs a full-batch fit is given, and the epochs of a minibatch fit
MAX_AUTO_EPOCHS = 100_000
STOCHASTIC_EPOCHS = 100


def choose_steps(config: FitConfig, p: Prepared) -> Steps:
    """the learning rate, momentum, schedule and epochs, with 'auto' resolved for this data.

    lr='auto' with full-batch SGD takes Polyak's heavy ball tuned to the Hessian's extreme
    eigenvalues (momentum='auto'), the fastest fixed-step descent on a quadratic (with an L1
    penalty, plain proximal steps of 1/L instead); with minibatches it takes the safe step 1/L_b ((1 − β)/L_b
    with a given momentum β) and a cosine schedule that ends at lr=0, so the minibatch noise dies out by the
    last epoch; other optimizers take a step about 1% of the
    solution's size and the cosine schedule. A given lr keeps a constant schedule and no momentum.
    With early stopping, full-batch SGD takes the plain step 1/L (no heavy ball), whose training
    objective falls every epoch.

    A loss that is not quadratic has no heavy ball: Huber takes the safe step 1/L_b of its
    curvature bound (the half squared error's), a loss with a kink the subgradient method's
    step ‖θ*‖ / (G·√T) (G the largest gradient of a row, T the steps of the run), both with
    the cosine schedule, which ends at lr=0.
    """
    lr, momentum = _step_size(config, p)
    schedule = config.schedule
    if schedule == "auto":
        adaptive = config.lr == "auto" and (stochastic(config, p) or config.optimizer != "sgd"
                                            or not p.model.loss.is_quadratic)
        schedule = "cosine" if adaptive else "constant"
    epochs = config.epochs if config.epochs != "auto" else _auto_epochs(config, p, lr, momentum)
    return Steps(lr, momentum, schedule, epochs)


def _step_size(config: FitConfig, p: Prepared) -> tuple[float, float]:
    """(lr, momentum); ``prepare._asks_row_norm`` says in advance which of these paths reads the largest row norm"""
    momentum = 0.0 if config.momentum == "auto" else float(config.momentum)
    if config.lr != "auto":
        return float(config.lr), momentum
    if config.optimizer != "sgd":
        return adaptive_lr(p.exact.theta if p.exact else [1.0]), momentum
    if math.isinf(p.model.loss.curvature):
        return _subgradient_lr(config, p), momentum
    # the heavy ball for smooth objectives; with an L1 part, plain proximal steps (ISTA), which surely converge;
    # under early stopping plain steps too: the heavy ball's objective first swings up, which the held-out
    # rule would take for overfitting, while plain steps lower the training objective every epoch
    smooth = not stochastic(config, p) and p.model.l1 == 0.0 and p.model.loss.is_quadratic
    if smooth and config.momentum == "auto" and not config.early_stopping and p.curvature is not None \
            and p.curvature.mu > 0.0:
        return p.curvature.heavy_ball()
    lr = sgd_safe_lr(config, p)
    if lr is None:
        raise OptionError(f"option lr='auto' needs the curvature of the data, which is not gathered for "
                          f"{p.model.n_features} features; give lr a number")
    return lr, momentum


def _subgradient_lr(config: FitConfig, p: Prepared) -> float:
    """‖θ*‖∞ / (G·√T): the subgradient method's step for a run of T steps with gradients of at most G"""
    size = max((abs(t) for t in p.exact.theta), default=0.0) if p.exact is not None else 1.0
    G = p.model.loss.slope * math.sqrt(p.engine.max_row_sq_norm())
    epochs = config.epochs if config.epochs != "auto" else _auto_epochs(config, p, 0.0, 0.0)
    steps = max(1, epochs) * (-(-p.engine.n_rows // config.batch_size) if stochastic(config, p) else 1)
    return max(size, 1e-3) / (max(G, 1e-12) * math.sqrt(steps))


def _auto_epochs(config: FitConfig, p: Prepared, lr: float, momentum: float) -> int:
    """epochs='auto': a minibatch fit gets STOCHASTIC_EPOCHS; a full-batch SGD fit three times the
    epochs its contraction rate needs to reach tol from the exact curvature (at least 1000)"""
    if stochastic(config, p):
        return STOCHASTIC_EPOCHS
    c = p.curvature
    if config.optimizer != "sgd" or c is None or not c.mu > 0.0 or not p.model.loss.is_quadratic:
        return 1000
    if momentum > 0.0:
        rate = max(momentum**0.5, abs(1.0 - lr * c.mu))  # heavy ball: √β at best, never faster than GD's
    else:
        rate = max(abs(1.0 - lr * c.mu), abs(1.0 - lr * c.L))
    if not rate < 1.0:
        return 1000
    needed = math.log(config.tol or DEFAULT_TOL) / math.log(rate) if rate > 0.0 else 1.0
    return int(min(MAX_AUTO_EPOCHS, max(1000, math.ceil(3.0 * needed + 100))))


def stochastic(config: FitConfig, p: Prepared) -> bool:
    """minibatches smaller than the data (per-sample or minibatch SGD), not full batch"""
    return n_batches(p.engine.n_rows, config.batch_size) > 1


def sgd_safe_lr(config: FitConfig, p: Prepared) -> float | None:
    """1/L_b from the curvature of the objective (power iteration on its Hessian); None without statistics.

    With minibatches and a given momentum β (heavy ball or Nesterov), (1 − β)/L_b: a momentum buffer
    accumulates the noisy gradients into a step about lr/(1 − β) long, which is what must stay within 1/L_b
    (the stochastic heavy ball's bound). Full batch keeps 1/L: the heavy ball is stable for lr·L < 2(1 + β).
    """
    if p.quad is None:
        return None
    L = p.curvature.L if p.curvature is not None else power_iteration(curv.hessian(p.quad, p.model))
    if not stochastic(config, p):
        return safe_sgd_lr(L, L, p.engine.n_rows, config.batch_size)
    R = p.curvature_bound * p.engine.max_row_sq_norm() + p.model.l2
    return (1.0 - _given_momentum(config)) * safe_sgd_lr(L, R, p.engine.n_rows, config.batch_size)


def _given_momentum(config: FitConfig) -> float:
    """the momentum SGD runs with when it is not the heavy ball that lr='auto' tunes (0.0 for 'auto')"""
    if config.optimizer != "sgd" or config.momentum == "auto":
        return 0.0
    return float(config.momentum)


def divergence_advice(config: FitConfig, p: Prepared, lr: float) -> tuple[float | None, str]:
    """(the step to suggest, the sentence that says so) after a fit diverged at step size ``lr``: the stable
    step where it is below ``lr``; otherwise (a step that should have been stable) a tenth of ``lr``, and
    never lr='auto' when that is what ran"""
    safe = sgd_safe_lr(config, p) if config.optimizer == "sgd" else None
    auto = config.lr == "auto"
    if safe is not None and safe < lr:
        return safe, f"a stable learning rate for this data is lr={safe:.3g} or below" + (
            "" if auto else " (or use lr='auto')")
    smaller = 0.1 * lr
    momentum = " or less momentum" if _given_momentum(config) > 0.0 else ""
    if safe is None:
        return smaller, f"try a smaller step, lr={smaller:.3g}{momentum}"
    chose = "lr='auto' chose it from the data's curvature" if auto else \
        f"it is within this data's stable step {safe:.3g}"
    return smaller, f"{chose}, yet it diverged: try lr={smaller:.3g}{momentum}"
