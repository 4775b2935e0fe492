"""The Markdown, JSON and CSV reports: pure functions of the report model.

Markdown escapes every character CommonMark could read as markup (so ``<script>`` in a note
shows as text wherever the memo is rendered); links are written only for http(s) URLs. CSV
neutralises spreadsheet formulas in every cell (:func:`treatyflow.reports.matrix.safe_cell`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from treatyflow.reports import matrix as mx
from treatyflow.reports.model import authorship_sentence

HEADLINE = ("out-of-procedure", "contested", "month-end-review")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def md(text: object) -> str:
    """Text safe inside a Markdown paragraph or table cell (one line)."""
    value = "" if text is None else str(text)
    return _MD_SPECIAL.sub(r"\\\1", " ".join(value.split()))


def code(text: object) -> str:
    """A Markdown code span (shown verbatim; nothing inside is markup)."""
    value = " ".join(("" if text is None else str(text)).split())
    if "`" not in value:
        return f"`{value}`"
    return f"`` {value} ``" if "``" not in value else md(value)


def md_link(citation: object, url: object) -> str:
    label = md(citation)
    if isinstance(url, str) and url.strip().lower().startswith(("http://", "https://")):
        safe = url.strip().replace(" ", "%20").replace("(", "%28").replace(")", "%29")
        safe = safe.replace("<", "%3C").replace(">", "%3E").replace('"', "%22")
        return f"[{label}]({safe})"
    return label + (f" ({md(url)})" if url else "")


def _v(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "unset" if value is None else str(value)


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report model as Markdown (for memos and pull requests)."""
    return "\n".join(markdown_lines(report)).rstrip("\n") + "\n"


