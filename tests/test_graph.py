"""Computation graphs: the torch engine's is its real autograd graph, the others draw the same structure.

The independent reference for the torch graph is the tutorials' own expression,
``torch.mean((x_train * W + b - y_train) ** 2)``, walked from its ``grad_fn``.
"""

import shutil

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from gradfit import load_model
from gradfit.cli.graph import register
from gradfit.errors import OptionError
from gradfit.estimator import GDRegressor
from gradfit.training.config import FitConfig
from gradfit.training.solver import fit
from gradfit.views.graph import GraphvizMissingWarning, autograd_graph, graph, lesson_graph

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="needs Graphviz's dot program (apt-get install graphviz)")

TUTORIAL_SKELETON = {("W", "Mul"), ("Mul", "Add"), ("b", "Add"), ("Add", "Sub"), ("Sub", "Pow"),
                     ("Pow", "Mean"), ("Mean", "loss")}


def tutorial_cost():
    """the cost as the tutorials write it, with its leaves"""
    x_train, y_train = torch.FloatTensor([[1], [2], [3]]), torch.FloatTensor([[2], [4], [6]])
    W, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    return torch.mean((x_train * W + b - y_train) ** 2), {"W": W, "b": b}


def test_torch_graph_is_the_autograd_graph_of_the_tutorial_cost():
    g = graph(engine="torch")
    assert g.ops == ["Mul", "Add", "Sub", "Pow", "Mean"]
    assert [n.label for n in g.of_kind("op")] == ["MeanBackward0", "PowBackward0", "SubBackward0", "AddBackward0",
                                                  "MulBackward0"]
    assert g.params == ["W", "b"] and [n.label for n in g.of_kind("param")] == ["W\n(1)", "b\n(1)"]
    assert g.skeleton() == TUTORIAL_SKELETON
    cost, leaves = tutorial_cost()
    assert autograd_graph(cost, leaves).skeleton() == TUTORIAL_SKELETON


def test_autograd_graph_edges_follow_next_functions():
    cost, leaves = tutorial_cost()
    g = autograd_graph(cost, leaves)
    add = next(n for n in g.nodes if n.op == "Add")
    assert sorted(n.op for n in g.inputs(add.id)) == ["Mul", "b"]
    assert [n.op for n in g.inputs(g.of_kind("output")[0].id)] == ["Mean"]
    assert len(g.edges) == len(set(g.edges)) == 7


def test_numpy_graph_draws_the_expression_with_its_data():
    g = graph(engine="numpy")
    assert g.ops == ["Mul", "Add", "Sub", "Pow", "Mean"] and g.params == ["W", "b"]
    assert [n.op for n in g.of_kind("data")] == ["x", "y"]
    mul = next(n for n in g.nodes if n.op == "Mul")
    sub = next(n for n in g.nodes if n.op == "Sub")
    assert sorted(n.op for n in g.inputs(mul.id)) == ["W", "x"]
    assert sorted(n.op for n in g.inputs(sub.id)) == ["Add", "y"]
    assert g.skeleton() == TUTORIAL_SKELETON


@pytest.mark.parametrize("shape", [
    dict(),
    dict(fit_intercept=False),
    dict(n_features=4),
    dict(n_features=2, loss="half_mse", names=("w", "bias")),
])
def test_every_engine_draws_the_same_structure(shape):
    graphs = {engine: graph(engine=engine, **shape) for engine in ("python", "numpy", "torch")}
    assert graphs["python"].skeleton() == graphs["numpy"].skeleton() == graphs["torch"].skeleton()
    ops = graphs["torch"].ops
    assert ("Add" in ops) == shape.get("fit_intercept", True)
    assert ops[0] == ("Mv" if shape.get("n_features", 1) > 1 else "Mul")
    assert (ops[-2] == "Mul") == (shape.get("loss") == "half_mse")  # ½·r², then the mean


def test_graph_of_a_fitted_model_its_result_and_its_file(tmp_path):
    X = np.random.default_rng(0).normal(size=(20, 2)) + 1.0
    model = GDRegressor(engine="torch", loss="half_mse", epochs=3).fit(X, X @ [1.0, 2.0] + 1.0)
    model.save(tmp_path / "model.json")
    from_file = graph(load_model(tmp_path / "model.json"))
    for g in (graph(model), graph(model.result_), from_file):
        assert g.params == ["coef", "intercept"] and g.ops == ["Mv", "Add", "Sub", "Pow", "Mul", "Mean"]
        assert "engine='torch'" in g.title and "MvBackward0" in g.to_dot()
    assert "the model's expression" in graph(model, engine="numpy").title
    result = fit(X, X[:, 0], FitConfig(fit_intercept=False, epochs=2))
    no_intercept = {("coef", "Mv"), ("Mv", "Sub"), ("Sub", "Pow"), ("Pow", "Mean"), ("Mean", "loss")}
    assert graph(result).skeleton() == no_intercept


@pytest.mark.parametrize("lesson, params, ops", [
    ("hypothesis", ["W"], ["Mul", "Sub", "Pow", "Mean"]),
    ("autograd", ["W", "b"], ["Mul", "Add", "Sub", "Pow", "Mean"]),
    ("zero-grad", ["W", "b"], ["Mul", "Add", "Sub", "Pow", "Mean"]),
    ("neuron", ["w", "b"], ["Mul", "Add", "Sub", "Pow", "Mean"]),
])
def test_lesson_graphs(lesson, params, ops):
    for engine in ("torch", "numpy"):
        g = lesson_graph(lesson, engine=engine)
        assert g.params == params and g.ops == ops


