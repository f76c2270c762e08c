"""The torch engine walks the numpy engine's trajectory, through autograd and through torch.optim.

Tolerances, relative to each history column's scale (``assert_same_history``): float64
1e-9 and float32 1e-5 on every recorded value (loss, coef, intercept, grad_norm, lr),
for every optimizer x batching x optimizer backend. Adaptive optimizers normalize each
gradient coordinate, so a coordinate whose true gradient is exactly zero (the
intercept on centered data) turns rounding noise into lr-sized steps on every engine:
the grid uses uncentered data with preprocess="none"; centering and standardizing are
crossed with SGD. The independent reference for the tutorial test is a plain PyTorch
loop written as the tutorials write it.
"""

import io
import re

import numpy as np
import pytest
import torch

from gradfit.descent.model import LinearModel
from gradfit.descent.preprocess import Preprocessor
from gradfit.engines import get_engine
from gradfit.engines.torch import TorchEngine, autograd_gradient
from gradfit.engines.torch_data import DeviceData, HostData, needs_streaming, resolve_dtype
from gradfit.engines.torch_optim import TorchOptState
from gradfit.errors import DataError, OptionError
from gradfit.optimum.gram import block_stats
from gradfit.training.config import FitConfig
from gradfit.training.solver import fit

from .helpers import assert_same_history, uncentered_data
from .test_engine_grid import BATCHES, LOSSES, OPTIMIZERS

RTOL = {"float64": 1e-9, "float32": 1e-5}
BACKENDS = ("gradfit", "torch")


_REFERENCES: dict = {}


def numpy_run(**settings):
    """the numpy engine's fit for these settings (kept: each is the reference of several torch runs)"""
    key = repr(sorted(settings.items()))
    if key not in _REFERENCES:
        _REFERENCES[key] = run("numpy", **settings)
    return _REFERENCES[key]


def run(engine, data=None, **settings):
    settings = {"epochs": 15, "seed": 4, "gram": False, "preprocess": "none", "tol": None, **settings}
    X, y = uncentered_data() if data is None else data
    return fit(X, y, FitConfig(engine=engine, **settings))


def assert_matches_numpy(dtype="float64", device="cpu", **settings):
    torch_fit = run("torch", dtype=dtype, device=device, **settings)
    settings.pop("optimizer_backend", None)
    settings.pop("engine_options", None)
    reference = numpy_run(dtype=dtype, **settings)
    assert_same_history(reference.history, torch_fit.history, rtol=RTOL[dtype])
    return torch_fit


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_torch_matches_numpy(opt, batch, backend, dtype):
    fitted = assert_matches_numpy(dtype, **OPTIMIZERS[opt], batch_size=BATCHES[batch], optimizer_backend=backend)
    assert fitted.history.step[-1] == 15 * {"full": 1, "per-sample": 40, "minibatch": 6}[batch]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("loss", LOSSES)
def test_losses_and_averaging_match_numpy(loss, batch, dtype):
    """autograd of the loss's value against the numpy engine's derivative (float32 too: the formulas' 0/1
    factors come out in the engine's dtype, so nothing is computed in another precision than asked)"""
    assert_matches_numpy(dtype, **LOSSES[loss], batch_size=BATCHES[batch])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("preprocess", ["center", "standardize"])
@pytest.mark.parametrize("batch", BATCHES)
def test_preprocessing_matches_numpy(batch, preprocess, backend):
    assert_matches_numpy(lr=0.05, batch_size=BATCHES[batch], preprocess=preprocess, optimizer_backend=backend)


@pytest.mark.parametrize("extra", [
    dict(alpha=0.1, l1_ratio=0.0),
    dict(alpha=0.1, l1_ratio=1.0, optimizer_backend="torch"),
    dict(alpha=0.05, l1_ratio=0.5, batch_size=5),
    dict(fit_intercept=False, optimizer_backend="torch"),
    dict(loss="half_mse", schedule="step", schedule_options={"step_size": 3, "gamma": 0.5}),
    dict(schedule="cosine", init="random", optimizer="adam", optimizer_backend="torch"),
    dict(record_every="step", batch_size=13, epochs=3, optimizer_backend="torch"),
    dict(preprocess="standardize", fit_intercept=False, batch_size=9),
])
def test_variants_match_numpy(extra):
    assert_matches_numpy(**{"lr": 0.02, **extra})


