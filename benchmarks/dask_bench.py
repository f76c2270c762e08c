"""The Dask engine on Parquet files, beside one bare read of the same files, dask-ml and Spark MLlib.

    python benchmarks/dask_bench.py            two datasets (in the workers' memory, and beyond it); updates RESULTS.md
    python benchmarks/dask_bench.py --smoke    seconds; the tests run it so it never rots (writes nothing)

The benchmark writes its own data: uncompressed Parquet files of 20 float64 features and a
target (y = X·w + 0.5 + noise), in row groups, to a temporary folder. Everything runs on one
LocalCluster of 2 worker processes with 2 GB each (a thread each). Rows:

* one bare read-and-sum (``dd.read_parquet(...).sum()``): the reference, the time the data
  takes to come off the files; gradfit's own reader doing the same (``X.sum()``) beside it;
* gradfit's full-batch fit (``fit(...)`` with the defaults: lr="auto", epochs="auto"), from
  opening the files to the verdict, and how many times it read each partition; the best of 2 fits
  after a first one (on fresh workers it also imports gradfit and loads its compiled kernels there,
  a fixed cost the note gives);
* gradfit's minibatch epoch (batches of 1000), marginal: 2-epoch fit − 1-epoch fit, in
  the order ``order="auto"`` picks, and ``order="global"`` / ``"partition"`` for data held in memory; each
  epoch's objective from the Gram statistics (the default), and beyond memory also with ``gram=False``
  (the objective measured by a pass over the data after each epoch: a second read);
* dask-ml's LinearRegression (newton, lbfgs, admm, gradient_descent; lbfgs and admm with
  C=1e8, that is almost no penalty) and Spark MLlib's LinearRegression (normal, l-bfgs) on the
  same files, when they are installed (each says why when not), with their MSE against the
  least-squares optimum's.

Times are the best of ``REPEATS`` runs; the load average is printed with them (the machine may be shared).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import NamedTuple

import dask
import dask.dataframe as dd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pa_parquet
from distributed import Client, LocalCluster

from results import update_section
from timing import best_of  # benchmarks/ is on the path: these files run as scripts
from gradfit.training.config import FitConfig
from gradfit.engines.dask import read_dataset
from gradfit.training.solver import fit

N_FEATURES = 20
COLUMNS = [f"x{j}" for j in range(N_FEATURES)] + ["y"]
ROW_BYTES = len(COLUMNS) * 8


class Sizes(NamedTuple):
    datasets: dict  # label -> rows
    rows_per_file: int
    row_group: int
    workers: int
    memory_limit: str
    processes: bool
    repeats: int
    batch_size: int


SIZES = {
    "smoke": Sizes({"small": 20_000}, 5_000, 2_500, 2, "1GB", False, 1, 100),
    # 2M rows: 0.34 GB decoded, held in memory; 14M rows: 2.35 GB, more than half the workers' 4 GB
    "full": Sizes({"beyond memory": 14_000_000, "in memory": 2_000_000}, 1_000_000, 250_000, 2, "2GB", True, 1, 1000),
}


def write_dataset(folder: Path, n_rows: int, rows_per_file: int, row_group: int) -> int:
    """uncompressed Parquet files with row groups; returns the bytes written"""
    w = np.linspace(-1.0, 1.0, N_FEATURES)
    for k, start in enumerate(range(0, n_rows, rows_per_file)):
        rng = np.random.default_rng(k)
        m = min(rows_per_file, n_rows - start)
        X = rng.normal(size=(m, N_FEATURES)) * 2.0 + 1.0
        y = X @ w + 0.5 + rng.normal(size=m)
        table = pa.table({**{f"x{j}": X[:, j] for j in range(N_FEATURES)}, "y": y})
        pa_parquet.write_table(table, folder / f"part-{k:04d}.parquet", compression="NONE", row_group_size=row_group)
    return sum(p.stat().st_size for p in folder.glob("*.parquet"))


class Row(NamedTuple):
    what: str
    seconds: float | None
    reads: float | None  # seconds / the bare read
    note: str


def peak_rss() -> int:
    """this process's peak resident memory in bytes (Linux reports KiB)"""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@contextlib.contextmanager
def counting_reads(client: Client):
    """how many tasks read a partition (names of the functions submitted), while the block runs"""
    names: list[str] = []
    submit = client.submit

    def recording(fn, *args, **kwargs):
        names.append(getattr(fn, "__name__", ""))
        return submit(fn, *args, **kwargs)

    client.submit = recording
    try:
        yield names
    finally:
        client.submit = submit


READERS = ("block_summary", "block_residual_pass", "block_max_row_sq_norm", "block_loss_grad", "load")


