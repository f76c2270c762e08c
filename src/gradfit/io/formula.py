"""Formulas such as ``y ~ x1 + np.log(x2) + C(region)``, through formulaic, kept in the model file.

The design matrix is formulaic's own (its column names, its full-rank treatment coding); its
``Intercept`` column becomes the model's ``fit_intercept``. What the model file keeps is enough to
build the same columns from raw data later: the formula, each factor's kind and levels, and the
state of stateful transforms (``center``, ``scale``, splines). A model file may come from anyone and
formulaic evaluates Python expressions, so every expression is checked first: it may name the data's
columns, call the functions in ``FUNCTIONS`` and use arithmetic, and nothing else.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, OptionError
from .categories import check_levels, check_present, check_unique_levels

__all__ = ["FormulaDesign", "Design", "parse", "design", "FUNCTIONS"]

KIND = "formula"
#: formulaic's transforms a formula may call (besides the NumPy functions below)
TRANSFORMS = {"C", "I", "Q", "center", "scale", "standardize", "poly", "bs", "cr", "cs", "cc", "lag", "log",
              "log2", "log10", "exp", "exp2", "exp10", "Treatment", "Sum", "Helmert", "Diff", "Poly"}
#: the transforms whose integer arguments say how many columns they make
BASES = {"poly", "bs", "cr", "cs", "cc", "hashed"}
#: NumPy's elementwise functions a formula may call as np.NAME
NUMPY = {"log", "log1p", "log2", "log10", "exp", "expm1", "exp2", "sqrt", "cbrt", "square", "abs", "absolute",
         "sign", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arctanh",
         "power", "clip", "floor", "ceil", "round", "maximum", "minimum", "reciprocal", "where", "pi", "e"}
#: contrasts a formula may name as contr.NAME (inside C(...))
CONTRASTS = {"treatment", "sum", "helmert", "diff", "poly", "custom"}
ALLOWED = "columns, numbers, arithmetic, formulaic's transforms (C, I, center, scale, poly, bs, ...) and np.log and " \
          "NumPy's other elementwise functions (see gradfit.io.formula.FUNCTIONS)"
FUNCTIONS = sorted(TRANSFORMS) + [f"np.{name}" for name in sorted(NUMPY)] + [f"contr.{n}" for n in sorted(CONTRASTS)]
_NODES = (ast.Expression, ast.Call, ast.Name, ast.Attribute, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Compare,
          ast.BoolOp, ast.keyword, ast.Tuple, ast.List, ast.Load, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
_QUOTED = re.compile(r"`([^`]*)`")


class Parsed(NamedTuple):
    """a formula read and checked against the data's columns"""

    formula: str
    target: str
    target_columns: list[str]
    columns: list[str]


