"""``gradfit summary MODEL``: the coefficient table with inference statistics of a saved model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import OptionError
from ..inference.stats import COV_TYPES
from ._common import JsonOut, print_json, weights_column
from .plot import ModelFile, Target, model_data


def summary(
    model: ModelFile,
    data: Annotated[Optional[Path], typer.Option(
        "--data", help="the training data (CSV or Parquet), for robust covariances", show_default=False)] = None,
    target: Target = None,
    cov_type: Annotated[str, typer.Option(
        "--cov-type", help=f"covariance of the coefficients: {', '.join(COV_TYPES)} (HC*: robust, need --data)",
    )] = "nonrobust",
    at: Annotated[Optional[str], typer.Option(
        "--at", help="where the statistics are taken: exact (the exact least-squares answer) or fit; default: "
                     "exact when the fit is not at its optimum, else fit", show_default=False)] = None,
    weights: Annotated[Optional[str], typer.Option(
        "--weights", help="the weights column of --data, for robust covariances of a weighted fit",
        show_default=False)] = None,
    as_json: JsonOut = False,
) -> None:
    """Print the coefficient table with standard errors, t statistics, p-values and 95% intervals,
    R², F test, log-likelihood, AIC, BIC and condition number, as statsmodels' OLS summary does.

    Computed from the Gram statistics in the model file; robust covariances read the data again.

    Examples:

    gradfit summary model.json

    gradfit summary model.json --data houses.csv --target price --cov-type HC3 --json

    gradfit summary early.json --at fit

    gradfit summary weighted.json --data survey.csv --target income --weights w --cov-type HC1
    """
    if weights is not None and data is None:
        raise OptionError("option --weights needs --data, the training data that holds the weights column")
    fitted, X, y, _ = model_data(model, data, target)
    sample_weight = weights_column(data, weights) if weights is not None else None
    result = fitted.summary(X, y, cov_type=cov_type, at=at, sample_weight=sample_weight)
    if as_json:
        print_json(result.to_dict())
    else:
        typer.echo(result.to_text())


def register(app: typer.Typer) -> None:
    """add the ``summary`` command to the gradfit app"""
    app.command("summary")(summary)
