"""Schedules match torch.optim.lr_scheduler stepped once per epoch; lr='auto' is safe."""

import math

import numpy as np
import pytest
import torch

from gradfit.descent.schedules import make_schedule, power_iteration, safe_sgd_lr
from gradfit.errors import OptionError


def torch_lrs(make_sched, epochs):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    sched = make_sched(opt)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


@pytest.mark.parametrize("name,options,make", [
    ("step", {"step_size": 3, "gamma": 0.3}, lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.3)),
    ("exponential", {"gamma": 0.9}, lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9)),
    ("cosine", {"lr_min": 0.01}, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 12, eta_min=0.01)),
])
def test_schedule_matches_torch(name, options, make):
    ours = make_schedule(name, 0.5, 12, options)
    np.testing.assert_allclose([ours(e) for e in range(12)], torch_lrs(make, 12), rtol=1e-12)


def test_constant_and_invscaling():
    assert make_schedule("constant", 0.3, 5)(4) == 0.3
    inv = make_schedule("invscaling", 1.0, 5, {"power_t": 0.5})
    assert inv(0) == 1.0 and math.isclose(inv(3), 0.5)


def test_unknown_schedule_and_option_named():
    with pytest.raises(OptionError, match=r"option schedule='warmup' is not one of"):
        make_schedule("warmup", 0.1, 10)
    with pytest.raises(OptionError, match=r"schedule_options has \['gamma'\], which schedule='constant' does not take"):
        make_schedule("constant", 0.1, 10, {"gamma": 0.5})


def test_power_iteration_finds_largest_eigenvalue():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6))
    H = A @ A.T
    assert math.isclose(power_iteration(H), np.linalg.eigvalsh(H)[-1], rel_tol=1e-8)


def test_safe_lr_interpolates_between_batch_and_row_curvature():
    assert safe_sgd_lr(2.0, 10.0, 100, None) == 0.5
    assert safe_sgd_lr(2.0, 10.0, 100, 1) == pytest.approx(0.1)
    assert 0.1 < safe_sgd_lr(2.0, 10.0, 100, 10) < 0.5
