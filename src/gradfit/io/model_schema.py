"""The JSON Schema of model files, and reading one as untrusted input: size, depth and number limits first.

A model file may come from anyone. Before any of it is used it is parsed with limits
(file size, nesting depth, digits of an integer; no NaN, Infinity or overflowing
literals), validated whole against ``SCHEMA`` (types, ranges, required fields), and its
fields are checked against each other (widths, lengths, history columns).
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from ..descent.optim import OPTIMIZERS
from ..errors import ModelFileError
from .json_fields import top_level_fields

__all__ = ["FORMAT", "SCHEMA_VERSION", "SCHEMA", "MAX_BYTES", "PREDICTING", "read_document", "check_consistency"]

FORMAT = "gradfit-model"
#: 2: the encoding of text columns and formulas ("encoding"); 3: the index base of svmlight training data
#: ("svmlight"); files of earlier versions read as before
SCHEMA_VERSION = 3
#: model files larger than this are refused before parsing
MAX_BYTES = 512 * 2**20
#: integer literals with more digits than this are refused (no field needs more than 2⁶⁴)
MAX_INT_DIGITS = 20

_NUMBER = {"type": "number"}
_MAYBE_NUMBER = {"type": ["number", "null"]}  # non-finite values are written as null
_COUNT = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
_NUMBERS = {"type": "array", "items": _NUMBER}
_MAYBE_NUMBERS = {"type": "array", "items": _MAYBE_NUMBER}
_NAMES = {"type": "array", "items": {"type": "string", "maxLength": 10_000}}


def _record(properties: dict, optional: tuple = ()) -> dict:
    """an object with exactly these properties, all required but ``optional``"""
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "required": [k for k in properties if k not in optional]}


def _or_null(schema: dict) -> dict:
    return {"anyOf": [{"type": "null"}, schema]}


_PARAMS = {
    "type": "object",
    "properties": {
        "fit_intercept": {"type": "boolean"}, "loss": {"type": "string"}, "epsilon": _NUMBER, "quantile": _NUMBER,
        "weight_decay": _NUMBER, "average": {"type": ["boolean", "integer"]}, "alpha": _NUMBER,
        "l1_ratio": _NUMBER, "optimizer": {"type": "string"}, "lr": {"type": ["number", "string"]},
        "momentum": {"type": ["number", "string"]}, "nesterov": {"type": "boolean"},
        "betas": {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2}, "eps": _NUMBER, "rho": _NUMBER,
        "schedule": {"type": "string"},
        "schedule_options": _or_null({"type": "object", "additionalProperties": _NUMBER}),
        "epochs": {"anyOf": [_COUNT, {"const": "auto"}]}, "batch_size": _or_null(_COUNT), "shuffle": {"type": "boolean"},
        "preprocess": {"type": "string"},
        "init": {"anyOf": [{"type": ["string", "number"]}, {
            "type": "array", "minItems": 2, "maxItems": 2,
            "prefixItems": [{"anyOf": [_NUMBER, _NUMBERS]}, _NUMBER]}]},
        "tol": _MAYBE_NUMBER, "n_iter_no_change": _COUNT, "early_stopping": {"type": "boolean"},
        "validation_fraction": _NUMBER, "engine": {"type": "string"},
        "optimizer_backend": {"type": "string"}, "engine_options": {"type": ["object", "null"]},
        "device": {"type": "string"}, "dtype": {"type": "string"}, "seed": _or_null(_COUNT),
        "record_every": {"type": ["integer", "string"]}, "gram": {"type": ["string", "boolean"]},
        "warm_start": {"type": "boolean"}, "verbose": {"type": "boolean"},
    },
}

_OPTIMIZER_STATE = _record({
    "name": {"enum": list(OPTIMIZERS)},
    "step": _COUNT,
    "slots": {"type": "object", "additionalProperties": _NUMBERS,
              "propertyNames": {"enum": sorted({slot for slots, *_ in OPTIMIZERS.values() for slot in slots})}},
})

#: the epoch with the lowest validation loss (``gradfit.training.validation.Best``)
_BEST = _record({"epoch": _COUNT, "val_loss": _MAYBE_NUMBER, "loss": _MAYBE_NUMBER, "coef": _NUMBERS,
                 "intercept": _NUMBER})

_LEVELS = {"type": "array", "items": {"type": ["string", "number", "boolean"], "maxLength": 10_000}}
_TEXT = {"type": "string", "maxLength": 100_000}

#: how raw data become the model's columns: text columns one-hot, or a formula (gradfit.io.encoding)
_ENCODING = {"anyOf": [
    _record({"kind": {"const": "onehot"}, "columns": _NAMES, "categories": {"type": "array", "items": _record({
        "column": {"type": "string", "maxLength": 10_000}, "levels": _LEVELS, "reference": {"type": "boolean"}})}}),
    _record({"kind": {"const": "formula"}, "formula": _TEXT, "rhs": _TEXT, "target": _TEXT, "columns": _NAMES,
             "intercept": {"type": "boolean"}, "names": _NAMES,
             "factors": {"type": "object", "additionalProperties": _record(
                 {"kind": {"enum": ["numerical", "categorical", "constant"]}, "levels": _LEVELS},
                 optional=("levels",))},
             "transform_state": {"type": "object"}}),
]}

#: where a descent stands, to continue it exactly (``gradfit fit --resume``)
_DESCENT = _record({
    "epoch": _COUNT, "step": _COUNT, "best": _MAYBE_NUMBER, "no_improve": _COUNT,
    "theta": _NUMBERS, "optimizer": _OPTIMIZER_STATE, "avg": _or_null(_NUMBERS),
    "interrupted": {"type": "boolean"}, "stopped_by": {"type": "string", "maxLength": 40},
    "val_best": _or_null(_BEST), "val_no_improve": _COUNT,
}, optional=("avg", "val_best", "val_no_improve"))

#: what held-out rows decided (``gradfit.training.validation.HeldOutResult``)
_HELD_OUT = _record({"best": _BEST, "restored": {"type": "boolean"}, "last_coef": _NUMBERS,
                     "last_intercept": _NUMBER, "n_rows": _COUNT})

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "gradfit model file",
    "type": "object",
    "required": ["format", "schema_version", "params", "coef", "intercept", "feature_names", "preprocess", "lr",
                 "seed", "n_iter", "n_steps", "converged", "metrics", "exact", "gap", "gram_stats", "history"],
    "additionalProperties": False,
    "properties": {
        "format": {"const": FORMAT},
        "schema_version": {"type": "integer", "minimum": 1, "maximum": SCHEMA_VERSION},
        "gradfit_version": {"type": "string", "maxLength": 100},
        "created": {"type": "string", "maxLength": 100},
        "params": _PARAMS,
        "coef": _NUMBERS,
        "intercept": _NUMBER,
        "feature_names": _or_null(_NAMES),
        "preprocess": _record({
            "mode": {"enum": ["none", "center", "standardize"]}, "x_shift": _NUMBERS,
            "x_scale": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}}, "y_shift": _NUMBER}),
        "lr": _MAYBE_NUMBER,
        "seed": _COUNT,
        "n_iter": _COUNT,
        "n_steps": _COUNT,
        "converged": {"type": "boolean"},
        "metrics": {"type": "object", "properties": {
            "n_rows": _COUNT, "r2": _MAYBE_NUMBER, "mse": _MAYBE_NUMBER, "rmse": _MAYBE_NUMBER},
            "additionalProperties": False},
        "exact": _or_null(_record({
            "theta": _NUMBERS, "coef": _NUMBERS, "intercept": _NUMBER, "objective": _MAYBE_NUMBER,
            "method": {"type": "string", "maxLength": 40}, "condition": _MAYBE_NUMBER,
            "digits": _MAYBE_NUMBER, "rank": _or_null(_COUNT), "rss": _MAYBE_NUMBER,
            "factor": _or_null({"type": "array", "items": _NUMBERS})},
            optional=("digits", "rank", "rss", "factor"))),
        "gap": _or_null(_record({
            "param_distance": _MAYBE_NUMBER, "objective_gap": _MAYBE_NUMBER, "objective": _MAYBE_NUMBER,
            "exact_objective": _MAYBE_NUMBER, "fitted_distance": _MAYBE_NUMBER, "identified": {"type": "boolean"}},
            optional=("fitted_distance", "identified"))),
        "verdict": _or_null(_record({
            "converged": {"type": "boolean"}, "reason": {"type": "string", "maxLength": 40},
            "message": {"type": "string", "maxLength": 10_000}, "remedy": {"type": "string", "maxLength": 10_000},
            "tol": {"type": "number", "minimum": 0}, "distance": _MAYBE_NUMBER,
            "epochs_needed": _or_null(_COUNT)})),
        "steps": _or_null(_record({
            "lr": _MAYBE_NUMBER, "momentum": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
            "schedule": {"type": "string", "maxLength": 40}, "epochs": _COUNT})),
        "gram_stats": _or_null(_record({
            "n": {"type": "integer", "minimum": 2, "maximum": 2**63 - 1}, "x_mean": _NUMBERS, "y_mean": _NUMBER,
            "xtx": {"type": "array", "items": _NUMBERS}, "xty": _NUMBERS, "yty": {"type": "number", "minimum": 0},
            "rss_min": _MAYBE_NUMBER,
            "weights": _record({"total": {"type": "number", "exclusiveMinimum": 0},
                                "mean": {"type": "number", "exclusiveMinimum": 0}, "log_sum": _MAYBE_NUMBER})},
            optional=("rss_min", "weights"))),
        "weighted": {"type": "boolean"},
        "history": _or_null(_record({
            "feature_names": _NAMES, "epoch": {"type": "array", "items": _COUNT, "minItems": 1},
            "step": {"type": "array", "items": _COUNT}, "loss": _MAYBE_NUMBERS,
            "coef": {"type": "array", "items": _NUMBERS}, "intercept": _NUMBERS, "grad_norm": _MAYBE_NUMBERS,
            "lr": _MAYBE_NUMBERS, "time": _NUMBERS, "val_loss": _MAYBE_NUMBERS}, optional=("val_loss",))),
        "descent": _or_null(_DESCENT),
        "held_out": _or_null(_HELD_OUT),
        "encoding": _or_null(_ENCODING),
        #: a model fitted on svmlight data: whether its indices counted from 0 (x0..) or from 1 (x1..)
        "svmlight": _or_null(_record({"zero_based": {"type": "boolean"}})),
    },
}

_TYPE_WORDS = {"number": "a number", "integer": "an integer", "string": "text", "array": "a list",
               "object": "an object", "boolean": "true or false", "null": "null"}


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:30]}{'…' if len(text) > 30 else ''} is too large for a float")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits is too long")
    return int(text)


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_bounded_int)
#: the fields predicting needs; ``read_document(path, PREDICTING)`` parses only these
PREDICTING = frozenset({"format", "schema_version", "params", "coef", "intercept", "feature_names", "encoding",
                        "svmlight"})


def _parse(text: str, fields: frozenset[str] | None):
    if fields is None:
        return _DECODER.decode(text)
    return top_level_fields(text, fields, _DECODER)


@functools.lru_cache(maxsize=4)
def _validator(fields: frozenset[str] | None) -> Draft202012Validator:
    """the validator of the whole schema, or of the schema's ``fields`` alone"""
    if fields is None:
        return Draft202012Validator(SCHEMA)
    return Draft202012Validator({**SCHEMA, "required": [k for k in SCHEMA["required"] if k in fields],
                                 "properties": {k: v for k, v in SCHEMA["properties"].items() if k in fields}})


