"""Commands that use a saved model: predict, evaluate.

``predict`` reads the coefficients from the checked model file and the data, and nothing more:
no estimator, solver or engine is imported (start-up stays a fraction of a second).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from ..errors import DataError
from ._outputs import OUTPUT, JsonOut, all_or_nothing, check_outputs

Data = Annotated[Path, typer.Argument(
    help="data with a header row: .csv, .csv.gz, .tsv, .tsv.gz, .parquet; - for CSV on standard input; "
         "a folder or a quoted glob for several files; or sparse svmlight/libsvm data: .svm, .svmlight, "
         ".libsvm (gzip'd or not; target first on each line, then index:value pairs, indices from 0 or from 1)",
    show_default=False)]
ModelFile = Annotated[Path, typer.Argument(help="model file written by gradfit fit", show_default=False)]
Target = Annotated[str, typer.Option("--target", "-t", help="the column to predict", show_default=False)]


def predict_command(
    model_file: ModelFile,
    data: Data,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="write the predictions here [default: stdout]", rich_help_panel=OUTPUT)] = None,
) -> None:
    """Predict with a saved model: one column, 'prediction', as CSV.

    DATA needs the model's feature columns (only those are read): for a model fitted with --categorical or
    --formula, the raw columns the encoding kept in the model file builds them from.

    Examples:

    gradfit predict model.json new-houses.csv

    gradfit predict model.json new-houses.parquet --out predictions.csv

    gradfit predict model.json new-docs.svm    (svmlight: indices from where the training file's counted)
    """
    from ..io.model_reader import read_predictor
    from ..io.outputs import write

    check_outputs({"--out": out}, {"model": model_file, "data": data})
    model = read_predictor(model_file)
    predictions = model.predict(_prediction_matrix(model, data))
    check_finite_predictions(predictions, data)
    text = "prediction\n" + "".join(f"{value!r}\n" for value in predictions.tolist())  # as pandas' to_csv writes
    if out is None:
        typer.echo(text, nl=False)
    else:
        with all_or_nothing():
            write(out, text)


def _prediction_matrix(model, path: Path) -> np.ndarray:
    """the model's feature columns of a data file, in the order the model was fitted on them (built from
    the raw columns by the model's encoding where it keeps one); only those columns are read"""
    from ..io.data import read_features
    from ..io.svmlight import is_svmlight

    if is_svmlight(path):
        return model_svmlight(model, path).X
    if model.encoding is not None:
        from ..io.encoding import read_encoded

        return read_encoded(path, model.encoding)
    if model.feature_names is not None:
        return read_features(path, list(model.feature_names))
    X = read_features(path, None)
    if X.shape[1] != model.n_features:
        raise DataError(f"data file {path} has {X.shape[1]} columns but the model takes "
                        f"{model.n_features} features")
    return X


def model_svmlight(model, path: Path):
    """an svmlight file's rows (``io.svmlight.Sparse``) at the model's width, its indices counted from where
    those of the model's training data did (from 0 for a model not fitted on svmlight data, as its columns
    are numbered)"""
    from ..io.svmlight import feature_names, read_svmlight

    if model.encoding is not None:
        raise DataError(f"data file {path} is svmlight data, but the model builds its features from named "
                        f"columns (--categorical or --formula); give it a file with those columns")
    zero_based = model.svmlight_zero_based is not False
    names = feature_names(model.n_features, zero_based)
    why = f"the model was fitted on one-based svmlight data (features {names[0]}..{names[-1]})" if names else ""
    return read_svmlight(path, model.n_features, zero_based, why_one_based=why)


def check_finite_predictions(predictions: np.ndarray, data: Path) -> None:
    """DataError naming the first row whose prediction overflowed (huge values times the coefficients)"""
    bad = ~np.isfinite(predictions)
    if bad.any():
        row = int(np.argmax(bad)) + 1
        raise DataError(f"data file {data}: the prediction for row {row} is not a finite number "
                        f"(its values times the model's coefficients overflow float64)")


Weights = Annotated[Optional[str], typer.Option(
    "--weights", help="column of row weights >= 0: weighted R², MSE, RMSE and MAE (scikit-learn's sample_weight); "
                      "the column is not a feature", show_default=False)]


def evaluate_command(
    model_file: ModelFile,
    data: Data,
    target: Annotated[Optional[str], typer.Option(
        "--target", "-t", help="the column to predict [default: a formula model's own target]",
        show_default=False)] = None,
    weights: Weights = None,
    json_out: JsonOut = False,
) -> None:
    """Score a saved model on DATA: R², MSE, RMSE and MAE (weighted by a column with --weights).

    Examples:

    gradfit evaluate model.json test.csv --target price

    gradfit evaluate model.json test.parquet -t price --json

    gradfit evaluate model.json survey.csv -t income --weights w    (weighted metrics)

    gradfit evaluate formula-model.json test.csv    (the target is the formula's)

    gradfit evaluate model.json test.libsvm    (svmlight: the target is each line's first field)
    """
    from rich.table import Table

    from ..io.model_reader import read_predictor
    from ..io.svmlight import is_svmlight
    from . import _common as c

    model = read_predictor(model_file)
    X, y = _svmlight_labelled(model, data, target, weights) if is_svmlight(data) else _labelled(
        model, data, target, weights)
    sample_weight = c.weights_column(data, weights) if weights is not None else None
    predictions = model.predict(X)
    check_finite_predictions(predictions, data)
    metrics = {"n_rows": len(y), **scores(y, predictions, sample_weight), "weights": weights}
    if json_out:
        c.print_json(metrics)
        return
    weighted = f", weighted by {weights!r}" if weights is not None else ""
    table = Table(title=f"{model_file.name} on {data.name} ({len(y)} rows{weighted})", title_justify="left")
    for name in ("R²", "MSE", "RMSE", "MAE"):
        table.add_column(name, justify="right")
    table.add_row(*(f"{metrics[k]:.6g}" for k in ("r2", "mse", "rmse", "mae")))
    c.console.print(table)


def _svmlight_labelled(model, data: Path, target: str | None, weights: str | None) -> tuple:
    """(X, y) of an svmlight file for the model: the target is each line's first field"""
    from . import _common as c

    c.check_svmlight_options(target=target, weights=weights)
    sparse = model_svmlight(model, data)
    return sparse.X, sparse.y


def _labelled(model, data: Path, target: str | None, weights: str | None) -> tuple:
    """(X, y) of a data file with a target, for the model: its feature columns (built through its encoding where
    it keeps one), or every column but the target and the weights for a model fitted without names"""
    from ..io.data import without
    from ..io.encoding import read_labelled
    from . import _common as c

    target = target if target is not None else getattr(model.encoding, "target", None)
    names = model.feature_names
    if weights is not None:
        c.check_weights_column(data, weights, target)
        if names is None and model.encoding is None and target is not None:
            names = without(data, target, [weights])
    X, y, target = read_labelled(data, names, model.encoding, target)
    if model.feature_names is None and X.shape[1] != model.n_features:
        besides = f"the target {target!r}" + (f" and the weights {weights!r}" if weights is not None else "")
        raise DataError(f"data file {data} has {X.shape[1]} columns besides {besides} but the model "
                        f"takes {model.n_features} features (it was fitted without column names)")
    return X, y


def scores(y: np.ndarray, predictions: np.ndarray, sample_weight: np.ndarray | None = None) -> dict:
    """R², MSE, RMSE and MAE of predictions, weighted as scikit-learn's metrics weigh by ``sample_weight``"""
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    mse = float(mean_squared_error(y, predictions, sample_weight=sample_weight))
    return {"r2": float(r2_score(y, predictions, sample_weight=sample_weight)), "mse": mse,
            "rmse": float(np.sqrt(mse)), "mae": float(mean_absolute_error(y, predictions, sample_weight=sample_weight))}


def register(app: typer.Typer) -> None:
    """add predict and evaluate to the app"""
    app.command("predict")(predict_command)
    app.command("evaluate")(evaluate_command)
