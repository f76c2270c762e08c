"""How often the Dask engine reads its data, and in which order its epochs run (issue 14, beyond one machine).

Counts are of the tasks the engine submits (``Client.submit`` recorded by function name),
never of time. Tolerances: histories 1e-9 relative (as in the engine grid); the exact
answer 1e-12 relative against scikit-learn and against the answer with the check pass.
"""

import re

import dask.array as da
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from distributed import Client
from sklearn.linear_model import LinearRegression

from gradfit.descent.losses import make_loss
from gradfit.descent.model import LinearModel
from gradfit.descent.preprocess import Preprocessor
from gradfit.engines import dask as dask_engine
from gradfit.engines import get_engine
from gradfit.engines import dask_cluster, dask_tasks
from gradfit.engines.dask import DaskEngine, read_dataset
from gradfit.errors import OptionError
from gradfit.optimum import exact
from gradfit.optimum.normal import GramAnswer
from gradfit.optimum.refine import TARGET_DIGITS
from gradfit.training.config import FitConfig
from gradfit.training.solver import fit

from .helpers import assert_same_history, record_calls


@pytest.fixture
def submitted(monkeypatch):
    """names of the functions given to Client.submit, in order"""
    names = []
    submit = Client.submit

    def recording(self, fn, *args, **kwargs):
        names.append(getattr(fn, "__name__", str(fn)))
        return submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(Client, "submit", recording)
    return names


def noisy_data(n=400, d=3, seed=0):
    """well conditioned, noisy: the Gram statistics promise the exact answer's digits"""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * 2.0 + 1.0
    y = X @ np.linspace(0.5, 1.5, d) + 0.5 + rng.normal(size=n)
    return X, y


def on_dask(X, y, chunk=100):
    return da.from_array(X, chunks=(chunk, -1)), da.from_array(y, chunks=chunk)


def no_gram_shortcut(monkeypatch, pilot=False):
    """the exact answer as before: always a check pass over the data (or, with ``pilot``, the check carried from
    the residuals at the pilot where they promise the digits)"""
    monkeypatch.setattr(exact, "gram_answer", lambda *a: GramAnswer(0.0, 0.0, 0.0))
    if not pilot:
        monkeypatch.setattr(exact, "pilot_check", lambda *a: None)


@pytest.mark.parametrize("persist", [True, False])
def test_a_full_batch_fit_reads_each_partition_once(client, submitted, monkeypatch, persist):
    X, y = noisy_data()
    cfg = FitConfig(engine="dask", epochs=50, lr=0.05, seed=0, engine_options={"persist": persist})
    one_pass = fit(*on_dask(X, y), cfg)
    assert submitted.count("block_summary") == 4  # one task per partition, nothing else reads the data
    assert {"block_residual_pass", "block_max_row_sq_norm", "block_loss_grad"}.isdisjoint(submitted)
    reference = LinearRegression().fit(X, y)
    np.testing.assert_allclose(one_pass.exact.coef, reference.coef_, rtol=1e-12)
    assert one_pass.exact.method == "cholesky" and one_pass.exact.digits >= TARGET_DIGITS

    no_gram_shortcut(monkeypatch)
    submitted.clear()
    before = fit(*on_dask(X, y), cfg)
    assert submitted.count("block_residual_pass") == 4
    np.testing.assert_allclose(one_pass.exact.coef, before.exact.coef, rtol=1e-12)
    assert one_pass.exact.rss == pytest.approx(before.exact.rss, rel=1e-12)
    assert one_pass.stats.rss_min == pytest.approx(before.stats.rss_min, rel=1e-12)
    assert_same_history(before.history, one_pass.history)
    assert_same_history(fit(X, y, FitConfig(**{**cfg.to_dict(), "engine": "numpy", "engine_options": {}})).history,
                        one_pass.history)


def test_the_residuals_at_the_pilot_spare_the_check_pass(client, submitted, monkeypatch):
    """where the statistics alone cannot promise the digits, the residual sums gathered at the pilot by the same
    pass give the check: no second read, and the same answer and residual sum of squares as the check pass"""
    X, y = noisy_data(n=2_000)
    cfg = FitConfig(engine="dask", epochs=5, lr=0.05, seed=0)
    no_gram_shortcut(monkeypatch, pilot=True)
    carried = fit(*on_dask(X, y, chunk=500), cfg)
    assert "block_residual_pass" not in submitted and carried.exact.digits >= TARGET_DIGITS
    no_gram_shortcut(monkeypatch)
    submitted.clear()
    read = fit(*on_dask(X, y, chunk=500), cfg)
    assert submitted.count("block_residual_pass") == 4
    np.testing.assert_allclose(carried.exact.coef, read.exact.coef, rtol=1e-12)
    assert carried.exact.rss == pytest.approx(read.exact.rss, rel=1e-12)


