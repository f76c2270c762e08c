"""The Dask engine on a LocalCluster of two worker processes walks the NumPy engine's trajectory.

Tolerance: 1e-9 relative (to each column's scale) on every recorded value, float64,
as in the engine grid. Partitions of 13 rows with batches of 7 put batches across
partition boundaries, so the rows carried from one worker's task to the next are
exercised in every minibatch test.
"""

import os
import re
import signal
import subprocess
import sys
import threading

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from gradfit.descent import batching
from gradfit.engines import dask_cluster
from gradfit.engines.dask import DaskEngine, partition_order, read_dataset
from gradfit.errors import DataError, OptionError
from gradfit.training.config import FitConfig
from gradfit.training.solver import fit

from .helpers import assert_same_history, uncentered_data
from .test_engine_grid import BATCHES, LOSSES, OPTIMIZERS

CHUNK = 13
GRID_CHUNK = 20  # two partitions: fewer tasks per epoch keeps the grid quick on a shared machine


def on_dask(X, y, chunk=CHUNK):
    return da.from_array(X, chunks=(chunk, -1)), da.from_array(y, chunks=chunk)


def both(settings, chunk=CHUNK):
    """(numpy fit, dask fit) of the same data and settings"""
    X, y = uncentered_data()
    settings = {"epochs": 4, "seed": 4, "gram": False, **settings}
    options = settings.pop("engine_options", {})
    numpy_fit = fit(X, y, FitConfig(engine="numpy", **settings))
    dask_fit = fit(*on_dask(X, y, chunk), FitConfig(engine="dask", engine_options=options, **settings))
    return numpy_fit, dask_fit


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_dask_matches_numpy(client, opt, batch):
    numpy_fit, dask_fit = both(dict(OPTIMIZERS[opt], batch_size=BATCHES[batch]), chunk=GRID_CHUNK)
    assert_same_history(numpy_fit.history, dask_fit.history)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("loss", LOSSES)
def test_dask_losses_and_averaging_match_numpy(client, loss, batch):
    numpy_fit, dask_fit = both(dict(LOSSES[loss], batch_size=BATCHES[batch]), chunk=GRID_CHUNK)
    assert_same_history(numpy_fit.history, dask_fit.history)


@pytest.mark.parametrize("extra", [
    dict(shuffle=False, batch_size=7),
    dict(shuffle=False, batch_size=20, engine_options={"persist": False}),
    dict(batch_size=5, alpha=0.05, l1_ratio=0.5, engine_options={"persist": False, "order": "global"}),
    dict(batch_size=9, preprocess="standardize", lr=0.05),
    dict(gram=True, alpha=0.1, preprocess="center"),
    dict(gram=True, batch_size=7, fit_intercept=False),
    dict(record_every="step", batch_size=13, epochs=2),
])
def test_variants_match_numpy(client, extra):
    numpy_fit, dask_fit = both({"lr": 0.02, **extra})
    assert dask_fit.used_gram == numpy_fit.used_gram
    assert_same_history(numpy_fit.history, dask_fit.history)


def test_gram_statistics_match_one_pass_over_all_rows(client):
    X, y = uncentered_data(n=50, d=4, seed=3)
    numpy_stats = fit(X, y, FitConfig(engine="numpy")).stats
    engine = DaskEngine(*on_dask(X, y, chunk=7))
    dask_stats = engine.gram()
    engine.close()
    assert dask_stats.n == numpy_stats.n == 50
    for name in ("x_mean", "xtx", "xty"):
        np.testing.assert_allclose(getattr(dask_stats, name), getattr(numpy_stats, name), rtol=1e-12, atol=1e-12)
    assert dask_stats.yty == pytest.approx(numpy_stats.yty, rel=1e-12)


