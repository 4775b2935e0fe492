"""The report model: what every report format renders, built from ``Service.portfolio()``.

:func:`build_report` turns (view, raw history, procedure) triples into one plain, JSON-ready
dict (the JSON format *is* this model; ``docs/report-schema.json`` describes it). Every
renderer is a pure function of the model: nothing here or in a renderer opens the database,
reads the clock or the environment, so the same data gives byte-identical output.

The integrity statement is computed here, with :func:`treatyflow.chain.verify_events`, over
the very rows the report shows: the events recorded by ``known_at``, exactly as stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from treatyflow.chain import verify_events
from treatyflow.definitions.procedure import Procedure
from treatyflow.parties import party_name
from treatyflow.reports import matrix as mx

SCHEMA = "treatyflow.report/1"

Triple = tuple[Mapping[str, Any], Sequence[Mapping[str, Any]], Procedure]

#: Case-level flags the header shows as yes/no.
HEADLINE_FLAGS = ("out-of-procedure", "contested", "month-end-review")

ARROW = "\u2192"


def build_report(
    kind: str,
    triples: Sequence[Triple],
    *,
    as_of: dt.date,
    known_at: str | None = None,
    filters: Mapping[str, Any] | None = None,
    generated_at: str | None = None,
) -> dict[str, Any]:
    """The report model of ``kind`` ("case" or "portfolio") over ``triples``.

    ``triples`` are ``Service.portfolio(raw=True)`` rows: each case's view as of ``as_of``,
    every event recorded by ``known_at`` as stored, and the procedure version it runs under.
    """
    if kind not in ("case", "portfolio"):
        raise ValueError(f"unknown report kind {kind!r}")
    cases = [build_case(view, rows, proc, as_of=as_of) for view, rows, proc in triples]
    failed = [
        {
            "case": c["id"],
            "seq": c["integrity"]["first_bad_seq"],
            "reason": c["integrity"]["reason"],
        }
        for c in cases
        if not c["integrity"]["verified"]
    ]
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "kind": kind,
        "title": title(kind, len(cases), cases[0]["id"] if cases else None),
        "as_of": as_of.isoformat(),
        "known_at": known_at,
        "generated_at": generated_at,
        "filters": dict(filters or {}),
        "integrity": {
            "cases": len(cases),
            "events": sum(c["integrity"]["events"] for c in cases),
            "verified": len(cases) - len(failed),
            "failed": failed,
        },
        "summary": None,
        "matrix": None,
        "cases": cases,
    }
    if kind == "portfolio":
        report["summary"] = [summary_row(c) for c in cases]
        report["matrix"] = build_matrix(cases, {proc_id(t): t[2] for t in triples}).to_json()
    return report


def proc_id(triple: Triple) -> str:
    return str(triple[0]["id"])


def build_matrix(cases: Sequence[Mapping[str, Any]], procedures: Mapping[str, Procedure]) -> Any:
    """The country-by-step matrix (:mod:`treatyflow.reports.matrix`) of the report's cases."""
    builder = mx.MatrixBuilder()
    rows = [add_matrix_row(builder, c, procedures[c["id"]]) for c in cases]
    return mx.Matrix(builder.columns(), rows, builder.footnotes)


def add_matrix_row(builder: mx.MatrixBuilder, case: Mapping[str, Any], proc: Procedure) -> Any:
    """The matrix row of one report case (``build_case``), added to ``builder``."""
    history = [
        {
            "case_id": case["id"],
            "seq": e["seq"],
            "to_state": e["to_state"],
            "occurred_on": e["legal_date"],
            "note": e["note"],
            "sources": e["sources"],
            "data": {
                "flags": e["flags"],
                "reason": e["reason"],
                "backdate_reason": e["backdate_reason"],
            },
        }
        for e in counting(case["timeline"])
        if e["kind"] not in ("correct", "migrated")  # neither is a step of the procedure
    ]
    view = {
        "id": case["id"],
        "country": case["country"],
        "treaty": case["treaty"],
        "action": case["action"],
        "state": case["state"],
        "effective_on": case["effective_on"],
    }
    return builder.add(view, history, proc)


