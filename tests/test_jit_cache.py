"""The compile message: shown when a call compiles, never when the machine code is in the cache or loaded."""

import os
import subprocess
import sys
import textwrap

import numpy as np
from numba import njit

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

    def spy(lazy, fold):
        chosen = real(lazy, fold)
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