def test_graph_errors():
    with pytest.raises(OptionError, match=r"option names=\['W', 'b', 'c'\] must be one or two parameter names"):
        graph(names=("W", "b", "c"))
    with pytest.raises(OptionError, match=r"option n_features=0 must be an integer >= 1"):
        graph(n_features=0)
    with pytest.raises(OptionError, match=r"option loss='mae' is not one of"):
        graph(loss="mae")
    with pytest.raises(OptionError, match=r"option engine='jax' is not one of"):
        graph(engine="jax")
    with pytest.raises(OptionError, match=r"graph\(\) takes a fitted GDRegressor, a FitResult or None; got str"):
        graph("model.json")
    with pytest.raises(OptionError, match=r"option lesson='backprop' is not one of \['hypothesis'"):
        lesson_graph("backprop")


def test_dot_text():
    dot = graph(engine="torch", names=('W"', "b")).to_dot()
    assert dot.startswith("digraph gradfit {") and dot.rstrip().endswith("}")
    assert 'label="W\\"\\n(1)"' in dot and 'label="MulBackward0"' in dot
    assert "fillcolor=\"lightblue\"" in dot and dot.count(" -> ") == 7


@needs_dot
@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_render_png_and_svg_with_dot(tmp_path, engine):
    g = graph(engine=engine)
    files = g.render(tmp_path / "g.png")
    assert files == [tmp_path / "g.dot", tmp_path / "g.png"]
    assert (tmp_path / "g.png").read_bytes()[:8] == PNG_SIGNATURE
    assert (tmp_path / "g.dot").read_text() == g.to_dot()
    g.render(tmp_path / "g.svg")
    svg = (tmp_path / "g.svg").read_text()
    assert "<svg" in svg and ("MulBackward0" if engine == "torch" else "Mul") in svg


def test_render_without_dot_writes_the_dot_file_and_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    g = graph(engine="torch")
    with pytest.warns(GraphvizMissingWarning, match=r"apt-get install graphviz, brew install graphviz"):
        files = g.render(tmp_path / "g.png")
    assert files == [tmp_path / "g.dot"] and not (tmp_path / "g.png").exists()
    assert (tmp_path / "g.dot").read_text() == g.to_dot()


def test_render_errors(tmp_path):
    g = graph()
    with pytest.raises(OptionError, match=r"option out='.*g.jpg' must end in one of \['.dot'"):
        g.render(tmp_path / "g.jpg")
    with pytest.raises(OptionError, match=r"names a folder that does not exist"):
        g.render(tmp_path / "missing" / "g.dot")
    assert list(tmp_path.iterdir()) == []


def cli(*args):
    app = typer.Typer()
    register(app)
    app.callback()(lambda: None)  # a group, so the command is called by its name as under `gradfit`
    return CliRunner().invoke(app, ["graph", *map(str, args)])


def test_cli_draws_a_lesson(tmp_path):
    out = cli("--lesson", "autograd", "--out", tmp_path / "a.dot")
    assert out.exit_code == 0 and f"wrote {tmp_path / 'a.dot'}" in out.output
    text = (tmp_path / "a.dot").read_text()
    assert "MulBackward0" in text and "AddBackward0" in text and 'label="W\\n(1)"' in text
    numpy_out = cli("--lesson", "hypothesis", "--engine", "numpy", "--out", tmp_path / "h.dot")
    assert numpy_out.exit_code == 0 and "Add" not in (tmp_path / "h.dot").read_text()


@needs_dot
def test_cli_draws_a_model_file_as_png(tmp_path):
    X = np.random.default_rng(1).normal(size=(15, 1))
    GDRegressor(epochs=2).fit(X, 3 * X[:, 0]).save(tmp_path / "m.json")
    out = cli(tmp_path / "m.json", "--out", tmp_path / "m.png")
    assert out.exit_code == 0, out.output
    assert (tmp_path / "m.png").read_bytes()[:8] == PNG_SIGNATURE
    assert "the model's expression" in (tmp_path / "m.dot").read_text()


def test_cli_without_dot_prints_the_hint(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    out = cli("--lesson", "neuron", "--out", tmp_path / "n.svg")
    assert out.exit_code == 0 and "hint: Graphviz's `dot` program is not installed" in out.output
    assert (tmp_path / "n.dot").exists() and not (tmp_path / "n.svg").exists()


@pytest.mark.parametrize("args, message", [
    (["--out", "g.dot"], "error: give either a MODEL file or --lesson NAME"),
    (["m.json", "--lesson", "autograd", "--out", "g.dot"], "error: give either a MODEL file or --lesson NAME"),
    (["--lesson", "backprop", "--out", "g.dot"], "error: option lesson='backprop' is not one of"),
    (["missing.json", "--out", "g.dot"], "error: "),
    (["--lesson", "autograd", "--out", "g.jpg"], "error: option out='g.jpg' must end in one of"),
])
def test_cli_errors_exit_2_with_one_line(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    out = cli(*args)
    assert out.exit_code == 2 and out.output.startswith(message) and out.output.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
