"""The HTML report: one self-contained, printable page (no network, no scripts, no fonts).

Rendered with Jinja2 and autoescaping on; nothing is marked safe. Links are written only for
``http://`` and ``https://`` URLs; anything else is shown as text. A Content-Security-Policy
meta tag forbids scripts and every external load, as a second line of defence.
"""

from __future__ import annotations

from collections.abc import Mapping
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
