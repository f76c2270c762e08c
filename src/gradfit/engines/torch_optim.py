"""``optimizer_backend="torch"``: the shared training loop drives a real ``torch.optim`` optimizer.

Each update copies the loop's parameters into the optimizer's leaf tensor, hands it
the gradient as ``.grad``, sets the learning rate of its parameter group, calls
``step()`` and returns what the step changed (new − old), so the loop, penalties,
schedules and history stay the ones every engine shares.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch

from ..optim import Optimizer, make_optimizer

Factory = Callable[[torch.Tensor], torch.optim.Optimizer]


class TorchOptState(NamedTuple):
    """the torch optimizer, the leaf tensor it steps, and how many steps it made"""

    step: int
    param: torch.Tensor
    optimizer: torch.optim.Optimizer


def _factory(config) -> Factory:
    """a builder of the torch.optim optimizer named by ``config.optimizer`` (lr is set per step)"""
    name = config.optimizer
    if name == "sgd":
        return lambda p: torch.optim.SGD([p], lr=0.0, momentum=config.momentum, nesterov=config.nesterov)
    if name == "adam":
        return lambda p: torch.optim.Adam([p], lr=0.0, betas=tuple(config.betas), eps=config.eps)
    if name == "adagrad":
        return lambda p: torch.optim.Adagrad([p], lr=0.0, eps=config.eps)
    if name == "rmsprop":
        return lambda p: torch.optim.RMSprop([p], lr=0.0, alpha=config.rho, eps=config.eps)
    raise ValueError(f"no torch.optim optimizer for {name!r}")  # config.validate rejects such names first


def torch_optimizer(config) -> Optimizer:
    """a gradfit Optimizer whose update is one ``torch.optim`` step"""
    build = _factory(config)

    def init(params: torch.Tensor) -> TorchOptState:
        param = params.detach().clone().requires_grad_(True)
        return TorchOptState(0, param, build(param))

    def update(grad, state: TorchOptState, params, lr):
        param, opt = state.param, state.optimizer
        with torch.no_grad():
            param.copy_(params)  # the loop may have moved theta (L1 proximal step, warm start)
        param.grad = grad
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        opt.zero_grad(set_to_none=True)
        return param.detach() - params, TorchOptState(state.step + 1, param, opt)

    shared = make_optimizer(config.optimizer, momentum=config.momentum, nesterov=config.nesterov,
                            betas=tuple(config.betas), eps=config.eps, rho=config.rho)
    return Optimizer(config.optimizer, init, update, {**shared.hyper, "backend": "torch"})
