"""The torch engine: tensors on a device, gradients from autograd.

The loss is written the way PyTorch tutorials write it, ``hypothesis = x * W + b``
and ``cost = mean((hypothesis - y) ** 2)``, with W and b leaf tensors that require
grad; ``cost.backward()`` fills ``W.grad`` and ``b.grad``, which are cleared before
every step like ``optimizer.zero_grad()``. Preprocessing is folded into the
parameters (v = W / scale, offset = b − shift·v + y_shift), never into a copy of X.
Data too large for the device is streamed from pinned host memory (``torch_data``);
``optimizer_backend="torch"`` drives ``torch.optim`` itself (``torch_optim``).
"""

from __future__ import annotations

import contextlib
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from ..descent.losses import Loss
from ..descent.model import LinearModel, soft_threshold
from ..descent.weights import WeightInfo
from ..errors import DataError, OptionError
from ..optimum.accurate import DD, ResidualPass, residual_pass
from ..optimum.gram import GramStats, block_stats
from ..optimum.normal import head_pilot
from ..views.graph import Graph, autograd_graph, hypothesis_text
from .base import Engine, Rows
from .torch_data import as_tensor, place, resolve_device, resolve_dtype
from .torch_optim import torch_optimizer

__all__ = ["TorchEngine", "hypothesis", "cost", "autograd_gradient"]

OPTIONS = {"stream": "None, True or False", "chunk_rows": "an integer >= 1"}