@pytest.mark.parametrize("pilot", [True, False])
def test_a_near_perfect_fit_still_measures_its_residuals(client, submitted, monkeypatch, pilot):
    """R² = 1 − 1e-19: the statistics cannot give the RSS; the residuals measured at the pilot (or, without
    them, a check pass) do"""
    if not pilot:
        monkeypatch.setattr(exact, "pilot_check", lambda *a: None)
    X, _ = noisy_data()
    y = X @ np.array([1.0, -2.0, 3.0]) + 0.5 + 1e-9 * np.random.default_rng(1).normal(size=len(X))
    result = fit(*on_dask(X, y), FitConfig(engine="dask", epochs=5, lr=0.05))
    assert submitted.count("block_residual_pass") == (0 if pilot else 4)
    assert result.exact.rss == pytest.approx(np.sum((y - X @ result.exact.coef - result.exact.intercept) ** 2),
                                             rel=1e-6)


@pytest.mark.parametrize("preprocess", ["none", "center", "standardize"])
def test_the_largest_row_norm_comes_from_the_statistics_pass(client, submitted, preprocess):
    X, y = noisy_data(n=1000, d=4)
    X[617] = [9.0, -7.0, 8.0, 6.0]  # one outlying row, so the maximum is not a tie of many
    settings = dict(epochs=2, batch_size=16, seed=3, preprocess=preprocess)  # lr="auto": needs the norm
    dask_fit = fit(*on_dask(X, y), FitConfig(engine="dask", engine_options={"order": "global"}, **settings))
    assert "block_max_row_sq_norm" not in submitted and submitted.count("block_summary") == 10
    numpy_fit = fit(X, y, FitConfig(engine="numpy", **settings))
    assert dask_fit.lr == pytest.approx(numpy_fit.lr, rel=1e-12)
    assert_same_history(numpy_fit.history, dask_fit.history)


@pytest.mark.parametrize("wanted", [True, False])
def test_the_partitions_keep_row_norm_candidates_only_where_the_fit_asks(client, submitted, wanted):
    """``row_norm_wanted`` (set by ``prepare``: lr="auto" in minibatches or on a loss with a kink): without it the
    partitions' summaries carry no candidates, and the norm, asked after all (a divergence names the stable
    step), comes from a pass of its own; either way it equals the NumPy engine's"""
    X, y = noisy_data(n=1000, d=4)
    engine = DaskEngine(*on_dask(X, y))
    engine.row_norm_wanted = wanted
    stats = engine.gram()
    reference = get_engine("numpy")(X, y)
    reference.gram()
    for e in (engine, reference):
        e.prepare(LinearModel(4, True, make_loss("mse")), Preprocessor.from_stats("standardize", stats, True))
    assert bool(engine._norms) == wanted
    assert engine.max_row_sq_norm() == pytest.approx(reference.max_row_sq_norm(), rel=1e-12)
    assert ("block_max_row_sq_norm" in submitted) == (not wanted)


def test_row_norm_candidates_bound_every_row_not_kept():
    rng = np.random.default_rng(4)
    X = rng.standard_t(df=3, size=(5000, 5)) * [1.0, 10.0, 0.1, 1.0, 3.0] + [0.0, 5.0, -2.0, 100.0, 0.0]
    y = np.zeros(len(X))
    from gradfit.optimum.gram import block_stats

    kept = dask_tasks.norm_candidates(X, block_stats(X, y, workers=1), k=16)
    assert kept.rows.shape == (16, 5)
    for shift, scale in [(np.zeros(5), np.ones(5)), (X.mean(0) + 0.3, X.std(0) * 1.7), (X.mean(0), X.std(0))]:
        norms = (((X - shift) / scale) ** 2).sum(axis=1)
        rows_kept = np.isin(X, kept.rows).all(axis=1)
        assert rows_kept.sum() == 16
        assert norms[~rows_kept].max() <= kept.bound(shift, scale) * (1 + 1e-12)


def test_when_the_candidates_cannot_decide_a_pass_measures_the_norm(client, submitted, monkeypatch):
    X, y = noisy_data(n=1000, d=4)
    monkeypatch.setattr(dask_tasks.NormCandidates, "bound", lambda self, shift, scale: np.inf)
    result = fit(*on_dask(X, y), FitConfig(engine="dask", epochs=1, batch_size=16, seed=3,
                                           engine_options={"order": "global"}))
    assert submitted.count("block_max_row_sq_norm") == 10
    numpy_fit = fit(X, y, FitConfig(engine="numpy", epochs=1, batch_size=16, seed=3))
    assert result.lr == pytest.approx(numpy_fit.lr, rel=1e-12)


