"""Numba's compiled kernels: where they are cached, and a message when a call is about to compile.

The kernels are compiled with ``cache=True``. Numba keeps the machine code in ``__pycache__`` beside
the installed ``gradfit/engines/kernels.py`` (one cache per install location); where that folder is not
writable it falls back to a per-user folder that names the install's path (``NUMBA_CACHE_DIR``
chooses another place). Compiling the epoch kernels takes up to a minute for each kind of array
(float64, float32, read-only: one Numba signature each; an F-order X, as a DataFrame gives, reaches
the kernels as a row-major copy); loading them from the cache a fraction of a
second. ``compiling(dispatcher)(*args)`` says so on stderr when (and only when) a call is about to
compile; ``python -m gradfit.engines.jit_cache`` compiles the usual kinds ahead of time (``make venv`` runs it).

Every kernel is made by ``jit`` (``numba.njit(cache=True)``), whose cache entries are saved and loaded
under a lock on a file beside their index (``locked``): Numba saves the index, then the data file it
names, so two processes compiling at once (test workers, joblib's or Dask's worker processes on one
machine) could both take the same data file, and a later process load one signature's machine code
for another's arrays.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
import time
from typing import Callable

try:
    import fcntl
except ImportError:  # Windows: Numba's own cache behaviour, unlocked
    fcntl = None

#: what the message says to expect (measured on 2 shared cores: 16-27 s for the first layout, 7 s for each next)
COMPILE_TIME = "up to a minute"


def jit(**options) -> Callable:
    """decorator: ``numba.njit(cache=True, **options)``, its on-disk cache locked across processes (``locked``)"""
    from numba import njit

    return lambda fn: locked(njit(cache=True, **options)(fn))


def locked(dispatcher):
    """``dispatcher`` with its cache entries saved under an exclusive lock and loaded under a shared one, on a
    file beside the cache's index (no lock where that file cannot be made: nothing is saved there either)"""
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    if cache_file is None or fcntl is None:
        return dispatcher
    save, load, path = cache_file.save, cache_file.load, cache_file._index_path + ".lock"

    def locked_save(key, data):
        with _flocked(path, fcntl.LOCK_EX):
            save(key, data)

    def locked_load(key):
        with _flocked(path, fcntl.LOCK_SH):
            return load(key)

    cache_file.save, cache_file.load = locked_save, locked_load
    return dispatcher


@contextlib.contextmanager
def _flocked(path: str, mode: int):
    """hold ``flock(mode)`` on ``path`` (made if missing) for the block; released when its descriptor closes"""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        fd = None
    try:
        if fd is not None:
            fcntl.flock(fd, mode)
        yield
    finally:
        if fd is not None:
            os.close(fd)


def frozen(a):
    """a read-only view of array ``a``: kernels that only read an array are given it read-only, so a writable and a
    read-only array of one kind meet one compiled signature (one compile, one cache entry, one machine code)"""
    view = a.view()
    view.flags.writeable = False
    return view


def frozen_rows(X, y) -> tuple:
    """(X, y) as the kernels that read the data are compiled for them: both read-only (``frozen``), y contiguous
    (one compiled signature for each kind of X)"""
    import numpy as np

    return frozen(X), frozen(np.ascontiguousarray(y))


def will_compile(dispatcher, args: tuple) -> bool:
    """True when calling ``dispatcher(*args)`` compiles: no such overload in this process, none in the cache"""
    sig = tuple(dispatcher.typeof_pyval(a) for a in args)
    if sig in dispatcher.overloads:
        return False
    cache = getattr(dispatcher, "_cache", None)  # numba.core.caching.FunctionCache with cache=True
    index = getattr(cache, "_cache_file", None)
    if index is None:
        return True  # no cache: every new signature compiles
    try:
        return cache._index_key(sig, dispatcher.targetctx.codegen()) not in index._load_index()
    except (ImportError, pickle.UnpicklingError, EOFError):  # written before a module it names moved, or torn
        _drop(index)
        return True
    except (AttributeError, TypeError, ValueError, OSError):  # another Numba's internals: assume the worst
        return True


def _drop(index) -> None:
    """remove a cache index that cannot be read, so Numba compiles afresh instead of failing on it"""
    path = getattr(index, "_index_path", None)
    if path is not None:
        with contextlib.suppress(OSError):
            os.remove(path)


def cache_folder(dispatcher) -> str | None:
    """the folder where Numba keeps this dispatcher's machine code (None without a cache)"""
    return getattr(getattr(dispatcher, "_cache", None), "cache_path", None)


def compiling(dispatcher, what: str = "the epoch kernels", stream=None) -> Callable:
    """``dispatcher``, saying on stderr before a call that compiles what is happening and after it how long it took
    (a plain function, as with NUMBA_DISABLE_JIT=1 or a test's stand-in, is returned as it is)"""
    if not hasattr(dispatcher, "overloads"):
        return dispatcher

    def call(*args):
        if not will_compile(dispatcher, args):
            return dispatcher(*args)
        out = stream or sys.stderr
        print(f"gradfit: compiling {what} for this kind of array, once per install ({COMPILE_TIME}; "
              f"later runs load them from {cache_folder(dispatcher) or 'the cache'})...", file=out, flush=True)
        start = time.perf_counter()
        result = dispatcher(*args)
        print(f"gradfit: compiled {what} in {time.perf_counter() - start:.0f} s", file=out, flush=True)
        return result

    return call


def warm() -> None:
    """compile (or load) the epoch kernels for the arrays fits meet: float64 and float32 rows (C order; a
    DataFrame's F-order values reach the kernels as a row-major float64 copy), minibatch and plain SGD's
    per-sample steps (``kernels.plain_sgd_epoch``), and the sparse kernels for a
    CSR matrix with 32-bit indices (scipy's usual) in their three usual forms of the lazy steps
    (``kernels_lazy.Readers``): standardized narrow data, and data too wide for statistics (neither scaled
    nor shifted) with and without an intercept; each is one Numba signature"""
    import warnings

    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    from ..estimator import GDRegressor

    X = np.random.default_rng(0).normal(size=(64, 2))
    y = X @ [1.0, 2.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one short epoch is not at the optimum, and need not be
        for data, dtype in ((X, "float64"), (X.astype(np.float32), "float32"), (pd.DataFrame(X), "float64"),
                            (sp.csr_matrix(X), "float64")):
            GDRegressor(batch_size=8, epochs=1, tol=None, seed=0, dtype=dtype).fit(data, y)
        for data, dtype in ((X, "float64"), (X.astype(np.float32), "float32")):  # plain SGD's per-sample steps
            GDRegressor(batch_size=1, epochs=1, tol=None, seed=0, dtype=dtype).fit(data, y)
        wide = sp.random(64, 4097, density=0.01, format="csr", random_state=0)  # above GRAM_MAX_ENTRIES
        for intercept in (True, False):
            GDRegressor(batch_size=8, epochs=1, tol=None, seed=0, lr=0.01, fit_intercept=intercept).fit(wide, y)


if __name__ == "__main__":
    warm()
