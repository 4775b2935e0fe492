"""``case history`` for people: citations instead of counts, colour, and a pager."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from treatyflow.cli.output import table
from treatyflow.cli.terminal import Paged, citation, state_style

HEADERS = ["seq", "legal date", "kind", "step", "actor", "note", "sources"]


def sources_text(event: Mapping[str, Any]) -> str:
    """The event's sources as short citations, ``; ``-separated (see ``terminal.citation``)."""
    return "; ".join(citation(s) for s in event.get("sources") or [] if isinstance(s, Mapping))


def _step_style(text: str) -> str:
    return state_style(text.rsplit("-> ", 1)[1]) if "-> " in text else ""


def print_history(
    case_id: str, events: Sequence[Mapping[str, Any]], step: Any, *, pager: bool
) -> None:
    """The history table; on a terminal longer than the screen it goes through the pager."""
    rows = [
        [
            e["seq"],
            e["occurred_on"],
            e["kind"],
            step(e),
            e["actor"],
            " ".join(str(e.get("note") or "").split()),
            sources_text(e),
        ]
        for e in events
    ]
    with Paged(enabled=pager) as out:
        table(
            f"History of {case_id}",
            HEADERS,
            rows,
            styles={3: _step_style},
            console=out.console if out.enabled else None,
        )