@pytest.mark.parametrize("order", ["global", "partition"])
def test_reading_ahead_keeps_the_history_identical(client, submitted, monkeypatch, order):
    """the segments read 0, 1 or 3 ahead of the training: the same steps, the same history, bit for bit"""
    X, y = noisy_data(n=230)
    cfg = FitConfig(engine="dask", epochs=3, batch_size=7, lr=0.02, seed=5, gram=False,
                    engine_options={"order": order, "persist": False})
    histories = []
    for ahead in (0, 1, 3):
        monkeypatch.setattr(dask_engine, "READ_AHEAD", ahead)
        histories.append(fit(*on_dask(X, y, chunk=30), cfg).history)
    for other in histories[1:]:
        assert_same_history(histories[0], other, rtol=0.0)
    reads = submitted.count("load") + submitted.count("load_measured")  # the latter measures as it reads
    assert reads == submitted.count("run_segment") == 3 * 3 * 8  # 3 fits × 3 epochs × 8 segments
    assert submitted.count("load_measured") == (0 if order == "global" else reads)  # not the global shuffle's


def test_order_auto_is_global_in_memory_and_partition_beyond_it(client, capsys, monkeypatch):
    X, y = noisy_data(n=230)
    cfg = dict(engine="dask", epochs=2, batch_size=7, lr=0.02, seed=5, gram=False)
    in_memory = DaskEngine(*on_dask(X, y, chunk=30), scheduler=client)
    assert (in_memory.order_asked, in_memory.persisted, in_memory.order) == ("auto", True, "global")
    in_memory.close()
    streamed = DaskEngine(*on_dask(X, y, chunk=30), scheduler=client, persist=False)
    assert (streamed.persisted, streamed.order) == (False, "partition")
    streamed.close()
    capsys.readouterr()

    auto = fit(*on_dask(X, y, chunk=30), FitConfig(**cfg, engine_options={"persist": False}))
    said = capsys.readouterr().err
    assert said.count("order='partition'") == 1  # once per fit, not once per epoch
    assert re.search(r"the partitions are read from their source each epoch \(persist=False\), so minibatch epochs "
                     r"visit the partitions in a seeded order \(order='partition': no data moves\) instead of the "
                     r"NumPy engine's order \(order='global'\)", said), said
    explicit = fit(*on_dask(X, y, chunk=30), FitConfig(**cfg, engine_options={"persist": False, "order": "partition"}))
    assert "order=" not in capsys.readouterr().err
    assert_same_history(explicit.history, auto.history, rtol=0.0)
    fit(*on_dask(X, y, chunk=30), FitConfig(**cfg))  # in memory: the NumPy engine's order, nothing to say
    assert "order=" not in capsys.readouterr().err

    monkeypatch.setattr(dask_cluster.Connection, "total_memory", lambda self: 20_000.0)  # 230 × 4 × 8 B: held, but
    beyond = fit(*on_dask(X, y, chunk=30), FitConfig(**cfg))                           # more than 1/8 of it
    assert re.search(r"the data \(7\.36e-06 GB\) is more than 1/8 of the Dask workers' memory \(2e-05 GB\), too "
                     r"much to shuffle across them each epoch, so minibatch epochs visit the partitions in a seeded "
                     r"order", capsys.readouterr().err)
    assert_same_history(explicit.history, beyond.history, rtol=0.0)


@pytest.mark.parametrize("options", [dict(gram=False), dict(loss="huber", record_every=2),
                                     dict(gram=False, weighted=True)])
def test_minibatch_epochs_read_from_source_measure_with_their_own_reads(client, submitted, monkeypatch, options):
    """each epoch's reads also sum the loss and gradient at the parameters it starts from, so a fit whose
    objective is a pass over the data (gram=False, a robust loss) reads each partition once an epoch, not twice
    (the last epoch's objective is a pass of its own): the same history bit for bit as the passes apart"""
    options = dict(options)
    weights = np.linspace(0.5, 2.0, 400) if options.pop("weighted", False) else None
    X, y = noisy_data()
    cfg = FitConfig(engine="dask", epochs=3, batch_size=16, lr=0.05, seed=0, engine_options={"persist": False},
                    **options)
    fused = fit(*on_dask(X, y), cfg, sample_weight=weights)
    measured = len(fused.history)  # the objective is measured where it is recorded (with an exact answer to stop at)
    assert submitted.count("load_measured") == 4 * (measured - 1)  # every measurement but the last one's
    assert submitted.count("load") == 4 * (3 - (measured - 1))  # epochs after one not measured read as before
    assert submitted.count("block_loss_grad") == 4  # after the last epoch
    monkeypatch.setattr(DaskEngine, "measures_in_epoch", lambda self, task: False)
    submitted.clear()
    apart = fit(*on_dask(X, y), cfg, sample_weight=weights)
    assert submitted.count("load") == 4 * 3 and submitted.count("block_loss_grad") == 4 * measured
    assert_same_history(apart.history, fused.history, rtol=0.0)
    np.testing.assert_array_equal(apart.coef, fused.coef)


