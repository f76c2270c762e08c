"""The dense epoch kernels take and drop no array references inside their loops.

Numba counts references to arrays with atomic (locked) adds; where an inlined helper is handed an array that it
uses in a branch, the count is taken and dropped on every call, so in a kernel's loop on every row or step. That
cost a third of a shuffled epoch's time before the prefetch took numbers (``kernels.row_addresses``) and the average
left ``update_weights``. This reads the compiled LLVM IR of the kernels (compiled afresh, in a process of its
own with an empty cache, since Numba does not show the IR of cached code) and finds the blocks on a cycle of the
control-flow graph: none may call ``NRT_incref`` or ``NRT_decref``.
"""

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent("""
    import json, re, warnings
    import numpy as np
    from gradfit.descent.losses import make_loss
    from gradfit.descent.optim import average, make_optimizer
    from gradfit.engines import kernels

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)); y = X.sum(axis=1); order = rng.permutation(300)
    out = {}
    for name, batch, avg_from in (("sgd", 32, -1), ("adam", 1, 10), ("sgd", 1, -1)):
        opt, loss = make_optimizer(name), make_loss("mse")
        theta = np.zeros(5)
        descent = kernels.Descent(theta, np.zeros((len(opt.slots), 5)), theta.copy(), avg_from, opt.hyper, 1e-3,
                                  loss.params)
        kernels.run_epoch(kernels.Rows(X, y, order, True, batch), kernels.Fold(np.zeros(4), np.ones(4), 0.0, True),
                          kernels.Penalty(0.0, 0.0), descent, 0, opt, loss.deriv, average)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "inspection disabled for cached code" would make this test blind
        for dispatcher in (kernels.epoch, kernels.plain_sgd_epoch):
            out[dispatcher.py_func.__name__] = list(dispatcher.inspect_llvm().values())
    print(json.dumps(out))
""")


def blocks(function_ir: str) -> dict[str, str]:
    """the function's basic blocks by label (the first one is ``entry``)"""
    parts = re.split(r"\n(?=[\w.$\"-]+:)", function_ir.split("{", 1)[1])
    return {("entry" if k == 0 else part.split(":", 1)[0].strip('"')): part for k, part in enumerate(parts)}


def on_cycles(bbs: dict[str, str]) -> set[str]:
    """the labels of the blocks that can reach themselves"""
    succ = {name: set(re.findall(r"label %([\w.$\"-]+)", body)) for name, body in bbs.items()}
    cyclic = set()
    for start in succ:
        seen, todo = set(), list(succ[start])
        while todo:
            b = todo.pop()
            if b == start:
                cyclic.add(start)
                break
            if b not in seen:
                seen.add(b)
                todo.extend(succ.get(b, ()))
    return cyclic


def kernel_function(module_ir: str, name: str) -> str:
    """the kernel's own function in its module (not its CPython wrapper)"""
    for function in re.split(r"\n(?=define )", module_ir):
        symbol = re.match(r"define [^@]*@([\w.$]+)", function)
        if symbol and symbol.group(1).startswith(f"_ZN7gradfit7engines7kernels{len(name)}{name}B"):
            return function
    raise AssertionError(f"no function of {name} in the module")


@pytest.fixture(scope="module")
def compiled_ir(tmp_path_factory):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path_factory.mktemp("numba-cache")))
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_cycle_finder_sees_a_loop_and_not_a_straight_line():
    looped = "define void @f() {\nentry:\n  br label %B1\nB1:\n  call void @NRT_incref(ptr %a)\n  br i1 %c, " \
             "label %B1, label %B2\nB2:\n  ret void\n}"
    assert on_cycles(blocks(looped)) == {"B1"}
    assert on_cycles(blocks("define void @f() {\nentry:\n  br label %B2\nB2:\n  ret void\n}")) == set()


@pytest.mark.parametrize("name", ["epoch", "plain_sgd_epoch"])
def test_no_reference_counting_inside_the_kernels_loops(compiled_ir, name):
    modules = compiled_ir[name]
    assert modules
    for module_ir in modules:
        bbs = blocks(kernel_function(module_ir, name))
        cyclic = on_cycles(bbs)
        assert len(cyclic) > 1  # the kernel's loops were found
        counting = sorted(b for b in cyclic if re.search(r"@NRT_(incref|decref)", bbs[b]))
        assert counting == [], f"{name}: reference counts taken inside a loop, in blocks {counting}"
