"""The training loop: history semantics, stopping rules, divergence guard, interruption."""

import math
import warnings

import numpy as np
import pytest

from gradfit.errors import ConvergenceWarning, DivergenceError
from gradfit.training.config import FitConfig
from gradfit.training.solver import fit

from .helpers import assert_same_history, uncentered_data

LINE_X = np.array([[1.0], [2.0], [3.0]])
LINE_Y = np.array([1.0, 2.0, 3.0])


def test_entry_k_holds_params_after_k_steps_and_their_cost():
    """the first lesson by hand: H(x) = Wx, W = 0, lr = 0.15"""
    result = fit(LINE_X, LINE_Y, FitConfig(fit_intercept=False, lr=0.15, epochs=10, preprocess="none", tol=None))
    h = result.history
    assert len(h) == 11 and h.epoch == list(range(11)) and h.step == list(range(11))
    assert h[0].coef == [0.0] and h[0].loss == pytest.approx(14 / 3, rel=1e-15)
    assert h[1].coef[0] == pytest.approx(1.4, rel=1e-15)
    assert h[1].loss == pytest.approx(0.16 * 14 / 3, rel=1e-14)
    assert h[0].grad_norm == pytest.approx(28 / 3, rel=1e-15)
    assert h[-1].coef[0] == pytest.approx(1.0, abs=1e-3)
    assert all(lr == 0.15 for lr in h.lr)


def test_record_every_keeps_the_last_entry():
    X, y = uncentered_data()
    h = fit(X, y, FitConfig(lr=0.01, epochs=10, record_every=4)).history
    assert h.epoch == [0, 4, 8, 10]


def test_record_every_step_for_minibatches():
    X, y = uncentered_data(n=10)
    h = fit(X, y, FitConfig(lr=0.01, epochs=2, batch_size=4, record_every="step")).history
    assert h.step == list(range(7)) and h.epoch == [0, 0, 0, 1, 1, 1, 2]


def test_divergence_stops_with_a_stable_suggestion():
    X, y = uncentered_data()
    with pytest.raises(DivergenceError, match=r"diverged at epoch \d+: the loss went from .* with lr=5; "
                                              r"a stable learning rate for this data is lr=.* or below") as info:
        fit(X, y, FitConfig(lr=5.0, epochs=1000))
    err = info.value
    assert 0 < err.suggested_lr < 5 and len(err.history) >= 1 and err.epoch < 100
    stable = fit(X, y, FitConfig(lr=err.suggested_lr, epochs=3000))
    assert stable.gap.param_distance < 1e-4 and stable.gap.objective_gap < 1e-9


def test_tol_stops_and_reports_convergence():
    X, y = uncentered_data()
    result = fit(X, y, FitConfig(lr="auto", epochs=100_000, tol=1e-12, n_iter_no_change=5, preprocess="standardize"))
    assert result.converged and result.outcome.stopped_by == "tol" and result.n_iter < 100_000


def test_a_fit_short_of_the_optimum_warns_even_without_tol():
    X, y = uncentered_data()
    for tol in (1e-9, None):
        with pytest.warns(ConvergenceWarning, match=r"from the exact optimum \(tol=1e-0[69]\): lr=0.001 is"):
            result = fit(X, y, FitConfig(lr=0.001, epochs=3, tol=tol))
        assert not result.converged and result.verdict.reason == "lr-too-small"


def test_no_warning_at_the_optimum_even_without_tol():
    X, y = uncentered_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit(X, y, FitConfig(epochs=2000, tol=None))
    assert result.converged and result.n_iter == 2000 and result.gap.distance <= 1e-6


def test_callback_can_stop_and_interrupt_keeps_progress():
    X, y = uncentered_data()
    stopped = fit(X, y, FitConfig(lr=0.01, epochs=50), callbacks=[lambda info: info.epoch >= 7])
    assert stopped.n_iter == 7 and stopped.outcome.stopped_by == "callback"

    def interrupt(info):
        if info.epoch == 5:
            raise KeyboardInterrupt

    cut = fit(X, y, FitConfig(lr=0.01, epochs=50), callbacks=[interrupt])
    assert cut.outcome.interrupted and cut.n_iter == 5 and cut.history.epoch[-1] == 5
    assert cut.coef == cut.history.coef[-1]


def test_resume_continues_exactly():
    X, y = uncentered_data()
    cfg = FitConfig(lr=0.02, epochs=6, batch_size=5, seed=9, optimizer="adam")
    whole = fit(X, y, cfg)
    first = fit(X, y, FitConfig(**{**cfg.__dict__, "epochs": 3}))
    rest = fit(X, y, cfg, resume=first, epochs=3)
    assert_same_history(whole.history, rest.history, rtol=1e-15)


def test_l1_reaches_exact_zeros():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 5))
    y = 3 * X[:, 0] + 0.01 * rng.normal(size=100)
    result = fit(X, y, FitConfig(lr="auto", epochs=2000, alpha=0.5, l1_ratio=1.0, preprocess="none", tol=1e-12))
    assert result.coef[1:] == [0.0] * 4 and result.coef[0] > 2
    np.testing.assert_allclose(result.coef, result.exact.coef, atol=1e-9)


