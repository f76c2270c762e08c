"""What the compiled kernels' LLVM IR must not contain: reference counting in their loops, and sums that depend on
where the arrays lie in memory.

Both are read from the IR of kernels compiled afresh, in a process of its own with an empty cache (Numba does
not show the IR of cached code), after fits of every kind the kernels serve: dense minibatch and per-sample
steps, Adam with an average, penalties, robust losses, weights, float32, sparse lazy and general steps, wide
sparse data, and the passes beside them (statistics, row norms, residuals).

**Reference counts.** Numba counts references to arrays with atomic (locked) adds; where an inlined helper is
handed an array that it uses in a branch, the count is taken and dropped on every call, so in a kernel's loop on
every row or step. That cost a third of a shuffled epoch's time before the prefetch took numbers
(``kernels.row_addresses``) and the average left ``update_weights``. No block on a cycle of the control-flow
graph of ``epoch`` or ``plain_sgd_epoch`` may call ``NRT_incref`` or ``NRT_decref``.

**Sums behind an alias check.** Where a loop writes one array and reads another, LLVM vectorizes it behind a
run-time check that the two lie at least one step of the vector loop (VF·UF elements) apart, and runs the
scalar loop where they do not. Distinct arrays of as many elements as the loop's trip count always pass the
check of the main vector loop; but a short vector epilogue (``vec.epilog``), which runs loops of fewer
coordinates, sits behind the same check, which then falls either way with where malloc put the arrays. A
floating-point sum carried by such an epilogue is added in another order on the scalar path (the kernels allow
reassociation): ``raw_params``'s shift·v did, and two fits of the same data in one process differed in the last
bits (a CI run failed on it). No vector epilogue reached from an alias check (its own block, ``vector.memcheck``,
or one merged into another block, found by the check's values) may carry a floating-point vector phi: the
kernels take such sums in loops that write nothing (``kernels.shift_dot``). ``test_kernel_addresses.py`` shows
the same on the helpers' results, with arrays placed side by side.
"""

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent("""
    import gc, json, sys, warnings
    import numpy as np
    import scipy.sparse as sp
    from numba.core.registry import CPUDispatcher
    from gradfit.estimator import GDRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6)) * [1, 3, .5, 2, 1, 4] + 2
    y = X @ rng.normal(size=6) + rng.normal(size=600)
    w = rng.uniform(0.5, 2.0, size=600)
    Xs = sp.random(600, 40, density=0.1, format="csr", random_state=1)
    ys = Xs @ np.ones(40)
    wide = sp.random(300, 5000, density=0.002, format="csr", random_state=2)
    kinds = [dict(batch_size=32), dict(batch_size=1), dict(batch_size=1, optimizer="adam", average=True),
             dict(batch_size=8, alpha=0.1, l1_ratio=0.5), dict(batch_size=16, loss="huber"),
             dict(batch_size=16, loss="quantile"), dict(batch_size=None), dict(batch_size=4, momentum=0.5, lr=1e-3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # two short epochs are not at the optimum, and need not be
        for kind in kinds:
            for args in ((X, y), (X, y, w), (Xs, ys)):
                GDRegressor(epochs=2, tol=None, seed=0, **kind).fit(*args)
        GDRegressor(epochs=2, tol=None, seed=0, batch_size=32, dtype="float32").fit(X, y)
        for intercept in (True, False):
            GDRegressor(epochs=2, tol=None, seed=0, lr=0.01, batch_size=8, fit_intercept=intercept).fit(
                wide, rng.normal(size=300))
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "inspection disabled for cached code" would make this test blind
        for d in gc.get_objects():
            if isinstance(d, CPUDispatcher) and d.overloads and d.py_func.__module__.startswith("gradfit."):
                name = f"{d.py_func.__module__}.{d.py_func.__qualname__}"
                out.setdefault(name, []).extend(d.inspect_llvm().values())
    with open(sys.argv[1], "w") as f:
        json.dump(out, f)
""")

#: kernels the probe must have compiled (a probe that silently took another path would test nothing)
EXPECTED = ("gradfit.engines.kernels.epoch", "gradfit.engines.kernels.plain_sgd_epoch",
            "gradfit.engines.kernels_sparse.epoch", "gradfit.engines.stats_pass._fill")


def blocks(function_ir: str) -> dict[str, str]:
    """the function's basic blocks by label (the first one is ``entry``)"""
    parts = re.split(r"\n(?=[\w.$\"-]+:)", function_ir.split("{", 1)[1])
    return {("entry" if k == 0 else part.split(":", 1)[0].strip('"')): part for k, part in enumerate(parts)}


def successors(body: str) -> list[str]:
    return re.findall(r"label %([\w.$\"-]+)", body)


def on_cycles(bbs: dict[str, str]) -> set[str]:
    """the labels of the blocks that can reach themselves"""
    succ = {name: set(successors(body)) for name, body in bbs.items()}
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


def functions(module_ir: str) -> list[str]:
    return [f for f in re.split(r"\n(?=define )", module_ir) if f.startswith("define")]


def kernel_function(module_ir: str, name: str) -> str:
    """the kernel's own function in its module (not its CPython wrapper)"""
    for function in functions(module_ir):
        symbol = re.match(r"define [^@]*@([\w.$]+)", function)
        if symbol and symbol.group(1).startswith(f"_ZN7gradfit7engines7kernels{len(name)}{name}B"):
            return function
    raise AssertionError(f"no function of {name} in the module")


