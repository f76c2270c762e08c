"""The objective after an epoch measured on a thread while the next epoch's steps run ahead (``training.train``).

Measuring beside changes nothing a user sees: every fit below runs once with the measurement beside the steps
(forced on small data) and once one after the other, and the histories, results and stopping epochs are equal
to the last bit. Where the fit stops after an epoch, the steps made ahead are dropped. The measurement is a pass
over the data (``gram=False``, a robust loss, sparse or wide data); from Gram statistics it costs O(d²), and is
not worth a thread.
"""

import threading

import numpy as np
import pytest
import scipy.sparse as sp

from gradfit.descent.losses import make_loss
from gradfit.engines import kernels_sparse, sparse_passes
from gradfit.engines.kernels import Fold
from gradfit.errors import DivergenceError
from gradfit.training import train
from gradfit.training.config import FitConfig
from gradfit.training.solver import fit

FIELDS = ("epoch", "step", "loss", "coef", "intercept", "grad_norm", "lr", "val_loss")


@pytest.fixture
def beside(monkeypatch):
    """a function that fits with the measurement beside the steps (on=True) or not, and says whether it was"""

    def run(on: bool, *args, **kwargs):
        measured_on = []
        real = train.beside

        def spy(fn, *a, name="x"):
            measured_on.append(name)
            return real(fn, *a, name=name)

        monkeypatch.setattr(train, "BESIDE_FROM_ROWS", 1 if on else 1 << 60)
        monkeypatch.setattr(train, "two_cores", lambda: True)
        monkeypatch.setattr(train, "beside", spy)
        result = fit(*args, **kwargs)
        assert bool(measured_on) == on and set(measured_on) <= {"gradfit-measure"}
        return result

    return run


def assert_same_fit(a, b) -> None:
    for name in FIELDS:
        assert a.history.columns[name] == b.history.columns[name], name
    assert (a.coef, a.intercept, a.n_iter, a.outcome.stopped_by) == (b.coef, b.intercept, b.n_iter,
                                                                      b.outcome.stopped_by)


