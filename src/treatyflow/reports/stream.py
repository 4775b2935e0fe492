"""The portfolio report written case by case (``report portfolio``, every format).

The same bytes as ``render(build_report("portfolio", ...), fmt)``, in flat memory however
many cases the database holds. The header (title, integrity counts) and the matrix columns
and footnotes are known only at the end, so:

- JSON: each case, its summary row and its matrix row are encoded as soon as the case is
  read and kept in temporary files (:mod:`treatyflow.streamjson`); the document is
  assembled at the end.
- Markdown and HTML: each case's model, summary row and matrix row are kept in temporary
  files (:class:`~treatyflow.reports.spool.ObjectSpool`) as the cases are read; then the
  very renderers of the in-memory report run over a report whose lists are those spools,
  writing as they go (Markdown line by line, HTML through Jinja2's ``generate``).
- CSV needs nothing from the end: each case's rows are written as it is read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

from treatyflow.reports import matrix as mx
from treatyflow.reports.model import SCHEMA, Triple, add_matrix_row, build_case, summary_row, title
from treatyflow.reports.spool import ObjectSpool, TextOut, write_lines
from treatyflow.streamjson import Obj, Spool, write_document

#: The formats :func:`write_portfolio` writes.
FORMATS = ("md", "html", "json", "csv")


def write_portfolio_json(
    out: IO[bytes],
    triples: Iterable[Triple],
    *,
    as_of: dt.date,
    known_at: str | None = None,
    filters: Mapping[str, Any] | None = None,
    generated_at: str | None = None,
) -> int:
    """Write the portfolio report of ``triples`` to ``out``; the number of cases."""
    builder = mx.MatrixBuilder()
    failed: list[dict[str, Any]] = []
    events = 0
    with Spool(2) as cases, Spool(2) as summary, Spool(3) as rows:
        for view, history, procedure in triples:
            case = build_case(view, history, procedure, as_of=as_of)
            integrity = case["integrity"]
            events += integrity["events"]
            if not integrity["verified"]:
                failed.append(
                    {
                        "case": case["id"],
                        "seq": integrity["first_bad_seq"],
                        "reason": integrity["reason"],
                    }
                )
            cases.add(case)
            summary.add(summary_row(case))
            rows.add(add_matrix_row(builder, case, procedure).to_json())
        write_document(
            out,
            [
                ("schema", SCHEMA),
                ("kind", "portfolio"),
                ("title", title("portfolio", cases.count)),
                ("as_of", as_of.isoformat()),
                ("known_at", known_at),
                ("generated_at", generated_at),
                ("filters", dict(filters or {})),
                (
                    "integrity",
                    {
                        "cases": cases.count,
                        "events": events,
                        "verified": cases.count - len(failed),
                        "failed": failed,
                    },
                ),
                ("summary", summary),
                (
                    "matrix",
                    Obj(
                        [
                            ("columns", mx.columns_json(builder.columns())),
                            ("rows", rows),
                            ("footnotes", mx.footnotes_json(builder.footnotes)),
                        ]
                    ),
                ),
                ("cases", cases),
            ],
        )
        return cases.count


def write_portfolio(
    out: IO[bytes],
    fmt: str,
    triples: Iterable[Triple],
    *,
    as_of: dt.date,
    known_at: str | None = None,
    filters: Mapping[str, Any] | None = None,
    generated_at: str | None = None,
) -> int:
    """Write the portfolio report of ``triples`` to ``out`` in ``fmt`` (md, html, json or
    csv), the bytes of the in-memory report; the number of cases."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}")
    options: dict[str, Any] = {
        "as_of": as_of,
        "known_at": known_at,
        "filters": filters,
        "generated_at": generated_at,
    }
    if fmt == "json":
        return write_portfolio_json(out, triples, **options)
    sink = TextOut(out)
    if fmt == "csv":
        count = _write_csv(sink, triples, as_of=as_of)
    else:
        count = _write_spooled(sink, fmt, triples, **options)
    sink.flush()
    return count


def _write_csv(sink: TextOut, triples: Iterable[Triple], *, as_of: dt.date) -> int:
    from treatyflow.reports.text import csv_chunks

    count = 0

    def cases() -> Iterator[dict[str, Any]]:
        nonlocal count
        for view, history, procedure in triples:
            count += 1
            yield build_case(view, history, procedure, as_of=as_of)

    sink.write_all(csv_chunks({"cases": cases()}))
    return count


def _write_spooled(
    sink: TextOut,
    fmt: str,
    triples: Iterable[Triple],
    *,
    as_of: dt.date,
    known_at: str | None,
    filters: Mapping[str, Any] | None,
    generated_at: str | None,
) -> int:
    from treatyflow.reports.html import html_chunks
    from treatyflow.reports.text import markdown_lines

    builder = mx.MatrixBuilder()
    failed: list[dict[str, Any]] = []
    anchors: dict[str, str] = {}
    events = 0
    with ObjectSpool() as cases, ObjectSpool() as summary, ObjectSpool() as rows:
        for view, history, procedure in triples:
            case = build_case(view, history, procedure, as_of=as_of)
            integrity = case["integrity"]
            events += integrity["events"]
            if not integrity["verified"]:
                failed.append(
                    {
                        "case": case["id"],
                        "seq": integrity["first_bad_seq"],
                        "reason": integrity["reason"],
                    }
                )
            if fmt == "html":
                anchors[case["id"]] = f"case-{cases.count + 1}"
            cases.add(case)
            summary.add(summary_row(case))
            rows.add(add_matrix_row(builder, case, procedure).to_json())
        report = {
            "schema": SCHEMA,
            "kind": "portfolio",
            "title": title("portfolio", cases.count),
            "as_of": as_of.isoformat(),
            "known_at": known_at,
            "generated_at": generated_at,
            "filters": dict(filters or {}),
            "integrity": {
                "cases": cases.count,
                "events": events,
                "verified": cases.count - len(failed),
                "failed": failed,
            },
            "summary": summary,
            "matrix": {
                "columns": mx.columns_json(builder.columns()),
                "rows": rows,
                "footnotes": mx.footnotes_json(builder.footnotes),
            },
            "cases": cases,
        }
        if fmt == "md":
            write_lines(sink, markdown_lines(report))
        else:
            sink.write_all(html_chunks(report, anchors))
        return cases.count