def quiet_fit(X, y, config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(X, y, config)


def gradfit_rows(glob: str, client: Client, sizes: Sizes, read: float, in_memory: bool) -> tuple[list[Row], object]:
    """full batch, and minibatch epochs in the orders that apply"""
    def full_fit():
        X, y, names = read_dataset(glob, "y")
        return quiet_fit(X, y, FitConfig(engine="dask", seed=0, engine_options={"progress": False}))

    cold = best_of(full_fit, 1)  # the first fit on fresh workers imports gradfit and loads its kernels there
    full_s = best_of(full_fit, max(2, sizes.repeats))
    with counting_reads(client) as names:
        result = full_fit()
    n_parts = len(read_dataset(glob, "y")[0].chunks[0])
    passes = sum(names.count(r) for r in READERS) / n_parts
    rows = [Row("gradfit full batch, whole fit (defaults)", full_s, full_s / read,
                f"{passes:g} read(s) of each of {n_parts} partitions; {result.steps.epochs} epochs on the "
                f"Gram statistics; exact answer '{result.exact.method}', {result.exact.digits:.1f} digits; "
                f"the first fit on fresh workers (importing gradfit there) {cold:.2f} s")]
    # beyond memory, order="global" is left out: its per-epoch shuffle pauses and restarts the workers; the
    # defaults measure each epoch's objective from the Gram statistics, gram=False by a pass over the data
    runs = [(order, "auto") for order in ("auto", "global", "partition")] if in_memory else [("auto", "auto"),
                                                                                             ("auto", False)]
    for order, gram in runs:
        def minibatch(epochs):
            X, y, _ = read_dataset(glob, "y")
            return quiet_fit(X, y, FitConfig(engine="dask", epochs=epochs, batch_size=sizes.batch_size, seed=0,
                                             lr=0.01, gram=gram, engine_options={"order": order,
                                                                                 "progress": False}))
        said = io.StringIO()
        measured = "" if gram == "auto" else ", gram=False (each epoch's objective: a pass over the data)"
        what = f"gradfit minibatch-{sizes.batch_size} epoch, order='{order}'{measured}"
        try:
            with contextlib.redirect_stderr(said):
                minibatch(1)  # warm: the kernels compiled or loaded on the workers
                one = best_of(lambda: minibatch(1), max(2, sizes.repeats))
                two = best_of(lambda: minibatch(2), max(2, sizes.repeats))
        except Exception as exc:  # noqa: BLE001 - reported in the table
            rows.append(Row(what, None, None, f"failed: {type(exc).__name__}: {str(exc)[:100]}"))
            continue
        ran = order if order != "auto" else ("partition" if "order='partition'" in said.getvalue() else "global")
        epoch = two - one
        rows.append(Row(f"{what} (runs '{ran}')", epoch, epoch / read,
                        f"marginal: 2-epoch fit − 1-epoch fit; the 1-epoch fit {one:.1f} s"))
    return rows, result


def dask_ml_rows(glob: str, sizes: Sizes, read: float, best_mse: float, in_memory: bool) -> list[Row]:
    try:
        from dask_ml.linear_model import LinearRegression
    except ImportError:
        return [Row("dask-ml", None, None, "not installed (pip install dask-ml)")]
    if not in_memory:
        return [Row("dask-ml (all solvers)", None, None, "not run beyond the workers' memory: its solvers keep X and "
                    "X·β in memory each iteration (issue 14 measured every one killed at 42M × 20)")]
    rows = []
    for solver in ("newton", "lbfgs", "admm", "gradient_descent"):
        def run():
            frame = dd.read_parquet(glob, columns=COLUMNS)
            data = frame.to_dask_array(lengths=True).persist()  # in memory, as gradfit's auto persist does
            X, y = data[:, :-1], data[:, -1]
            model = LinearRegression(solver=solver, C=1e8, fit_intercept=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(X, y)
            return model, X, y

        t0 = time.perf_counter()
        try:
            model, X, y = run()
        except Exception as exc:  # noqa: BLE001 - reported in the table
            rows.append(Row(f"dask-ml LinearRegression(solver='{solver}')", None, None,
                            f"failed: {type(exc).__name__}: {str(exc)[:80]}"))
            continue
        seconds = time.perf_counter() - t0
        mse = float((((X @ model.coef_ + model.intercept_) - y) ** 2).mean().compute())
        rows.append(Row(f"dask-ml LinearRegression(solver='{solver}')", seconds, seconds / read,
                        f"MSE / optimum's − 1 = {mse / best_mse - 1:.1e}"))
    return rows


def spark_rows(folder: Path, read: float, best_mse: float, memory: str) -> list[Row]:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return [Row("Spark MLlib", None, None, "pyspark not installed")]
    if shutil.which("java") is None:
        return [Row("Spark MLlib", None, None, "no Java runtime")]
    from pyspark.ml.feature import VectorAssembler
    from pyspark.ml.regression import LinearRegression
    from pyspark.sql import SparkSession

    t0 = time.perf_counter()
    spark = (SparkSession.builder.master("local[2]").appName("gradfit-bench").config("spark.driver.memory", memory)
             .config("spark.ui.enabled", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    start_s = time.perf_counter() - t0
    rows = []
    try:
        for solver in ("normal", "l-bfgs"):
            t0 = time.perf_counter()
            frame = VectorAssembler(inputCols=COLUMNS[:-1], outputCol="features").transform(
                spark.read.parquet(str(folder)))
            model = LinearRegression(solver=solver, regParam=0.0, featuresCol="features", labelCol="y").fit(frame)
            seconds = time.perf_counter() - t0
            mse = model.summary.meanSquaredError
            rows.append(Row(f"Spark MLlib LinearRegression(solver='{solver}')", seconds, seconds / read,
                            f"MSE / optimum's − 1 = {mse / best_mse - 1:.1e}; local[2], driver memory {memory}; "
                            f"session start {start_s:.1f} s not counted"))
    finally:
        spark.stop()
    return rows


def dataset_rows(label: str, n_rows: int, sizes: Sizes, spark: bool) -> tuple[str, list[Row]]:
    root = Path(tempfile.mkdtemp(prefix="gradfit-dask-bench-"))
    try:
        say(f"{label}: writing {n_rows:,} rows of Parquet")
        written = write_dataset(root, n_rows, sizes.rows_per_file, sizes.row_group)
        say(f"{label}: reads, then gradfit")
        glob = str(root / "*.parquet")
        with LocalCluster(n_workers=sizes.workers, threads_per_worker=1, processes=sizes.processes,
                          memory_limit=sizes.memory_limit, dashboard_address=":0") as cluster, \
                Client(cluster) as client:
            bare = best_of(lambda: dd.read_parquet(glob, columns=COLUMNS).sum().compute(), sizes.repeats)
            ours = best_of(lambda: dask.compute(*(a.sum() for a in read_dataset(glob, "y")[:2])), sizes.repeats)
            in_memory = n_rows * ROW_BYTES <= 0.5 * sum(w["memory_limit"] for w in
                                                         client.scheduler_info(n_workers=-1)["workers"].values())
            rows = [Row("bare read-and-sum, `dd.read_parquet(...).sum()`", bare, 1.0, "the reference"),
                    Row("read-and-sum with gradfit's reader (`X.sum()`)", ours, ours / bare,
                        "row-group partitions within 128 MiB")]
            gradfit, result = gradfit_rows(glob, client, sizes, bare, in_memory)
            rows += gradfit
            peaks = sorted(client.run(peak_rss).values())
            best_mse = result.exact.rss / n_rows
            say(f"{label}: dask-ml")
            rows += dask_ml_rows(glob, sizes, bare, best_mse, in_memory)
        if spark and in_memory:
            say(f"{label}: Spark MLlib")
            rows += spark_rows(root, bare, best_mse, sizes.memory_limit.replace("GB", "g"))
        elif spark:
            rows.append(Row("Spark MLlib", None, None, "not run beyond memory here: Spark took over 4 minutes for the "
                            "2M-row set on this shared machine (issue 14 measured 82 s at 42M × 20 on a quiet one)"))
        workers = " and ".join(f"{p / 2**30:.2f} GiB" for p in peaks)
        head = (f"**{label}**: {n_rows:,} rows × {N_FEATURES} features + y, {n_rows * ROW_BYTES / 1e9:.2f} GB as "
                f"float64, {written / 1e9:.2f} GB of uncompressed Parquet in files of {sizes.rows_per_file:,} rows "
                f"(row groups of {sizes.row_group:,}); LocalCluster of {sizes.workers} workers × "
                f"{sizes.memory_limit}; the workers' peak resident memory: {workers}")
        return head, rows
    finally:
        shutil.rmtree(root, ignore_errors=True)


def fmt(seconds: float | None) -> str:
    return "—" if seconds is None else (f"{seconds * 1e3:.0f} ms" if seconds < 1 else f"{seconds:.2f} s")


def say(text: str) -> None:
    """progress on stderr while the benchmark runs (it takes minutes)"""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def table(sections: list[tuple[str, list[Row]]], load_before, load_after) -> str:
    lines = [f"{platform.machine()}, {os.cpu_count()} CPUs ({cpu_model()}), {memory_gib():.0f} GiB; Python "
             f"{platform.python_version()}, Dask {dask.__version__}, NumPy {np.__version__}, PyArrow {pa.__version__}; "
             f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after", ""]
    for head, rows in sections:
        lines += [head, "", "| what | time | in reads | note |", "|---|---|---|---|"]
        lines += [f"| {r.what} | {fmt(r.seconds)} | {'' if r.reads is None else f'{r.reads:.2f}'} | {r.note} |"
                  for r in rows]
        lines.append("")
    return "\n".join(lines).rstrip()


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat, no Spark, RESULTS.md untouched")
    parser.add_argument("--no-spark", action="store_true", help="leave Spark MLlib out")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "full"
    sizes = SIZES[mode]
    load_before = os.getloadavg()
    sections = []
    for label, n in sizes.datasets.items():  # the table so far is kept after each dataset
        sections.append(dataset_rows(label, n, sizes, spark=mode == "full" and not args.no_spark))
        text = table(sections, load_before, os.getloadavg())
        print(text, flush=True)
        if mode == "full":
            update_section("dask", "## Beyond one machine: the Dask engine (`make bench-dask`)\n\n" + text)
    return text


if __name__ == "__main__":
    sys.exit(main() and 0)
