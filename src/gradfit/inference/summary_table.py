"""The inference summary as a value: a coefficient table and fit figures, rendered as text, HTML or a dict."""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, fields
from html import escape
from typing import NamedTuple

__all__ = ["Coefficient", "Summary", "CONST", "INTERCEPT", "intercept_label"]

#: the intercept's label: statsmodels' OLS on ``add_constant``'s design names it "const"; a formula
#: (statsmodels.formula, R, formulaic) names it "Intercept"
CONST, INTERCEPT = "const", "Intercept"


def intercept_label(model) -> str:
    """the intercept's label in a model's summary: INTERCEPT for a fit made from a formula, else CONST"""
    return INTERCEPT if hasattr(getattr(model, "encoding_", None), "formula") else CONST


class Coefficient(NamedTuple):
    """one row of the coefficient table; None where a figure does not apply, NaN where the coefficient
    is not identified, ±inf where statsmodels reports an infinity (a t statistic of a perfect fit)"""

    name: str
    coef: float
    std_err: float | None
    statistic: float | None
    p_value: float | None
    ci_low: float | None
    ci_high: float | None


TITLES = {"fit": "gradfit summary: least-squares statistics at the fitted parameters",
          "exact": "gradfit summary: statistics at the exact least-squares answer, not at the fit",
          "coefficients": "gradfit summary: coefficients only (inference statistics are for squared losses)"}


