"""History: what each recorded step of a descent saw.

Entry k holds the parameters after ``step`` optimizer steps (entry 0 is the start)
and the training objective at those parameters, like the tutorials' loops that
print the cost of the current W before stepping. Coefficients are in the units of
the data the user gave.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from typing import Iterator, NamedTuple

FIELDS = ("epoch", "step", "loss", "coef", "intercept", "grad_norm", "lr", "time")


class Entry(NamedTuple):
    """one recorded point of the descent"""

    epoch: int
    step: int
    loss: float
    coef: list[float]
    intercept: float
    grad_norm: float
    lr: float
    time: float


@dataclass
class History:
    """column store of entries; index it, iterate it, or export it"""

    feature_names: list[str] | None = None
    columns: dict[str, list] = field(default_factory=lambda: {f: [] for f in FIELDS})

    def append(self, entry: Entry) -> None:
        for name, value in zip(FIELDS, entry):
            self.columns[name].append(value)

    def __len__(self) -> int:
        return len(self.columns["step"])

    def __getitem__(self, k: int) -> Entry:
        return Entry(*(self.columns[f][k] for f in FIELDS))

    def __iter__(self) -> Iterator[Entry]:
        return (self[k] for k in range(len(self)))

    def __getattr__(self, name: str) -> list:
        """``history.loss``, ``history.epoch`` ...: one column as a list"""
        columns = self.__dict__.get("columns", {})
        if name in columns:
            return columns[name]
        raise AttributeError(name)

    @property
    def final(self) -> Entry:
        return self[-1]

    def _coef_names(self) -> list[str]:
        n = len(self.columns["coef"][0]) if len(self) else 0
        return list(self.feature_names or [f"x{j}" for j in range(n)])

    def thinned(self, max_entries: int) -> "History":
        """at most ``max_entries`` entries spread evenly over the run, the first and the last kept"""
        n = len(self)
        if n <= max_entries:
            return self
        keep = sorted({round(k * (n - 1) / (max_entries - 1)) for k in range(max_entries)})
        out = History(feature_names=self.feature_names)
        out.columns = {name: [values[k] for k in keep] for name, values in self.columns.items()}
        return out

    def to_records(self, start: int = 0) -> list[dict]:
        """one flat dict per entry (from entry ``start`` on), a column per coefficient (``coef[name]``)"""
        names = self._coef_names()
        rows = []
        for k in range(start, len(self)):
            e = self[k]
            row = {"epoch": e.epoch, "step": e.step, "loss": e.loss}
            row.update({f"coef[{n}]": w for n, w in zip(names, e.coef)})
            row.update(intercept=e.intercept, grad_norm=e.grad_norm, lr=e.lr, time=e.time)
            rows.append(row)
        return rows

    def to_dataframe(self):
        """a pandas DataFrame, one row per entry"""
        import pandas as pd

        return pd.DataFrame.from_records(self.to_records())

    def to_csv(self, path) -> None:
        """write the entries as CSV"""
        self.to_dataframe().to_csv(path, index=False)

    def to_dict(self) -> dict:
        return {"feature_names": self._coef_names(), **{f: list(self.columns[f]) for f in FIELDS}}

    def to_json(self, path=None) -> str:
        """the history as JSON text (and written to ``path`` if given)"""
        text = json.dumps(self.to_dict())
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        return text

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        history = cls(feature_names=data.get("feature_names"))
        history.columns = {f: list(data[f]) for f in FIELDS}
        return history

    def __repr__(self) -> str:
        if not len(self):
            return "History(empty)"
        first, last = self[0], self[-1]
        return (
            f"History({len(self)} entries, epochs {first.epoch}..{last.epoch}, "
            f"steps {first.step}..{last.step}, loss {first.loss:.6g} -> {last.loss:.6g})"
        )

    def _repr_html_(self) -> str:
        rows = self.to_records()
        if len(rows) > 12:
            rows = rows[:6] + [None] + rows[-5:]
        head = list(self.to_records()[0]) if len(self) else []
        cells = "".join(f"<th>{escape(h)}</th>" for h in head)
        body = []
        for row in rows:
            if row is None:
                body.append(f"<tr><td colspan='{len(head)}'>…</td></tr>")
                continue
            body.append("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row.values()) + "</tr>")
        return f"<p>{escape(repr(self))}</p><table><tr>{cells}</tr>{''.join(body)}</table>"


def _fmt(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else escape(str(value))
