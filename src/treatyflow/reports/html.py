"""The HTML report: one self-contained, printable page (no network, no scripts, no fonts).

Rendered with Jinja2 and autoescaping on; nothing is marked safe. Links are written only for
``http://`` and ``https://`` URLs; anything else is shown as text. A Content-Security-Policy
meta tag forbids scripts and every external load, as a second line of defence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

import jinja2

from treatyflow import __version__
from treatyflow.reports import svg
from treatyflow.reports.model import authorship_sentence

LEVELS = ("reported", "official", "confirmed")
STATUSES = ("running", "due", "suspended", "unknown", "satisfied", "void")
DUE_CLASSES = tuple(f"due-{s}" for s in STATUSES)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("treatyflow", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(
        is_link=is_link,
        fmt_value=_fmt_value,
        levels=LEVELS,
        statuses=STATUSES,
        due_classes=DUE_CLASSES,
        version=__version__,
        authorship=authorship_sentence,
    )
    return env


def is_link(url: object) -> bool:
    """Whether ``url`` may be written as a link: an http(s) URL and nothing else."""
    return isinstance(url, str) and url.strip().lower().startswith(("http://", "https://"))


def _fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "unset" if value is None else str(value)


def render_html(report: Mapping[str, Any]) -> str:
    """The report model as one HTML document."""
    cases = report["cases"]
    anchors = {c["id"]: f"case-{i + 1}" for i, c in enumerate(cases)}
    diagrams = {c["id"]: svg.diagram(c["procedure_graph"], c["path"], c["state"]) for c in cases}
    timelines = {c["id"]: svg.timeline(c, report["as_of"]) for c in cases}
    template = environment().get_template("report.html.j2")
    return template.render(report=report, anchors=anchors, diagrams=diagrams, timelines=timelines)


def html_chunks(report: Mapping[str, Any], anchors: Mapping[str, str]) -> Iterator[str]:
    """The text of :func:`render_html`, piece by piece, for a report whose summary, matrix
    rows and cases are iterated once, in order (a streamed report's are temporary files):
    the same template, and each case's diagram and timeline drawn when its section is.

    ``anchors`` is every case's anchor (``case-1``...) by id, as :func:`render_html` makes
    it; the summary links to sections not rendered yet."""
    current = _Current(report["cases"])
    streamed = {**report, "cases": current}
    template = environment().get_template("report.html.j2")
    return template.generate(
        report=streamed,
        anchors=anchors,
        diagrams=_OfCurrent(
            current, lambda c: svg.diagram(c["procedure_graph"], c["path"], c["state"])
        ),
        timelines=_OfCurrent(current, lambda c: svg.timeline(c, report["as_of"])),
    )


class _Current:
    """The cases, iterated once; :attr:`case` is the one whose section is being rendered."""

    def __init__(self, cases: Iterable[Mapping[str, Any]]) -> None:
        self._cases = cases
        self.case: Mapping[str, Any] | None = None

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        for case in self._cases:
            self.case = case
            yield case
        self.case = None


class _OfCurrent(Mapping[str, Any]):
    """``diagrams[id]`` / ``timelines[id]`` of the case being rendered, drawn on demand (a
    report of every case's drawings at once is what streaming avoids)."""

    def __init__(self, current: _Current, draw: Callable[[Mapping[str, Any]], Any]) -> None:
        self._current = current
        self._draw = draw

    def __getitem__(self, case_id: str) -> Any:
        case = self._current.case
        if case is None or case["id"] != case_id:
            raise KeyError(case_id)
        return self._draw(case)

    def __iter__(self) -> Iterator[str]:
        case = self._current.case
        return iter([] if case is None else [str(case["id"])])

    def __len__(self) -> int:
        return 0 if self._current.case is None else 1
