"""The country-by-step matrix: what the UN Treaty Collection's status pages show by hand.

Rows are cases; columns are milestones (``StateSpec.milestone``) that any case reached; a
cell is the legal date the case entered that step, with footnotes for uncertain (press
only, or marked UNCERTAIN), contested, out-of-procedure or backdated steps.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from treatyflow.definitions.procedure import MILESTONES, Procedure
from treatyflow.legal.dates import occurred_of
from treatyflow.parties import party_name

TITLES = {
    "proposal": "Proposal",
    "decision": "Decision",
    "bill": "Bill",
    "committee": "Committee",
    "parliament": "Parliament",
    "second-chamber": "Second chamber",
    "head-of-state": "Head of State",
    "publication": "Published",
    "instrument": "Instrument",
    "notified": "Notified",
    "objection-period": "Objection period",
    "suspended": "Suspended",
    "disputed": "Disputed",
    "effective": "Effective",
    "revoked": "Revoked",
    "abandoned": "Abandoned",
}


@dataclass
class Cell:
    date: str
    """The legal date as shown: ``2025-06-27``, or ``≤2025-12-01`` when imprecise."""
    state: str
    notes: list[int] = field(default_factory=list)
    day: str = ""
    """The recorded day itself (``YYYY-MM-DD``), for formats that need a plain date."""


@dataclass
class Row:
    case_id: str
    country: str
    treaty: str
    action: str
    state: str
    cells: dict[str, Cell] = field(default_factory=dict)
    expected: dict[str, str] = field(default_factory=dict)
    """Milestones not reached yet but with a computed date (e.g. the expected effect)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "country": self.country,
            "country_name": party_name(self.country),
            "treaty": self.treaty,
            "action": self.action,
            "state": self.state,
            "cells": {
                k: {"date": c.date, "state": c.state, "notes": c.notes}
                for k, c in self.cells.items()
            },
            "expected": self.expected,
        }


@dataclass
class Matrix:
    columns: list[str]
    rows: list[Row]
    footnotes: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "columns": columns_json(self.columns),
            "rows": [r.to_json() for r in self.rows],
            "footnotes": footnotes_json(self.footnotes),
        }


def columns_json(columns: Sequence[str]) -> list[dict[str, str]]:
    return [{"id": c, "title": TITLES.get(c, c)} for c in columns]


def footnotes_json(footnotes: Sequence[str]) -> list[dict[str, Any]]:
    return [{"n": i + 1, "text": t} for i, t in enumerate(footnotes)]


def build(
    cases: Sequence[Mapping[str, Any]],
    histories: Mapping[str, Sequence[Mapping[str, Any]]],
    procedures: Mapping[str, Procedure],
) -> Matrix:
    """Build the matrix from case views (``Service.show``), histories and their procedures."""
    builder = MatrixBuilder()
    rows = [builder.add(view, histories[view["id"]], procedures[view["id"]]) for view in cases]
    return Matrix(builder.columns(), rows, builder.footnotes)


class MatrixBuilder:
    """The matrix one row at a time (a streamed report keeps no row): :meth:`add` gives the
    row; :meth:`columns` and :attr:`footnotes` are known once every row was added."""

    def __init__(self) -> None:
        self.footnotes: list[str] = []
        self._numbers: dict[str, int] = {}
        self._used: set[str] = set()

    def add(
        self, view: Mapping[str, Any], history: Sequence[Mapping[str, Any]], proc: Procedure
    ) -> Row:
        row = Row(view["id"], view["country"], view["treaty"], view["action"], view["state"])
        # A retracted step (and the retraction's move back) is not a milestone reached.
        gone = {int(e["data"]["target_seq"]) for e in history if e.get("kind") == "retract"}
        for ev in history:
            state = ev.get("to_state")
            if not state or ev.get("kind") == "retract" or ev.get("seq") in gone:
                continue
            spec = proc.state(state)
            milestone = (spec.milestone if spec else None) or _default_milestone(state)
            if milestone is None:
                continue
            cell = Cell(_date_text(ev), state, day=str(ev["occurred_on"]))
            for text in _footnotes(ev, spec.contested is not None if spec else False):
                number = self._numbers.get(text)
                if number is None:
                    self.footnotes.append(text)
                    number = self._numbers[text] = len(self.footnotes)
                cell.notes.append(number)
            row.cells[milestone] = cell
            self._used.add(milestone)
        if view.get("effective_on") and "effective" not in row.cells:
            row.expected["effective"] = view["effective_on"]
            self._used.add("effective")
        return row

    def columns(self) -> list[str]:
        return [m for m in MILESTONES if m in self._used]