@dataclass
class Summary:
    """the statistics of one fitted model; print it, show it in a notebook, or ``to_dict`` it

    Every figure is a float (±inf where a ratio divides by an exact zero, as statsmodels
    reports it), NaN where a coefficient is not identified, or None where it does not apply
    or is undefined (0/0); the table shows "n/a" for both.
    """

    coefficients: list[Coefficient]
    nobs: int
    df_model: int
    df_resid: int
    rsquared: float | None
    rsquared_adj: float | None
    fvalue: float | None
    f_pvalue: float | None
    ssr: float | None
    resid_std_err: float | None
    llf: float | None
    aic: float | None
    bic: float | None
    condition_number: float | None
    cov_type: str
    fit_intercept: bool
    centered: bool  # R² about the mean (the model has a constant) or about zero
    penalized: bool
    gap: dict | None
    notes: list[str]
    #: "fit": at the fitted parameters; "exact": at the exact least-squares answer; "coefficients": the
    #: coefficients alone (a loss that is not squared error has no least-squares statistics)
    at: str = "fit"

    @property
    def title(self) -> str:
        return TITLES[self.at]

    @property
    def statistic(self) -> str:
        """name of the coefficient test statistic: "t" (classical) or "z" (robust, normal)"""
        return "t" if self.cov_type == "nonrobust" else "z"

    def to_dict(self) -> dict:
        """JSON-ready (strict JSON): plain floats, ints, strings, lists, dicts and None; ±inf are
        the strings "inf" and "-inf", NaN (not identified) is None"""
        out = {f.name: _json_number(getattr(self, f.name)) for f in fields(self)}
        out["coefficients"] = [{k: _json_number(v) for k, v in c._asdict().items()} for c in self.coefficients]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Summary":
        coefficients = [Coefficient(**{k: _from_json(v) if k != "name" else v for k, v in c.items()})
                        for c in data["coefficients"]]
        figures = {k: _from_json(v) if k in FIGURES else v for k, v in data.items()}
        return cls(**{**figures, "coefficients": coefficients})

    def overview(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(label, value) pairs of the model-level figures, left and right column"""
        left = [("No. Observations:", self.nobs), ("Df Residuals:", self.df_resid), ("Df Model:", self.df_model),
                ("Covariance Type:", self.cov_type), ("Penalized:", "yes" if self.penalized else "no"),
                ("Residual SS:", self.ssr), ("Resid. Std. Err.:", self.resid_std_err),
                ("Cond. No.:", self.condition_number)]
        if self.gap is not None:
            left += [("Dist. to optimum:", self.gap["param_distance"]), ("Objective gap:", self.gap["objective_gap"])]
        r2 = "R-squared:" if self.centered else "R-squared (uncentered):"
        right = [(r2, self.rsquared), ("Adj. " + r2, self.rsquared_adj), ("F-statistic:", self.fvalue),
                 ("Prob (F-statistic):", self.f_pvalue), ("Log-Likelihood:", self.llf), ("AIC:", self.aic),
                 ("BIC:", self.bic)]
        return [(k, _figure(v)) for k, v in left], [(k, _figure(v)) for k, v in right]

    def table(self) -> tuple[list[str], list[list[str]]]:
        """header and formatted rows of the coefficient table"""
        s = self.statistic
        head = ["coef", "std err", s, f"P>|{s}|", "[0.025", "0.975]"]
        rows = [[c.name, _number(c.coef, 4), _number(c.std_err, 4), _number(c.statistic, 3),
                 _number(c.p_value, 3), _number(c.ci_low, 3), _number(c.ci_high, 3)] for c in self.coefficients]
        return head, rows

    def to_text(self) -> str:
        """a fixed-width plain-text table in the style of statsmodels' OLS summary"""
        head, rows = self.table()
        name_w = max([12] + [len(r[0]) + 1 for r in rows])
        width = max(78, name_w + 11 * len(head))
        left, right = self.overview()
        half = width // 2
        lines = [self.title.center(width).rstrip(), "=" * width]
        for i in range(max(len(left), len(right))):
            a, b = left[i] if i < len(left) else ("", ""), right[i] if i < len(right) else ("", "")
            lines.append((_pair(*a, half - 2) + "   " + _pair(*b, width - half - 1)).rstrip())
        lines += ["=" * width, " " * name_w + "".join(h.rjust(11) for h in head), "-" * width]
        lines += [r[0].ljust(name_w) + "".join(v.rjust(11) for v in r[1:]) for r in rows]
        lines += ["=" * width, "Notes:"]
        for i, note in enumerate(self.notes, 1):
            lines += textwrap.wrap(f"[{i}] {note}", width, subsequent_indent="    ")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        left, right = self.overview()
        blank = ("", "")
        pairs = [(left[i] if i < len(left) else blank) + (right[i] if i < len(right) else blank)
                 for i in range(max(len(left), len(right)))]
        over = "".join("<tr><th>{}</th><td>{}</td><th>{}</th><td>{}</td></tr>".format(*map(escape, p)) for p in pairs)
        head, rows = self.table()
        coef = "<tr><th></th>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"
        coef += "".join("<tr><th>" + escape(r[0]) + "</th>" + "".join(f"<td>{escape(v)}</td>" for v in r[1:])
                        + "</tr>" for r in rows)
        notes = "".join(f"<li>{escape(n)}</li>" for n in self.notes)
        return (f'<div class="gradfit-summary"><table><caption>{escape(self.title)}</caption>{over}</table>'
                f"<table>{coef}</table><ol>{notes}</ol></div>")


#: the model-level figures that may hold ±inf
FIGURES = ("rsquared", "rsquared_adj", "fvalue", "f_pvalue", "ssr", "resid_std_err", "llf", "aic", "bic",
           "condition_number")


def _json_number(value):
    """a figure for strict JSON: NaN as None, ±inf as "inf" / "-inf", anything else as it is"""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _from_json(value):
    return float(value) if value in ("inf", "-inf") else value


def _pair(label: str, value: str, width: int) -> str:
    return label + value.rjust(width - len(label))


def _figure(value) -> str:
    """a model-level figure: ints and words as they are, floats to 4 significant digits"""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _number(value: float | None, prec: int) -> str:
    """a table entry: fixed point in [1e-4, 1e4), else 4 significant digits (statsmodels' forg)"""
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.{prec}f}" if 1e-4 <= abs(value) < 1e4 else f"{value:.4g}"
