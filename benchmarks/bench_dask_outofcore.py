"""Out-of-core benchmark: a Parquet dataset larger than the Dask workers' memory, fitted with bounded memory.

Writes ``--data-gb`` of uncompressed Parquet (float64 features and target) to a
temporary folder, fits it with the Dask engine on a LocalCluster of ``--workers``
processes limited to ``--memory-limit`` each (partitions stream from disk: they do
not fit in the workers' memory), and fits in-memory data with the NumPy engine.
Reports rows per second for a full-batch fit (Gram pass, residual pass, epochs)
and for one minibatch epoch (Dask: ``order="partition"``), and each worker's peak
resident memory.

    python benchmarks/bench_dask_outofcore.py --smoke          # seconds, tiny sizes
    python benchmarks/bench_dask_outofcore.py --workers 4 --memory-limit 1GB --data-gb 6
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pa_parquet
from dask.utils import format_bytes, parse_bytes
from distributed import Client, LocalCluster

from gradfit.engines.dask import read_dataset
from gradfit.training.config import FitConfig
from gradfit.training.solver import fit

N_FEATURES = 20
ROW_BYTES = (N_FEATURES + 1) * 8
SIZES = {  # smoke: seconds on one thread; full: the defaults of the command line
    True: dict(workers=1, memory_limit="1GB", data_gb=0.004, rows_per_file=5_000, numpy_rows=20_000),
    False: dict(workers=2, memory_limit="1GB", data_gb=3.0, rows_per_file=500_000, numpy_rows=2_000_000),
}
SETTINGS = dict(lr=0.05, preprocess="standardize", seed=0)


def make_rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """a linear problem with noise; the same coefficients for every seed"""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES)) * 2.0 + 1.0
    y = X @ np.linspace(-1.0, 1.0, N_FEATURES) + 0.5 + rng.normal(size=n)
    return X, y


def write_dataset(folder: Path, n_rows: int, rows_per_file: int) -> int:
    """uncompressed Parquet files of ``rows_per_file`` rows; returns the bytes written"""
    for k, start in enumerate(range(0, n_rows, rows_per_file)):
        X, y = make_rows(min(rows_per_file, n_rows - start), seed=k)
        table = pa.table({**{f"x{j}": X[:, j] for j in range(N_FEATURES)}, "y": y})
        pa_parquet.write_table(table, folder / f"part-{k:05d}.parquet", compression="NONE")
    return sum(p.stat().st_size for p in folder.glob("*.parquet"))


def timed_fits(X, y, engine: str, engine_options: dict | None = None) -> dict:
    """rows/s of a full-batch fit and of one minibatch epoch"""
    n = int(X.shape[0])
    t0 = time.perf_counter()
    full = fit(X, y, FitConfig(engine=engine, epochs=50, engine_options=engine_options or {}, **SETTINGS))
    full_s = time.perf_counter() - t0
    options = {**(engine_options or {}), "order": "partition"} if engine == "dask" else {}
    mini = fit(X, y, FitConfig(engine=engine, epochs=1, batch_size=1000, engine_options=options, **SETTINGS))
    epoch_s = mini.history.time[-1] - mini.history.time[0]
    return {"rows": n, "full_batch_s": full_s, "full_batch_rows_per_s": n / full_s,
            "minibatch_epoch_s": epoch_s, "minibatch_rows_per_s": n / epoch_s, "coef0": full.coef[0]}


def peak_rss() -> int:
    """this process's peak resident memory in bytes (Linux reports KiB)"""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_dask(folder: Path, workers: int, memory_limit: str, smoke: bool) -> dict:
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=not smoke,
                      memory_limit=memory_limit, dashboard_address=":0") as cluster, Client(cluster) as client:
        t0 = time.perf_counter()
        X, y, _ = read_dataset(str(folder / "*.parquet"), "y")
        out = {"open_s": time.perf_counter() - t0, "partitions": X.numblocks[0]}
        out.update(timed_fits(X, y, "dask", {"persist": False}))
        out["worker_peak_bytes"] = sorted(client.run(peak_rss).values())
    return out


def report(sizes: dict, data_bytes: int, dask: dict, numpy: dict) -> None:
    limit = parse_bytes(sizes["memory_limit"])
    print(f"data: {dask['rows']:,} rows x {N_FEATURES} features, {format_bytes(data_bytes)} of Parquet "
          f"in {dask['partitions']} partitions; workers: {sizes['workers']} x {format_bytes(limit)} "
          f"= {format_bytes(sizes['workers'] * limit)}")
    print(f"opening (schemas, row counts): {dask['open_s']:.1f} s")
    print(f"workers' peak memory: {', '.join(format_bytes(b) for b in dask['worker_peak_bytes'])}")
    print(f"{'':28}{'dask (out of core)':>22}{'numpy (in memory)':>22}")
    for key, what in (("full_batch_rows_per_s", "full-batch fit, rows/s"), ("minibatch_rows_per_s",
                      "minibatch epoch, rows/s")):
        print(f"{what:28}{dask[key]:>22,.0f}{numpy[key]:>22,.0f}")
    print(f"{'full-batch fit, seconds':28}{dask['full_batch_s']:>22.1f}{numpy['full_batch_s']:>22.1f}")


def main(smoke: bool = False, workers: int | None = None, memory_limit: str | None = None,
         data_gb: float | None = None, folder: str | None = None) -> dict:
    """run the benchmark; returns its figures"""
    sizes = dict(SIZES[smoke])
    sizes.update({k: v for k, v in dict(workers=workers, memory_limit=memory_limit, data_gb=data_gb).items()
                  if v is not None})
    root = Path(tempfile.mkdtemp(prefix="gradfit-outofcore-", dir=folder))
    try:
        n_rows = int(sizes["data_gb"] * 1e9 / ROW_BYTES)
        data_bytes = write_dataset(root, n_rows, sizes["rows_per_file"])
        dask = run_dask(root, sizes["workers"], sizes["memory_limit"], smoke)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    numpy = timed_fits(*make_rows(min(sizes["numpy_rows"], n_rows), seed=0), "numpy")
    report(sizes, data_bytes, dask, numpy)
    return {"sizes": sizes, "data_bytes": data_bytes, "dask": dask, "numpy": numpy}


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: a check that runs in seconds")
    parser.add_argument("--workers", type=int, help="Dask worker processes (default 2)")
    parser.add_argument("--memory-limit", help="memory limit of each worker (default 1GB)")
    parser.add_argument("--data-gb", type=float, help="size of the Parquet dataset in GB (default 3)")
    parser.add_argument("--dir", help="where to write the dataset (default: the system's temporary folder)")
    return parser.parse_args()


if __name__ == "__main__":
    args = _parse()
    main(args.smoke, args.workers, args.memory_limit, args.data_gb, args.dir)