def _date_text(ev: Mapping[str, Any]) -> str:
    """The event's legal date as the matrix shows it: ``≤2025-12-01`` for an imprecise one."""
    day = dt.date.fromisoformat(str(ev["occurred_on"]))
    return occurred_of(day, ev.get("data") or {}).text()


def _default_milestone(state: str) -> str | None:
    return state if state in ("notified", "effective", "revoked") else None


def _footnotes(ev: Mapping[str, Any], contested_state: bool) -> list[str]:
    out = []
    note = (ev.get("note") or "").strip()
    sources = ev.get("sources") or []
    seq = f"{ev['case_id']} #{ev['seq']}"
    if note.upper().startswith("UNCERTAIN"):
        out.append(f"{seq}: {note}")
    elif sources and all(s.get("level", "reported") == "reported" for s in sources):
        out.append(f"{seq}: reported by the press only ({sources[0].get('citation', '')}).")
    flags = (ev.get("data") or {}).get("flags", [])
    if "out-of-procedure" in flags:
        reason = (ev.get("data") or {}).get("reason") or ""
        out.append(f"{seq}: recorded out of procedure: {reason}".rstrip(": "))
    if "contested" in flags or contested_state:
        out.append(f"{seq}: the necessity or validity of this step is contested.")
    if "backdated" in flags:
        out.append(f"{seq}: backdated: {(ev.get('data') or {}).get('backdate_reason', '')}")
    return out


def _cell_text(row: Row, column: str) -> str:
    cell = row.cells.get(column)
    if cell is not None:
        marks = "".join(f"[{n}]" for n in cell.notes)
        return f"{cell.date}{marks}"
    expected = row.expected.get(column)
    return f"({expected} expected)" if expected else ""


def header(matrix: Matrix) -> list[str]:
    return ["Case", "Country", "Action", *[TITLES.get(c, c) for c in matrix.columns]]


def body(matrix: Matrix) -> list[list[str]]:
    return [
        [r.case_id, r.country, r.action, *[_cell_text(r, c) for c in matrix.columns]]
        for r in matrix.rows
    ]


def render_text(matrix: Matrix) -> str:
    rows = [header(matrix), *body(matrix)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if matrix.footnotes:
        lines.append("")
        lines += [f"[{i + 1}] {t}" for i, t in enumerate(matrix.footnotes)]
    return "\n".join(lines) + "\n"


def render_markdown(matrix: Matrix) -> str:
    """The matrix as Markdown, escaped exactly as the portfolio's matrix section is (the
    footnote markers ``\\[1\\]`` are text, not link references)."""
    from treatyflow.reports.text import matrix_markdown

    return "\n".join(matrix_markdown(matrix.to_json())) + "\n"


def csv_header(matrix: Matrix) -> list[str]:
    """Per milestone: its date, then its footnotes (and its expected date, where any row
    has one): every date cell is a plain ISO date a spreadsheet reads as a date."""
    head = ["Case", "Country", "Action"]
    for column in matrix.columns:
        title = TITLES.get(column, column)
        head += [title, f"{title} notes"]
        if any(column in r.expected for r in matrix.rows):
            head.append(f"{title} expected")
    return head


def csv_rows(matrix: Matrix) -> list[list[str]]:
    rows = []
    for r in matrix.rows:
        row = [r.case_id, r.country, r.action]
        for column in matrix.columns:
            cell = r.cells.get(column)
            notes: list[str] = []
            if cell is not None:
                if cell.date != cell.day:  # an imprecise date: its range goes to the notes
                    notes.append(f"date known only as {cell.date}")
                notes += [" ".join(matrix.footnotes[n - 1].split()) for n in cell.notes]
            row += [cell.day if cell else "", "\n".join(notes)]
            if any(column in x.expected for x in matrix.rows):
                row.append(r.expected.get(column, ""))
        rows.append(row)
    return rows


def render_csv(matrix: Matrix) -> str:
    """The matrix as CSV for reuse: date columns hold plain ISO dates (``YYYY-MM-DD``);
    each is followed by a ``<milestone> notes`` column with the texts of its footnotes (one
    a line), and an expected date has a ``<milestone> expected`` column of its own."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(csv_header(matrix))
    for row in csv_rows(matrix):
        writer.writerow([safe_cell(c) for c in row])
    return out.getvalue()


def render_json(matrix: Matrix) -> str:
    return json.dumps(matrix.to_json(), indent=2, ensure_ascii=False) + "\n"


def safe_cell(value: str) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ gets a leading quote."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
