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