def _reason(exc: Exception) -> str:
    """the first line of formulaic's message, without its terminal colours"""
    text = re.sub(r"\x1b\[[0-9;]*m|[⧛⧚]", "", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read(formula: str, available: Sequence[str] = ()):
    """formulaic's parse of a formula (``.`` stands for every available column not on the left)"""
    try:
        from formulaic import Formula
        from formulaic.errors import FormulaicError
    except ImportError:
        raise OptionError("formulas need formulaic, an optional part of gradfit: pip install 'gradfit[formula]'") \
            from None
    try:
        # the context key formulaic 1.x names for the "." operator (its model_matrix passes it the same way; the
        # parser's error text documents it); pyproject bounds formulaic below 2, and test_formula covers "y ~ ."
        return Formula(formula, _context={"__formulaic_variables_available__": list(available)})
    except (FormulaicError, SyntaxError, ValueError, TypeError) as exc:
        raise OptionError(f"formula {formula!r} cannot be read: {_reason(exc)}") from None


def parse(formula: str, available: Sequence[str], source: str) -> Parsed:
    """the target and the columns a formula reads; OptionError for a formula that cannot be used,
    DataError for a column ``source`` lacks"""
    parsed = _read(formula, available)
    if not hasattr(parsed, "lhs") or len(parsed.lhs) != 1:
        raise OptionError(f"formula {formula!r} needs one target on the left of '~', as in 'y ~ x1 + x2'")
    if not all(hasattr(term, "factors") for part in (parsed.lhs, parsed.rhs) for term in part):
        raise OptionError(f"formula {formula!r} has more than one '~' or '|' part; gradfit reads 'y ~ terms'")
    target = str(parsed.lhs[0])
    return Parsed(formula, target, _columns([parsed.lhs], formula, available, source),
                  _columns([parsed.rhs], formula, available, source))


def _columns(parts, formula: str, available: Sequence[str], source: str) -> list[str]:
    """the data columns the terms read, in the data's order; every expression checked"""
    used: set[str] = set()
    for part in parts:
        for term in part:
            for factor in term.factors:
                used |= _factor_columns(factor, formula, available, source)
    return [name for name in available if name in used]


def _factor_columns(factor, formula: str, available: Sequence[str], source: str) -> set[str]:
    method = getattr(factor.eval_method, "value", factor.eval_method)
    if method == "literal":
        return set()
    if method == "lookup":
        return {_column(factor.expr, formula, available, source)}
    return check_expression(factor.expr, formula, available, source)


def _column(name: str, formula: str, available: Sequence[str], source: str) -> str:
    if name not in available:
        raise DataError(f"{source} has no column {name!r}, which the formula {formula!r} names; "
                        f"its columns are {list(available)}")
    return name


def _tree(expr: str, formula: str) -> tuple[ast.Expression, dict]:
    """the syntax tree of a term's expression, its `quoted names` replaced by placeholders (and those)"""
    quoted = {f"_gradfit_quoted_{k}": name for k, name in enumerate(_QUOTED.findall(expr))}
    text = expr
    for placeholder, name in quoted.items():
        text = text.replace(f"`{name}`", placeholder, 1)
    try:
        return ast.parse(text, mode="eval"), quoted
    except SyntaxError:
        raise OptionError(f"formula {formula!r}: the term {expr!r} is not an expression") from None


def _check_sizes(rhs, width: int, formula: str) -> None:
    """OptionError for a basis asking for more columns than the model has (a model file could ask
    formulaic for a huge one before the columns are compared)"""
    for term in rhs:
        for factor in term.factors:
            if getattr(factor.eval_method, "value", "") != "python":
                continue
            for node in ast.walk(_tree(factor.expr, formula)[0]):
                if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) in BASES):
                    continue
                for arg in [*node.args[1:], *(keyword.value for keyword in node.keywords)]:
                    if isinstance(arg, ast.Constant) and type(arg.value) is int and arg.value > width:
                        raise OptionError(f"formula {formula!r}: the term {factor.expr!r} asks for {arg.value} "
                                          f"columns, more than the model's {width}")


def check_expression(expr: str, formula: str, available: Sequence[str], source: str) -> set[str]:
    """the columns a term's Python expression reads; OptionError for anything but columns, the
    functions in ``FUNCTIONS``, constants and arithmetic (a formula is evaluated: nothing else may run)"""
    tree, quoted = _tree(expr, formula)
    used: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            raise OptionError(f"formula {formula!r}: the term {expr!r} uses {type(node).__name__}, which gradfit "
                              f"does not allow in formulas (allowed: {ALLOWED})")
        if isinstance(node, ast.Call) and not _allowed_function(node.func):
            raise OptionError(f"formula {formula!r}: the term {expr!r} calls {ast.unparse(node.func)!r}, which "
                              f"gradfit does not allow in formulas (allowed: {ALLOWED})")
        if isinstance(node, ast.Attribute) and not _allowed_function(node):
            raise OptionError(f"formula {formula!r}: the term {expr!r} uses {ast.unparse(node)!r}, which "
                              f"gradfit does not allow in formulas (allowed: {ALLOWED})")
        if isinstance(node, ast.Name) and node.id not in TRANSFORMS | {"np", "contr"}:
            used.add(_column(quoted.get(node.id, node.id), formula, available, source))
    return used


