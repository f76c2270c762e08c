"""A fuzzer over data files and model files (issue 15, item 10).

Every input either works (exit 0, its outputs written) or is refused with exactly one line
``error: ...``, exit status 2, and nothing written; never a traceback or another status.
The suite runs a bounded number of examples (``FUZZ_EXAMPLES``, a few hundred in all);
``make fuzz`` runs many more and prints the totals.
"""

from __future__ import annotations

import collections
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gradfit import GDRegressor
from gradfit.cli import app

#: examples per fuzz test; ``make fuzz`` sets GRADFIT_FUZZ_EXAMPLES much higher
FUZZ_EXAMPLES = int(os.environ.get("GRADFIT_FUZZ_EXAMPLES", "120"))
LONG = FUZZ_EXAMPLES > 1000
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=not LONG,
                suppress_health_check=list(HealthCheck))

#: what each run ended as, for the totals ``make fuzz`` prints
TOTALS: collections.Counter = collections.Counter()

runner = CliRunner()


def check_run(args: list, folder: Path, inputs: set, outputs: list) -> None:
    """the run is a success with its outputs, or one line, exit 2, and the folder as it was"""
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = runner.invoke(app, [str(a) for a in args])
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    TOTALS["inputs tried"] += 1
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        TOTALS["tracebacks"] += 1
        raise AssertionError(f"traceback for {args}: {result.exception!r}") from result.exception
    if result.exit_code == 0:
        TOTALS["accepted"] += 1
        assert all(name in after for name in outputs), (args, sorted(after))
        assert all(after[name] == before[name] for name in inputs), "an input changed"
        return
    lines = result.stderr.strip().splitlines()
    if result.exit_code != 2:
        TOTALS["wrong exit codes"] += 1
        raise AssertionError(f"exit {result.exit_code} for {args}: {result.output}")
    if len(lines) != 1 or not lines[0].startswith("error: "):
        TOTALS["errors of more than one line"] += 1
        raise AssertionError(f"not one line for {args}: {result.stderr!r}")
    if after != before:
        TOTALS["files left or destroyed"] += 1
        raise AssertionError(f"the folder changed for {args}: {sorted(before)} -> {sorted(after)}")
    TOTALS["clean errors"] += 1


# ---------------------------------------------------------------- data files

CELLS = st.one_of(
    st.integers(-(2**70), 2**70).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "NaN", "inf", "-inf", "1e308", "1e-320", "nan", "null", "x", '"1"', "1,5", "true", " 2 "]),
    st.text(max_size=6),
)
NAMES = st.one_of(st.sampled_from(["a", "b", "y", "$a_$", "a b", "", "y", "é"]), st.text(min_size=1, max_size=5))


@st.composite
def csv_bytes(draw) -> bytes:
    """a CSV that is often almost right: a header with 'y', rows of cells; sometimes raw bytes"""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    width = draw(st.integers(1, 4))
    names = draw(st.lists(NAMES, min_size=width, max_size=width))
    if draw(st.booleans()):
        names[draw(st.integers(0, width - 1))] = "y"
    rows = draw(st.lists(st.lists(CELLS, min_size=width - 1, max_size=width + 1), max_size=8))
    text = ",".join(names) + "\n" + "".join(",".join(r) + "\n" for r in rows)
    encoded = text.encode("utf-8", errors="surrogatepass") if draw(st.booleans()) else text.encode("utf-8", "replace")
    return encoded


@FUZZ
@given(data=csv_bytes(), options=st.sampled_from([[], ["--preprocess", "standardize"], ["--batch-size", "2"],
                                                  ["--features", "a"], ["--lr", "0.1"], ["--alpha", "1"]]))
def test_fuzz_data_files(data, options):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "d.csv").write_bytes(data)
        args = ["fit", folder / "d.csv", "-t", "y", "-o", folder / "m.json", "--history", folder / "h.csv",
                "--epochs", "3", "-q", *options]
        check_run(args, folder, {"d.csv"}, ["m.json", "h.csv"])


# ---------------------------------------------------------------- model files

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=8)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=5), children,
                                                                              max_size=4)),
    max_leaves=12,
)
LITERALS = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "1" * 5000, "[" * 3000 + "]" * 3000, "{", ""])


def _paths(doc, prefix=()):
    """every location in a JSON document"""
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for k, value in enumerate(doc[:3]):
            yield from _paths(value, (*prefix, k))


def _good_models() -> list[dict]:
    """a model of the columns a, b; and one of a formula over a, b and the text column g (with formulaic)"""
    import importlib.util

    import pandas as pd

    X = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 3.0], [5.0, 1.0]])
    frame = pd.DataFrame(X, columns=["a", "b"])
    models = [GDRegressor(epochs=3, optimizer="adam", batch_size=2, seed=0).fit(frame, X @ [1.0, -1.0] + 0.5)]
    if importlib.util.find_spec("formulaic") is not None:
        data = frame.assign(g=["u", "v", "u", "v", "u"], y=X @ [1.0, -1.0] + 0.5)
        models.append(GDRegressor.from_formula("y ~ a + np.log(b) + C(g)", data, epochs=3, seed=0))
    docs = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            model.save(Path(tmp) / "m.json")
            docs.append(json.loads((Path(tmp) / "m.json").read_text()))
    return docs


GOOD_MODELS = _good_models()
LOCATIONS = [[p for p in _paths(doc) if p] for doc in GOOD_MODELS]


@st.composite
def model_text(draw) -> str:
    """a valid model file with one or two places changed, or a literal JSON cannot hold, or junk"""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.text(max_size=50))
    which = draw(st.integers(0, len(GOOD_MODELS) - 1))
    doc = json.loads(json.dumps(GOOD_MODELS[which]))
    for _ in range(draw(st.integers(1, 2))):
        where = draw(st.sampled_from(LOCATIONS[which]))
        node = doc
        try:
            for part in where[:-1]:
                node = node[part]
            value = draw(JSON_VALUES)
            if draw(st.integers(0, 4)) == 0 and isinstance(node, dict):
                node.pop(where[-1], None)
            else:
                node[where[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    text = json.dumps(doc)
    if kind == 1:
        marker = json.dumps(doc.get("intercept", 0.0)) if isinstance(doc, dict) else "0"
        text = text.replace(marker, draw(LITERALS), 1)
    return text


@FUZZ
@given(text=model_text(), command=st.sampled_from(["predict", "summary", "evaluate", "report", "plot"]))
def test_fuzz_model_files(text, command):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "m.json").write_text(text, encoding="utf-8", errors="surrogatepass")
        (folder / "d.csv").write_text("a,b,g,y\n1,2,u,1\n2,1,v,2\n3,5,u,-1\n4,3,v,1\n5,1,u,4\n")
        m, d = folder / "m.json", folder / "d.csv"
        args, outputs = {
            "predict": ([command, m, d, "--out", folder / "p.csv"], ["p.csv"]),
            "summary": ([command, m, "--json"], []),
            "evaluate": ([command, m, d, "-t", "y", "--json"], []),
            "report": ([command, m, "--out", folder / "r.html"], ["r.html"]),
            "plot": ([command, m, "--kind", "loss", "--out", folder / "l.png"], ["l.png"]),
        }[command]
        check_run(args, folder, {"m.json", "d.csv"}, outputs)


def teardown_module(module) -> None:
    """``make fuzz`` shows the totals (pytest -s)"""
    if LONG:
        print("\nfuzz totals: " + ", ".join(f"{k}: {v}" for k, v in sorted(TOTALS.items())))