@pytest.mark.parametrize("init,expected", [("zeros", [0.0] * 4), (0.5, [0.5] * 4), (([1, 2, 3], 4), [1, 2, 3, 4])])
def test_init_values_are_the_descent_start(init, expected):
    X, y = uncentered_data()
    h = fit(X, y, FitConfig(epochs=1, init=init, preprocess="none")).history  # init is in the descent's units
    assert h[0].coef + [h[0].intercept] == expected


def test_random_init_is_seeded_and_bounded():
    X, y = uncentered_data()
    a = fit(X, y, FitConfig(epochs=1, init="random", seed=3, preprocess="none")).history[0]
    b = fit(X, y, FitConfig(epochs=1, init="random", seed=3, preprocess="none")).history[0]
    assert a.coef == b.coef and all(-1 <= c <= 1 for c in a.coef + [a.intercept])


def test_history_coefficients_are_in_original_units():
    X, y = uncentered_data()
    result = fit(X, y, FitConfig(lr="auto", epochs=3000, preprocess="standardize", tol=1e-12))
    np.testing.assert_allclose(result.history.coef[-1], result.exact.coef, rtol=1e-9)
    assert result.history.intercept[-1] == pytest.approx(result.exact.intercept, rel=1e-9)


@pytest.mark.parametrize("batch_size", [1, 4, None])
def test_auto_lr_is_stable_for_every_batch_mode(batch_size):
    X, y = uncentered_data(n=50)
    result = fit(X, y, FitConfig(lr="auto", epochs=200, batch_size=batch_size, seed=0))
    assert math.isfinite(result.history.loss[-1]) and result.history.loss[-1] < result.history.loss[0]
    assert result.lr > 0 and result.history.lr[0] == result.lr
    # minibatches anneal to 0 by the last epoch (cosine); full batch keeps its step
    assert result.steps.schedule == ("constant" if batch_size is None else "cosine")


@pytest.mark.parametrize("batch_size", [1, 4, 32])
@pytest.mark.parametrize("momentum", [0.9, 0.99])
@pytest.mark.parametrize("nesterov", [False, True])
def test_auto_lr_shrinks_with_a_given_momentum(batch_size, momentum, nesterov):
    """momentum multiplies a stochastic step by about 1/(1 − β): lr='auto' takes (1 − β)/L_b, which stays stable,
    where 1/L_b diverged at β = 0.9 (issue noticed in the eighth closing note)"""
    X, y = uncentered_data(n=2000, d=5)
    plain = fit(X, y, FitConfig(epochs=5, batch_size=batch_size, seed=0))
    result = fit(X, y, FitConfig(epochs=20, batch_size=batch_size, seed=0, momentum=momentum, nesterov=nesterov))
    assert result.lr == pytest.approx((1.0 - momentum) * plain.lr, rel=1e-12)
    assert math.isfinite(result.history.loss[-1]) and result.history.loss[-1] < 1e-2 * result.history.loss[0]


def test_full_batch_auto_lr_keeps_one_over_l_with_a_given_momentum():
    """the heavy ball is stable for lr·L < 2(1 + β): a full-batch step needs no shrinking"""
    X, y = uncentered_data()
    result = fit(X, y, FitConfig(momentum=0.9, epochs=3000, preprocess="standardize"))
    assert result.lr == pytest.approx(1.0 / result.curvature.L, rel=1e-12) and result.converged


def test_divergence_with_momentum_suggests_a_step_below_the_one_that_ran():
    X, y = uncentered_data(n=2000, d=5)
    plain = fit(X, y, FitConfig(epochs=1, batch_size=4, seed=0)).lr
    with pytest.raises(DivergenceError, match=r"a stable learning rate for this data is lr=.* or below \(or use "
                                              r"lr='auto'\)") as info:
        fit(X, y, FitConfig(lr=plain, momentum=0.9, epochs=50, batch_size=4, seed=0))
    assert info.value.suggested_lr == pytest.approx(0.1 * plain, rel=1e-12)
    stable = fit(X, y, FitConfig(lr=info.value.suggested_lr, momentum=0.9, epochs=20, batch_size=4, seed=0))
    assert stable.history.loss[-1] < 1e-2 * stable.history.loss[0]


def test_an_auto_step_that_diverges_is_not_offered_again(monkeypatch):
    """when lr='auto' itself diverged, the message suggests a smaller step, not the one that ran or lr='auto'"""
    from gradfit.training import steps

    monkeypatch.setattr(steps, "safe_sgd_lr", lambda *a: 5.0)
    X, y = uncentered_data()
    with pytest.raises(DivergenceError) as info:
        fit(X, y, FitConfig(epochs=100, batch_size=4, seed=0, schedule="constant"))
    message = str(info.value)
    assert "lr='auto'" in message and "or use lr='auto'" not in message, message
    assert info.value.suggested_lr is not None and info.value.suggested_lr < 5.0, message


