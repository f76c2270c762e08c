"""Peak memory of fitting in-memory float64 data: run under ``/usr/bin/time -v``.

    /usr/bin/time -v python benchmarks/memory.py 2000000 50   # the reference data
    /usr/bin/time -v python benchmarks/memory.py 1000 50      # the interpreter's own baseline

Builds X (n × d float64) and y, then fits full batch (Gram path, 500 epochs), one
per-sample epoch and one minibatch epoch; gradfit must never copy X on the way.
"""

import sys

from synthetic import make_data

from gradfit.training.config import FitConfig
from gradfit.training.solver import fit


def main(n: int, d: int) -> None:
    X, y = make_data(n, d)
    fit(X, y, FitConfig(epochs=500, lr=0.1, record_every=500))
    fit(X, y, FitConfig(epochs=1, batch_size=1, lr=1e-3, preprocess="standardize"))
    fit(X, y, FitConfig(epochs=1, batch_size=32, lr=1e-3, preprocess="center"))
    print(f"X: {X.nbytes / 2**20:.1f} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
