"""How ``gradfit fit`` chooses and reads its training data: the columns (``--target``, ``--features``,
``--exclude``, ``--categorical``, ``--formula``), the ``--weights`` column, the ``--validation`` file, and
the index base of an svmlight file; each option is checked against the others here."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from ..engines import get_engine
from ..errors import OptionError
from ..estimator import GDRegressor
from ..io.data import without
from ..io.encoding import read_labelled
from . import _common as c


def index_base(model: GDRegressor, zero_based: bool | None, resume: Path | None) -> bool | None:
    """whether svmlight indices count from 0: as --zero-based/--one-based say (None: inferred from the file);
    a resumed fit reads its data as its model file records"""
    if resume is None:
        return zero_based
    recorded = getattr(model, "svmlight_zero_based_", None)
    recorded = True if recorded is None else recorded  # a model file written before the base was recorded
    if zero_based is not None and zero_based != recorded:
        raise OptionError(f"option {'--zero-based' if zero_based else '--one-based'} cannot be changed with "
                          f"--resume: the model file reads its svmlight data as {based(recorded)}")
    return recorded


def based(zero_based: bool) -> str:
    return "zero-based" if zero_based else "one-based"


def base_note(data: Path, sparse) -> str:
    """the one line that says which index base was inferred for an svmlight file"""
    names = f"features {sparse.names[0]}..{sparse.names[-1]}" if sparse.names else "no features"
    if sparse.zero_based:
        return f"note: data file {data} has feature index 0: read as zero-based, {names}"
    return (f"note: data file {data} has no feature index 0: read as one-based (libsvm's convention), {names}; "
            f"--zero-based reads index 1 as the second feature")


class TrainingOptions(NamedTuple):
    """how the command reads the training data: columns, categories, or a formula"""

    target: str | None
    features: list[str] | None
    exclude: list[str] | None
    categorical: list[str] | None
    formula: str | None


def training_options(model: GDRegressor, target, features, exclude, categorical, formula,
                      no_intercept: bool) -> TrainingOptions:
    """the options that choose the data, checked against each other; a resumed fit reads its data as it did"""
    encoding = getattr(model, "encoding_", None)
    if encoding is not None:  # --resume: the model file says how the data were encoded
        if formula is not None or categorical is not None:
            option = "--formula" if formula is not None else "--categorical"
            raise OptionError(f"option {option} cannot be changed with --resume: the data are encoded as the "
                              f"model file says")
        if hasattr(encoding, "formula"):
            return TrainingOptions(target, None, None, None, encoding.formula)
        return TrainingOptions(target, list(encoding.columns), None, list(encoding.categories), None)
    if formula is not None:
        given = [name for name, value in (("--features", features), ("--exclude", exclude),
                                          ("--categorical", categorical)) if value is not None]
        if given:
            raise OptionError(f"options --formula and {given[0]} both choose the columns; give one of them")
        if no_intercept:
            raise OptionError("option --no-intercept: with --formula the formula says whether there is an "
                              "intercept; write 'y ~ x1 + x2 - 1' to leave it out")
    elif target is None:
        raise OptionError("option --target is missing: name the column to predict (or give --formula 'y ~ x1 + x2')")
    return TrainingOptions(target, c.split_names(features), c.split_names(exclude, "--exclude"),
                           c.split_names(categorical, "--categorical"), formula)


def columns(data: Path, options: TrainingOptions) -> dict:
    """load_training_data's keywords: the target, the feature columns from --features or --exclude (None:
    every column but the target), the categorical ones, the formula"""
    chosen = dict(target=options.target, categorical=options.categorical, formula=options.formula)
    if options.exclude is None:
        return {**chosen, "features": options.features}
    if options.features is not None:
        raise OptionError("options --features and --exclude both choose the columns; give one of them")
    return {**chosen, "features": without(data, options.target, options.exclude)}


def without_weights(data: Path, options: "TrainingOptions", weights: str | None) -> "TrainingOptions":
    """the options with the --weights column checked and left out of the features"""
    if weights is None:
        return options
    c.check_weights_column(data, weights, options.target, options.features)
    if options.features is not None or options.formula is not None:
        return options
    return options._replace(exclude=[*(options.exclude or []), weights])


def weights(model: GDRegressor, data: Path, column: str, target: str):
    """the --weights column: in memory, checked, with the row at fault named (lazy Dask data: as a Dask array)"""
    engine = get_engine(model.engine)
    if engine.lazy_data:
        return engine.read_dataset(data, column, [target])[1]
    return c.weights_column(data, column)


def target(training, target: str | None) -> str:
    """the target's name: the formula's left side must agree with --target, if given"""
    formula_target = getattr(getattr(training, "encoding", None), "target", None)
    if formula_target is None:
        return target
    if target is not None and target != formula_target:
        raise OptionError(f"option --target {target!r} differs from the formula's target {formula_target!r}; "
                          f"leave --target out")
    return formula_target


def encoded_note(training) -> str:
    """the one line that says which text columns were encoded without being named"""
    names = ", ".join(repr(n) for n in training.encoded)
    what = "text columns {} are" if len(training.encoded) > 1 else "text column {} is"
    return (f"note: {what.format(names)} encoded as categories (one-hot: a column per level, the first level "
            f"the reference); name them with --categorical to say so, or leave them out with --exclude")


def validation_data(path: Path, target: str, X, fit_kwargs: dict, training, weights: str | None) -> tuple:
    """(X_val, y_val[, w_val]) from --validation FILE, in memory: the training data's columns, encoded as they
    were, and its --weights column when the training rows are weighted"""
    names = fit_kwargs.get("feature_names") or [str(name) for name in X.columns]
    encoding = training.encoding if training is not None else None
    X_val, y_val, _ = read_labelled(path, names if encoding is None else None, encoding, target)
    if weights is None:
        return c.frame(X_val, names), y_val
    return c.frame(X_val, names), y_val, c.weights_column(path, weights)
