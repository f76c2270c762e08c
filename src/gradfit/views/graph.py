"""Computation graphs of the prediction and the loss, drawn the way tutorials draw them with make_dot.

For the torch engine the graph is read from the real autograd graph: start at
``loss.grad_fn``, follow ``next_functions``, and label each ``AccumulateGrad`` leaf
with its parameter's name. For the python and numpy engines it is the model's own
expression: x · W + b − y, squared, averaged. Either way a ``Graph`` holds nodes and
edges to inspect, DOT text, and pictures through Graphviz's ``dot`` program.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ..descent.losses import loss_from, make_loss
from ..descent.model import LinearModel
from ..engines import get_engine
from ..errors import OptionError
from ..io import outputs

__all__ = ["Graph", "Node", "graph", "lesson_graph", "autograd_graph", "expression_graph", "write_graph",
           "hypothesis_text",
           "GraphvizMissingWarning", "LESSONS"]

#: the models the tutorial lessons draw: features, intercept, parameter names
LESSONS = {
    "hypothesis": dict(n_features=1, fit_intercept=False, names=("W", "b")),  # H(x) = Wx
    "autograd": dict(n_features=1, fit_intercept=True, names=("W", "b")),  # H(x) = Wx + b
    "zero-grad": dict(n_features=1, fit_intercept=True, names=("W", "b")),
    "neuron": dict(n_features=1, fit_intercept=True, names=("w", "b")),  # w·x + b on body mass index
}

FORMATS = (".dot", ".gv", ".svg", ".png", ".pdf")

INSTALL_HINT = ("Graphviz's `dot` program is not installed, so only {dot} was written; install Graphviz "
                "(apt-get install graphviz, brew install graphviz or conda install graphviz) to draw "
                "{out}, or run: dot -T{fmt} {dot} -o {out}")

STYLES = {
    "param": 'shape=box, style=filled, fillcolor="lightblue"',
    "data": 'shape=ellipse, style=filled, fillcolor="white"',
    "op": 'shape=box, style="filled,rounded", fillcolor="lightgrey"',
    "output": 'shape=box, style=filled, fillcolor="darkolivegreen1"',
}


class GraphvizMissingWarning(UserWarning):
    """a picture was asked for but Graphviz's dot program is not installed"""


@dataclass(frozen=True)
class Node:
    """one box of the picture"""

    id: str
    op: str  # the operation ("Mul", "Add", "Pow", ...) or the name of a parameter, data input or output
    label: str  # the text the picture shows
    kind: str  # "param", "data", "op" or "output"


