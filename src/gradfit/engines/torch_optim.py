"""``optimizer_backend="torch"``: the shared training loop drives a real ``torch.optim`` optimizer.

Each update copies the loop's parameters into the optimizer's leaf tensor, hands it
the gradient as ``.grad``, sets the learning rate of its parameter group, calls
``step()`` and returns the new parameters, so the loop, penalties, schedules and
history stay the ones every engine shares.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch

Factory = Callable[[torch.Tensor], torch.optim.Optimizer]


class TorchOptState(NamedTuple):
    """the torch optimizer, the leaf tensor it steps, and how many steps it made"""

    step: int
    param: torch.Tensor
    optimizer: torch.optim.Optimizer


def _factory(config) -> Factory:
    """a builder of the torch.optim optimizer named by ``config.optimizer`` (lr is set per step)"""
    name, betas = config.optimizer, tuple(config.betas)
    builders = {
        "sgd": lambda p: torch.optim.SGD([p], lr=0.0, momentum=config.momentum, nesterov=config.nesterov),
        "adam": lambda p: torch.optim.Adam([p], lr=0.0, betas=betas, eps=config.eps),
        "adamw": lambda p: torch.optim.AdamW([p], lr=0.0, betas=betas, eps=config.eps,
                                             weight_decay=config.weight_decay),
        "radam": lambda p: torch.optim.RAdam([p], lr=0.0, betas=betas, eps=config.eps),
        "adagrad": lambda p: torch.optim.Adagrad([p], lr=0.0, eps=config.eps),
        "rmsprop": lambda p: torch.optim.RMSprop([p], lr=0.0, alpha=config.rho, eps=config.eps),
    }
    return builders[name]  # config.validate rejects other names first


class TorchOptimizer(NamedTuple):
    """an optimizer whose update is one ``torch.optim`` step (``rule`` None: no compiled kernel runs it)"""

    name: str
    build: Factory
    rule: None = None

    def init(self, params: torch.Tensor) -> TorchOptState:
        param = params.detach().clone().requires_grad_(True)
        return TorchOptState(0, param, self.build(param))

    def update(self, grad, state: TorchOptState, params, lr):
        param, opt = state.param, state.optimizer
        with torch.no_grad():
            param.copy_(params)  # the loop may have moved theta (L1 proximal step, warm start)
        param.grad = grad
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        opt.zero_grad(set_to_none=True)
        return param.detach().clone(), TorchOptState(state.step + 1, param, opt)


def torch_optimizer(config) -> TorchOptimizer:
    """the torch.optim optimizer of ``config.optimizer`` behind gradfit's optimizer interface"""
    return TorchOptimizer(config.optimizer, _factory(config))
