"""gradfit's optimizers reproduce torch.optim step for step (1 and 10 steps, 1e-12 relative)."""

import numpy as np
import pytest
import torch

from gradfit.descent.optim import make_optimizer
from gradfit.engines.python import Vec
from gradfit.errors import OptionError

CASES = [
    ("sgd", {}, lambda p: torch.optim.SGD(p, lr=0.1)),
    ("sgd", {"momentum": 0.9}, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    ("sgd", {"momentum": 0.8, "nesterov": True}, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, nesterov=True)),
    ("adam", {"betas": (0.8, 0.99), "eps": 1e-6}, lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.8, 0.99), eps=1e-6)),
    ("adamw", {"betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05},
     lambda p: torch.optim.AdamW(p, lr=0.1, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    ("radam", {"betas": (0.8, 0.9), "eps": 1e-6}, lambda p: torch.optim.RAdam(p, lr=0.1, betas=(0.8, 0.9), eps=1e-6)),
    ("adagrad", {"eps": 1e-10}, lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-10)),
    ("rmsprop", {"rho": 0.9, "eps": 1e-8}, lambda p: torch.optim.RMSprop(p, lr=0.1, alpha=0.9, eps=1e-8)),
]


def grad_at(p):
    """gradient of a non-quadratic test function: sum(p⁴/4 − 2p² + 3p)"""
    return p**3 - 4.0 * p + 3.0


def torch_trajectory(make, start, steps):
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make([p])
    out = []
    for _ in range(steps):
        opt.zero_grad()
        (p**4 / 4 - 2 * p**2 + 3 * p).sum().backward()
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.array(out)


def gradfit_trajectory(name, hyper, start, steps, wrap):
    opt = make_optimizer(name, **hyper)
    p = wrap(start)
    state = opt.init(p)
    out = []
    for _ in range(steps):
        p, state = opt.update(grad_at(p), state, p, 0.1)
        out.append(np.array(list(p), dtype=np.float64))
    return np.array(out)


@pytest.mark.parametrize("steps", [1, 10])
@pytest.mark.parametrize("wrap", [np.array, Vec], ids=["numpy", "python"])
@pytest.mark.parametrize("name,hyper,make", CASES, ids=[f"{c[0]}{c[1]}" for c in CASES])
def test_matches_torch_optim(name, hyper, make, wrap, steps):
    start = [1.5, -0.7, 0.2, 3.0]
    expected = torch_trajectory(make, start, steps)
    got = gradfit_trajectory(name, hyper, start, steps, wrap)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_unknown_optimizer_named():
    with pytest.raises(OptionError, match=r"option optimizer='lbfgs' is not one of"):
        make_optimizer("lbfgs")


def test_nesterov_needs_momentum():
    with pytest.raises(OptionError, match="nesterov=True needs momentum > 0"):
        make_optimizer("sgd", nesterov=True)


def test_state_slots_are_arrays_from_the_start():
    for name in ("sgd", "adam", "adamw", "adagrad", "rmsprop"):
        opt = make_optimizer(name)
        state = opt.init(np.array([1.0, 2.0]))
        assert state.step == 0 and len(state.slots) == len(opt.slots) >= 1
        assert all(isinstance(s, np.ndarray) and s.shape == (2,) and not s.any() for s in state.slots)


def test_hyperparameters_are_named():
    opt = make_optimizer("adamw", betas=(0.8, 0.9), eps=1e-7, weight_decay=0.3)
    assert opt.hyper._asdict() == {"beta1": 0.8, "beta2": 0.9, "eps": 1e-7, "weight_decay": 0.3}
    assert make_optimizer("adam", weight_decay=0.3).hyper.weight_decay == 0.0  # Adam has no decoupled decay


def test_average_is_the_mean_of_the_iterates_after_the_start():
    from gradfit.descent.optim import average

    iterates = [np.array([float(k), -2.0 * k]) for k in range(1, 8)]
    avg = None
    for t, p in enumerate(iterates, start=1):
        avg = average(avg, p, t, 3)
    np.testing.assert_allclose(avg, np.mean(iterates[3:], axis=0), rtol=1e-15)
