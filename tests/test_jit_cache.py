"""The compile message: shown when a call compiles, never when the machine code is in the cache or loaded; the
cache locked against two processes saving at once."""

import os
import subprocess
import sys
import textwrap
import threading
from types import SimpleNamespace

import numpy as np
import pytest
from numba import njit
from numba.core.caching import IndexDataCacheFile

from gradfit.engines import jit_cache

_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {folder!r})
    import tiny
    from gradfit.engines.jit_cache import compiling, will_compile
    before = will_compile(tiny.double, (2.0,))
    assert compiling(tiny.double, "tiny")(2.0) == 4.0
    assert not will_compile(tiny.double, (3.0,))  # the overload is loaded now
    print("will_compile", before)
""")


def _run(folder, cache):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-c", _SCRIPT.format(folder=str(folder))], capture_output=True, text=True,
                           env=env, check=True)


def test_message_when_compiling_and_silence_when_cached(tmp_path):
    (tmp_path / "tiny.py").write_text("from numba import njit\n\n@njit(cache=True)\ndef double(x):\n    return 2 * x\n")
    first = _run(tmp_path, tmp_path / "cache")
    assert "will_compile True" in first.stdout
    assert first.stderr.startswith("gradfit: compiling tiny for this kind of array, once per install (up to a minute")
    assert str(tmp_path / "cache") in first.stderr and "gradfit: compiled tiny in" in first.stderr
    second = _run(tmp_path, tmp_path / "cache")  # a new process: loads from the cache, says nothing
    assert "will_compile False" in second.stdout and second.stderr == ""


def test_no_cache_means_every_new_signature_compiles():
    @njit
    def triple(x):
        return 3 * x

    assert jit_cache.will_compile(triple, (np.float64(1.0),))
    assert triple(np.float64(1.0)) == 3.0
    assert not jit_cache.will_compile(triple, (np.float64(2.0),))
    assert jit_cache.will_compile(triple, (np.arange(3),))  # another type: another compile


def test_plain_functions_pass_through():
    def plain(x):
        return x

    assert jit_cache.compiling(plain) is plain


def test_an_index_naming_a_module_that_moved_is_dropped_and_the_kernel_compiles(tmp_path):
    """a cache written before a module moved (the index pickles the old module's name) is stale, not fatal"""
    import pickle

    (tmp_path / "tiny.py").write_text("from numba import njit\n\n@njit(cache=True)\ndef double(x):\n    return 2 * x\n")
    _run(tmp_path, tmp_path / "cache")
    [index] = (tmp_path / "cache").rglob("*.nbi")
    with open(index, "rb") as f:
        version = pickle.load(f)
    # what unpickling meets when an overload's types name a module that is gone: ModuleNotFoundError
    index.write_bytes(pickle.dumps(version) + b"cgradfit_module_that_moved\nkernel\n.")
    third = _run(tmp_path, tmp_path / "cache")
    assert "will_compile True" in third.stdout
    assert "gradfit: compiling tiny" in third.stderr
    assert "will_compile False" in _run(tmp_path, tmp_path / "cache").stdout  # a fresh index was written


def test_warming_covers_the_sparse_fits_people_run(monkeypatch):
    """``warm`` (what ``make venv`` runs at install) takes the sparse lazy steps in every reader form that a
    per-sample fit of wide sparse data (no statistics: neither scaled nor shifted) with or without an intercept,
    or of narrow standardized sparse data, takes: each form is a compiled signature of its own"""
    import warnings

    import scipy.sparse as sp

    from gradfit import GDRegressor
    from gradfit.engines import kernels_sparse

    forms: list = []
    real = kernels_sparse.readers

    def spy(*args):
        chosen = real(*args)
        forms.append(tuple(fn.py_func.__name__ for fn in chosen))
        return chosen

    monkeypatch.setattr(kernels_sparse, "readers", spy)
    jit_cache.warm()
    warmed, forms[:] = set(forms), []
    rng = np.random.default_rng(0)
    wide = sp.random(300, 5000, density=0.002, format="csr", random_state=1)
    narrow = sp.random(300, 6, density=0.5, format="csr", random_state=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for X, intercept in ((wide, True), (wide, False), (narrow, True)):
            GDRegressor(batch_size=1, epochs=1, tol=None, lr=0.01, fit_intercept=intercept).fit(X, rng.normal(size=300))
    assert len(set(forms)) == 3 and set(forms) <= warmed


def test_warming_covers_per_sample_dense_fits():
    """``warm`` compiles plain SGD's per-sample epoch (``kernels.plain_sgd_epoch``, the default per-sample fit)
    for float64 and float32 rows, so such a fit compiles nothing more"""
    import warnings

    from gradfit import GDRegressor
    from gradfit.engines import kernels

    jit_cache.warm()
    warmed = set(kernels.plain_sgd_epoch.overloads)
    X = np.random.default_rng(1).normal(size=(100, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for data in (X, X.astype(np.float32)):
            GDRegressor(batch_size=1, epochs=2, tol=None, lr=0.01).fit(data, data.sum(axis=1))
    assert len(warmed) >= 2 and set(kernels.plain_sgd_epoch.overloads) == warmed


@pytest.mark.skipif(jit_cache.fcntl is None, reason="the lock is fcntl.flock, which this system lacks")
def test_two_processes_saving_at_once_each_keep_their_own_machine_code(tmp_path):
    """Numba saves the index, then the data file it names: a second saver that reads the index before the
    first has written it takes the same data file, and its signature is lost or names the other's code.
    Under the lock the second waits, so each signature keeps its own entry (the first saver is held between
    its read of the index and its write for up to 1 s, as a slower process would be)."""
    files = [IndexDataCacheFile(str(tmp_path), "kernel", b"stamp") for _ in range(2)]
    for cache_file in files:  # two processes' views of one cache (separate descriptors: flock sees them apart)
        jit_cache.locked(SimpleNamespace(_cache=SimpleNamespace(_cache_file=cache_file)))
    read, saved = threading.Event(), threading.Event()
    real = files[0]._load_index

    def slow_read():
        overloads = real()
        read.set()
        saved.wait(1.0)
        return overloads

    files[0]._load_index = slow_read
    first = threading.Thread(target=files[0].save, args=("signature A", "code A"))
    first.start()
    assert read.wait(10)
    second = threading.Thread(target=lambda: (files[1].save("signature B", "code B"), saved.set()))
    second.start()
    first.join()
    second.join()
    fresh = IndexDataCacheFile(str(tmp_path), "kernel", b"stamp")
    assert (fresh.load("signature A"), fresh.load("signature B")) == ("code A", "code B")


def test_every_kernel_cache_is_locked():
    """each cached dispatcher of the engines saves and loads through the lock"""
    import gradfit.engines.csr as csr
    import gradfit.engines.kernels as kernels
    import gradfit.engines.kernels_lazy as kernels_lazy
    import gradfit.engines.kernels_sparse as kernels_sparse
    import gradfit.engines.residuals as residuals
    import gradfit.engines.row_norms as row_norms
    import gradfit.engines.sparse_passes as sparse_passes
    import gradfit.engines.stats_pass as stats_pass

    modules = (csr, kernels, kernels_lazy, kernels_sparse, residuals, row_norms, sparse_passes, stats_pass)
    found = [value for module in modules
             for value in vars(module).values() if getattr(value, "_cache", None) is not None]
    found.append(kernels.compiled(kernels.gather1))
    assert len(found) > 20
    for dispatcher in found:
        assert dispatcher._cache._cache_file.save.__qualname__ == "locked.<locals>.locked_save", dispatcher
