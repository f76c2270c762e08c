"""The example notebooks: generated reproducibly, executed by a kernel of this environment, readable HTML."""

import importlib.util
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
spec = importlib.util.spec_from_file_location("make_notebooks", EXAMPLES / "make_notebooks.py")
make_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_notebooks)

NOTEBOOKS = sorted(make_notebooks.notebooks())


def execute(nb, folder: Path):
    """run every cell with the python3 kernel, in ``folder``; raises on the first failing cell"""
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def outputs(cell) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.output_type in ("execute_result", "display_data")]


def test_the_files_are_what_the_generator_writes():
    assert sorted(p.name for p in EXAMPLES.glob("*.ipynb")) == NOTEBOOKS
    for name, nb in make_notebooks.notebooks().items():
        assert nbformat.writes(nb) == nbformat.writes(nbformat.read(EXAMPLES / name, as_version=4)), name
        nbformat.validate(nb)


def test_the_kernel_is_this_environments_python(tmp_path):
    nb = execute(new_notebook(cells=[new_code_cell("import sys\nsys.executable")]), tmp_path)
    ran = nb.cells[0].outputs[0].data["text/plain"].strip("'")
    assert os.path.realpath(ran) == os.path.realpath(sys.executable)


def check_tour_html(nb) -> None:
    """the estimator, its history and the summary show as HTML; the saved model predicts the same"""
    shown = {c.source.splitlines()[-1]: outputs(c) for c in nb.cells if c.cell_type == "code" and outputs(c)}
    estimator = shown["model"][0].data["text/html"]
    assert "GDRegressor" in estimator and "standardize" in estimator
    history = shown["model.history_"][0].data["text/html"]
    assert "<table>" in history and "loss" in history and "coef[bmi]" in history
    assert "<table" in shown["model_summary(model)"][0].data["text/html"]
    assert shown["np.allclose(loaded.predict(X), model.predict(X))"][0].data["text/plain"] == "True"


def check_momentum_one(nb) -> None:
    """forgetting zero_grad takes exactly the steps of SGD with momentum 1"""
    assert outputs(nb.cells[-1])[0].data["text/plain"] == "0.0"


def check_history_html(nb) -> None:
    assert "<table>" in outputs(nb.cells[-1])[0].data["text/html"]


EXTRA_CHECKS = {
    "practitioner-tour.ipynb": check_tour_html,
    "lesson-zero-grad.ipynb": check_momentum_one,
    "lesson-hypothesis.ipynb": check_history_html,
}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name, tmp_path):
    nb = execute(nbformat.read(EXAMPLES / name, as_version=4), tmp_path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert any("image/png" in o.data for c in nb.cells for o in outputs(c))
    if name.startswith("lesson-"):
        assert list((tmp_path / "gradfit-output" / "lessons").glob("*.png"))
        agreements = outputs(nb.cells[2])[-1].data["text/plain"]
        assert agreements.startswith("[Agreement(") and "difference=" in agreements
    if name in EXTRA_CHECKS:
        EXTRA_CHECKS[name](nb)
