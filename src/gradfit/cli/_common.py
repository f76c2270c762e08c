"""What the commands share: consoles, the estimator's settings as options, reading data, printing results."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..descent.losses import LOSSES
from ..descent.optim import OPTIMIZERS
from ..descent.weights import problem
from ..engines import get_engine
from ..errors import DataError, OptionError
from ..estimator import GDRegressor
from ..io.data import column_names, read_features
from ..io.encoding import read_formula, read_training
from ..io.outputs import is_stdout
from ..io.persist import atomic_write, jsonable, train_metrics
from ..training.config import FitConfig, validate
from ..training.verdict import EARLY_STOPPED
from ._outputs import OUTPUT, JsonOut, Quiet, all_or_nothing, check_outputs  # noqa: F401 (the commands' c.*)

console = Console(highlight=False)

#: the estimator's defaults, shown in the options' help
DEFAULTS = GDRegressor().get_params()
MODEL = "Model settings"


def _model_option(name: str, help_text: str, *flags: str, **kwargs):
    default = DEFAULTS.get(name)
    shown = rf" \[default: {default}]" if default is not None else ""  # escaped: Rich markup
    return typer.Option(*flags, help=help_text + shown, rich_help_panel=MODEL, show_default=False, **kwargs)


# The estimator's settings, one option each; None means "the estimator's default".
Lr = Annotated[Optional[str], _model_option("lr", "learning rate: a number > 0, or 'auto' (safe for the data)", "--lr")]
Optimizer = Annotated[Optional[str], _model_option("optimizer", ", ".join(OPTIMIZERS), "--optimizer")]
Momentum = Annotated[Optional[str], _model_option(
    "momentum", "SGD momentum in [0, 1), or 'auto' (the heavy ball's, with --lr auto)", "--momentum")]
Nesterov = Annotated[Optional[bool], _model_option(
    "nesterov", "Nesterov momentum (needs --momentum)", "--nesterov/--no-nesterov")]
Betas = Annotated[Optional[str], _model_option("betas", "Adam's two decay rates, e.g. 0.9,0.999", "--betas")]
Eps = Annotated[Optional[float], _model_option("eps", "term added to adaptive optimizers' denominators", "--eps")]
Rho = Annotated[Optional[float], _model_option("rho", "RMSprop's decay rate", "--rho")]
Schedule = Annotated[Optional[str], _model_option(
    "schedule", "auto, constant, step, exponential, invscaling or cosine", "--schedule")]
ScheduleOption = Annotated[Optional[list[str]], _model_option(
    "schedule_options", "a schedule setting as KEY=VALUE, e.g. gamma=0.9 (repeatable)", "--schedule-option")]
Epochs = Annotated[Optional[str], _model_option(
    "epochs", "the most passes over the data, or 'auto' (enough for the data's curvature)", "--epochs")]
BatchSize = Annotated[Optional[int], _model_option(
    "batch_size", "rows per step: leave out for full batch, 1 for per-sample", "--batch-size")]
Shuffle = Annotated[Optional[bool], _model_option(
    "shuffle", "shuffle rows each epoch (seeded)", "--shuffle/--no-shuffle")]
Preprocess = Annotated[Optional[str], _model_option(
    "preprocess", "auto, none, center or standardize", "--preprocess")]
Alpha = Annotated[Optional[float], _model_option("alpha", "penalty strength", "--alpha")]
L1Ratio = Annotated[Optional[float], _model_option(
    "l1_ratio", "share of the penalty that is L1, in [0, 1]", "--l1-ratio")]
Loss = Annotated[Optional[str], _model_option("loss", ", ".join(LOSSES), "--loss")]
#: the settings of the robust losses, AdamW and averaging: (name, type, help); the flag is --name
Epsilon, Quantile, WeightDecay, Average = (
    Annotated[Optional[kind], _model_option(name, text, "--" + name.replace("_", "-"))] for name, kind, text in (
        ("epsilon", float, "huber's quadratic zone, epsilon_insensitive's dead zone (a number > 0)"),
        ("quantile", float, "the quantile loss's level, in (0, 1)"),
        ("weight_decay", float, "AdamW's decoupled weight decay (every parameter, the intercept too)"),
        ("average", str, "report the average of the iterates: on, off, or the step to start after")))
NoIntercept = Annotated[bool, typer.Option(
    "--no-intercept", help="fit H(x) = Wx, without b", rich_help_panel=MODEL)]
Init = Annotated[Optional[str], _model_option("init", "zeros, random or a number", "--init")]
Tol = Annotated[Optional[float], _model_option(
    "tol", "at the optimum when the relative distance from the exact answer is at most this; stop there", "--tol")]
NIterNoChange = Annotated[Optional[int], _model_option(
    "n_iter_no_change", "epochs without improvement before stopping (of the validation loss with --early-stopping)",
    "--n-iter-no-change")]
EarlyStopping = Annotated[Optional[bool], _model_option(
    "early_stopping", "hold out --validation-fraction of the rows (or use --validation FILE), stop once their loss "
    "has not improved for --n-iter-no-change epochs, keep the best epoch", "--early-stopping/--no-early-stopping")]
ValidationFraction = Annotated[Optional[float], _model_option(
    "validation_fraction", "share of the rows held out by --early-stopping, in (0, 1) (seeded by --seed)",
    "--validation-fraction")]
Seed = Annotated[Optional[int], _model_option("seed", "seed of shuffles, random init and the held-out split", "--seed")]
Engine = Annotated[Optional[str], _model_option("engine", "python, numpy, torch or dask", "--engine")]
OptimizerBackend = Annotated[Optional[str], _model_option(
    "optimizer_backend", "gradfit, or torch (torch.optim itself, with --engine torch)", "--optimizer-backend")]
Device = Annotated[Optional[str], _model_option("device", "torch device, e.g. cuda", "--device")]
Dtype = Annotated[Optional[str], _model_option("dtype", "float64 or float32", "--dtype")]
RecordEvery = Annotated[Optional[str], _model_option(
    "record_every", "record the history every K epochs (the others skip the full-data loss where nothing reads "
    "it), or 'step'", "--record-every")]
Gram = Annotated[Optional[str], _model_option(
    "gram", "full-batch steps from Gram statistics: auto, on or off", "--gram")]
Scheduler = Annotated[Optional[str], typer.Option(
    "--scheduler", help="Dask scheduler address (with --engine dask)", rich_help_panel=MODEL)]


def _number_or_text(text: str, convert=float):
    """a number where the text is one, else the text (the config check names what is wrong)"""
    try:
        return convert(text)
    except ValueError:
        return text


def _betas(text: str) -> tuple:
    try:
        return tuple(float(b) for b in text.split(","))
    except ValueError:
        raise OptionError(f"option betas={text!r} must be two numbers separated by a comma, e.g. 0.9,0.999") from None


def _schedule_options(items: list[str]) -> dict:
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            options[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise OptionError(f"option --schedule-option {item!r} must be KEY=NUMBER, e.g. gamma=0.9")
    return options


#: CLI option name -> how its text becomes the estimator's value
_CONVERT = {
    "lr": _number_or_text,
    "momentum": _number_or_text,
    "epochs": lambda t: _number_or_text(t, int),
    "init": _number_or_text,
    "record_every": lambda t: _number_or_text(t, int),
    "gram": lambda t: {"auto": "auto", "on": True, "off": False}.get(t, t),
    "betas": _betas,
    "average": lambda t: {"on": True, "off": False, "true": True, "false": False}.get(t.lower(), _number_or_text(t, int)),
    "schedule_options": _schedule_options,
}


def model_params(options: dict) -> dict:
    """the estimator's parameters from the command's options (ctx.params); unset ones keep their defaults"""
    options = dict(options)
    options["schedule_options"] = options.pop("schedule_option", None) or None
    params = {}
    for name, value in options.items():
        if name in DEFAULTS and value is not None:
            params[name] = _CONVERT.get(name, lambda v: v)(value)
    if options.get("no_intercept"):
        params["fit_intercept"] = False
    if options.get("scheduler"):
        if params.get("engine") != "dask":
            raise OptionError("option --scheduler needs --engine dask")
        params["engine_options"] = {"scheduler": options["scheduler"]}
    return params


def build_model(params: dict) -> GDRegressor:
    """a GDRegressor with these settings, checked before any data is read"""
    model = GDRegressor(**params)
    validate(FitConfig.from_params({**model.get_params(), "engine_options": model.engine_options or {}}))
    return model


def split_names(text: str | None, option: str = "--features") -> list[str] | None:
    """'a,b, c' -> ['a', 'b', 'c']; OptionError when the text names no column"""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise OptionError(f"option {option} {text!r} names no columns; give them as a,b,c")
    return names


def stdout_outputs(**paths) -> list[str]:
    """the options among ``paths`` that write to standard output ('-')"""
    return [f"--{name.replace('_', '-')}" for name, path in paths.items() if is_stdout(path)]


@contextlib.contextmanager
def drawing():
    """Matplotlib settings for drawing user data: column names are text, never math ('$a_$')"""
    import matplotlib

    with matplotlib.rc_context({"text.parse_math": False}):
        yield


def load_training_data(model: GDRegressor, path: Path, target: str | None, features: list[str] | None,
                       categorical: list[str] | None = None, formula: str | None = None):
    """(X, y, fit keywords, Training) ready for ``model.fit``: a DataFrame read by gradfit (text columns and
    ``categorical`` one-hot, or a formula's design matrix; Training says how), or lazy Dask collections"""
    engine = get_engine(model.engine)
    if engine.lazy_data:
        if formula is not None or categorical:
            option = "--formula" if formula is not None else "--categorical"
            raise OptionError(f"option {option} encodes data in memory; it does not work with --engine {model.engine}")
        X, y, names = engine.read_dataset(path, target, features)
        return X, y, {"feature_names": names}, None
    if formula is not None:
        training = read_formula(path, formula)
    else:
        training = read_training(path, target, features, categorical or (), model.fit_intercept)
    return frame(training.X, training.names), training.y, {}, training


def load_svmlight_data(model: GDRegressor, path: Path, zero_based: bool | None):
    """the rows of an svmlight file (``io.svmlight.Sparse``: X as CSR, y, names, base) for ``model.fit``; the
    engine's one-line refusal when it does not take sparse data (only the numpy engine does)"""
    from ..io.svmlight import read_svmlight

    sparse = read_svmlight(path, zero_based=zero_based,  # inferred, index 0 makes them zero-based: only --one-based
                           why_one_based="the indices are read as one-based (--one-based)")
    get_engine(model.engine).for_sparse(sparse.X.shape)
    return sparse


#: the name of an svmlight file's target (the first field of each line)
SVMLIGHT_TARGET = "y"


def check_svmlight_options(**given) -> None:
    """OptionError for the first option that chooses columns: an svmlight file has none to name"""
    for name, value in given.items():
        if value is not None:
            raise OptionError(f"option --{name} does not apply to svmlight data: the target is the first field of "
                              f"each line and every index:value pair is a feature; leave --{name} out")


def check_weights_column(data: Path, column: str, target: str | None = None,
                         features: list[str] | None = None) -> None:
    """DataError / OptionError (one line) when the data has no --weights column ``column``, or when it is
    the target or one of the chosen ``features``"""
    available = column_names(data)
    if column not in available:
        raise DataError(f"data file {data} has no weights column {column!r} (option --weights); "
                        f"its columns are {available}")
    if column == target:
        raise OptionError(f"option --weights names the target column {target!r}; the weights must be another column")
    if features is not None and column in features:
        raise OptionError(f"option --features names the weights column {column!r}; the weights are not a feature")


def weights_column(data: Path, column: str) -> np.ndarray:
    """the --weights column of a data file, checked, with the row at fault named"""
    check_weights_column(data, column)
    w = read_features(data, [column])[:, 0]
    found = problem(w)
    if found is not None:
        at, what = found
        where = f" row {at + 1}" if at is not None else ""
        raise DataError(f"data file {data}: weights column {column!r}{where} {what}")
    return w


def frame(X: np.ndarray, names: list[str] | None):
    """X as a DataFrame with its column names (what the model was fitted on), or as it is"""
    return pd.DataFrame(X, columns=names, copy=False) if names is not None else X


def print_json(data) -> None:
    """machine-readable output on stdout"""
    typer.echo(json.dumps(jsonable(data), indent=2))


def fit_summary(model: GDRegressor, files: dict) -> dict:
    """what a fit produced, as plain data (for --json and the tables)"""
    names = _names(model)
    exact, gap = model.exact_, model.gap_
    return {
        "coef": dict(zip(names, model.coef_)),
        "intercept": model.intercept_,
        "lr": model.lr_, "seed": model.seed_, "epochs": model.n_iter_, "steps": model.t_,
        "converged": model.converged_,
        "weighted": bool(getattr(model, "weighted_", False)),
        "verdict": model.verdict_.to_dict(),
        "loss": _returned_loss(model),
        "held_out": _held_out_summary(model),
        "metrics": train_metrics(model),
        "exact": None if exact is None else {
            "method": exact.method, "condition": exact.condition, "coef": dict(zip(names, exact.coef)),
            "intercept": exact.intercept, "objective": exact.objective},
        "gap": None if gap is None else {"distance": gap.distance, "param_distance": gap.param_distance,
                                         "fitted_distance": gap.fitted_distance, "identified": gap.identified,
                                         "objective_gap": gap.objective_gap},
        "files": {k: str(v) for k, v in files.items()},
    }


def _returned_loss(model: GDRegressor) -> float:
    """the training objective at the parameters the fit returned (the best epoch's under early stopping)"""
    held = model.held_out_
    return held.best.loss if held is not None and held.restored else model.history_.loss[-1]


def _held_out_summary(model: GDRegressor) -> dict | None:
    """the held-out rows' verdict: best epoch and its validation loss, the last one, and which was returned"""
    held = model.held_out_
    if held is None:
        return None
    return {"rows": held.n_rows, "best_epoch": held.best.epoch, "best_val_loss": held.best.val_loss,
            "last_val_loss": model.history_.val_loss[-1], "returned": "best epoch" if held.restored else "last epoch"}


def _names(model: GDRegressor) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    return list(names) if names is not None else [f"x{j}" for j in range(model.n_features_in_)]


def print_fit(model: GDRegressor, summary: dict, title: str) -> None:
    """the fit as Rich tables: coefficients beside the exact ones, metrics, gap, files"""
    exact = summary["exact"]
    coefs = Table(title=title, title_justify="left")
    coefs.add_column("parameter")
    coefs.add_column("gradient descent", justify="right")
    if exact:
        coefs.add_column(f"exact ({exact['method']})", justify="right")
    rows = [*summary["coef"].items(), ("intercept", summary["intercept"])]
    exact_values = [*exact["coef"].values(), exact["intercept"]] if exact else []
    for k, (name, value) in enumerate(rows):
        coefs.add_row(name, f"{value:.6g}", *([f"{exact_values[k]:.6g}"] if exact else []))
    console.print(coefs)
    console.print(_results_table(model, summary))
    for what, path in summary["files"].items():
        console.print(f"  wrote {what:<8} {_shown(Path(path))}", soft_wrap=True, markup=False)


def _shown(path: Path) -> str:
    """where a file went, for people: its full path (a device or '-' as given)"""
    return str(path) if is_stdout(path) or str(path).startswith("/dev/") else str(path.resolve())


def _results_table(model: GDRegressor, summary: dict) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2))
    metrics, gap = summary["metrics"], summary["gap"]
    lr_note = " (chosen by lr='auto')" if model.lr == "auto" else ""
    changed = {k: v for k, v in model.get_params().items() if k not in ("verbose", "callbacks") and v != DEFAULTS[k]}
    table.add_row("settings", ", ".join(f"{k}={v!r}" for k, v in changed.items()) or "defaults")
    momentum = f" with momentum {model.momentum_:.4g}" if model.optimizer == "sgd" and model.momentum_ else ""
    table.add_row("descent", f"{model.optimizer}{momentum}, {summary['epochs']} epochs, {summary['steps']} steps, "
                             f"lr={summary['lr']:.4g}{lr_note}")
    held = summary["held_out"]
    earlier = held is not None and held["returned"] == "best epoch" and held["best_epoch"] < summary["epochs"]
    table.add_row("final loss", f"{summary['loss']:.6g}" + (
        f" at epoch {held['best_epoch']}, whose parameters early stopping returned "
        f"({model.history_.loss[-1]:.6g} at the end)" if earlier else ""))
    if held is not None:
        kept = ", its parameters returned" if earlier else ""
        best = (f"{held['best_val_loss']:.6g} at best (epoch {held['best_epoch']}{kept}), "
                if held["best_epoch"] < summary["epochs"] else "lowest ")
        table.add_row("validation loss", f"{best}{held['last_val_loss']:.6g} at the end, on {held['rows']} "
                                         f"held-out rows")
    if metrics:
        table.add_row("train R²", f"{metrics['r2']:.6f}")
        table.add_row("train MSE", f"{metrics['mse']:.6g}")
    if gap is not None:
        which = "parameter" if gap["identified"] else "fitted-value (the optimum is not unique)"
        table.add_row("gap to exact", f"relative {which} distance {gap['distance']:.3e}, "
                                      f"loss difference {gap['objective_gap']:.3e}")
        table.add_row("exact solution", f"{summary['exact']['method']} "
                                        f"(condition number {summary['exact']['condition']:.3g})")
    table.add_row("verdict", _verdict_text(summary["verdict"]))
    return table


def _verdict_text(verdict: dict) -> Text:
    """converged (green), or not at the optimum with why and the remedy (red)"""
    if verdict["converged"]:
        return Text(verdict["message"], style="green")
    if verdict["reason"] == EARLY_STOPPED:
        return Text(f"{verdict['message']}; {verdict['remedy']}", style="yellow")
    text = Text("NOT AT THE OPTIMUM: ", style="bold red")
    text.append(verdict["message"] + (f"; {verdict['remedy']}" if verdict["remedy"] else ""), style="red")
    return text


def write_outputs(model: GDRegressor, out: Path, history: Path | None) -> dict:
    """write the model file (and the history as CSV); returns what went where (call inside ``all_or_nothing``)"""
    files = {}
    model.save(out)
    files["model"] = out
    if history is not None:
        atomic_write(history, model.history_.to_dataframe().to_csv(index=False))
        files["history"] = history
    return files