def read_document(path: Path, fields: frozenset[str] | None = None) -> dict:
    """the parsed and schema-valid JSON object of a model file; ModelFileError naming the file and field.

    With ``fields`` (such as ``PREDICTING``), only those top-level fields are parsed and validated; the
    others (the history, the descent's state) are skipped unparsed.
    """
    if path.is_dir():
        raise ModelFileError(f"model file {path} is a folder, not a file")
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ModelFileError(f"model file {path} is {size / 2**20:.0f} MiB, above the limit of "
                             f"{MAX_BYTES // 2**20} MiB (gradfit.io.model_schema.MAX_BYTES)")
    try:
        doc = _parse(path.read_bytes().decode("utf-8"), fields)
    except UnicodeDecodeError as exc:
        raise ModelFileError(f"model file {path} is not JSON (not UTF-8 text: byte {exc.start})") from None
    except RecursionError:
        raise ModelFileError(f"model file {path} is not a gradfit model: its JSON is nested too deeply") from None
    except ValueError as exc:  # json.JSONDecodeError, and the limits above
        reason = " ".join(str(exc).split())[:160]
        raise ModelFileError(f"model file {path} is not JSON ({reason})") from None
    _check_header(doc, path)
    error = best_match(_validator(fields).iter_errors(doc), key=_relevance)
    if error is not None:
        raise ModelFileError(f"model file {path}: {_describe(error)}")
    return doc