def alias_checked_branches(function_ir: str) -> list[str]:
    """the blocks that branch on a run-time alias check: LLVM's ``vector.memcheck`` blocks, and blocks into which
    such a check was merged (found by its values: ``diff.check``, ``found.conflict``, ``conflict.rdx`` and what is
    computed from them)"""
    checks = set(re.findall(r"%((?:diff\.check|found\.conflict|conflict\.rdx)[\w.]*) =", function_ir))
    grew = True
    while grew:
        grew = False
        for name, rhs in re.findall(r"%([\w.]+) = (?:or|and|select) ([^\n]*)", function_ir):
            if name not in checks and any(f"%{c}" in re.findall(r"%[\w.]+", rhs) for c in checks):
                checks.add(name)
                grew = True
    bbs = blocks(function_ir)
    return [label for label, body in bbs.items() if label.startswith("vector.memcheck")
            or any(re.search(rf"br i1 %{re.escape(c)},", body) for c in checks)]


def sums_behind_alias_checks(function_ir: str) -> list[str]:
    """the alias-checked branches whose vector path reaches a vector epilogue carrying a floating-point phi (a
    sum whose order depends on where the arrays lie)"""
    bbs = blocks(function_ir)
    found = []
    for label in alias_checked_branches(function_ir):
        seen, todo = set(), successors(bbs[label])
        while todo:
            b = todo.pop()
            if b in seen or b not in bbs or not b.startswith(("vector.", "vec.", "middle.block")):
                continue
            seen.add(b)
            if b.startswith("vec.epilog") and re.search(r"= phi <\d+ x (double|float)>", bbs[b]):
                found.append(label)
                break
            todo.extend(successors(bbs[b]))
    return found


@pytest.fixture(scope="module")
def compiled_ir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kernel-ir")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(folder / "numba-cache"))
    out = folder / "ir.json"
    done = subprocess.run([sys.executable, "-c", PROBE, str(out)], capture_output=True, text=True, env=env,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(out.read_text())


def test_the_cycle_finder_sees_a_loop_and_not_a_straight_line():
    looped = "define void @f() {\nentry:\n  br label %B1\nB1:\n  call void @NRT_incref(ptr %a)\n  br i1 %c, " \
             "label %B1, label %B2\nB2:\n  ret void\n}"
    assert on_cycles(blocks(looped)) == {"B1"}
    assert on_cycles(blocks("define void @f() {\nentry:\n  br label %B2\nB2:\n  ret void\n}")) == set()


def test_the_alias_check_finder_sees_a_sum_in_an_epilogue_behind_a_check_its_own_or_merged():
    def function(check: str, epilogue_phi: str, main_phi: str = "%m = phi <4 x double> [ zeroinitializer, %e ]") -> str:
        return ("define double @f() {\nentry:\n  br label %B1\n" + check
                + "\nvector.main.loop.iter.check:\n  br i1 %few, label %vec.epilog.ph, label %vector.ph\n"
                f"vector.ph:\n  br label %vector.body\nvector.body:\n  {main_phi}\n"
                "  br i1 %e, label %middle.block, label %vector.body\nmiddle.block:\n  br label %vec.epilog.ph\n"
                f"vec.epilog.ph:\n  br label %vec.epilog.vector.body\nvec.epilog.vector.body:\n  {epilogue_phi}\n"
                "  br i1 %e, label %scalar, label %vec.epilog.vector.body\nscalar:\n  ret double 0.0\n}")

    own = "B1:\n  br label %vector.memcheck\nvector.memcheck:\n  %diff.check = icmp ult i64 %d, 128\n" \
          "  br i1 %diff.check, label %scalar, label %vector.main.loop.iter.check"
    merged = "B1:\n  %diff.check = icmp ult i64 %d, 128\n  %conflict.rdx = or i1 %diff.check, %x\n" \
             "  %brmerge = select i1 %short, i1 true, i1 %conflict.rdx\n" \
             "  br i1 %brmerge, label %scalar, label %vector.main.loop.iter.check"
    unchecked = "B1:\n  br i1 %short, label %scalar, label %vector.main.loop.iter.check"
    fp_phi = "%vec.phi = phi <4 x double> [ zeroinitializer, %e ]"
    int_phi = "%i = phi <4 x i64> [ zeroinitializer, %e ]"
    assert sums_behind_alias_checks(function(own, fp_phi)) == ["vector.memcheck"]
    assert sums_behind_alias_checks(function(merged, fp_phi)) == ["B1"]
    assert sums_behind_alias_checks(function(unchecked, fp_phi)) == []
    # a sum in the main vector loop alone (its default phi): distinct arrays as long as the loop pass its check
    assert sums_behind_alias_checks(function(own, int_phi)) == []


def test_the_probe_compiled_the_kernels_of_every_kind_of_fit(compiled_ir):
    assert set(EXPECTED) <= set(compiled_ir), sorted(compiled_ir)
    assert len(compiled_ir["gradfit.engines.kernels.epoch"]) >= 4  # minibatch, Adam, robust, float32 signatures


@pytest.mark.parametrize("name", ["epoch", "plain_sgd_epoch"])
def test_no_reference_counting_inside_the_kernels_loops(compiled_ir, name):
    modules = compiled_ir[f"gradfit.engines.kernels.{name}"]
    assert modules
    for module_ir in modules:
        bbs = blocks(kernel_function(module_ir, name))
        cyclic = on_cycles(bbs)
        assert len(cyclic) > 1  # the kernel's loops were found
        counting = sorted(b for b in cyclic if re.search(r"@NRT_(incref|decref)", bbs[b]))
        assert counting == [], f"{name}: reference counts taken inside a loop, in blocks {counting}"


def test_no_kernel_carries_a_sum_behind_an_alias_check(compiled_ir):
    guarded = {name: checks for name, modules in compiled_ir.items() for module_ir in modules
               for function in functions(module_ir) if (checks := sums_behind_alias_checks(function))}
    assert guarded == {}, f"sums whose order depends on where the arrays lie: {guarded}"
