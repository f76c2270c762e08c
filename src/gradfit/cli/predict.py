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
         ".libsvm (gzip'd or not; target first on each line, then index:value pairs)", show_default=False)]
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

    gradfit predict model.json new-docs.svm    (svmlight: column j is index j, trailing zeros padded)
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
    from ..io.svmlight import is_svmlight, read_svmlight

    if is_svmlight(path):
        if model.encoding is not None:
            raise DataError(f"data file {path} is svmlight data, but the model builds its features from named "
                            f"columns (--categorical or --formula); give it a file with those columns")
        return read_svmlight(path, model.n_features).X
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


def check_finite_predictions(predictions: np.ndarray, data: Path) -> None:
    """DataError naming the first row whose prediction overflowed (huge values times the coefficients)"""
    bad = ~np.isfinite(predictions)
    if bad.any():
        row = int(np.argmax(bad)) + 1
        raise DataError(f"data file {data}: the prediction for row {row} is not a finite number "
                        f"(its values times the model's coefficients overflow float64)")


def evaluate_command(
    model_file: ModelFile,
    data: Data,
    target: Annotated[Optional[str], typer.Option(
        "--target", "-t", help="the column to predict [default: a formula model's own target]",
        show_default=False)] = None,
    json_out: JsonOut = False,
) -> None:
    """Score a saved model on DATA: R², MSE, RMSE and MAE.

    Examples:

    gradfit evaluate model.json test.csv --target price

    gradfit evaluate model.json test.parquet -t price --json

    gradfit evaluate formula-model.json test.csv    (the target is the formula's)
    """
    from rich.table import Table
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    from ..estimator import load_model
    from ..io.encoding import read_labelled
    from . import _common as c

    model = load_model(model_file)
    fitted_names = getattr(model, "feature_names_in_", None)
    names = list(fitted_names) if fitted_names is not None else None
    X, y, target = read_labelled(data, names, model.encoding_, target)
    if fitted_names is None and X.shape[1] != model.n_features_in_:
        raise DataError(f"data file {data} has {X.shape[1]} columns besides the target {target!r} but the model "
                        f"takes {model.n_features_in_} features (it was fitted without column names)")
    predictions = model.predict(c.frame(X, names) if fitted_names is not None else X)
    check_finite_predictions(predictions, data)
    mse = float(mean_squared_error(y, predictions))
    metrics = {"n_rows": len(y), "r2": float(r2_score(y, predictions)), "mse": mse, "rmse": float(np.sqrt(mse)),
               "mae": float(mean_absolute_error(y, predictions))}
    if json_out:
        c.print_json(metrics)
        return
    table = Table(title=f"{model_file.name} on {data.name} ({len(y)} rows)", title_justify="left")
    for name in ("R²", "MSE", "RMSE", "MAE"):
        table.add_column(name, justify="right")
    table.add_row(*(f"{metrics[k]:.6g}" for k in ("r2", "mse", "rmse", "mae")))
    c.console.print(table)


def register(app: typer.Typer) -> None:
    """add predict and evaluate to the app"""
    app.command("predict")(predict_command)
    app.command("evaluate")(evaluate_command)