@pytest.mark.parametrize("batch", BATCHES)
def test_gram_shortcut_with_torch(batch):
    """gram='auto' wraps the torch engine in the Gram path, as for numpy; same trajectory"""
    fits = [run(engine, gram="auto", lr=0.02, batch_size=BATCHES[batch], alpha=0.01) for engine in ("numpy", "torch")]
    assert fits[0].used_gram and fits[1].used_gram
    assert_same_history(fits[0].history, fits[1].history)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gram_statistics_match_numpy(dtype):
    X, y = uncentered_data(n=70, d=4, seed=3)
    ours = TorchEngine(X, y, dtype=dtype, chunk_rows=16).gram()
    ref = get_engine("numpy")(X, y, dtype=dtype).gram()
    assert ours.n == ref.n and isinstance(ours.xtx, np.ndarray)
    pairs = [(ours.x_mean, ref.x_mean), (ours.xtx, ref.xtx), (ours.xty, ref.xty),
             ([ours.y_mean, ours.yty], [ref.y_mean, ref.yty])]
    for a, b in pairs:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())


def prepared_engine(X, y, prep=None, **options):
    engine = TorchEngine(X, y, **options)
    engine.prepare(LinearModel(X.shape[1]), prep or Preprocessor.identity(X.shape[1]))
    return engine


def test_loss_grad_is_autograd_of_the_loss_and_zeroed_between_calls():
    X, y = uncentered_data(n=30, d=3, seed=1)
    prep = Preprocessor.from_stats("standardize", block_stats(X, y))
    engine = prepared_engine(X, y, prep)
    theta = engine.vector([0.3, -0.2, 0.5, 0.1])
    rows = np.array([3, 7, 11, 2])
    loss, grad = engine.loss_grad(theta, rows)
    again = engine.loss_grad(theta, rows)[1]
    # independent reference: the analytic gradient of mean((x̃·w + b − ỹ)²) in NumPy
    Xt, yt = (X[rows] - prep.x_shift) / prep.x_scale, y[rows] - prep.y_shift
    r = Xt @ [0.3, -0.2, 0.5] + 0.1 - yt
    np.testing.assert_allclose(loss, np.mean(r**2), rtol=1e-13)
    np.testing.assert_allclose(grad.numpy(), np.append(2 * Xt.T @ r, 2 * r.sum()) / 4, rtol=1e-12)
    assert torch.equal(grad, again), "the second call must not accumulate onto the first gradient"
    assert engine.W.is_leaf and engine.W.requires_grad and engine.W.grad is not None


def test_data_shares_memory_with_numpy_input():
    X, y = uncentered_data()
    engine = TorchEngine(X, y)
    assert engine.data.X.data_ptr() == X.ctypes.data and not engine.streaming


@pytest.mark.parametrize("opt, torch_class, state_key", [
    ("momentum", torch.optim.SGD, "momentum_buffer"),
    ("nesterov", torch.optim.SGD, "momentum_buffer"),
    ("adam", torch.optim.Adam, "exp_avg_sq"),
    ("adagrad", torch.optim.Adagrad, "sum"),
    ("rmsprop", torch.optim.RMSprop, "square_avg"),
])
def test_torch_backend_steps_a_real_torch_optimizer(opt, torch_class, state_key):
    fitted = run("torch", **OPTIMIZERS[opt], batch_size=7, optimizer_backend="torch")
    state = fitted.state.opt_state
    assert isinstance(state, TorchOptState) and isinstance(state.optimizer, torch_class)
    assert state.step == fitted.history.step[-1] == 90
    assert state_key in state.optimizer.state[state.param]
    group = state.optimizer.param_groups[0]
    assert group["lr"] == OPTIMIZERS[opt]["lr"]
    assert group.get("nesterov", False) == OPTIMIZERS[opt].get("nesterov", False)


def test_shared_optimizers_run_on_tensors():
    fitted = run("torch", optimizer="adam", lr=0.05, batch_size=7)
    assert isinstance(fitted.state.theta, torch.Tensor) and all(isinstance(s, torch.Tensor) for s in fitted.state.opt_state.slots)