def build_case(
    view: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    procedure: Procedure,
    *,
    as_of: dt.date,
) -> dict[str, Any]:
    """One case of the report: header, clocks, timeline, pending steps, integrity."""
    rows = sorted(rows, key=lambda r: int(r["seq"]))
    fault = verify_events(str(view["id"]), rows)
    retracted: dict[int, Mapping[str, Any]] = {
        int(row["data"]["target_seq"]): row for row in rows if row["kind"] == "retract"
    }
    corrections: dict[int, list[Mapping[str, Any]]] = {}
    for row in rows:
        if row["kind"] == "correct" and int(row["seq"]) not in retracted:
            corrections.setdefault(int(row["data"]["target_seq"]), []).append(row)
    timeline = []
    for row in rows:
        event = _event(row, corrections.get(int(row["seq"]), []), retracted.get(int(row["seq"])))
        if event["legal_date"] <= as_of.isoformat():
            timeline.append(event)
    flags = list(view.get("flags") or [])
    for counted in counting(timeline):
        for flag in counted["flags"]:
            if flag not in flags:
                flags.append(flag)
    clocks = [_clock(c) for c in view.get("clocks") or []]
    dates = [c["due_on"] for c in clocks if c["due_on"] and c["status"] in ("running", "due")]
    path: list[str] = []
    for counted in counting(timeline):
        if counted["to_state"] and (not path or path[-1] != counted["to_state"]):
            path.append(counted["to_state"])
    return {
        "id": view["id"],
        "country": view["country"],
        "country_name": party_name(view["country"]),
        "treaty": view["treaty"],
        "treaty_name": view.get("treaty_name") or view["treaty"],
        "action": view["action"],
        "procedure": view["procedure"],
        "procedure_title": view.get("procedure_title") or view["procedure"],
        "procedure_hash": view["procedure_hash"],
        "procedure_current": bool(view.get("procedure_current", True)),
        "treaty_hash": view.get("treaty_hash"),
        "treaty_current": bool(view.get("treaty_current", True)),
        "definitions_since": view.get("definitions_since"),
        "state": view["state"],
        "state_title": view.get("state_title") or view["state"],
        "final": bool(view.get("final")),
        "opened_on": view.get("opened_on"),
        "last_on": view.get("last_on"),
        "effective_on": view.get("effective_on"),
        "next_date": min(dates) if dates and not view.get("final") else None,
        "facts": dict(view.get("facts") or {}),
        "flags": flags,
        "out_of_procedure": "out-of-procedure" in flags,
        "contested": "contested" in flags,
        "month_end_review": "month-end-review" in flags,
        "clocks": clocks,
        "path": path,
        "timeline": timeline,
        "pending": [] if view.get("final") else _pending(view, clocks),
        "procedure_graph": _graph(procedure),
        "integrity": {
            "events": len(rows),
            "shown": len(timeline),
            "head": rows[-1]["hash"] if rows else None,
            "verified": fault is None,
            "first_bad_seq": fault.seq if fault else None,
            "reason": fault.reason if fault else None,
            **_authorship(rows),
        },
    }