def test_partition_order_is_a_seeded_walk_over_partitions():
    sizes = [4, 3, 5]
    order = partition_order(sizes, epoch=1, seed=7)
    assert sorted(order.tolist()) == list(range(12))
    visit = np.random.default_rng([7, 1]).permutation(3)
    bounds = [(0, 4), (4, 7), (7, 12)]
    pieces = np.split(order, np.cumsum([sizes[p] for p in visit])[:-1])
    for p, piece in zip(visit, pieces):
        assert sorted(piece.tolist()) == list(range(*bounds[p]))
    assert not np.array_equal(order, partition_order(sizes, epoch=2, seed=7))
    assert np.array_equal(order, partition_order(sizes, epoch=1, seed=7))


def test_partition_order_trajectory_is_numpy_on_that_order(client, monkeypatch):
    X, y = uncentered_data()
    sizes = [len(c) for c in np.array_split(np.arange(40), range(CHUNK, 40, CHUNK))]
    settings = dict(batch_size=7, lr=0.02, engine_options={"order": "partition"})
    dask_fit = both(settings)[1]
    monkeypatch.setattr(batching, "epoch_order", lambda n, epoch, shuffle, seed: partition_order(sizes, epoch, seed))
    numpy_fit = fit(X, y, FitConfig(engine="numpy", epochs=4, seed=4, gram=False, batch_size=7, lr=0.02))
    assert_same_history(numpy_fit.history, dask_fit.history)


def frame(X, y):
    return pd.DataFrame({**{f"x{j}": X[:, j] for j in range(X.shape[1])}, "y": y})


def test_dataframe_parquet_and_csv_inputs_match_numpy(client, tmp_path):
    X, y = uncentered_data(n=45)
    df = frame(X, y)
    for k, part in enumerate(np.split(np.arange(45), [10, 25])):
        df.iloc[part].to_parquet(tmp_path / f"part{k}.parquet")
        df.iloc[part].to_csv(tmp_path / f"part{k}.csv", index=False)
    cfg = FitConfig(engine="dask", epochs=3, seed=1, lr=0.02, batch_size=8)
    expected = fit(X, y, FitConfig(**{**cfg.to_dict(), "engine": "numpy"})).history
    ddf = dd.from_pandas(df, npartitions=3)
    inputs = [(ddf.drop(columns=["y"]), ddf["y"]), read_dataset(str(tmp_path / "*.parquet"), "y")[:2],
              read_dataset(tmp_path / "*.csv", "y")[:2]]
    for X_in, y_in in inputs:
        assert_same_history(expected, fit(X_in, y_in, cfg).history)
    for X_in in (ddf, tmp_path / "*.parquet"):  # the engine also takes a target column's name
        engine = DaskEngine(X_in, "y")
        assert (engine.n_rows, engine.feature_names) == (45, ["x0", "x1", "x2"])
        assert engine.gram().n == 45
        engine.close()
    Xd, _, names = read_dataset(tmp_path / "*.parquet", "y", features=["x2", "x0"])
    assert names == ["x2", "x0"] and Xd.chunks[0] == (10, 15, 20)
    np.testing.assert_array_equal(Xd.compute(), X[:, [2, 0]])


def test_fit_survives_a_killed_worker(client):
    """a worker process is SIGKILLed while epoch 3 or 4 runs: its partitions and tasks are redone elsewhere"""
    X, y = uncentered_data(n=60, seed=3)
    cfg = FitConfig(engine="dask", epochs=6, batch_size=7, lr=0.02, seed=2, gram=False)
    undisturbed = fit(*on_dask(X, y), cfg)
    killed = []

    def kill_a_worker():
        address, pid = min(client.run(os.getpid).items())
        os.kill(pid, signal.SIGKILL)
        killed.append(address)

    killer = threading.Timer(0.05, kill_a_worker)

    def during_the_fit(info):
        if info.epoch == 2:
            killer.start()
        if info.epoch == 4:
            killer.join()

    disturbed = fit(*on_dask(X, y), cfg, callbacks=[during_the_fit])
    client.wait_for_workers(2, timeout=60)
    assert killed
    assert_same_history(undisturbed.history, disturbed.history)


def write_parts(folder, frames, suffix=".parquet"):
    for name, df in frames.items():
        path = folder / f"{name}{suffix}"
        df.to_parquet(path) if suffix == ".parquet" else df.to_csv(path, index=False)
    return str(folder / f"*{suffix}")