def hypothesis(X: torch.Tensor, W: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """H(x) = x·W + b for each row (``x * W`` for one feature, as the tutorials write it)"""
    h = X[:, 0] * W if X.shape[1] == 1 else X @ W
    return h if b is None else h + b


def cost(X, y, W, b, loss: Loss, weight: float = 1.0, w: torch.Tensor | None = None) -> torch.Tensor:
    """mean over rows of the loss of H(x) − y (each row's times its weight ``w``), times ``weight``
    (a block's share of a streamed pass)"""
    with default_dtype(X.dtype):  # a comparison times a Python float is then in X's precision
        values = loss.value(hypothesis(X, W, b) - y, loss.params)
        mean = values.mean() if w is None else (values * w).mean()
    return mean if weight == 1.0 else mean * weight


def split(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(targets, weights) of the y the data keeps (weights as its second column in a weighted fit)"""
    return (y[:, 0], y[:, 1]) if y.ndim == 2 else (y, None)


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype):
    """torch's default dtype set to ``dtype`` for a while: the loss formulas turn comparisons into numbers
    by multiplying with Python floats, which torch makes in the default dtype (float32 unless set)"""
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


class Fold(NamedTuple):
    """preprocessing as tensors: x̃ = (x − shift) / scale, ỹ = y − y_shift"""

    shift: torch.Tensor
    scale: torch.Tensor
    y_shift: torch.Tensor

    def raw(self, W: torch.Tensor, b: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(v, offset) with x̃·W + b − ỹ = x·v + offset − y"""
        v = W / self.scale
        offset = (b if b is not None else 0.0) - self.shift @ v
        return v, offset + self.y_shift


def _check_options(options: dict) -> dict:
    for key in options:
        if key not in OPTIONS:
            raise OptionError(f"option engine_options[{key!r}] is not known to the torch engine; "
                              f"known: {sorted(OPTIONS)}")
    stream, rows = options.get("stream"), options.get("chunk_rows")
    if stream not in (None, True, False):
        raise OptionError(f"option engine_options['stream']={stream!r} must be {OPTIONS['stream']}")
    if rows is not None and not (isinstance(rows, int) and not isinstance(rows, bool) and rows >= 1):
        raise OptionError(f"option engine_options['chunk_rows']={rows!r} must be {OPTIONS['chunk_rows']}")
    return {"stream": stream, "chunk_rows": rows}


def _n_selected(rows: Rows, n: int) -> int:
    if rows is None:
        return n
    if isinstance(rows, slice):
        return len(range(n)[rows])
    return len(rows)


class TorchEngine(Engine):
    """torch tensors in float32 or float64 on "cpu", "cuda", "cuda:N" or "mps"

    ``engine_options``: ``stream`` (None: decide from free device memory; True: keep X
    in host memory and copy batches over; False: put X on the device) and
    ``chunk_rows`` (rows per block of a full pass).
    """

    name = "torch"
    optimizer_backends = ("gradfit", "torch")

    def __init__(self, X, y, *, dtype: str = "float64", device: str = "cpu", **engine_options):
        options = _check_options(engine_options)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        # host arrays given in float64 keep their digits for the statistics (and so the exact answer)
        self.source = (X, y) if isinstance(X, np.ndarray) and self.dtype != torch.float64 else None
        X, y = as_tensor(X, self.dtype, "X"), as_tensor(y, self.dtype, "y").reshape(-1)
        if X.ndim != 2 or X.shape[0] != y.shape[0]:
            raise DataError(f"X must be a table of shape (n_rows, n_features) with one y per row; "
                            f"got X of shape {tuple(X.shape)} and {y.shape[0]} values of y")
        self.n_rows, self.n_features = X.shape
        self.stats_device = torch.device("cpu") if self.device.type == "mps" else self.device
        self.data = place(X, y, self.device, options["stream"], options["chunk_rows"])

    @property
    def streaming(self) -> bool:
        """whether X stays in host memory and is copied to the device batch by batch"""
        return self.data.streaming

    def weigh(self, weights) -> None:
        """the weights become y's second column, so each batch and block carries its rows' weights"""
        super().weigh(weights)
        if weights is not None:
            y = self.data.y
            stacked = torch.stack([y, torch.as_tensor(weights, dtype=y.dtype).to(y.device)], dim=1)
            self.data.y = stacked.pin_memory() if getattr(self.data, "pinned", False) else stacked

    def _tensor(self, values) -> torch.Tensor:
        return torch.tensor(values, dtype=self.dtype, device=self.device)

    def prepare(self, model: LinearModel, prep) -> None:
        super().prepare(model, prep)
        self.fold = None if prep.is_identity else Fold(
            self._tensor(prep.x_shift), self._tensor(prep.x_scale), self._tensor(prep.y_shift))
        self.W = torch.zeros(self.n_features, dtype=self.dtype, device=self.device, requires_grad=True)
        self.b = (torch.zeros(1, dtype=self.dtype, device=self.device, requires_grad=True)
                  if model.fit_intercept else None)

    def vector(self, values: Sequence[float]) -> torch.Tensor:
        return self._tensor([float(v) for v in values])

    def to_list(self, v: torch.Tensor) -> list[float]:
        return [float(x) for x in v.detach().cpu().tolist()]

    def norm(self, v: torch.Tensor) -> float:
        return float(torch.linalg.vector_norm(v))

    def prox_l1(self, theta: torch.Tensor, threshold: float) -> torch.Tensor:
        d, out = self.n_features, theta.clone()
        out[:d] = soft_threshold(theta[:d], threshold)
        return out

    def make_optimizer(self, config):
        """a ``torch.optim`` optimizer driven by the shared loop (``optimizer_backend="torch"``)"""
        return torch_optimizer(config)

    def _zeroed_leaves(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """W and b holding theta, their gradients cleared (``zero_grad(set_to_none=True)``)"""
        d = self.n_features
        with torch.no_grad():
            self.W.copy_(theta[:d])
            if self.b is not None:
                self.b.copy_(theta[d:])
        for leaf in (self.W, self.b):
            if leaf is not None:
                leaf.grad = None
        return self.W, self.b

    def _cost(self, X, y, W, b, weight: float) -> torch.Tensor:
        v, offset = (W, b) if self.fold is None else self.fold.raw(W, b)
        y, w = split(y)
        return cost(X, y, v, offset, self.model.loss, weight, w)

    def loss_grad(self, theta: torch.Tensor, rows: Rows = None) -> tuple[float, torch.Tensor]:
        """the data loss over ``rows`` and its gradient, by ``backward()`` (block by block when streamed)"""
        W, b = self._zeroed_leaves(theta)
        m = _n_selected(rows, self.n_rows)
        total = torch.zeros((), dtype=self.dtype, device=self.device)
        for X, y in self.data.pieces(rows):
            value = self._cost(X, y, W, b, X.shape[0] / m)
            value.backward()  # accumulates into W.grad and b.grad across the blocks of a streamed pass
            total = total + value.detach()
        grads = [W.grad] + ([b.grad] if b is not None else [])
        return float(total), torch.cat(grads)

    def _f64(self, values) -> torch.Tensor:
        """a float64 tensor where the statistics are computed"""
        return torch.tensor(values, dtype=torch.float64, device=self.stats_device)

    def _blocks64(self):
        """(X, y, w) of all rows block by block in float64 (on the host for MPS, which has no float64);
        w: the block's weights in float64 as given (None: unweighted)"""
        w64 = None if self.weights is None else torch.as_tensor(self.weights, device=self.stats_device)
        start = 0
        for X, y in self.data.blocks():
            rows = X.shape[0]
            w = None if w64 is None else w64[start : start + rows]
            yield X.to(self.stats_device, torch.float64), split(y)[0].to(self.stats_device, torch.float64), w
            start += rows

    def residual_pass(self, coef, intercept, precise=False) -> ResidualPass:
        """on the device in float64; ``precise``: block by block on the host in double-double"""
        if self.source is not None:
            return residual_pass(*self.design(), coef, intercept, precise, self.weights)
        if precise:
            parts = [residual_pass(X.cpu().numpy(), y.cpu().numpy(), coef, intercept, True,
                                   None if w is None else w.cpu().numpy())
                     for X, y, w in self._blocks64()]
            return sum(parts[1:], parts[0])
        c = self._f64([float(v) for v in coef])
        ss, grad = self._f64(0.0), self._f64([0.0] * (self.n_features + 1))
        for X, y, w in self._blocks64():
            r = y - X @ c - float(intercept)
            wr = r if w is None else w * r
            ss += r @ wr
            grad += torch.cat([wr @ X, wr.sum().reshape(1)])
        g = grad.cpu().numpy()
        return ResidualPass(float(ss), DD(g, np.zeros_like(g)))

    def design(self) -> tuple[np.ndarray, np.ndarray]:
        """the data in float64 on the host: as given when it came as float64 arrays, whatever the dtype"""
        if self.source is not None:
            X, y = self.source
            return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64).reshape(-1)
        blocks = [(X.cpu().numpy(), y.cpu().numpy()) for X, y, _ in self._blocks64()]
        return np.concatenate([X for X, _ in blocks]), np.concatenate([y for _, y in blocks])

    def max_row_sq_norm(self) -> float:
        shift, scale = self._f64(self.prep.x_shift), self._f64(self.prep.x_scale)
        best, extra = self._f64(0.0), 1.0 if self.model.fit_intercept else 0.0
        for X, _, w in self._blocks64():
            xt = (X - shift) / scale
            norms = (xt * xt).sum(dim=1) + extra
            best = torch.maximum(best, (norms if w is None else norms * w).max())
        return float(best)

    def gram(self) -> GramStats:
        """centered (weighted) Gram statistics in float64, accumulated on the device block by block (two passes)"""
        if self.source is not None:
            X, y = self.design()
            return block_stats(X, y, weights=self.weights, pilot=head_pilot(X, y, self.weights))
        n = self.n_rows
        x_sum, y_sum, total = self._f64([0.0] * self.n_features), self._f64(0.0), self._f64(0.0)
        for X, y, w in self._blocks64():
            x_sum += X.sum(dim=0) if w is None else w @ X
            y_sum += y.sum() if w is None else w @ y
            total += X.shape[0] if w is None else w.sum()
        x_mean, y_mean = x_sum / total, y_sum / total
        xtx = torch.zeros((self.n_features,) * 2, dtype=torch.float64, device=self.stats_device)
        xty, yty = self._f64([0.0] * self.n_features), self._f64(0.0)
        for X, y, w in self._blocks64():
            xc, yc = X - x_mean, y - y_mean
            wxc, wyc = (xc, yc) if w is None else (xc * w[:, None], yc * w)
            xtx += wxc.T @ xc
            xty += wxc.T @ yc
            yty += wyc @ yc
        info = None if self.weights is None else WeightInfo(float(total), 1.0, 0.0)
        return GramStats(n, x_mean.cpu().numpy(), float(y_mean), xtx.cpu().numpy(), xty.cpu().numpy(), float(yty),
                         weights=info)

    def close(self) -> None:
        """drop the data (and its device memory)"""
        self.data = None

    @classmethod
    def computation_graph(cls, model: LinearModel, names: tuple[str, str]) -> Graph:
        """the autograd graph of this engine's cost, its leaves labelled by ``names``"""
        d, f64 = model.n_features, torch.float64
        W = torch.zeros(d, dtype=f64, requires_grad=True)
        b = torch.zeros(1, dtype=f64, requires_grad=True) if model.fit_intercept else None
        value = cost(torch.zeros((2, d), dtype=f64), torch.zeros(2, dtype=f64), W, b, model.loss)
        leaves = {names[0]: W, **({names[1]: b} if b is not None else {})}
        return autograd_graph(value, leaves, title=f"H(x) = {hypothesis_text(model, names)} (engine='torch', autograd)")


def autograd_gradient(f: Callable[[torch.Tensor], torch.Tensor], dtype: str = "float64"
                      ) -> Callable[[Sequence[float]], list[float]]:
    """the gradient of ``f`` by autograd, as a function of a list of floats

    Parameters
    ----------
    f : callable
        Takes a 1-D tensor ``x`` of shape (k,) and returns a scalar tensor computed
        from it with torch operations.
    dtype : {"float64", "float32"}
        Precision of ``x``.

    Returns
    -------
    callable
        ``gradient(x: list[float]) -> list[float]`` of length k.

    Examples
    --------
    >>> grad = autograd_gradient(lambda x: (x ** 2).sum())
    >>> grad([1.0, -2.0])
    [2.0, -4.0]
    """
    torch_dtype = resolve_dtype(dtype, torch.device("cpu"))

    def gradient(x: Sequence[float]) -> list[float]:
        t = torch.tensor([float(v) for v in x], dtype=torch_dtype, requires_grad=True)
        value = f(t)
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            got = f"a tensor of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__
            raise OptionError(f"option grad='autograd' needs f to return a scalar torch tensor; it returned {got}")
        if value.grad_fn is None:
            raise OptionError("option grad='autograd' needs f to compute its result from x with torch operations; "
                              "its result does not depend on x (was it computed with NumPy, float() or .item()?)")
        value.reshape(()).backward()
        return [float(g) for g in t.grad.tolist()]

    return gradient
