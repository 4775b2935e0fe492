"""The portfolio report as JSON, written case by case (``report portfolio --format json``).

The same bytes as ``render(build_report("portfolio", ...), "json")``, but each case, its
summary row and its matrix row are encoded as soon as the case is read and kept in
temporary files (:mod:`treatyflow.streamjson`): memory stays flat however many cases the
database holds. The header (title, integrity counts) and the matrix columns and footnotes
are known only at the end, so the document is assembled then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import IO, Any

from treatyflow.reports import matrix as mx
from treatyflow.reports.model import SCHEMA, Triple, add_matrix_row, build_case, summary_row, title
from treatyflow.streamjson import Obj, Spool, write_document


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