def test_parquet_files_with_integer_and_float_columns_and_few_columns_chosen(tmp_path):
    wide = {f"c{j}": np.arange(4.0) + j for j in range(30)}
    pd.DataFrame({"x": [1, 2, 3], "y": [1.0, 2.0, 3.0], **{k: v[:3] for k, v in wide.items()}}).to_parquet(
        tmp_path / "a.parquet")
    pd.DataFrame({"x": [0.5, 1.5, 2.5, 3.5], "y": [4.0, 5.0, 6.0, 7.0], **wide}).to_parquet(tmp_path / "b.parquet")
    X, y, names = read_dataset(tmp_path / "*.parquet", "y", features=["x"])
    assert names == ["x"] and X.chunks[0] == (3, 4)
    np.testing.assert_array_equal(X.compute()[:, 0], [1, 2, 3, 0.5, 1.5, 2.5, 3.5])
    np.testing.assert_array_equal(y.compute(), [1, 2, 3, 4, 5, 6, 7])


def test_missing_target_in_one_file_names_the_file(tmp_path):
    df = frame(*uncentered_data(n=10))
    glob = write_parts(tmp_path, {"a": df, "b": df.drop(columns=["y"])})
    with pytest.raises(DataError, match=r"b\.parquet has no target column 'y' \(unlike .*a\.parquet\)"):
        read_dataset(glob, "y")


def test_schema_mismatch_names_both_files_and_the_column(tmp_path):
    df = frame(*uncentered_data(n=10))
    glob = write_parts(tmp_path, {"a": df, "b": df.assign(x1=["v"] * 10)}, suffix=".csv")
    with pytest.raises(DataError, match=r"b\.csv: column 'x1' is not numeric \(its type is string\) "
                                        r"but numeric in .*a\.csv"):
        read_dataset(glob, "y")
    glob = write_parts(tmp_path, {"c": df, "d": df.drop(columns=["x2"])})
    with pytest.raises(DataError, match=r"d\.parquet has no feature column 'x2' \(unlike .*c\.parquet\)"):
        read_dataset(glob, "y")


def test_no_matching_file_and_unknown_extension(tmp_path):
    with pytest.raises(DataError, match=r"no data file matches '.*nothing-\*\.parquet'"):
        read_dataset(tmp_path / "nothing-*.parquet", "y")
    (tmp_path / "a.txt").write_text("x,y\n1,2\n")
    with pytest.raises(DataError, match=r"a\.txt has an unknown extension '\.txt'"):
        read_dataset(tmp_path / "*.txt", "y")


def test_missing_value_names_the_partition_and_column(client):
    X, y = uncentered_data()
    X[20, 1] = np.nan
    with pytest.raises(DataError, match=r"partition 1 \(rows 13-25\): column 'x1' has a missing value \(NaN\) "
                                        r"at row index 7"):
        fit(*on_dask(X, y), FitConfig(engine="dask"))


def test_an_infinite_target_names_the_partition_and_the_target(client):
    """found from the partition's statistics, then named by the column check"""
    X, y = uncentered_data()
    y[30] = np.inf
    with pytest.raises(DataError, match=r"partition 2 \(rows 26-38\): column 'y' has an infinite value"):
        fit(*on_dask(X, y), FitConfig(engine="dask"))


def test_unreachable_scheduler_names_the_address():
    X, y = uncentered_data()
    with pytest.raises(OptionError, match=r"scheduler='tcp://127\.0\.0\.1:9': cannot reach a Dask scheduler "
                                          r"there within 1s"):
        DaskEngine(*on_dask(X, y), dtype="float64", device="cpu", scheduler="tcp://127.0.0.1:9",
                   connect_timeout="1s")


def test_bad_engine_options_are_named():
    X, y = uncentered_data()
    with pytest.raises(OptionError, match=r"engine option order='random' is not one of"):
        DaskEngine(X, y, order="random")
    with pytest.raises(OptionError, match=r"engine option workers=3 is not known to the dask engine"):
        DaskEngine(X, y, workers=3)