def _authorship(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Who signed the case's events and how many steps a second reviewer approved."""
    signers: dict[str, str] = {}
    for row in rows:
        if row.get("signature") and row.get("key"):
            signers.setdefault(str(row["key"]), str(row.get("actor")))
    return {
        "signed": sum(1 for r in rows if r.get("signature")),
        "signers": [f"{name} ({key})" for key, name in sorted(signers.items(), key=_by_name)],
        "reviewed": sum(1 for r in rows if (r.get("data") or {}).get("proposal_seq")),
    }


def _by_name(item: tuple[str, str]) -> tuple[str, str]:
    return (item[1], item[0])


def authorship_sentence(integrity: Mapping[str, Any]) -> str:
    """The integrity statement's sentence on who signed (and reviewed) the events."""
    if not integrity.get("signed"):
        return "Events not signed; not reviewed (no key registry)."
    text = (
        f"Signed: {integrity['signed']} of {integrity['events']} event(s), by "
        f"{', '.join(integrity['signers'])}; "
    )
    reviewed = integrity.get("reviewed") or 0
    if reviewed:
        return text + f"{reviewed} step(s) approved by a second reviewer."
    return text + "no step reviewed."


def title(kind: str, count: int, first_id: str | None = None) -> str:
    if kind == "portfolio":
        return f"Portfolio report: {count} case(s)"
    if count == 1:
        return f"Case report: {first_id}"
    return f"Case report: {count} cases"


def _clock(clock: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": clock["name"],
        "status": clock["status"],
        "due_on": clock.get("due_on"),
        "started_on": clock.get("started_on"),
        "basis": clock.get("basis") or "",
        "explanation": clock.get("explanation") or "",
        "waiting_on": list(clock.get("waiting_on") or []),
        "flags": list(clock.get("flags") or []),
    }


def _pending(view: Mapping[str, Any], clocks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for step in view.get("steps") or []:
        if step.get("clock"):
            continue
        out.append(
            {
                "kind": "step",
                "trigger": step["trigger"],
                "title": step.get("title") or step["trigger"],
                "to_state": step.get("to_state"),
                "who": step.get("institution") or "not stated in the procedure",
                "ready": bool(step.get("ready")),
                "blocked_by": list(step.get("guards_not_met") or []),
                "evidence": [_evidence_text(e) for e in step.get("evidence") or []],
                "optional": bool(step.get("optional")),
                "contested": bool(step.get("contested")),
                "due_on": None,
                "basis": None,
            }
        )
    for clock in clocks:
        if clock["status"] not in ("running", "due", "suspended", "unknown"):
            continue
        step = next((s for s in view.get("steps") or [] if s.get("clock") == clock["name"]), None)
        waiting = "; ".join(clock["waiting_on"])
        out.append(
            {
                "kind": "clock",
                "trigger": step["trigger"] if step else clock["name"],
                "title": f"clock {clock['name']} ({clock['status']})"
                + (f", waiting on {waiting}" if waiting else ""),
                "to_state": step.get("to_state") if step else None,
                "who": "system (treatyflow tick)",
                "ready": clock["status"] == "due",
                "blocked_by": [],
                "evidence": [],
                "optional": False,
                "contested": False,
                "due_on": clock["due_on"],
                "basis": clock["basis"],
            }
        )
    return out


def _evidence_text(req: Mapping[str, Any]) -> str:
    what = req.get("kind") or "source"
    text = f"a {what} source at level {req.get('min_level') or 'reported'} or better"
    if req.get("reference"):
        text += " with a reference number"
    if req.get("description"):
        text += f" ({req['description']})"
    return text


def _graph(procedure: Procedure) -> dict[str, Any]:
    return {
        "initial": procedure.initial or (procedure.state_ids[0] if procedure.states else None),
        "states": [
            {
                "id": s.id,
                "title": s.title,
                "final": s.final,
                "institution": s.institution,
            }
            for s in procedure.states
        ],
        "transitions": [
            {"trigger": t.trigger, "from": src, "to": t.dest, "clock": t.clock}
            for t in procedure.transitions
            for src in t.sources
        ],
    }


def _source(src: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "citation": str(src.get("citation") or ""),
        "url": src.get("url"),
        "level": src.get("level") or "reported",
        "kind": src.get("kind"),
        "reference": src.get("reference"),
        "date": src.get("date"),
    }


def counting(timeline: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The timeline's events that count: neither retracted nor retractions."""
    return [e for e in timeline if e["retracted_by"] is None and e["kind"] != "retract"]


def _event(
    row: Mapping[str, Any],
    corrected_by: Sequence[Mapping[str, Any]],
    retracted_by: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    data: Mapping[str, Any] = row.get("data") or {}
    kind = str(row["kind"])
    legal = str(row["occurred_on"])
    if corrected_by:
        legal = str(corrected_by[-1]["data"]["occurred_on"])
    flags = list(data.get("flags") or [])
    note = row.get("note")
    if note and str(note).strip().upper().startswith("UNCERTAIN") and "uncertain" not in flags:
        flags.append("uncertain")
    correction = None
    if kind == "correct":
        correction = {
            "target_seq": int(data["target_seq"]),
            "old": data.get("previous_occurred_on"),
            "new": data.get("occurred_on"),
            "due_before": dict(data.get("due_before") or {}),
        }
    retraction = None
    if kind == "retract":
        retraction = {
            "target_seq": int(data["target_seq"]),
            "reason": row.get("note"),
            "due_before": dict(data.get("due_before") or {}),
            "due_after": dict(data.get("due_after") or {}),
        }
    return {
        "seq": int(row["seq"]),
        "kind": kind,
        "trigger": row.get("trigger"),
        "from_state": row.get("from_state"),
        "to_state": row.get("to_state"),
        "occurred_on": str(row["occurred_on"]),
        "legal_date": legal,
        "corrected_by": [int(c["seq"]) for c in corrected_by],
        "recorded_at": str(row["recorded_at"]),
        "actor": str(row["actor"]),
        "change": describe(row),
        "sources": [_source(s) for s in row.get("sources") or []],
        "note": note,
        "flags": flags,
        "reason": data.get("reason"),
        "backdate_reason": data.get("backdate_reason"),
        "correction": correction,
        "retracted_by": None if retracted_by is None else int(retracted_by["seq"]),
        "retraction": retraction,
        "facts": dict(data.get("facts") or {}),
        "hash": row.get("hash"),
    }


def describe(row: Mapping[str, Any]) -> str:
    """What an event changed, in a short phrase."""
    data: Mapping[str, Any] = row.get("data") or {}
    kind = str(row["kind"])
    facts = data.get("facts") or {}
    fact_text = ", ".join(f"{k} = {_value(v)}" for k, v in facts.items())
    if kind == "open":
        text = f"opened at {row.get('to_state')}"
        if data.get("opened_at_state"):
            text += " (tracking starts mid-procedure)"
        return text + (f"; {fact_text}" if fact_text else "")
    if kind in ("advance", "take-effect"):
        how = f"clock {data['clock']}" if data.get("clock") else str(row.get("trigger"))
        text = f"{row.get('from_state')} {ARROW} {row.get('to_state')} ({how})"
        return text + _approval(data)
    if kind == "propose":
        proposal = data.get("proposal") or {}
        if proposal.get("kind") == "correct":
            fix = proposal.get("data") or {}
            return (
                f"proposed: legal date of #{fix.get('target_seq')} "
                f"{fix.get('previous_occurred_on')} {ARROW} {fix.get('occurred_on')} "
                "(awaiting review)"
            )
        return (
            f"proposed: {proposal.get('from_state')} {ARROW} {proposal.get('to_state')} "
            f"({row.get('trigger')}; awaiting review)"
        )
    if kind == "reject":
        return f"proposal #{data.get('proposal_seq')} rejected"
    if kind == "set-fact":
        return fact_text or "fact set"
    if kind == "note":
        return "note"
    if kind == "attach":
        return f"document attached: {data.get('name')} ({str(data.get('sha256'))[:19]})"
    if kind == "record":
        text = f"{data.get('type', 'record')} recorded"
        return text + (f" by {data['by']}" if data.get("by") else "")
    if kind == "correct":
        return (
            f"legal date of #{data.get('target_seq')} corrected: "
            f"{data.get('previous_occurred_on')} {ARROW} {data.get('occurred_on')}"
        ) + _approval(data)
    if kind == "migrated":
        old, new = data.get("from") or {}, data.get("to") or {}
        moved = [
            f"{what} {str(old.get(what))[:19]} {ARROW} {str(new.get(what))[:19]}"
            for what in ("procedure", "treaty")
            if old.get(what) != new.get(what)
        ]
        if row.get("from_state") != row.get("to_state"):
            moved.append(f"state {row.get('from_state')} {ARROW} {row.get('to_state')}")
        return "migrated to new definitions: " + "; ".join(moved)
    if kind == "retract":
        text = f"#{data.get('target_seq')} retracted"
        if row.get("to_state"):
            text += f"; state back {row.get('from_state')} {ARROW} {row.get('to_state')}"
        return text
    return kind


def _approval(data: Mapping[str, Any]) -> str:
    if not data.get("proposal_seq"):
        return ""
    return f"; proposal #{data['proposal_seq']} by {data.get('proposed_by')}, approved"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "unset" if value is None else str(value)


def summary_row(case: Mapping[str, Any]) -> dict[str, Any]:
    nxt = next(
        (
            c
            for c in sorted(case["clocks"], key=lambda c: c["due_on"] or "")
            if c["due_on"] and c["due_on"] == case["next_date"]
        ),
        None,
    )
    return {
        "case": case["id"],
        "country": case["country"],
        "country_name": case["country_name"],
        "treaty": case["treaty"],
        "action": case["action"],
        "state": case["state"],
        "state_title": case["state_title"],
        "next_date": case["next_date"],
        "next": f"clock {nxt['name']}: {nxt['basis']}" if nxt else None,
        "effective_on": case["effective_on"],
        "flags": list(case["flags"]),
        "verified": case["integrity"]["verified"],
    }
