"""Commands to fit, use and try a model: fit, predict, evaluate, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import pandas as pd
import typer
from rich.table import Table
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from ..data import read_features, read_table
from ..engines import get_engine
from ..datasets import load_diabetes
from ..errors import DataError
from ..estimator import GDRegressor
from ..persist import atomic_write, load_model
from . import _common as c

#: what ``gradfit demo`` fits: the defaults (standardized features, heavy-ball steps tuned to the data)
DEMO_SETTINGS = dict(seed=0)

#: exit status of ``fit --strict`` when the fit ended short of the optimum
EXIT_NOT_AT_OPTIMUM = 3

Data = Annotated[Path, typer.Argument(help="CSV or Parquet file with a header row", show_default=False)]
ModelFile = Annotated[Path, typer.Argument(help="model file written by gradfit fit", show_default=False)]
Target = Annotated[str, typer.Option("--target", "-t", help="the column to predict", show_default=False)]


def fit_command(
    ctx: typer.Context,
    data: Data,
    target: Target,
    features: Annotated[Optional[str], typer.Option(
        "--features", "-f", help="columns to predict from, comma-separated [default: all but the target]")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="model file to write", rich_help_panel=c.OUTPUT)] = Path(
        "model.json"),
    history: Annotated[Optional[Path], typer.Option(
        "--history", help="also write the history of the descent as CSV", rich_help_panel=c.OUTPUT)] = None,
    plots: Annotated[Optional[Path], typer.Option(
        "--plots", help="also write the standard plots as PNG files into this folder", rich_help_panel=c.OUTPUT)] = None,
    report: Annotated[Optional[Path], typer.Option(
        "--report", help="also write a self-contained HTML report", rich_help_panel=c.OUTPUT)] = None,
    quiet: c.Quiet = False,
    json_out: c.JsonOut = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help=f"exit with status {EXIT_NOT_AT_OPTIMUM} when the fit did not reach the optimum "
                         "(the outputs are still written)", rich_help_panel=c.OUTPUT)] = False,
    lr: c.Lr = None,
    optimizer: c.Optimizer = None,
    momentum: c.Momentum = None,
    nesterov: c.Nesterov = None,
    betas: c.Betas = None,
    eps: c.Eps = None,
    rho: c.Rho = None,
    weight_decay: c.WeightDecay = None,
    average: c.Average = None,
    schedule: c.Schedule = None,
    schedule_option: c.ScheduleOption = None,
    epochs: c.Epochs = None,
    batch_size: c.BatchSize = None,
    shuffle: c.Shuffle = None,
    preprocess: c.Preprocess = None,
    alpha: c.Alpha = None,
    l1_ratio: c.L1Ratio = None,
    loss: c.Loss = None,
    epsilon: c.Epsilon = None,
    quantile: c.Quantile = None,
    no_intercept: c.NoIntercept = False,
    init: c.Init = None,
    tol: c.Tol = None,
    n_iter_no_change: c.NIterNoChange = None,
    seed: c.Seed = None,
    engine: c.Engine = None,
    optimizer_backend: c.OptimizerBackend = None,
    device: c.Device = None,
    dtype: c.Dtype = None,
    record_every: c.RecordEvery = None,
    gram: c.Gram = None,
    scheduler: c.Scheduler = None,
) -> None:
    """Fit a linear model to DATA by gradient descent and write it to a model file.

    Prints the coefficients beside the exact least-squares answer, the gap to it, the training R² and MSE,
    and the verdict: at the optimum, or not, with why and what would fix it (also a warning on stderr).

    Examples:

    gradfit fit houses.csv --target price

    gradfit fit houses.parquet -t price --features area,rooms --preprocess standardize --history h.csv

    gradfit fit houses.csv -t price --optimizer adam --lr 0.05 --batch-size 32 --seed 1 --json

    gradfit fit houses.csv -t price --plots plots/ --report report.html
    """
    model = c.build_model({**c.model_params(ctx.params), "verbose": not (quiet or json_out)})
    c.check_writable(out, "--out")
    c.check_writable(history, "--history")
    c.check_writable(report, "--report")
    X, y, fit_kwargs = c.load_training_data(model, data, target, c.split_names(features))
    model.fit(X, y, **fit_kwargs)
    if model.result_.outcome.interrupted:
        typer.echo(f"warning: interrupted at epoch {model.n_iter_}; writing the model as it stands", err=True)
    files = c.write_outputs(model, out, history)
    files.update(_views(model, X, y, target, plots, report))
    summary = c.fit_summary(model, files)
    if json_out:
        c.print_json(summary)
    elif not quiet:
        c.print_fit(model, summary, title=f"{data.name}: {target} ~ {len(summary['coef'])} features")
    if strict and not model.converged_:
        raise typer.Exit(EXIT_NOT_AT_OPTIMUM)


def _views(model: GDRegressor, X, y, target: str, plots: Path | None, report: Path | None) -> dict:
    """the plots and report asked for (lazy Dask data is not drawn: plots use the history and statistics)"""
    from ..figures import write_standard_plots
    from ..report import write_report

    if get_engine(model.engine).lazy_data:
        X = y = None
    files = {}
    if plots is not None:
        plots.mkdir(parents=True, exist_ok=True)
        files["plots"] = plots
        write_standard_plots(model, X, y, plots, target=target)
    if report is not None:
        files["report"] = write_report(model, X, y, report, target=target)
    return files


def _prediction_matrix(model: GDRegressor, path: Path):
    """the model's feature columns of a data file, as the model was fitted on them"""
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return c.frame(read_features(path, list(names)), list(names))
    X = read_features(path, None)
    if X.shape[1] != model.n_features_in_:
        raise DataError(f"data file {path} has {X.shape[1]} columns but the model takes "
                        f"{model.n_features_in_} features")
    return X