def _check_header(doc, path: Path) -> None:
    """format and version first, so a file of another kind or a newer gradfit is named as such"""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ModelFileError(f"model file {path}: field 'format' is {_short(found)}, not {FORMAT!r}")
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"model file {path}: field 'schema_version' must be a positive integer, "
                             f"not {_short(version)}")
    if version > SCHEMA_VERSION:
        raise ModelFileError(f"model file {path}: field 'schema_version' is {version}, newer than this gradfit "
                             f"reads ({SCHEMA_VERSION}); upgrade gradfit")
    params = doc.get("params")
    if isinstance(params, dict):
        unknown = sorted(set(params) - set(_PARAMS["properties"]))
        if unknown:
            raise ModelFileError(f"model file {path}: field 'params' has unknown settings {_short(unknown)}")


def _relevance(error):
    """prefer errors about a missing field, then the shallowest one"""
    return (error.validator != "required", -len(error.absolute_path))


def _short(value, limit: int = 60) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(error) -> str:
    """one line: the field and what it must be"""
    where = _field(error.absolute_path)
    if error.validator == "required":
        missing = next((k for k in error.validator_value if k not in error.instance), "?")
        return f"field {_field([*error.absolute_path, missing])!r} is missing"
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"field {where or 'the document'!r} has unknown entries {_short(extra)}"
    if error.validator == "type":
        kinds = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return f"field {where!r} must be {' or '.join(_TYPE_WORDS[k] for k in kinds)}, not {_short(error.instance, 40)}"
    if error.validator == "anyOf" and error.context:
        branch = best_match([e for e in error.context if e.validator != "type" or e.validator_value != "null"]
                            or error.context, key=_relevance)
        if branch is not None and branch.validator != "type":
            return _describe(branch)
    if error.validator in ("anyOf", "enum", "const"):
        return f"field {where!r} has an unusable value {_short(error.instance, 40)}"
    return f"field {where!r}: {' '.join(error.message.split())[:120]}"


