"""The "what changed" brief (``report diff``): the :class:`treatyflow.results.Changes`
document (its ``to_dict()``) rendered as Markdown, HTML or JSON. Pure functions of the data."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from treatyflow.reports.text import md

FORMATS = ("md", "json", "html")

ARROW = "\u2192"
DASH = "\u2013"


def render(doc: Mapping[str, Any], fmt: str) -> str:
    """The changes document in ``fmt`` (md, json or html)."""
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if fmt == "md":
        return render_markdown(doc)
    if fmt == "html":
        return render_html(doc)
    raise ValueError(f"unknown diff format {fmt!r}")


def title(doc: Mapping[str, Any]) -> str:
    return f"What changed: {doc['since']} {ARROW} {doc['until']}"


def label(name: str) -> str:
    """A field's name as the brief shows it (``clock:effect`` -> ``clock effect``)."""
    if name == "effective_on":
        return "effective date"
    kind, _, rest = name.partition(":")
    return f"{kind} {rest}" if rest else name


def value(field: str, val: Any) -> str:
    """A field's value as text (``-`` for none)."""
    if val is None:
        return DASH
    if field.startswith("clock:") and isinstance(val, Mapping):
        return f"{val.get('due_on') or DASH} ({val.get('status')})"
    if isinstance(val, bool):
        return "true" if val else "false"
    if isinstance(val, list):
        return ", ".join(str(v) for v in val) or "none"
    return str(val)


def summary(doc: Mapping[str, Any]) -> str:
    count = len(doc["cases"])
    new = sum(1 for c in doc["cases"] if c["new"])
    text = f"As of the legal date {doc['as_of']}: {count} case(s) changed"
    return text + (f" ({new} new)." if new else ".")


def render_markdown(doc: Mapping[str, Any]) -> str:
    out = [f"# {md(title(doc))}", "", md(summary(doc)), ""]
    if not doc["cases"]:
        out += ["Nothing changed.", ""]
    for case in doc["cases"]:
        new = " (new case)" if case["new"] else ""
        out += [
            f"## {md(case['id'])}{new}",
            "",
            f"{md(case['country'])}, {md(case['treaty'])}, {md(case['action'])}; "
            f"state {md(case['state'])}; {case['events']} event(s) recorded in the period.",
            "",
            "| what | before | after |",
            "|---|---|---|",
        ]
        for ch in case["changes"]:
            field = ch["field"]
            out.append(
                f"| {md(label(field))} | {md(value(field, ch['old']))} | "
                f"{md(value(field, ch['new']))} |"
            )
        out.append("")
    return "\n".join(out)


def render_html(doc: Mapping[str, Any]) -> str:
    from treatyflow.reports.html import environment

    template = environment().get_template("diff.html.j2")
    return template.render(
        doc=doc, title=title(doc), summary=summary(doc), label=label, value=value
    )