def data(n=400, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * [1.0, 3.0, 0.5, 2.0, 1.0][:d] + 2.0
    y = X @ rng.normal(size=d) + 1.0 + 0.3 * rng.normal(size=n)
    return X, y


CONFIGS = {
    "per-sample": dict(batch_size=1, epochs=6, lr=0.002),
    "huber": dict(batch_size=4, epochs=5, loss="huber", epsilon=0.5),
    "minibatch": dict(batch_size=16, epochs=6),
    "adam, L2": dict(batch_size=8, epochs=5, optimizer="adam", alpha=0.1),
    "L1, momentum": dict(batch_size=8, epochs=5, alpha=0.05, l1_ratio=1.0, lr=0.01, momentum=0.9),
    "averaged": dict(batch_size=4, epochs=6, average=True),
    "recorded every 3rd epoch": dict(batch_size=16, epochs=8, record_every=3),
    "stops at the exact answer": dict(batch_size=32, epochs=400, tol=1e-2),
    "no shuffle": dict(batch_size=1, epochs=4, shuffle=False, lr=0.002),
}


@pytest.mark.parametrize("settings", CONFIGS.values(), ids=CONFIGS.keys())
def test_a_fit_measured_beside_its_steps_is_the_fit_measured_after_them(beside, settings):
    X, y = data()
    config = FitConfig(seed=3, gram=False, **{"tol": None, **settings})
    assert_same_fit(beside(True, X, y, config, warn=False), beside(False, X, y, config, warn=False))


def test_a_fit_that_stops_early_drops_the_steps_made_ahead(beside):
    """the rule at the exact answer stops the fit before its epochs are done: the same epoch either way"""
    X, y = data()
    config = FitConfig(seed=3, gram=False, **CONFIGS["stops at the exact answer"])
    ahead = beside(True, X, y, config, warn=False)
    assert ahead.outcome.stopped_by == "tol" and ahead.n_iter < 400
    assert ahead.history.step[-1] == ahead.n_iter * -(-len(y) // 32)


@pytest.mark.parametrize("batch_size", [1, 10])
def test_sparse_weighted_fits_are_the_same_beside(beside, batch_size):
    X, y = data(600, 5, seed=4)
    X[np.abs(X - 2.0) < 1.0] = 0.0
    w = np.random.default_rng(1).uniform(0.0, 3.0, size=len(y))
    config = FitConfig(seed=2, batch_size=batch_size, epochs=4, tol=None, lr=0.001, gram=False)
    a = beside(True, sp.csr_matrix(X), y, config, warn=False, sample_weight=w)
    b = beside(False, sp.csr_matrix(X), y, config, warn=False, sample_weight=w)
    assert_same_fit(a, b)


def test_early_stopping_on_held_out_rows_is_the_same_beside(beside):
    X, y = data(500)
    y[::7] += 40.0  # noisy rows, so the held-out loss turns up before the epochs run out
    config = FitConfig(seed=1, batch_size=4, epochs=60, lr=0.05, early_stopping=True, n_iter_no_change=2,
                       gram=False)
    a, b = beside(True, X, y, config, warn=False), beside(False, X, y, config, warn=False)
    assert a.outcome.stopped_by == "validation" and a.n_iter < 60
    assert_same_fit(a, b)
    assert (a.held_out.best.epoch, a.held_out.last_coef) == (b.held_out.best.epoch, b.held_out.last_coef)


def test_a_callback_that_stops_the_fit_stops_it_at_the_same_epoch(beside):
    X, y = data()
    seen = {True: [], False: []}
    for on in (True, False):
        def stop_at_4(info, on=on):
            seen[on].append((info.epoch, info.loss, info.history.coef[-1]))
            return info.epoch >= 4

        result = beside(on, X, y, FitConfig(seed=3, batch_size=8, epochs=20, tol=None, gram=False), callbacks=[stop_at_4],
                        warn=False)
        assert result.n_iter == 4 and result.outcome.stopped_by == "callback"
    assert seen[True] == seen[False]


def test_divergence_is_caught_at_the_same_epoch_with_the_same_message(beside):
    X, y = data()
    config = FitConfig(seed=3, batch_size=4, epochs=30, lr=5.0, tol=None, gram=False)
    errors = []
    for on in (True, False):
        with pytest.raises(DivergenceError, match="the fit diverged at epoch") as caught:
            beside(on, X, y, config, warn=False)
        errors.append((str(caught.value), caught.value.epoch, caught.value.history.loss))
    assert errors[0] == errors[1]


def test_an_interrupted_fit_stops_at_a_whole_recorded_epoch_and_resumes_exactly(beside, monkeypatch):
    """Ctrl-C while steps run ahead: the fit goes back to the last epoch it recorded, and a resumed fit continues
    as if never interrupted"""
    from gradfit.engines.numpy import NumpyEngine

    X, y = data()
    config = FitConfig(seed=3, batch_size=8, epochs=8, tol=None, gram=False)
    whole = beside(False, X, y, config, warn=False)
    calls = []
    real = NumpyEngine.run_epoch

    def interrupted_at_the_5th(self, task, state, order):
        calls.append(state.epoch)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(self, task, state, order)

    monkeypatch.setattr(NumpyEngine, "run_epoch", interrupted_at_the_5th)
    cut = beside(True, X, y, config, warn=False)
    monkeypatch.setattr(NumpyEngine, "run_epoch", real)
    assert cut.outcome.interrupted and cut.n_iter == 3  # epoch 5's steps ran ahead while epoch 4 was measured
    assert cut.history.epoch[-1] == 3 and cut.coef == cut.history.coef[-1]
    rest = beside(True, X, y, config, resume=cut, epochs=5, warn=False)
    assert rest.history.loss == whole.history.loss and rest.coef == whole.coef


def test_the_measurement_keeps_to_its_thread_while_the_steps_run(beside, monkeypatch):
    """the engine's pass runs on the measuring thread with ``one_thread`` set (its other core is busy)"""
    from gradfit.engines.numpy import NumpyEngine

    seen = set()
    real = NumpyEngine.full_pass

    def spy(self, v, offset):
        seen.add((threading.current_thread().name, self.one_thread))
        return real(self, v, offset)

    monkeypatch.setattr(NumpyEngine, "full_pass", spy)
    X, y = data()
    beside(True, X, y, FitConfig(seed=3, batch_size=8, epochs=3, tol=None, gram=False), warn=False)
    assert ("gradfit-measure", True) in seen
    assert all(one_thread for name, one_thread in seen if name == "gradfit-measure")


def test_the_objective_from_gram_statistics_is_not_measured_beside(monkeypatch):
    monkeypatch.setattr(train, "BESIDE_FROM_ROWS", 1)
    monkeypatch.setattr(train, "two_cores", lambda: True)
    monkeypatch.setattr(train, "beside", lambda *a, **k: pytest.fail("measured on a thread"))
    X, y = data()
    result = fit(X, y, FitConfig(seed=3, batch_size=8, epochs=3, tol=None), warn=False)
    assert result.used_gram and result.n_iter == 3


def test_the_sparse_pass_on_one_thread_sums_as_on_two():
    """the two halves of the nonzeros read one after the other give the same sums as on two threads"""
    rng = np.random.default_rng(0)
    X = sp.random(40_000, 300, density=0.03, format="csr", random_state=1)
    assert X.nnz >= sparse_passes.SPLIT_FROM
    y = rng.normal(size=X.shape[0])
    rows = kernels_sparse.csr_rows(X, y)
    fold = Fold(np.full(300, 0.01), np.full(300, 2.0), 0.5, True)
    theta = rng.normal(size=301)
    loss = make_loss("mse")
    two = sparse_passes.full_loss_grad(rows, kernels_sparse.UNWEIGHTED, fold, theta, loss)
    one = sparse_passes.full_loss_grad(rows, kernels_sparse.UNWEIGHTED, fold, theta, loss, one_thread=True)
    assert one[0] == two[0] and np.array_equal(one[1], two[1])


# -- epochs that are not recorded skip the measurement where nothing reads it (``Loop._reads_objective``) --


@pytest.fixture
def measurements(monkeypatch):
    """the number of full-data measurements (``loss_grad`` over all rows) of the numpy engines so far"""
    from gradfit.engines.numpy import NumpyEngine
    from gradfit.engines.numpy_sparse import SparseNumpyEngine

    count = [0]
    for cls in (NumpyEngine, SparseNumpyEngine):
        def counted(self, theta, rows=None, real=cls.loss_grad):
            count[0] += rows is None
            return real(self, theta, rows)

        monkeypatch.setattr(cls, "loss_grad", counted)
    return count


def test_unrecorded_epochs_skip_the_measurement_and_record_the_same_values(measurements):
    """record_every=3 over 8 epochs measures at the start, at epochs 3 and 6 and at the last: 4 passes, not 9;
    the recorded entries equal those of the fit recorded every epoch"""
    X, y = data()
    every = fit(X, y, FitConfig(seed=3, batch_size=8, epochs=8, tol=None, gram=False), warn=False)
    measurements[0] = 0
    third = fit(X, y, FitConfig(seed=3, batch_size=8, epochs=8, tol=None, gram=False, record_every=3), warn=False)
    assert measurements[0] == 4
    assert third.history.epoch == [0, 3, 6, 8]
    for name in ("loss", "coef", "intercept", "grad_norm", "step"):
        assert third.history.columns[name] == [every.history.columns[name][e] for e in (0, 3, 6, 8)], name
    assert (third.coef, third.intercept) == (every.coef, every.intercept)


def test_what_reads_the_objective_has_it_measured_every_epoch(measurements):
    """callbacks (EpochInfo.loss), and the stopping rule where there is no exact answer to stop at (data too wide
    for statistics), read the objective after every epoch"""
    X, y = data()
    losses = []
    fit(X, y, FitConfig(seed=3, batch_size=8, epochs=6, tol=None, gram=False, record_every=3), warn=False,
        callbacks=[lambda info: losses.append(info.loss)])
    assert measurements[0] == 7 and len(losses) == 6 and all(isinstance(v, float) for v in losses)
    measurements[0] = 0
    rng = np.random.default_rng(5)
    wide = sp.random(300, 5000, density=0.002, format="csr", random_state=2)
    result = fit(wide, rng.normal(size=300), FitConfig(seed=1, batch_size=10, epochs=6, tol=1e-12, lr=0.01,
                                                       record_every=3), warn=False)
    assert result.exact is None and measurements[0] == 1 + result.n_iter


def test_the_rule_at_the_exact_answer_stops_at_the_same_epoch_without_measuring(measurements):
    X, y = data()
    settings = dict(seed=3, batch_size=32, epochs=400, tol=1e-2, gram=False)
    every = fit(X, y, FitConfig(**settings), warn=False)
    measurements[0] = 0
    sparse_records = fit(X, y, FitConfig(**settings, record_every=50), warn=False)
    assert sparse_records.outcome.stopped_by == "tol" and sparse_records.n_iter == every.n_iter < 400
    assert measurements[0] == 1 + every.n_iter // 50 + 1  # the start, each 50th epoch, and the epoch it stopped at
    assert sparse_records.history.epoch[-1] == every.n_iter and sparse_records.coef == every.coef
    assert sparse_records.history.loss[-1] == every.history.loss[-1]


def test_a_diverging_fit_recorded_rarely_is_still_stopped_with_the_guards_message():
    X, y = data()
    with pytest.raises(DivergenceError, match=r"^the fit diverged at epoch \d+: the loss went from .* with lr=5"):
        fit(X, y, FitConfig(seed=3, batch_size=4, epochs=200, lr=5.0, tol=None, gram=False, record_every=50),
            warn=False)
