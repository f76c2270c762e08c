"""The intercept's label in the summary table: "Intercept" for a fit made from a formula (as statsmodels.formula
and R label it), "const" otherwise (statsmodels' OLS on ``add_constant``'s design).

Reference: the ``params`` index of statsmodels' own fits of the same formula or design (the labels must be the
same set; statsmodels orders categorical terms first, gradfit keeps the formula's order).
"""

from __future__ import annotations

import json

import numpy as np  # noqa: F401 (patsy evaluates np.log(x2) in this namespace)
import pytest

from gradfit import GDRegressor
from gradfit.inference.summary_table import CONST, INTERCEPT

from .helpers import gradfit
from .test_formula import houses

smf = pytest.importorskip("statsmodels.formula.api", reason="statsmodels is in the test extra")
pytest.importorskip("formulaic", reason="formulas need formulaic (pip install 'gradfit[formula]')")

FORMULAS = ["y ~ x1 + np.log(x2) + C(region)", "y ~ x1 * C(region) + city", "y ~ 0 + x1 + np.log(x2)"]


def names(summary) -> list[str]:
    return [row.name for row in summary.coefficients]


@pytest.mark.parametrize("formula", FORMULAS)
def test_from_formula_labels_are_statsmodels_formula_labels(formula):
    data = houses()
    model = GDRegressor.from_formula(formula, data, seed=0, verbose=False)
    labels = names(model.summary(at="exact"))
    reference = list(smf.ols(formula, data).fit().params.index)
    assert sorted(labels) == sorted(reference)
    assert (labels[0] == INTERCEPT) == ("Intercept" in reference) and CONST not in labels


def test_a_loss_without_statistics_labels_its_intercept_alike():
    model = GDRegressor.from_formula("y ~ x1 + C(region)", houses(), loss="huber", seed=0, verbose=False)
    assert names(model.summary())[0] == INTERCEPT


def test_fits_without_a_formula_keep_const_as_statsmodels_add_constant():
    sm = pytest.importorskip("statsmodels.api")
    data = houses()
    model = GDRegressor(seed=0, verbose=False).fit(data[["x1", "x2"]], data["y"])
    reference = sm.OLS(data["y"], sm.add_constant(data[["x1", "x2"]])).fit()
    assert names(model.summary(at="exact")) == list(reference.params.index) == [CONST, "x1", "x2"]


def test_the_note_on_unidentified_coefficients_names_the_intercept_by_its_label():
    data = houses().assign(one=1.0)
    with pytest.warns(Warning, match="collinear"):
        model = GDRegressor.from_formula("y ~ x1 + one", data, seed=0, verbose=False)
    summary = model.summary(at="exact")
    assert names(summary) == [INTERCEPT, "x1", "one"]
    assert any("the coefficients of Intercept, one are not identified" in note for note in summary.notes)


def test_cli_summary_of_a_formula_fit_says_intercept_and_of_a_column_fit_const(tmp_path):
    data = tmp_path / "train.csv"
    houses().to_csv(data, index=False)
    by_formula, by_columns = tmp_path / "f.json", tmp_path / "c.json"
    assert gradfit("fit", data, "--formula", "y ~ x1 + C(region)", "-o", by_formula, "-q").exit_code == 0
    assert gradfit("fit", data, "-t", "y", "-f", "x1,x2", "-o", by_columns, "-q").exit_code == 0
    shown = gradfit("summary", by_formula, "--json")
    assert shown.exit_code == 0, shown.output
    assert [row["name"] for row in json.loads(shown.stdout)["coefficients"]][0] == INTERCEPT
    robust = gradfit("summary", by_formula, "--data", data, "--cov-type", "HC1")
    assert robust.exit_code == 0 and "\nIntercept " in robust.stdout and "\nconst " not in robust.stdout
    plain = gradfit("summary", by_columns)
    assert plain.exit_code == 0 and "\nconst " in plain.stdout


def test_the_reports_summary_labels_the_intercept_alike():
    from gradfit.views.report import render_report

    data = houses()
    by_formula = GDRegressor.from_formula("y ~ x1 + C(region)", data, seed=0, verbose=False)
    by_columns = GDRegressor(seed=0, verbose=False).fit(data[["x1", "x2"]], data["y"])
    formula_html, columns_html = render_report(by_formula), render_report(by_columns)
    assert "<tr><th>Intercept</th>" in formula_html and "<tr><th>const</th>" not in formula_html
    assert "<tr><th>const</th>" in columns_html