def check_consistency(doc: dict, path: Path) -> None:
    """fields that must agree with each other: the model's width everywhere, history columns, counters (of
    the fields the document holds: all, or those ``read_document`` was asked for)"""
    d = len(doc["coef"])
    k = d + (1 if doc["params"].get("fit_intercept", True) else 0)
    widths = {"feature_names": doc["feature_names"]}
    if "preprocess" in doc:
        widths.update({"preprocess.x_shift": doc["preprocess"]["x_shift"],
                       "preprocess.x_scale": doc["preprocess"]["x_scale"]})
    if doc.get("exact") is not None:
        widths["exact.coef"] = doc["exact"]["coef"]
    if doc.get("gram_stats") is not None:
        stats = doc["gram_stats"]
        widths.update({"gram_stats.x_mean": stats["x_mean"], "gram_stats.xty": stats["xty"],
                       "gram_stats.xtx": stats["xtx"]})
        widths.update({f"gram_stats.xtx[{i}]": row for i, row in enumerate(stats["xtx"])})
    if doc.get("history") is not None:
        widths["history.feature_names"] = doc["history"]["feature_names"]
    if doc.get("held_out") is not None:
        widths.update({"held_out.last_coef": doc["held_out"]["last_coef"],
                       "held_out.best.coef": doc["held_out"]["best"]["coef"]})
    if (doc.get("descent") or {}).get("val_best") is not None:
        widths["descent.val_best.coef"] = doc["descent"]["val_best"]["coef"]
    for name, values in widths.items():
        if values is not None and len(values) != d:
            raise ModelFileError(f"model file {path}: field 'coef' has {d} values but {name!r} has {len(values)}")
    if doc.get("exact") is not None and len(doc["exact"]["theta"]) != k:
        raise ModelFileError(f"model file {path}: field 'exact.theta' has {len(doc['exact']['theta'])} values "
                             f"for a model of {k} parameters")
    _check_history(doc.get("history"), d, path)
    _check_descent(doc, k, path)
    _check_encoding(doc, path)
    _check_svmlight(doc, path)