def markdown_lines(report: Mapping[str, Any]) -> Iterator[str]:
    """The lines of :func:`render_markdown`, one at a time: the summary, the matrix rows and
    the cases are iterated once, in order (a streamed report's are temporary files)."""
    out: list[str] = [f"# {md(report['title'])}", ""]
    meta = f"As of **{report['as_of']}** (legal time)"
    if report["known_at"]:
        meta += f"; from what was recorded by **{md(report['known_at'])}**"
    meta += "."
    if report["generated_at"]:
        meta += f" Generated at {md(report['generated_at'])}."
    out += [meta + f" Schema `{report['schema']}`.", ""]
    if report["filters"]:
        out += [
            "Filters: " + ", ".join(f"{md(k)} = {md(v)}" for k, v in report["filters"].items()),
            "",
        ]
    integ = report["integrity"]
    if integ["failed"]:
        bad = "; ".join(
            f"{md(f['case'])} (first bad event #{f['seq']}: {md(f['reason'])})"
            for f in integ["failed"]
        )
        out += [f"**Audit log: {len(integ['failed'])} of {integ['cases']} case(s) FAIL: {bad}.**"]
    else:
        out += [
            f"Audit log: the hash chains of all {integ['cases']} case(s) "
            f"({integ['events']} events) verify."
        ]
    out.append("")
    yield from out
    if report["summary"] is not None:
        yield from ["## Summary", ""]
        yield from [
            "| Case | Country | Treaty | Action | State | Next date | Effective | Flags |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in report["summary"]:
            nxt = f"{r['next_date']} ({md(r['next'])})" if r["next_date"] else "–"
            flags = ", ".join(md(f) for f in r["flags"])
            if not r["verified"]:
                flags = (flags + ", " if flags else "") + "**CHAIN FAILS**"
            yield (
                f"| {md(r['case'])} | {md(r['country'])} ({md(r['country_name'])}) | "
                f"{md(r['treaty'])} | "
                f"{md(r['action'])} | {md(r['state'])} | {nxt} | {r['effective_on'] or '–'} | "
                f"{flags} |"
            )
        yield from ["", "## Country-by-step matrix", ""]
        yield from matrix_markdown_lines(report["matrix"])
        yield ""
    for case in report["cases"]:
        yield from _case_md(case, report["as_of"])


def matrix_markdown(m: Mapping[str, Any]) -> list[str]:
    """The matrix (its JSON form) as Markdown lines: every cell escaped, footnote markers
    as literal ``\\[n\\]``; the one renderer of ``matrix.md`` and the portfolio's section."""
    return list(matrix_markdown_lines(m))


def matrix_markdown_lines(m: Mapping[str, Any]) -> Iterator[str]:
    """The lines of :func:`matrix_markdown`, the rows read once, in order."""
    head = ["Case", "Country", "Action", *[c["title"] for c in m["columns"]]]
    yield from ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in m["rows"]:
        cells = [md(r["case"]), md(r["country"]), md(r["action"])]
        for c in m["columns"]:
            cell = r["cells"].get(c["id"])
            if cell:
                cells.append(cell["date"] + "".join(f"\\[{n}\\]" for n in cell["notes"]))
            elif r["expected"].get(c["id"]):
                cells.append(f"({r['expected'][c['id']]} expected)")
            else:
                cells.append("")
        yield "| " + " | ".join(cells) + " |"
    if m["footnotes"]:
        yield ""
        yield from [f"{f['n']}. {md(f['text'])}" for f in m["footnotes"]]


def _case_md(case: Mapping[str, Any], as_of: str) -> list[str]:
    out = [f"## {md(case['id'])}", ""]
    other = [f for f in case["flags"] if f not in HEADLINE]
    yes = {True: "yes", False: "no"}
    out += [
        f"- **Country:** {md(case['country'])} ({md(case['country_name'])})",
        f"- **Treaty:** {md(case['treaty_name'])} ({code(case['treaty'])})",
        f"- **Action:** {md(case['action'])}",
        f"- **Procedure:** {md(case['procedure_title'])} ({code(case['procedure'])}), "
        f"`{case['procedure_hash']}`"
        + ("" if case["procedure_current"] else " (the definition has changed since)"),
        f"- **Treaty version:** `{case['treaty_hash']}`"
        + ("" if case["treaty_current"] else " (the definition has changed since)"),
        "- **Dates computed under:** these versions, "
        + (
            f"since the migration recorded {case['definitions_since']}"
            if case["definitions_since"]
            else "as pinned when the case was opened"
        ),
        f"- **State:** {md(case['state_title'])} ({code(case['state'])})"
        + (", final" if case["final"] else ""),
        f"- **Effective:** {case['effective_on'] or 'not computable now'}",
        f"- **Flags:** out of procedure: {yes[case['out_of_procedure']]}; "
        f"contested: {yes[case['contested']]}; month-end review: {yes[case['month_end_review']]}"
        + (f"; other: {', '.join(md(f) for f in other)}" if other else ""),
    ]
    if case["facts"]:
        out.append(
            "- **Facts:** " + "; ".join(f"{md(k)} = {md(_v(v))}" for k, v in case["facts"].items())
        )
    out.append("")
    if case["clocks"]:
        out += ["### Clocks", "", "| Clock | Status | Date | Legal basis |", "|---|---|---|---|"]
        for c in case["clocks"]:
            date = c["due_on"] or "–"
            if c["due_on"]:
                date += " (effective)" if c["status"] == "satisfied" else " (due)"
            flags = f" ({', '.join(md(f) for f in c['flags'])})" if c["flags"] else ""
            out.append(
                f"| {md(c['name'])} | {md(c['status'])}{flags} | {date} | {md(c['basis'])} |"
            )
        out.append("")
        for c in case["clocks"]:
            if c["explanation"]:
                out.append(f"- *{md(c['name'])}:* {md(c['explanation'])}")
        out.append("")
    out += ["### Timeline", ""]
    for e in case["timeline"]:
        date = e["legal_date"]
        if e["corrected_by"]:
            by = ", ".join(f"#{s}" for s in e["corrected_by"])
            date = f"{date} (recorded as {e['occurred_on']}, corrected by {by})"
        line = f"**{date}** — {md(e['change'])}"
        if e["retracted_by"] is not None:
            line = f"~~{line}~~ **retracted by #{e['retracted_by']}**"
        out.append(
            f"{e['seq']}. {line} "
            f"*({md(e['kind'])}; by {md(e['actor'])}; recorded {md(e['recorded_at'])})*"
        )
        if e["correction"]:
            corr = e["correction"]
            line = f"   - correction: old value {corr['old']}, new value {corr['new']}"
            if corr["due_before"]:
                line += "; clock dates before: " + ", ".join(
                    f"{md(k)} {v or 'none'}" for k, v in corr["due_before"].items()
                )
            out.append(line)
        if e["flags"]:
            out.append("   - flags: " + ", ".join(md(f) for f in e["flags"]))
        if e["reason"]:
            out.append(f"   - reason: {md(e['reason'])}")
        if e["backdate_reason"]:
            out.append(f"   - backdated: {md(e['backdate_reason'])}")
        for s in e["sources"]:
            extra = ", ".join(md(x) for x in (s["kind"], s["reference"], s["date"]) if x)
            out.append(
                f"   - source \\[{md(s['level'])}\\]: {md_link(s['citation'], s['url'])}"
                + (f" ({extra})" if extra else "")
            )
        if e["note"]:
            out.append(f"   - note: {md(e['note'])}")
    out.append("")
    out += ["### Pending: next steps and who must act", ""]
    if not case["pending"]:
        out.append("Nothing: the case is in a final state." if case["final"] else "Nothing.")
    for p in case["pending"]:
        if p["kind"] == "clock":
            status = ("due" if p["ready"] else "waiting") + (
                f" {p['due_on']}" if p["due_on"] else ""
            )
            basis = f" ({md(p['basis'])})" if p["basis"] else ""
            out.append(
                f"- {code(p['trigger'])} — {md(p['title'])}; {md(p['who'])}: {status}{basis}"
            )
            continue
        status = "ready" if p["ready"] else "blocked: " + "; ".join(md(b) for b in p["blocked_by"])
        extras = [
            x for x, on in (("optional", p["optional"]), ("contested", p["contested"])) if on
        ]
        line = (
            f"- {code(p['trigger'])} — {md(p['title'])} → {md(p['to_state'])}; "
            f"who acts: {md(p['who'])}; {status}"
        )
        if extras:
            line += f" ({', '.join(extras)})"
        if p["evidence"]:
            line += "; needs " + "; ".join(md(x) for x in p["evidence"])
        out.append(line)
    out.append("")
    ig = case["integrity"]
    shown = (
        f" ({ig['shown']} with a legal date on or before {as_of} shown)"
        if ig["shown"] != ig["events"]
        else ""
    )
    out += ["### Integrity", ""]
    if ig["verified"]:
        out.append(
            f"Verified: the {ig['events']} recorded event(s) form an unbroken hash chain{shown}. "
            f"Chain head: `{ig['head']}`."
        )
    else:
        out.append(
            f"**NOT verified:** the chain breaks at event #{ig['first_bad_seq']} "
            f"({md(ig['reason'])}); {ig['events']} event(s) recorded{shown}. "
            f"Chain head: `{ig['head']}`."
        )
    out += ["", md(authorship_sentence(ig)) + " Signatures are checked by `treatyflow verify`."]
    out.append("")
    return out


def render_json(report: Mapping[str, Any]) -> str:
    """The report model as JSON (schema ``treatyflow.report/1``, docs/report-schema.json)."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = (
    "case",
    "country",
    "treaty",
    "action",
    "seq",
    "kind",
    "legal_date",
    "legal_date_as_recorded",
    "recorded_at",
    "actor",
    "trigger",
    "from_state",
    "to_state",
    "change",
    "flags",
    "sources",
    "note",
    "hash",
    "chain_verified",
)


def render_csv(report: Mapping[str, Any]) -> str:
    """One row per event of every case; formulas neutralised in every cell."""
    return "".join(csv_chunks(report))


def csv_chunks(report: Mapping[str, Any]) -> Iterator[str]:
    """The text of :func:`render_csv`: the header line, then each case's rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for case in report["cases"]:
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        verified = "yes" if case["integrity"]["verified"] else "no"
        for e in case["timeline"]:
            sources = " | ".join(
                f"{s['citation']} [{s['level']}]" + (f" {s['url']}" if s["url"] else "")
                for s in e["sources"]
            )
            row = [
                case["id"],
                case["country"],
                case["treaty"],
                case["action"],
                str(e["seq"]),
                e["kind"],
                e["legal_date"],
                e["occurred_on"],
                e["recorded_at"],
                e["actor"],
                e["trigger"] or "",
                e["from_state"] or "",
                e["to_state"] or "",
                (f"[retracted by #{e['retracted_by']}] " if e["retracted_by"] else "")
                + e["change"],
                ", ".join(e["flags"]),
                sources,
                e["note"] or "",
                e["hash"] or "",
                verified,
            ]
            writer.writerow([mx.safe_cell(str(c)) for c in row])
    yield out.getvalue()