@dataclass
class Graph:
    """nodes and edges (``(from, to)`` ids, in the direction the values flow)

    Examples
    --------
    >>> g = graph(engine="numpy")
    >>> g.params
    ['W', 'b']
    >>> g.ops
    ['Mul', 'Add', 'Sub', 'Pow', 'Mean']
    """

    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)
    title: str = ""

    def add(self, op: str, label: str, kind: str, inputs: Sequence[str] = ()) -> str:
        """add a node fed by ``inputs``; returns its id"""
        node = Node(f"n{len(self.nodes)}", op, label, kind)
        self.nodes.append(node)
        for source in inputs:
            self.connect(source, node.id)
        return node.id

    def connect(self, source: str, target: str) -> None:
        if (source, target) not in self.edges:
            self.edges.append((source, target))

    def __getitem__(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def of_kind(self, kind: str) -> list[Node]:
        return [n for n in self.nodes if n.kind == kind]

    @property
    def params(self) -> list[str]:
        """parameter names, in the order the graph met them"""
        return [n.op for n in self.of_kind("param")]

    @property
    def ops(self) -> list[str]:
        """operation names, from the inputs towards the loss"""
        order = {n.id: k for k, n in enumerate(self.nodes)}
        return [n.op for n in sorted(self.of_kind("op"), key=lambda n: self._depth(n.id, order))]

    def _depth(self, node_id: str, order: dict) -> tuple[int, int]:
        """(longest path from a leaf, insertion order): sorts operations from the inputs to the loss"""
        sources = [s for s, t in self.edges if t == node_id]
        return (1 + max((self._depth(s, order)[0] for s in sources), default=-1), order[node_id])

    def inputs(self, node_id: str) -> list[Node]:
        """the nodes feeding ``node_id``"""
        return [self[s] for s, t in self.edges if t == node_id]

    def skeleton(self) -> set[tuple[str, str]]:
        """edges between parameters, operations and the output, by name (data inputs left out)"""
        kinds = {n.id: n for n in self.nodes}
        return {(kinds[s].op, kinds[t].op) for s, t in self.edges if "data" not in (kinds[s].kind, kinds[t].kind)}

    def to_dot(self) -> str:
        """the graph as Graphviz DOT text"""
        lines = ["digraph gradfit {",
                 f'  graph [label="{_escape(self.title)}", labelloc=t, fontname="Helvetica", fontsize=14];',
                 '  node [fontname="Helvetica", fontsize=12];']
        lines += [f'  {n.id} [label="{_escape(n.label)}", {STYLES[n.kind]}];' for n in self.nodes]
        lines += [f"  {s} -> {t};" for s, t in self.edges]
        return "\n".join(lines + ["}"]) + "\n"

    def render(self, path) -> list[Path]:
        """write ``path`` (.dot, .gv, .svg, .png or .pdf) and its .dot; warns where dot is missing"""
        files, hint = write_graph(self, path)
        if hint is not None:
            warnings.warn(hint, GraphvizMissingWarning, stacklevel=2)
        return files


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def write_graph(g: Graph, path) -> tuple[list[Path], str | None]:
    """write the DOT file and, through Graphviz, the picture; (files written, hint when dot is missing)"""
    path = Path(path)
    fmt = path.suffix.lower()
    if fmt not in FORMATS:
        raise OptionError(f"option out={str(path)!r} must end in one of {list(FORMATS)}")
    if not path.parent.is_dir():
        raise OptionError(f"option out={str(path)!r} names a folder that does not exist ({path.parent})")
    dot_path = path if fmt in (".dot", ".gv") else path.with_suffix(".dot")
    outputs.write(dot_path, g.to_dot())
    if dot_path == path:
        return [dot_path], None
    program = shutil.which("dot")
    if program is None:
        return [dot_path], INSTALL_HINT.format(dot=dot_path, out=path, fmt=fmt[1:])
    picture = subprocess.run([program, f"-T{fmt[1:]}", str(dot_path)], capture_output=True, check=False)
    if picture.returncode != 0:
        raise RuntimeError(f"Graphviz dot could not draw {dot_path}: {picture.stderr.decode(errors='replace').strip()}")
    outputs.write(path, picture.stdout)
    return [dot_path, path], None


def autograd_graph(output, leaves: Mapping[str, object], title: str = "", output_name: str = "loss") -> Graph:
    """the autograd graph behind ``output`` (a tensor), from ``output.grad_fn`` back to the leaves

    ``leaves`` maps parameter names to the leaf tensors, which label the
    ``AccumulateGrad`` nodes, as torchviz's ``make_dot(output, params=...)`` does.
    """
    names = {id(t): name for name, t in leaves.items()}
    g = Graph(title=title)
    loss = g.add(output_name, f"{output_name}\n{_shape(output)}", "output")
    seen: dict[int, str] = {}
    stack = [(output.grad_fn, loss)]
    while stack:  # depth first, inputs in order: W is met before b, as in x * W + b
        fn, consumer = stack.pop()
        if id(fn) not in seen:
            seen[id(fn)] = _autograd_node(g, fn, names)
            stack += [(child, seen[id(fn)]) for child, _ in reversed(fn.next_functions) if child is not None]
        g.connect(seen[id(fn)], consumer)
    return g


def _autograd_node(g: Graph, fn, names: dict[int, str]) -> str:
    kind = type(fn).__name__
    if kind == "AccumulateGrad":
        name = names.get(id(fn.variable), "param")
        return g.add(name, f"{name}\n{_shape(fn.variable)}", "param")
    return g.add(re.sub(r"Backward\d*$", "", kind), kind, "op")


def _shape(tensor) -> str:
    return "(" + ", ".join(str(s) for s in tensor.shape) + ")"


def expression_graph(model: LinearModel, names: Sequence[str], title: str = "") -> Graph:
    """the model's own expression: mean of the loss of x·W + b − y, with the operations autograd would record"""
    d = model.n_features
    g = Graph(title=title)
    x = g.add("x", "x" if d == 1 else f"x\n({d} features)", "data")
    w = g.add(names[0], f"{names[0]}\n({d})", "param")
    h = g.add("Mul" if d == 1 else "Mv", f"{'Mul' if d == 1 else 'Mv'}\nx · {names[0]}", "op", [x, w])
    if model.fit_intercept:
        b = g.add(names[1], f"{names[1]}\n(1)", "param")
        h = g.add("Add", f"Add\nH(x) = x · {names[0]} + {names[1]}", "op", [h, b])
    y = g.add("y", "y", "data")
    r = g.add("Sub", "Sub\nH(x) − y", "op", [h, y])
    loss = model.loss
    if loss.is_quadratic:
        per_row = g.add("Pow", "Pow\n(·)²", "op", [r])
        if loss.c != 2.0:
            per_row = g.add("Mul", f"Mul\n× {loss.c / 2:g}", "op", [per_row])
    else:
        per_row = g.add(loss.name, f"{loss.name}\n{loss.text}", "op", [r])
    mean = g.add("Mean", "Mean\nmean(·)", "op", [per_row])
    g.add("loss", "loss\n()", "output", [mean])
    return g


def hypothesis_text(model: LinearModel, names: Sequence[str]) -> str:
    """the hypothesis as tutorials write it: "Wx + b", "x · coef + intercept", "Wx" """
    w = f"{names[0]}x" if model.n_features == 1 else f"x · {names[0]}"
    return f"{w} + {names[1]}" if model.fit_intercept else w


def _describe(obj) -> tuple[LinearModel, str | None]:
    """(model shape, engine name) of a FitResult, a fitted GDRegressor or a loaded model file"""
    result = getattr(obj, "result_", None) or obj
    if isinstance(getattr(result, "model", None), LinearModel):
        return result.model, getattr(getattr(result, "config", None), "engine", None)
    n = getattr(obj, "n_features_in_", None)
    if n is None:
        raise OptionError(f"graph() takes a fitted GDRegressor, a FitResult or None; got {type(obj).__name__}")
    return LinearModel(int(n), bool(getattr(obj, "fit_intercept", True)), loss_from(obj)), \
        getattr(obj, "engine", None)


def _param_names(names: Sequence[str] | None, model: LinearModel) -> tuple[str, str]:
    if names is None:
        return ("W", "b") if model.n_features == 1 else ("coef", "intercept")
    names = [names] if isinstance(names, str) else list(names)
    if not 1 <= len(names) <= 2 or not all(isinstance(n, str) and n for n in names):
        raise OptionError(f"option names={names!r} must be one or two parameter names, e.g. ('W', 'b')")
    return names[0], names[1] if len(names) == 2 else "b"


def graph(model_or_result=None, *, engine: str | None = None, fit_intercept: bool = True, n_features: int = 1,
          loss: str = "mse", epsilon: float = 0.1, quantile: float = 0.5,
          names: Sequence[str] | None = None) -> Graph:
    """The computation graph of a linear model's prediction and loss.

    Parameters
    ----------
    model_or_result : GDRegressor, FitResult or None
        A fitted model (or a model file's ``load_model``) gives the shape, loss and
        engine; with None, ``fit_intercept``, ``n_features`` and ``loss`` describe it.
    engine : str, optional
        Draw the graph as this engine computes it: "torch" reads PyTorch's autograd
        graph; "python" and "numpy" draw the model's expression. Default: the model's
        engine, else "numpy".
    fit_intercept, n_features, loss, epsilon, quantile
        The model, when ``model_or_result`` is None (see ``gradfit.descent.losses``).
    names : (str, str), optional
        Labels of the weights and the intercept. Default ("W", "b") for one feature,
        ("coef", "intercept") for more.

    Returns
    -------
    Graph
        ``.nodes``, ``.edges``, ``.params``, ``.ops``, ``.to_dot()``, ``.render(path)``.

    Examples
    --------
    >>> g = graph(engine="numpy", fit_intercept=True)
    >>> sorted(g.skeleton())[:2]
    [('Add', 'Sub'), ('Mean', 'loss')]
    >>> g.render("graph.svg")  # doctest: +SKIP
    """
    if model_or_result is not None:
        model, own_engine = _describe(model_or_result)
    else:
        row_loss = make_loss(loss, epsilon, quantile)
        if not (isinstance(n_features, int) and n_features >= 1):
            raise OptionError(f"option n_features={n_features!r} must be an integer >= 1")
        model, own_engine = LinearModel(n_features, bool(fit_intercept), row_loss), None
    engine = engine or own_engine or "numpy"
    labels = _param_names(names, model)
    draw = getattr(get_engine(engine), "computation_graph", None)
    if draw is not None:
        return draw(model, labels)
    title = f"H(x) = {hypothesis_text(model, labels)} (engine={engine!r}, the model's expression)"
    return expression_graph(model, labels, title=title)


def lesson_graph(name: str, engine: str = "torch") -> Graph:
    """the graph of a tutorial lesson's model (see ``LESSONS``)"""
    if name not in LESSONS:
        raise OptionError(f"option lesson={name!r} is not one of {list(LESSONS)}")
    return graph(engine=engine, **LESSONS[name])
