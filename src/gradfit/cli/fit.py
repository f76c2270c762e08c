"""Commands to fit and try a model: fit, demo (predict and evaluate are in ``predict``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..engines import get_engine
from ..errors import OptionError
from ..estimator import GDRegressor, load_model
from ..io.checks import is_sparse
from ..io.outputs import is_stdout, make_folder, same_file
from ..io.persist import atomic_write
from ..io.svmlight import is_svmlight
from ..training.callbacks import CSVLogger, TensorBoardWriter
from ..training.verdict import EARLY_STOPPED
from . import _common as c
from . import _fit_data as reading
from . import signals
from ._click import ParameterSource
from .predict import Data

OptionalTarget = Annotated[Optional[str], typer.Option(
    "--target", "-t", help="the column to predict (with --formula: the formula's left side)", show_default=False)]

#: what ``gradfit demo`` fits: the defaults (standardized features, heavy-ball steps tuned to the data)
DEMO_SETTINGS = dict(seed=0)

#: exit status of ``fit --strict`` when the fit ended short of the optimum
EXIT_NOT_AT_OPTIMUM = 3


def fit_command(
    ctx: typer.Context,
    data: Data,
    target: OptionalTarget = None,
    features: Annotated[Optional[str], typer.Option(
        "--features", "-f", help="columns to predict from, comma-separated [default: all but the target]")] = None,
    exclude: Annotated[Optional[str], typer.Option(
        "--exclude", "-x", help="columns to leave out (all others but the target are features), comma-separated")
    ] = None,
    weights: Annotated[Optional[str], typer.Option(
        "--weights", help="column of row weights >= 0: a weighted fit (weighted least squares: the loss is "
                          "Σ w·loss / Σ w); the column is not a feature", show_default=False)] = None,
    categorical: Annotated[Optional[str], typer.Option(
        "--categorical", help="columns to one-hot encode as categories (column[T.level]), comma-separated; "
        "text columns are encoded without it, with a note")] = None,
    formula: Annotated[Optional[str], typer.Option(
        "--formula", help="the model as a formula, e.g. 'y ~ x1 + np.log(x2) + C(region)' (formulaic; "
        "'- 1' leaves out the intercept); instead of --target, --features and --categorical")] = None,
    zero_based: Annotated[Optional[bool], typer.Option(
        "--zero-based/--one-based", help="svmlight data: the indices count from 0 (features x0..) or from 1 "
        "(libsvm's convention, x1..) \\[default: from 1 when the file has no index 0, as scikit-learn's "
        "zero_based='auto'; the model file records it for predicting]", show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="model file to write", rich_help_panel=c.OUTPUT)] = Path(
        "model.json"),
    history: Annotated[Optional[Path], typer.Option(
        "--history", help="also write the history of the descent as CSV", rich_help_panel=c.OUTPUT)] = None,
    log: Annotated[Optional[Path], typer.Option(
        "--log", help="append the history to this CSV file as the fit goes (a killed fit leaves what it did)",
        rich_help_panel=c.OUTPUT)] = None,
    tensorboard: Annotated[Optional[Path], typer.Option(
        "--tensorboard", help="write TensorBoard scalars into this folder as the fit goes (loss, validation loss, "
        "gradient norm, lr, coefficients; needs tensorboardX)", rich_help_panel=c.OUTPUT)] = None,
    plots: Annotated[Optional[Path], typer.Option(
        "--plots", help="also write the standard plots as PNG files into this folder", rich_help_panel=c.OUTPUT)] = None,
    report: Annotated[Optional[Path], typer.Option(
        "--report", help="also write a self-contained HTML report", rich_help_panel=c.OUTPUT)] = None,
    quiet: c.Quiet = False,
    json_out: c.JsonOut = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help=f"exit with status {EXIT_NOT_AT_OPTIMUM} when the fit did not reach the optimum "
                         "(the outputs are still written; a fit early stopping kept short of it on purpose passes)",
        rich_help_panel=c.OUTPUT)] = False,
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
    early_stopping: c.EarlyStopping = None,
    validation_fraction: c.ValidationFraction = None,
    validation: Annotated[Optional[Path], typer.Option(
        "--validation", help="held-out rows in a second data file with the same columns: their loss is recorded "
        "beside the training loss (and, with --early-stopping, stops the fit)", rich_help_panel=c.MODEL,
        show_default=False)] = None,
    seed: c.Seed = None,
    engine: c.Engine = None,
    optimizer_backend: c.OptimizerBackend = None,
    device: c.Device = None,
    dtype: c.Dtype = None,
    record_every: c.RecordEvery = None,
    gram: c.Gram = None,
    scheduler: c.Scheduler = None,
    resume: Annotated[Optional[Path], typer.Option(
        "--resume", help="continue the interrupted fit kept in this model file, exactly as if it had never "
        "stopped (same DATA; writes back to it unless --out is given)", show_default=False)] = None,
) -> None:
    """Fit a linear model to DATA by gradient descent and write it to a model file.

    Prints the coefficients beside the exact least-squares answer, the gap to it, the training R² and MSE,
    and the verdict: at the optimum, or not, with why and what would fix it (also a warning on stderr).

    Examples:

    gradfit fit houses.csv --target price

    gradfit fit houses.parquet -t price --features area,rooms --preprocess standardize --history h.csv

    gradfit fit houses.csv -t price --optimizer adam --lr 0.05 --batch-size 32 --seed 1 --json

    gradfit fit survey.csv -t income --weights weight    (weighted least squares)

    gradfit fit houses.csv -t price --categorical rooms    (text columns are encoded too, with a note)

    gradfit fit houses.csv --formula "price ~ area + np.log(lot) + C(region)"

    gradfit fit docs.svm    (sparse svmlight/libsvm data, never densified: the target is each line's first field)

    gradfit fit houses.csv -t price --plots plots/ --report report.html

    gradfit fit houses.csv -t price --batch-size 32 --early-stopping --validation-fraction 0.2 --history h.csv

    gradfit fit houses.csv -t price --validation houses-2024.csv --early-stopping --tensorboard runs/houses

    gradfit fit houses.csv -t price --resume model.json    (after Ctrl-C: continue where it stopped)

    Ctrl-C (or SIGTERM, SIGHUP) stops at a whole epoch, writes the model as it stands and exits with status 130.
    A file name '-' writes to standard output. Outputs that would overwrite an input or each other are refused
    before any work; if anything fails, no output is left behind.
    """
    piped = c.stdout_outputs(out=out, history=history, report=report)
    if piped and json_out:
        raise OptionError(f"options --json and {piped[0]} - both write to standard output; choose one")
    quiet = quiet or bool(piped)  # the file on standard output is all that goes there
    if resume is not None:
        model, out = _resumable(ctx, resume, out, quiet or json_out)
    else:
        model = c.build_model({**c.model_params(ctx.params), "verbose": not (quiet or json_out)})
    _check_held_out(ctx, model, validation)
    inputs = {"data": data, **({"--validation": validation} if validation is not None else {})}
    if resume is not None and not same_file(resume, out):
        inputs["--resume"] = resume
    if log is not None and str(log) == "-":
        raise OptionError("option --log - : the log goes to a file (use --history - for the history on standard output)")
    c.check_outputs({"--out": out, "--history": history, "--report": report, "--log": log}, inputs,
                    {"--plots": plots, "--tensorboard": tensorboard})
    if resume is not None and (model.n_iter_ >= model.epochs_budget_ or model.converged_):
        typer.echo(f"nothing to resume: the fit in {resume} finished ({model.n_iter_} of {model.epochs_budget_} "
                   f"epochs{', at the optimum' if model.converged_ else ''})",
                   err=True)
        return
    if is_svmlight(data):
        c.check_svmlight_options(target=target, features=features, exclude=exclude, categorical=categorical,
                                formula=formula, weights=weights, validation=validation)
        training_options = reading.TrainingOptions(c.SVMLIGHT_TARGET, None, None, None, None)
        sparse = c.load_svmlight_data(model, data, reading.index_base(model, zero_based, resume))
        X, y, training = sparse.X, sparse.y, None
        fit_kwargs = {"feature_names": sparse.names} if resume is None else {}  # resumed: the model's own names
        if zero_based is None and resume is None and not (quiet or json_out):
            typer.echo(reading.base_note(data, sparse), err=True)
    else:
        if zero_based is not None:
            raise OptionError(f"option {'--zero-based' if zero_based else '--one-based'} applies to svmlight data "
                              f"only (.svm, .svmlight, .libsvm): it says where their indices count from")
        chosen = reading.training_options(model, target, features, exclude, categorical, formula, no_intercept)
        training_options = reading.without_weights(data, chosen, weights)
        X, y, fit_kwargs, training = c.load_training_data(model, data, **reading.columns(data, training_options))
    target = reading.target(training, training_options.target)
    if training is not None and training.encoded and not (quiet or json_out):
        typer.echo(reading.encoded_note(training), err=True)
    if training_options.formula is not None:
        model.fit_intercept = training.encoding.intercept
    if weights is not None:
        fit_kwargs["sample_weight"] = reading.weights(model, data, weights, target)
    if validation is not None:
        fit_kwargs["validation_data"] = reading.validation_data(validation, target, X, fit_kwargs, training, weights)
    model.callbacks = [*([CSVLogger(log)] if log is not None else []),
                       *([TensorBoardWriter(tensorboard)] if tensorboard is not None else [])] or None
    if resume is not None:
        model.resume(X, y, **fit_kwargs)
    else:
        model.fit(X, y, **fit_kwargs)
    if resume is None:
        model.encoding_ = None if training is None else training.encoding
        model.svmlight_zero_based_ = sparse.zero_based if is_svmlight(data) else None
    with c.all_or_nothing():
        files = c.write_outputs(model, out, history)
        files.update(_views(model, X, y, target, plots, report))
    summary = c.fit_summary(model, files)
    if json_out:
        c.print_json(summary)
    elif not quiet:
        title = _model_title(model, target, len(summary['coef']))
        c.print_fit(model, summary, title=f"{data.name}: {title}"
                    + (f", rows weighted by {weights!r}" if weights is not None else ""))
    if model.result_.outcome.interrupted or signals.received():
        _interrupted(model, data, None if training_options.formula or is_svmlight(data) else target, out)
    if strict and not model.converged_ and model.verdict_.reason != EARLY_STOPPED:
        raise typer.Exit(EXIT_NOT_AT_OPTIMUM)


def _model_title(model: GDRegressor, target: str, n_features: int) -> str:
    encoding = getattr(model, "encoding_", None)
    if hasattr(encoding, "formula"):
        return encoding.formula
    return f"{target} ~ {n_features} features"


def _check_held_out(ctx: typer.Context, model: GDRegressor, validation: Path | None) -> None:
    """--validation-fraction belongs to --early-stopping, and --validation FILE takes the place of its split"""
    given = ctx.get_parameter_source("validation_fraction") is ParameterSource.COMMANDLINE
    if given and validation is not None:
        raise OptionError("options --validation and --validation-fraction both choose the held-out rows; "
                          "give one of them")
    if given and not model.early_stopping:
        raise OptionError("option --validation-fraction needs --early-stopping (it is the share of rows held out "
                          "for it; --validation FILE records a held-out loss without stopping on it)")


def _interrupted(model: GDRegressor, data: Path, target: str | None, out: Path) -> None:
    """say where the partial results are and how to go on; exit status 130"""
    where = "standard output" if is_stdout(out) else str(out)
    target_option = f" --target {target}" if target is not None else ""
    again = f"gradfit fit {data}{target_option} --resume {out}" if not is_stdout(out) else "(save it to a file)"
    typer.echo(f"interrupted at epoch {model.n_iter_} of {model.epochs_budget_}: the model as it stands is in {where}; "
               f"continue with: {again}", err=True)
    raise typer.Exit(signals.EXIT_INTERRUPTED)


#: options that are the model's settings: with --resume they come from the model file
_SETTINGS = {*c.DEFAULTS, "no_intercept", "schedule_option"} - {"verbose"}


def _resumable(ctx: typer.Context, resume: Path, out: Path, silent: bool) -> tuple[GDRegressor, Path]:
    """the model to continue, and where it goes (the resumed file itself unless --out says otherwise)"""
    given = [name for name in _SETTINGS & set(ctx.params)
             if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE]
    if given:
        option = "--" + sorted(given)[0].replace("_", "-")
        raise OptionError(f"option {option} cannot be changed with --resume: the fit continues with the "
                          f"settings kept in {resume}")
    model = load_model(resume)
    if getattr(model, "checkpoint_", None) is None:
        raise OptionError(f"option --resume {resume}: the file keeps no descent state to continue "
                          f"(written without its history, by an older gradfit, or with the torch.optim backend)")
    if ctx.params.get("scheduler"):
        if model.engine != "dask":
            raise OptionError("option --scheduler needs --engine dask")
        model.engine_options = {"scheduler": ctx.params["scheduler"]}
    model.verbose = not silent
    if ctx.get_parameter_source("out") is not ParameterSource.COMMANDLINE:
        out = resume
    return model, out


def _views(model: GDRegressor, X, y, target: str, plots: Path | None, report: Path | None) -> dict:
    """the plots and report asked for (lazy Dask data and sparse data are not drawn point by point: the plots
    use the history and statistics)"""
    from ..views.figures import write_standard_plots
    from ..views.report import write_report

    if get_engine(model.engine).lazy_data or is_sparse(X):
        X = y = None
    files = {}
    with c.drawing():
        if plots is not None:
            make_folder(plots)
            files["plots"] = plots
            write_standard_plots(model, X, y, plots, target=target)
        if report is not None:
            files["report"] = write_report(model, X, y, report, target=target)
    return files


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
    c.check_outputs({}, folders={"--out-dir": out_dir})
    from ..io.datasets import load_diabetes  # scikit-learn's datasets take a second to import: only here

    data = load_diabetes()
    model = GDRegressor(**DEMO_SETTINGS, verbose=True).fit(c.frame(data.X, data.feature_names), data.y)
    with c.all_or_nothing():
        make_folder(out_dir)
        atomic_write(out_dir / "diabetes.csv", data.to_frame().to_csv(index=False))
        written = c.write_outputs(model, out_dir / "model.json", out_dir / "history.csv")
    files = {"data": out_dir / "diabetes.csv", **written}
    c.print_fit(model, c.fit_summary(model, files), title="diabetes: progression ~ 10 features")
    c.console.print(f"\nnext: gradfit fit {files['data']} --target progression --strict",
                    soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    """add fit and demo to the app"""
    app.command("fit")(fit_command)
    app.command("demo")(demo_command)