def test_a_diverging_adaptive_optimizer_is_not_offered_an_sgd_step():
    """Adam's steps are about lr long whatever the curvature: SGD's stable step means nothing to it"""
    X, y = uncentered_data()
    with pytest.raises(DivergenceError, match=r"with lr=1e\+06; try a smaller step, lr=1e\+05$") as info:
        fit(X, y, FitConfig(optimizer="adam", lr=1e6, epochs=50))
    assert info.value.suggested_lr == pytest.approx(1e5)


def test_seed_none_is_recorded_and_reproducible():
    X, y = uncentered_data()
    first = fit(X, y, FitConfig(epochs=3, batch_size=4, lr=0.01))
    again = fit(X, y, FitConfig(epochs=3, batch_size=4, lr=0.01, seed=first.seed))
    assert first.history.loss == again.history.loss


def test_history_exports(tmp_path):
    X, y = uncentered_data()
    h = fit(X, y, FitConfig(epochs=3, lr=0.01), feature_names=["a", "b", "c"]).history
    df = h.to_dataframe()
    assert list(df.columns) == ["epoch", "step", "loss", "coef[a]", "coef[b]", "coef[c]", "intercept", "grad_norm", "lr", "time"]
    h.to_csv(tmp_path / "h.csv")
    assert (tmp_path / "h.csv").read_text().splitlines()[0].startswith("epoch,step,loss,coef[a]")
    from gradfit.training.history import History

    assert History.from_dict(__import__("json").loads(h.to_json())).loss == h.loss
    assert "History(4 entries" in repr(h) and "<table>" in h._repr_html_()


def test_orders_drawn_ahead_are_the_epoch_orders():
    """the next epoch's order, drawn on a thread while an epoch runs, is the one epoch_order gives"""
    from gradfit.descent.batching import EpochOrders, epoch_order

    orders = EpochOrders(1000, shuffle=True, seed=7, ahead=True)
    try:
        drawn = [orders(e, more=e < 3) for e in range(4)]
        assert orders(9) is not None  # an epoch out of turn is drawn on the spot
    finally:
        orders.close()
    for e, order in enumerate(drawn):
        np.testing.assert_array_equal(order, epoch_order(1000, e, True, 7))
    assert EpochOrders(10, shuffle=False, seed=0, ahead=True)(0, more=True) is None


@pytest.mark.parametrize("batch_size", [1, 16])
def test_fits_with_orders_drawn_ahead_equal_fits_without(monkeypatch, batch_size):
    """drawing orders ahead changes no step: histories bit-identical, on the compiled epochs"""
    from gradfit.training import train

    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 4))
    y = X @ [1.0, -2.0, 0.5, 3.0] + 0.1 * rng.normal(size=500)
    config = FitConfig(batch_size=batch_size, epochs=4, tol=None, seed=5)
    monkeypatch.setattr(train, "ORDERS_AHEAD_ROWS", 1 << 60)
    alone = fit(X, y, config)
    monkeypatch.setattr(train, "ORDERS_AHEAD_ROWS", 1)
    made = []

    class Spy(train.EpochOrders):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self._pool is not None)

    monkeypatch.setattr(train, "EpochOrders", Spy)
    ahead = fit(X, y, config)
    assert made == [True]
    assert ahead.history.loss == alone.history.loss
    assert ahead.history.coef == alone.history.coef


@pytest.mark.parametrize("batch_size", [1, 16, None])
def test_the_first_order_is_drawn_while_the_fit_prepares(monkeypatch, batch_size):
    """a fresh shuffled fit draws its first epoch's order on a thread before ``prepare`` reads the data; the loop
    takes it (the same order, so the same history bit for bit); full batch and a resumed fit draw nothing early"""
    from gradfit.descent import batching
    from gradfit.training import solver, train

    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 3))
    y = X @ [1.0, 2.0, -1.0] + 0.1 * rng.normal(size=400)
    config = FitConfig(batch_size=batch_size, epochs=3, tol=None, seed=2)
    monkeypatch.setattr(train, "ORDERS_AHEAD_ROWS", 1 << 60)
    alone = fit(X, y, config)
    monkeypatch.setattr(train, "ORDERS_AHEAD_ROWS", 1)
    drawn, taken = [], []
    monkeypatch.setattr(solver, "draw_ahead", lambda *a: drawn.append(a) or batching.draw_ahead(*a))

    class Spy(train.EpochOrders):
        def __call__(self, epoch, more=False):
            taken.append(self._next is not None and self._next[0] == epoch)
            return super().__call__(epoch, more)

    monkeypatch.setattr(train, "EpochOrders", Spy)
    early = fit(X, y, config)
    assert early.history.loss == alone.history.loss and early.history.coef == alone.history.coef
    if batch_size is None:
        assert drawn == [] and taken == []
        return
    assert drawn == [(400, 0, 2)] and taken[0]
    drawn.clear()
    fit(X, y, config, resume=early, epochs=2)
    assert drawn == []