def predict_command(
    model_file: ModelFile,
    data: Data,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="write the predictions here [default: stdout]", rich_help_panel=c.OUTPUT)] = None,
) -> None:
    """Predict with a saved model: one column, 'prediction', as CSV.

    DATA needs the model's feature columns (others are ignored).

    Examples:

    gradfit predict model.json new-houses.csv

    gradfit predict model.json new-houses.parquet --out predictions.csv
    """
    model = load_model(model_file)
    c.check_writable(out, "--out")
    predictions = model.predict(_prediction_matrix(model, data))
    text = pd.DataFrame({"prediction": predictions}).to_csv(index=False)
    if out is None:
        typer.echo(text, nl=False)
    else:
        atomic_write(out, text)


def evaluate_command(
    model_file: ModelFile,
    data: Data,
    target: Target,
    json_out: c.JsonOut = False,
) -> None:
    """Score a saved model on DATA: R², MSE, RMSE and MAE.

    Examples:

    gradfit evaluate model.json test.csv --target price

    gradfit evaluate model.json test.parquet -t price --json
    """
    model = load_model(model_file)
    fitted_names = getattr(model, "feature_names_in_", None)
    X, y, names = read_table(data, target, list(fitted_names) if fitted_names is not None else None)
    predictions = model.predict(c.frame(X, names) if fitted_names is not None else X)
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


def demo_command(
    out_dir: Annotated[Path, typer.Option(
        "--out-dir", help="where to write the model, its history and the data", rich_help_panel=c.OUTPUT)] = Path(
        "gradfit-output"),
) -> None:
    """Fit the diabetes data bundled with scikit-learn and show the result beside the exact answer.

    Writes model.json, history.csv and the data itself (diabetes.csv) to the output folder.

    Examples:

    gradfit demo

    gradfit demo --out-dir /tmp/gradfit-demo
    """
    data = load_diabetes()
    model = GDRegressor(**DEMO_SETTINGS, verbose=True).fit(c.frame(data.X, data.feature_names), data.y)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(out_dir / "diabetes.csv", data.to_frame().to_csv(index=False))
    written = c.write_outputs(model, out_dir / "model.json", out_dir / "history.csv")
    files = {"data": out_dir / "diabetes.csv", **written}
    c.print_fit(model, c.fit_summary(model, files), title="diabetes: progression ~ 10 features")
    c.console.print(f"\nnext: gradfit fit {files['data']} --target progression --strict",
                    soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    """add fit, predict, evaluate and demo to the app"""
    app.command("fit")(fit_command)
    app.command("predict")(predict_command)
    app.command("evaluate")(evaluate_command)
    app.command("demo")(demo_command)