def _allowed_function(node) -> bool:
    if isinstance(node, ast.Name):
        return node.id in TRANSFORMS
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.attr in {"np": NUMPY, "contr": CONTRASTS}.get(node.value.id, set())
    return False


def _check_present(data: pd.DataFrame, columns: Sequence[str], source: str, first_row: int) -> None:
    """DataError naming the first missing value of a raw column (formulaic would drop or refuse the row)"""
    for name in columns:
        check_present(data[name], f"{source}: column {name!r}", first_row)


class FormulaDesign(NamedTuple):
    """what builds the design matrix of a formula from raw data, as the model file keeps it"""

    formula: str
    rhs: str
    target: str
    columns: list[str]
    intercept: bool
    names: list[str]
    factors: dict
    transform_state: dict

    def transform(self, data: pd.DataFrame, source: str = "X", first_row: int = 0) -> np.ndarray:
        """the design matrix (without its intercept column) of raw data holding ``columns``"""
        from formulaic import ModelSpec

        for name in self.columns:
            _column(name, self.formula, [str(c) for c in data.columns], source)
        _check_present(data, self.columns, source, first_row)
        self._check_levels(data, source, first_row)
        spec = ModelSpec(formula=self.rhs, ensure_full_rank=True, na_action="ignore",
                         transform_state=self.transform_state, encoder_state=self._encoder_state())
        matrix = _materialize(lambda: spec.get_model_matrix(data[self.columns]), self.formula, source)
        names = [str(c) for c in matrix.columns if c != "Intercept"]
        if names != self.names:
            raise DataError(f"{source}: the formula {self.formula!r} gives the columns {names}, not the "
                            f"{self.names} the model was fitted on")
        return matrix[names].to_numpy(dtype=np.float64)

    def _encoder_state(self) -> dict:
        from formulaic.parser.types import Factor

        return {expr: (Factor.Kind(f["kind"]), {"categories": f["levels"]} if "levels" in f else {})
                for expr, f in self.factors.items()}

    def _check_levels(self, data: pd.DataFrame, source: str, first_row: int) -> None:
        """levels the model was not fitted on, named with their column and row (C(col) and plain columns)"""
        for expr, factor in self.factors.items():
            column = _categorical_column(expr)
            if "levels" in factor and column in self.columns:
                check_levels(data[column], factor["levels"], f"{source}: column {column!r}", first_row)

    def to_dict(self) -> dict:
        return {"kind": KIND, **self._asdict()}

    @classmethod
    def from_dict(cls, data: dict) -> "FormulaDesign":
        """the encoding a model file keeps; OptionError if its right-hand side (what predicting evaluates)
        does more than read its columns, call ``FUNCTIONS`` and compute"""
        design = cls(**{**{name: data[name] for name in cls._fields},
                        "transform_state": _int_keys(data["transform_state"])})
        rhs = _read(design.rhs)
        _columns([rhs], design.rhs, design.columns, "the model file's encoding")
        _check_sizes(rhs, len(design.names), design.rhs)
        for expr, factor in design.factors.items():
            check_unique_levels(factor.get("levels", []), expr)
        return design


def _categorical_column(expr: str) -> str | None:
    """the column a categorical factor encodes as it is: ``region`` or ``C(region, ...)``; else None"""
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return expr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "C" and node.args \
            and isinstance(node.args[0], ast.Name):
        return node.args[0].id
    return None


def _materialize(build, formula: str, source: str):
    """formulaic's model matrix; DataError with its first line, also for values of a categorical
    term that the model was not fitted on (formulaic would turn them into zeros and warn)"""
    from formulaic.errors import DataMismatchWarning, FormulaicError

    with warnings.catch_warnings():
        warnings.simplefilter("error", DataMismatchWarning)
        try:
            return build()
        except DataMismatchWarning as exc:
            raise DataError(f"{source}: a categorical term of the formula {formula!r} meets values the model was "
                            f"not fitted on ({_reason(exc)})") from None
        except (FormulaicError, ValueError, TypeError, ArithmeticError, LookupError, AttributeError) as exc:
            raise DataError(f"{source}: the formula {formula!r} cannot be evaluated: {_reason(exc)}") from None