def tutorial_printout(epochs: int) -> str:
    """the plain PyTorch loop of the tutorials, printing each epoch"""
    x_train = torch.FloatTensor([[1], [2], [3]])
    y_train = torch.FloatTensor([[2], [4], [6]])
    W = torch.zeros(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([W, b], lr=0.01)
    out = io.StringIO()
    for epoch in range(epochs + 1):
        hypothesis = x_train * W + b
        cost = torch.mean((hypothesis - y_train) ** 2)
        optimizer.zero_grad()
        cost.backward()
        optimizer.step()
        print("Epoch {:4d}/{} W: {:.3f}, b: {:.3f} Cost: {:.6f}".format(
            epoch, epochs, W.item(), b.item(), cost.item()), file=out)
    return out.getvalue()


def gradfit_printout(epochs: int, **settings) -> str:
    """the same lines from gradfit's history: the loop prints W after the step and the cost before it"""
    h = fit([[1], [2], [3]], [2, 4, 6], FitConfig(
        engine="torch", dtype="float32", lr=0.01, epochs=epochs + 1, tol=None, preprocess="none", **settings)).history
    return "".join("Epoch {:4d}/{} W: {:.3f}, b: {:.3f} Cost: {:.6f}\n".format(
        e, epochs, h.coef[e + 1][0], h.intercept[e + 1], h.loss[e]) for e in range(epochs + 1))


def printed_numbers(text: str) -> np.ndarray:
    return np.array([[float(v) for v in re.findall(r"[-\d.]+(?=,|$| Cost)", line.split("W:")[1])]
                     for line in text.splitlines()])


def test_tutorial_loop_is_reproduced_line_for_line():
    """autograd each epoch and torch.optim.SGD, in float32: the very loop, so the very same text"""
    expected = tutorial_printout(300)
    assert gradfit_printout(300, gram=False, optimizer_backend="torch") == expected
    assert expected.splitlines()[0].endswith("Cost: 18.666666")  # mean(2², 4², 6²) = 56/3 in float32


def test_tutorial_loop_numbers_at_printed_precision_with_defaults():
    """default settings (Gram shortcut, gradfit's SGD): the printed numbers agree to their printed digits"""
    expected, ours = printed_numbers(tutorial_printout(300)), printed_numbers(gradfit_printout(300))
    assert expected.shape == ours.shape == (301, 3)
    for col, digits in enumerate([3, 3, 6]):
        np.testing.assert_allclose(ours[:, col], expected[:, col], rtol=1e-5, atol=10.0**-digits)


def same_steps(h1, h2) -> bool:
    return all(h1.columns[k] == h2.columns[k] for k in h1.columns if k != "time")


@pytest.mark.parametrize("batch", BATCHES)
def test_streaming_from_host_memory_walks_the_same_steps(batch):
    """batches gathered on the host and copied over give bit-identical steps (Gram path for the objective)"""
    settings = dict(gram="auto", optimizer="adam", lr=0.05, batch_size=BATCHES[batch])
    resident = run("torch", **settings, engine_options={"chunk_rows": 16})
    streamed = run("torch", **settings, engine_options={"chunk_rows": 16, "stream": True})
    assert same_steps(resident.history, streamed.history)


def test_streamed_full_pass_sums_blocks():
    """a streamed full pass backpropagates block by block into the same .grad: equal up to rounding"""
    resident = run("torch", lr=0.02, engine_options={"chunk_rows": 16})
    streamed = run("torch", lr=0.02, engine_options={"chunk_rows": 16, "stream": True})
    assert_same_history(resident.history, streamed.history, rtol=1e-13)


def test_stream_option_chooses_where_data_lives():
    X, y = uncentered_data()
    assert isinstance(TorchEngine(X, y).data, DeviceData)
    assert isinstance(TorchEngine(X, y, stream=True).data, HostData)
    assert isinstance(TorchEngine(X, y, stream=False).data, DeviceData)
    assert needs_streaming(nbytes=6 * 2**30, free_bytes=10 * 2**30)
    assert not needs_streaming(nbytes=4 * 2**30, free_bytes=10 * 2**30)


def test_device_errors(monkeypatch):
    X, y = uncentered_data()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    no_cuda = r"option device='cuda' is not available: torch.cuda.is_available\(\) is False"
    with pytest.raises(OptionError, match=no_cuda):
        TorchEngine(X, y, device="cuda")
    with pytest.raises(OptionError, match=r"option device='cuda:1' is not available"):
        fit(X, y, FitConfig(engine="torch", device="cuda:1"))
    with pytest.raises(OptionError, match=r"option device='mps' is not available: torch.backends.mps"):
        TorchEngine(X, y, device="mps")
    with pytest.raises(OptionError, match=r"option device='tpu' is not a device name"):
        TorchEngine(X, y, device="tpu")
    with pytest.raises(OptionError, match=r"option device='meta' is not supported by engine='torch'"):
        TorchEngine(X, y, device="meta")
    with pytest.raises(OptionError, match=r"option dtype='float64' is not available on device='mps'"):
        resolve_dtype("float64", torch.device("mps"))


def test_option_and_data_errors():
    X, y = uncentered_data()
    with pytest.raises(OptionError, match=r"option engine_options\['streaming'\] is not known to the torch engine"):
        TorchEngine(X, y, streaming=True)
    with pytest.raises(OptionError, match=r"option engine_options\['stream'\]='yes' must be None, True or False"):
        TorchEngine(X, y, stream="yes")
    with pytest.raises(OptionError, match=r"option engine_options\['chunk_rows'\]=0 must be an integer >= 1"):
        TorchEngine(X, y, chunk_rows=0)
    with pytest.raises(DataError, match=r"got X of shape \(40, 3\) and 39 values of y"):
        TorchEngine(X, y[:-1])
    with pytest.raises(DataError, match=r"X must be numeric; got values of dtype <U1"):
        TorchEngine([["a"]], [1.0])


def test_autograd_gradient_matches_the_analytic_gradient():
    def rosenbrock(x):
        return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2

    grad = autograd_gradient(rosenbrock)
    x, yv = -1.2, 1.0
    expected = [-2 * (1 - x) - 400 * x * (yv - x * x), 200 * (yv - x * x)]
    np.testing.assert_allclose(grad([x, yv]), expected, rtol=1e-14)
    assert autograd_gradient(lambda t: (t ** 2).sum(), dtype="float32")([1.5, -2.0]) == [3.0, -4.0]


def test_autograd_gradient_errors():
    with pytest.raises(OptionError, match=r"return a scalar torch tensor; it returned a tensor of shape \(2,\)"):
        autograd_gradient(lambda t: t * 2)([1.0, 2.0])
    with pytest.raises(OptionError, match=r"return a scalar torch tensor; it returned float"):
        autograd_gradient(lambda t: 3.0)([1.0])
    with pytest.raises(OptionError, match=r"its result does not depend on x"):
        autograd_gradient(lambda t: torch.tensor(float(np.sum(t.detach().numpy() ** 2))))([1.0])


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: torch.cuda.is_available() is False")
class TestCuda:
    """the grid's subset on the GPU, against the numpy engine on the CPU"""

    @pytest.mark.parametrize("backend", BACKENDS)
    @pytest.mark.parametrize("batch", BATCHES)
    @pytest.mark.parametrize("opt", ["sgd", "nesterov", "adam", "rmsprop"])
    def test_cuda_matches_numpy(self, opt, batch, backend):
        assert_matches_numpy(device="cuda", **OPTIMIZERS[opt], batch_size=BATCHES[batch], optimizer_backend=backend)

    @pytest.mark.parametrize("batch", BATCHES)
    def test_cuda_float32_and_preprocessing(self, batch):
        assert_matches_numpy("float32", device="cuda", optimizer="adam", lr=0.05, batch_size=BATCHES[batch])
        assert_matches_numpy(device="cuda", lr=0.05, batch_size=BATCHES[batch], preprocess="standardize")

    @pytest.mark.parametrize("batch", BATCHES)
    def test_cuda_streaming_from_pinned_memory(self, batch):
        assert_matches_numpy(device="cuda:0", lr=0.02, batch_size=BATCHES[batch],
                             engine_options={"stream": True, "chunk_rows": 16})
        engine = TorchEngine(*uncentered_data(), device="cuda", stream=True)
        assert engine.data.X.is_pinned() and engine.streaming

    def test_cuda_gram_shortcut(self):
        fits = [run("numpy", gram="auto", lr=0.02), run("torch", gram="auto", lr=0.02, device="cuda")]
        assert fits[1].used_gram
        assert_same_history(fits[0].history, fits[1].history)
