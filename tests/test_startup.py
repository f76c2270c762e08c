"""Start-up: the command imports what a command needs when it needs it (checked in sys.modules, never timed)."""

import json
import subprocess
import sys

import pytest

from gradfit.cli import COMMANDS, _lazy, app

#: what printing help or building the predict command must not load
HEAVY = ("matplotlib", "torch", "dask", "sklearn.datasets", "panel", "numba")

_PROBE = """
import json, sys
{setup}
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(setup: str) -> set[str]:
    """the modules a fresh interpreter holds after running ``setup``"""
    out = subprocess.run([sys.executable, "-c", _PROBE.format(setup=setup)], capture_output=True, text=True,
                         check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if any(name == h or name.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize("args", [["--help"], ["predict", "--help"], []])
def test_help_loads_no_heavy_library(args):
    modules = _loaded(f"""
import contextlib, io
from gradfit.cli import app
with contextlib.redirect_stdout(io.StringIO()):
    try:
        app({args!r}, prog_name="gradfit")
    except SystemExit:
        pass
""")
    assert "gradfit.cli" in modules and "typer" in modules  # the probe did run the command
    assert _heavy(modules) == []
    assert "sklearn" not in modules  # the help names no scikit-learn class


def test_building_predict_loads_no_heavy_library():
    modules = _loaded("""
import typer
from gradfit.cli import app
group = typer.main.get_command(app)
ctx = group.make_context("gradfit", ["predict", "--help"], resilient_parsing=True)
assert group.get_command(ctx, "predict") is not None
""")
    assert "gradfit.cli.predict" in modules and _heavy(modules) == []


def test_importing_gradfit_is_lazy_and_complete():
    modules = _loaded("import gradfit")
    assert "gradfit.estimator" not in modules and "sklearn" not in modules
    import gradfit

    for name in gradfit.__all__:
        assert getattr(gradfit, name) is not None, name
    from gradfit import GDRegressor, graph, minimize

    assert GDRegressor.__name__ == "GDRegressor" and callable(graph) and callable(minimize)


def test_listing_matches_the_registered_commands():
    """the help's listing (read from source) names the same commands, in order, with the same help"""
    group = typer_group()
    listed = _lazy.listed("gradfit.cli", COMMANDS)
    loaded = {}
    for entry in dict.fromkeys(e.module for e in listed.values()):
        loaded.update(_lazy.load(entry, "rich"))
    assert list(listed) == list(loaded)
    assert all(listed[name].help == loaded[name].help for name in listed)
    assert {"fit", "predict", "evaluate", "demo", "summary", "plot", "report", "graph"} <= set(group.list_commands(None))


def typer_group():
    import typer

    return typer.main.get_command(app)


def test_unknown_command_suggests_the_closest():
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["fitt"])
    assert result.exit_code == 2 and "Did you mean 'fit'?" in result.output


def test_running_predict_loads_no_estimator_solver_or_engine(tmp_path):
    import numpy as np
    import pandas as pd

    from gradfit import GDRegressor

    X = np.random.default_rng(0).normal(size=(50, 2))
    frame = pd.DataFrame(X, columns=["a", "b"])
    model = GDRegressor(seed=0).fit(frame, X @ [1.0, -2.0] + 0.5)
    model.save(tmp_path / "m.json")
    frame.to_csv(tmp_path / "d.csv", index=False)
    modules = _loaded(f"""
import contextlib, io
from gradfit.cli import app
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        app(["predict", {str(tmp_path / "m.json")!r}, {str(tmp_path / "d.csv")!r}], prog_name="gradfit")
    except SystemExit as exc:
        assert not exc.code, exc.code
assert out.getvalue().startswith("prediction\\n") and len(out.getvalue().splitlines()) == 51
""")
    assert _heavy(modules) == []
    assert not {"sklearn", "scipy", "gradfit.estimator", "gradfit.training.solver", "gradfit.engines.numpy"} & modules