def test_scheduler_address_connects_and_leaves_the_cluster_running(client):
    X, y = uncentered_data()
    engine = DaskEngine(*on_dask(X, y), scheduler=client.scheduler.address)
    assert engine.client is not client and engine.n_rows == 40
    assert engine.gram().n == 40  # the progress bar follows this engine's own client, not the default one
    engine.close()
    assert engine.client.status == "closed" and client.submit(sum, [1, 2]).result() == 3


def test_without_a_client_a_local_cluster_is_started_and_closed(monkeypatch, capsys):
    def no_client():
        raise ValueError("no global client")

    monkeypatch.setattr(dask_cluster, "default_client", no_client)
    X, y = uncentered_data()
    engine = DaskEngine(X, y, n_workers=1, processes=False)
    assert "started a Dask LocalCluster with 1 workers; dashboard at http" in capsys.readouterr().err
    assert engine.gram().n == 40
    engine.close()
    assert engine.conn.cluster.status.name == "closed"


# ---------------------------------------------------------------- issue 15: deadlines, memory, shapes


def _bounded(call, seconds=90):
    """run ``call`` in a thread; fail (instead of hanging the suite) if it has not ended after ``seconds``"""
    outcome = {}

    def target():
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return outcome


@pytest.fixture
def silent_server():
    """a TCP port on 127.0.0.1 that accepts connections and never answers"""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []
    threading.Thread(target=lambda: [held.append(server.accept()) for _ in range(8)], daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    for conn, _ in held:
        conn.close()
    server.close()


def test_a_scheduler_that_never_answers_fails_within_the_deadline(silent_server):
    X, y = uncentered_data()
    outcome = _bounded(lambda: DaskEngine(X, y, scheduler=silent_server, connect_timeout="1s"))
    assert isinstance(outcome.get("error"), OptionError), outcome
    assert re.search(r"cannot reach a Dask scheduler there within 1s \(no answer\)", str(outcome["error"]))


def test_a_malformed_scheduler_address_is_refused_before_connecting():
    X, y = uncentered_data()
    with pytest.raises(OptionError, match=r"scheduler='not a url' is not a scheduler address such as tcp://host"):
        DaskEngine(X, y, scheduler="not a url")


def test_cli_with_a_silent_scheduler_prints_one_line_and_ends(silent_server, tmp_path):
    (tmp_path / "d.csv").write_text("a,y\n1,2\n2,3\n3,5\n")
    proc = subprocess.run([sys.executable, "-m", "gradfit.cli", "fit", str(tmp_path / "d.csv"), "-t", "y", "-o",
                           str(tmp_path / "m.json"), "--engine", "dask", "--scheduler", silent_server],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "cannot reach a Dask scheduler there within 10s" in proc.stderr and not (tmp_path / "m.json").exists()
    proc = subprocess.run([sys.executable, "-m", "gradfit.cli", "fit", str(tmp_path / "d.csv"), "-t", "y",
                           "--engine", "dask", "--scheduler", "not a url"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr


def test_workers_paused_at_their_memory_limit_stop_the_fit_with_one_line(client, monkeypatch):
    from distributed import Event

    X, y = uncentered_data()
    engine = DaskEngine(*on_dask(X, y), scheduler=client, paused_timeout=0.2)
    info = client.scheduler_info(n_workers=-1)
    for worker in info["workers"].values():
        worker["status"] = "paused"
    monkeypatch.setattr(engine.client, "scheduler_info", lambda **kw: info)
    monkeypatch.setattr("gradfit.engines.dask.WATCH_SECONDS", 0.1)
    never = Event("never-set", client=client)
    stuck = client.submit(lambda: never.wait(60), pure=False)
    outcome = _bounded(lambda: engine._result(stuck))
    stuck.cancel()
    assert isinstance(outcome.get("error"), DataError), outcome
    assert re.search(r"every Dask worker has been paused for \d+ s, its memory full at .*GiB: nothing can progress; "
                     r"give the workers more memory", str(outcome["error"]))


def test_parquet_is_read_in_row_groups_within_the_budget(client, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    X, y = uncentered_data()
    table = pa.table({"x0": X[:, 0], "x1": X[:, 1], "x2": X[:, 2], "y": y})
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=7)  # 6 row groups: 7,7,7,7,7,5
    Xd, yd, names = read_dataset(tmp_path / "d.parquet", "y", partition_bytes=14 * 4 * 8)
    assert Xd.chunks[0] == (14, 14, 12) and names == ["x0", "x1", "x2"]
    np.testing.assert_array_equal(Xd.compute(), X)
    whole, _, _ = read_dataset(tmp_path / "d.parquet", "y")
    assert whole.chunks[0] == (40,)
    numpy_fit = fit(X, y, FitConfig(engine="numpy", epochs=3, batch_size=5, seed=1))
    dask_fit = fit(Xd, yd, FitConfig(engine="dask", epochs=3, batch_size=5, seed=1), feature_names=names)
    assert_same_history(numpy_fit.history, dask_fit.history)


def test_parquet_row_groups_are_copied_into_rows_block_by_block(tmp_path, monkeypatch):
    """integers, missing values and row groups that do not divide into the copy's blocks come out as NumPy
    reads them"""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gradfit.engines import dask_data

    monkeypatch.setattr(dask_data, "FILL_ROWS", 3)
    ints = pa.array(range(40), type=pa.int64())
    gaps = pa.array([None if k % 9 == 4 else k / 8 for k in range(40)], type=pa.float64())
    y = pa.array([2.0 * k for k in range(40)])
    pq.write_table(pa.table({"n": ints, "g": gaps, "y": y}), tmp_path / "d.parquet", row_group_size=11)
    X, target, names = read_dataset(tmp_path / "d.parquet", "y")
    want = np.column_stack([np.arange(40.0), [np.nan if k % 9 == 4 else k / 8 for k in range(40)]])
    np.testing.assert_array_equal(X.compute(scheduler="sync"), want)  # in this process, where FILL_ROWS is 3
    np.testing.assert_array_equal(target.compute(scheduler="sync"), 2.0 * np.arange(40))
    assert names == ["n", "g"]


def test_dask_input_shapes_are_one_line(client, tmp_path):
    (tmp_path / "dup.csv").write_text("a,a,y\n1,2,3\n2,3,4\n")
    with pytest.raises(DataError, match=r"dup\.csv has two columns named 'a' \(columns 1 and 2\)"):
        read_dataset(tmp_path / "dup.csv", "y")
    (tmp_path / "ok.csv").write_text("a,b,y\n1,2,3\n2,3,4\n")
    with pytest.raises(DataError, match=r"option --features names the target column 'y'"):
        read_dataset(tmp_path / "ok.csv", "y", features=["a", "y"])
    late = tmp_path / "late"
    late.mkdir()
    rows = "".join(f"{k},{k % 7},{k % 3}\n" for k in range(120_000))
    (late / "big.csv").write_text("a,b,y\n" + rows + "1,oops,2\n")  # text after the first block
    with pytest.raises(DataError, match=r"cannot be read as numbers: .*oops"):
        read_dataset(late / "big.csv", "y")


def test_empty_partitions_are_dropped(client, tmp_path):
    (tmp_path / "p1.csv").write_text("a,y\n1,2\n2,3\n3,5\n")
    (tmp_path / "p2.csv").write_text("a,y\n")
    (tmp_path / "p3.csv").write_text("a,y\n4,4\n5,7\n")
    X, y, names = read_dataset(tmp_path / "*.csv", "y")
    result = fit(X, y, FitConfig(engine="dask", epochs=2, batch_size=2, seed=0), feature_names=names)
    reference = fit(np.array([[1.0], [2], [3], [4], [5]]), np.array([2.0, 3, 5, 4, 7]),
                    FitConfig(engine="numpy", epochs=2, batch_size=2, seed=0))
    assert_same_history(reference.history, result.history)
