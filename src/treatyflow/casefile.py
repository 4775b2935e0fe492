"""Case files: YAML data describing a case and its dated steps (read here; replayed by
:mod:`treatyflow.app.casefiles`).

The format (see docs/case-files.md)::

    case: {id, country, treaty, action, procedure, opened_on, at, facts, note, sources}
    events:
      - advance: TRIGGER      # or set-fact: {NAME: VALUE} | record: TYPE | note: TEXT
        on: DATE
        note: TEXT
        by: WHO               # record only
        sources: [{citation, url, date, level, kind, reference}]
        out_of_procedure: REASON  # advance only
        to: STATE                 # advance only, with out_of_procedure

Before each step the case's clocks are ticked up to the step's date, so a deadline that
fell due earlier is recorded first, as it happened in law.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from treatyflow.definitions.factories import empty_dict, empty_list
from treatyflow.errors import InvalidCaseFile, Problem
from treatyflow.evidence import Source
from treatyflow.loader import load_file


class CaseHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    country: str
    treaty: str
    action: str = "withdrawal"
    procedure: str | None = None
    opened_on: dt.date
    at: str | None = None
    facts: dict[str, Any] = Field(default_factory=empty_dict)
    note: str | None = None
    sources: list[Source] = Field(default_factory=empty_list)


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: dt.date | str
    """The step's legal date: a day, or (as text) ``<=DAY``, ``DAY..DAY`` or ``YYYY-MM``."""
    advance: str | None = None
    set_fact: dict[str, Any] | None = Field(default=None, alias="set-fact")
    record: str | None = None
    note: str | None = None
    by: str | None = None
    sources: list[Source] = Field(min_length=1)
    out_of_procedure: str | None = None
    to: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        kinds = [k for k in ("advance", "set_fact", "record") if getattr(self, k) is not None]
        if len(kinds) > 1:
            raise ValueError(f"a step is one of advance, set-fact, record or note, not {kinds}")
        if not kinds and self.note is None:
            raise ValueError("a step needs advance, set-fact, record or note")
        # Keys that only one kind of step reads are refused elsewhere, not silently dropped.
        if self.by is not None and self.record is None:
            raise ValueError("'by' belongs to a record step (who objected, found, stated)")
        for key in ("to", "out_of_procedure"):
            if getattr(self, key) is not None and self.advance is None:
                raise ValueError(f"{key!r} belongs to an advance step")
        return self


class CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case: CaseHeader
    events: list[Step] = Field(default_factory=empty_list)


def read(path: Path) -> CaseFile:
    """The case file at ``path``, validated; InvalidCaseFile naming file:line otherwise."""
    return read_with_lines(path)[0]


def read_with_lines(path: Path) -> tuple[CaseFile, Callable[[tuple[str | int, ...]], int | None]]:
    """The case file and a function giving the line of a key path (``("events", 2)``)."""
    doc = load_file(path)
    try:
        return CaseFile.model_validate(doc.data), doc.line_of
    except ValidationError as exc:
        problems = [
            Problem(
                doc.path,
                doc.line_of(tuple(e["loc"])),
                f"{'.'.join(map(str, e['loc'])) or 'the file'}: {e['msg']}",
            )
            for e in exc.errors()
        ]
        raise InvalidCaseFile(problems) from exc


def examples_dir() -> Path:
    """The shipped example data (installed wheel, or the source checkout)."""
    installed = Path(__file__).parent / "_examples"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "examples"