@pytest.mark.parametrize("weighted", [False, True])
def test_a_partition_read_from_its_files_is_decoded_once(client, tmp_path, monkeypatch, weighted):
    """a lazy partition's X and y come from one decoding of its row groups: each was decoded twice (X's and y's
    graphs were culled apart, so loading both ran the reader twice), which doubled every pass beyond memory"""
    from gradfit.engines import dask_data

    decoded = record_calls(monkeypatch, dask_data, "_read_parquet_piece", lambda piece, *args: piece.row_groups)
    X, y = noisy_data(n=120)
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y}), tmp_path / "d.parquet",
                   row_group_size=30)
    engine = DaskEngine(str(tmp_path / "d.parquet"), "y", scheduler=client, persist=False, partition_bytes=30 * 4 * 8)
    engine.weigh(np.arange(120.0) % 3 if weighted else None)
    loaded = [dask_tasks.load(source, "float64") for source in engine.sources]
    engine.close()
    assert sorted(decoded) == [(0,), (1,), (2,), (3,)]  # one decoding per partition
    np.testing.assert_array_equal(np.concatenate([part[0] for part in loaded]), X)
    np.testing.assert_array_equal(np.concatenate([part[1] for part in loaded])[:, 0] if weighted else
                                  np.concatenate([part[1] for part in loaded]), y)


def test_a_csv_partition_is_parsed_once(client, tmp_path, monkeypatch):
    import pandas as pd
    from dask.dataframe.io import csv as dask_csv

    parsed = record_calls(monkeypatch, dask_csv, "pandas_read_text")
    X, y = noisy_data(n=60)
    for k in range(2):
        rows = slice(30 * k, 30 * k + 30)
        pd.DataFrame({"a": X[rows, 0], "y": y[rows]}).to_csv(tmp_path / f"{k}.csv", index=False)
    engine = DaskEngine(str(tmp_path / "*.csv"), "y", scheduler=client, persist=False)
    parsed.clear()  # counting the rows (read_dataset's own pass) is not a partition's load
    loaded = [dask_tasks.load(source, "float64") for source in engine.sources]
    partitions = len(engine.sources)
    engine.close()
    assert len(parsed) == partitions == 2
    np.testing.assert_array_equal(np.concatenate([part[1] for part in loaded]), y)


def test_partition_bytes_option_splits_parquet_files_by_row_group(client, tmp_path):
    X, y = noisy_data(n=120)
    table = pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y})
    pq.write_table(table, tmp_path / "one.parquet", row_group_size=10)  # 12 row groups in one file
    pq.write_table(table.slice(0, 25), tmp_path / "two.parquet", row_group_size=25)
    engine = DaskEngine(str(tmp_path / "*.parquet"), "y", scheduler=client, partition_bytes=30 * 4 * 8)
    assert engine.sizes == [30, 30, 30, 30, 25]  # three row groups per partition; a file is never split mid-group
    engine.close()
    engine = DaskEngine(str(tmp_path / "*.parquet"), "y", scheduler=client, partition_bytes="1MB")
    assert engine.sizes == [120, 25]
    engine.close()
    Xd, yd, names = read_dataset(tmp_path / "one.parquet", "y", partition_bytes=1)  # below one group: one each
    assert Xd.chunks[0] == (10,) * 12
    cfg = FitConfig(epochs=2, batch_size=8, lr=0.02, seed=2)
    assert_same_history(fit(X, y, FitConfig(**{**cfg.to_dict(), "engine": "numpy"})).history,
                        fit(Xd, yd, FitConfig(**{**cfg.to_dict(), "engine": "dask",
                                                 "engine_options": {"order": "global"}})).history)
    for bad in (0, -5, "lots", True):
        with pytest.raises(OptionError, match=r"engine option partition_bytes=.* must be a size in bytes > 0"):
            DaskEngine(str(tmp_path / "*.parquet"), "y", scheduler=client, partition_bytes=bad)