def encoded_names(encoding: dict) -> list[str]:
    """the model's column names an encoding of the file gives (see gradfit.io.categories.OneHot.names)"""
    if encoding["kind"] == "formula":
        return encoding["names"]
    from .categories import OneHot

    return OneHot.from_dict(encoding).names


def _check_encoding(doc: dict, path: Path) -> None:
    """the encoding gives the model's columns, and a formula's intercept is the model's"""
    encoding = doc.get("encoding")
    if encoding is None:
        return
    try:
        names = encoded_names(encoding)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"model file {path}: field 'encoding': {exc}") from None
    if names != doc["feature_names"]:
        raise ModelFileError(f"model file {path}: field 'encoding' gives the columns {_short(names)}, not the "
                             f"model's feature_names {_short(doc['feature_names'])}")
    if encoding["kind"] == "formula" and encoding["intercept"] != doc["params"].get("fit_intercept", True):
        raise ModelFileError(f"model file {path}: field 'encoding.intercept' is {encoding['intercept']} but "
                             f"'params.fit_intercept' is {doc['params'].get('fit_intercept', True)}")


def _check_svmlight(doc: dict, path: Path) -> None:
    """the feature names of a model fitted on svmlight data are its indices, from 0 or from 1"""
    record, names = doc.get("svmlight"), doc["feature_names"]
    if record is None or names is None:
        return
    first = 0 if record["zero_based"] else 1
    if names != [f"x{j}" for j in range(first, first + len(names))]:
        raise ModelFileError(f"model file {path}: field 'svmlight' says the indices count from {first}, but the "
                             f"feature_names are {_short(names)}")


def _check_history(history: dict | None, d: int, path: Path) -> None:
    if history is None:
        return
    columns = {name: values for name, values in history.items() if name != "feature_names"}
    n = len(history["epoch"])
    for name, values in columns.items():
        if len(values) != n:
            raise ModelFileError(f"model file {path}: field 'history.{name}' has {len(values)} entries "
                                 f"but 'history.epoch' has {n}")
    for i, coef in enumerate(history["coef"]):
        if len(coef) != d:
            raise ModelFileError(f"model file {path}: field 'history.coef[{i}]' has {len(coef)} values, not {d}")
    for name in ("epoch", "step"):
        values = history[name]
        if any(b < a for a, b in zip(values, values[1:])):
            raise ModelFileError(f"model file {path}: field 'history.{name}' must not decrease")


def _check_descent(doc: dict, k: int, path: Path) -> None:
    descent = doc.get("descent")
    if descent is None:
        return
    if (descent["epoch"], descent["step"]) != (doc["n_iter"], doc["n_steps"]):
        raise ModelFileError(f"model file {path}: field 'descent' is at epoch {descent['epoch']}, step "
                             f"{descent['step']} but the model at epoch {doc['n_iter']}, step {doc['n_steps']}")
    vectors = {"descent.theta": descent["theta"], **({"descent.avg": descent["avg"]} if descent.get("avg") else {}),
               **{f"descent.optimizer.slots.{name}": v for name, v in descent["optimizer"]["slots"].items()}}
    for name, values in vectors.items():
        if len(values) != k:
            raise ModelFileError(f"model file {path}: field {name!r} has {len(values)} values "
                                 f"for a model of {k} parameters")