class Design(NamedTuple):
    """a formula applied to training data: the design matrix, the target, and how to rebuild it"""

    X: np.ndarray
    y: np.ndarray
    encoding: FormulaDesign


def design(formula: str, data: pd.DataFrame, source: str = "data", first_row: int = 0) -> Design:
    """Build the design matrix and target of ``formula`` on ``data`` (formulaic's ``model_matrix``).

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + np.log(x2) + C(region)"``: one target on the left; on the right columns,
        formulaic's operators (``+ - : * ** ( )``), its transforms and NumPy's elementwise functions.
    data : DataFrame
        Raw data with the columns the formula names.
    source, first_row
        How messages name the data and count its rows (0: row indices; 1: file rows).

    Returns
    -------
    Design
        ``X`` (without the intercept column), ``y``, and the ``encoding`` that rebuilds X from raw data.
    """
    from formulaic import model_matrix

    available = [str(c) for c in data.columns]
    parsed = parse(formula, available, source)
    _check_present(data, parsed.target_columns + parsed.columns, source, first_row)
    frame = data[[c for c in available if c in {*parsed.target_columns, *parsed.columns}]]
    matrices = _materialize(lambda: model_matrix(formula, frame, na_action="ignore", ensure_full_rank=True,
                                                 context={}), formula, source)
    lhs, rhs = matrices.lhs, matrices.rhs
    if lhs.shape[1] != 1:
        raise DataError(f"{source}: the target {parsed.target!r} of the formula {formula!r} is not numeric "
                        f"(it encodes as {lhs.shape[1]} columns); gradfit predicts one number")
    names = [str(c) for c in rhs.columns if c != "Intercept"]
    spec = rhs.model_spec
    encoding = FormulaDesign(formula, _rhs_text(spec.formula), parsed.target, parsed.columns,
                             "Intercept" in rhs.columns, names, _factors(spec.encoder_state),
                             _plain(spec.transform_state))
    X = rhs[names].to_numpy(dtype=np.float64)
    _check_round_trip(encoding, frame, X, source)
    return Design(X, lhs.iloc[:, 0].to_numpy(dtype=np.float64), encoding)


def _rhs_text(rhs) -> str:
    """the right-hand side as text that parses back to the same terms in the same order (column names in
    backticks, ``.`` expanded, ``0 +`` where there is no intercept)"""
    terms = [":".join(f"`{f.expr}`" if getattr(f.eval_method, "value", "") == "lookup" else str(f.expr)
                      for f in term.factors) for term in rhs]
    return " + ".join(terms) if "1" in terms else " + ".join(["0", *terms])


def _int_keys(state):
    """JSON's text keys back to the integers formulaic uses for some states (poly's ``{0: ..., 1: ...}``)"""
    if not isinstance(state, dict):
        return state
    return {int(k) if re.fullmatch(r"-?[0-9]+", k) else k: _int_keys(v) for k, v in state.items()}


def _check_round_trip(encoding: FormulaDesign, data: pd.DataFrame, X: np.ndarray, source: str) -> None:
    """OptionError when the model file would not rebuild these very columns (a transform's state JSON
    cannot keep)"""
    kept = FormulaDesign.from_dict(json.loads(json.dumps(encoding.to_dict(), allow_nan=False)))
    try:
        same = np.array_equal(kept.transform(data, source), X, equal_nan=True)
    except DataError:
        same = False
    if not same:
        raise OptionError(f"formula {encoding.formula!r}: a model file cannot keep what rebuilds its columns "
                          f"(the state of {sorted(encoding.transform_state) or 'its terms'}); use other transforms")


def _factors(encoder_state: dict) -> dict:
    """each factor's kind, and the levels of the categorical ones"""
    out = {}
    for expr, (kind, state) in encoder_state.items():
        out[expr] = {"kind": kind.value, **({"levels": _plain(state["categories"])} if "categories" in state else {})}
    return out


def _plain(value):
    """formulaic's state as JSON values (NumPy numbers and arrays as Python ones)"""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value
