"""The state-machine engine: the only module that imports ``transitions``.

One :class:`transitions.Machine` is built per (procedure id, content hash) and cached for the
process; it is the transition table the service consults. Cases are never attached to it
(``model=None``, no ``add_model``): a case's state is data in the store, and guards are
evaluated here, by treatyflow, so a refusal can name every failing guard.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from transitions import Machine, MachineError

from treatyflow.definitions.basics import FactValue
from treatyflow.errors import InvalidWorkflow, Problem

if TYPE_CHECKING:
    from treatyflow.definitions.procedure import Guard, Procedure, TransitionSpec


@dataclass(frozen=True)
class Step:
    """A transition available from a state, with the verdict on its guards."""

    spec: TransitionSpec
    failures: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.failures


class ProcedureMachine:
    """A procedure's transition table, backed by one cached transitions Machine."""

    def __init__(self, procedure: Procedure, procedure_hash: str) -> None:
        self.procedure = procedure
        self.procedure_hash = procedure_hash
        try:
            self.machine = Machine(
                model=None,
                states=procedure.state_ids,
                initial=procedure.initial or procedure.state_ids[0],
                auto_transitions=False,
                ignore_invalid_triggers=False,
            )
            for spec in procedure.transitions:
                self.machine.add_transition(spec.trigger, list[Any](spec.sources), spec.dest)
        except (MachineError, ValueError) as exc:
            raise InvalidWorkflow(
                [Problem(f"<procedure {procedure.id}>", None, f"transitions refused it: {exc}")]
            ) from exc
        self._specs: dict[tuple[str, str], TransitionSpec] = {}
        for spec in procedure.transitions:
            for src in spec.sources:
                self._specs.setdefault((spec.trigger, src), spec)
        self._by_state: dict[str, list[TransitionSpec]] = {}
        for (_trigger, src), spec in self._specs.items():
            self._by_state.setdefault(src, []).append(spec)

    def transition(self, state: str, trigger: str) -> TransitionSpec | None:
        """The transition ``trigger`` fires from ``state``, or None if it is not declared there."""
        event = self.machine.events.get(trigger)
        if event is None or not event.transitions.get(state):
            return None
        return self._specs[(trigger, state)]

    def outgoing(self, state: str) -> list[TransitionSpec]:
        return list(self._by_state.get(state, ()))

    def analyst_triggers(self, state: str) -> list[str]:
        """Triggers an analyst may fire from ``state`` (clock transitions belong to tick)."""
        return [s.trigger for s in self.outgoing(state) if s.clock is None]

    def steps(self, state: str, facts: Mapping[str, FactValue | None]) -> list[Step]:
        return [Step(s, tuple(guard_failures(s.guards, facts))) for s in self.outgoing(state)]


def guard_failures(guards: list[Guard], facts: Mapping[str, FactValue | None]) -> list[str]:
    """One sentence per guard that does not hold on ``facts``."""
    failures = []
    for guard in guards:
        value = facts.get(guard.fact)
        if guard.not_equals is not None:
            ok = value is not None and value != guard.not_equals
        else:
            ok = value == guard.equals
        if not ok:
            shown = "unset" if value is None else _show(value)
            basis = f" ({guard.basis})" if guard.basis else ""
            failures.append(f"needs {guard.describe()}, but it is {shown}{basis}")
    return failures


_BY_HASH: dict[str, ProcedureMachine] = {}


def machine_for(procedure: Procedure, procedure_hash: str) -> ProcedureMachine:
    """The cached machine of a procedure version (one per content hash, per process)."""
    cached = _BY_HASH.get(procedure_hash)
    if cached is None:
        cached = _BY_HASH[procedure_hash] = ProcedureMachine(procedure, procedure_hash)
    return cached


def mermaid(procedure: Procedure, highlight: list[str] | None = None) -> str:
    """A Mermaid state diagram, titled in its front matter (``title:``).

    ``highlight`` is a case's path, oldest first: its last state is drawn as ``current``,
    the states before it as ``visited`` (one ``classDef`` each), so a reader tells where the
    case is from where it has been.
    """
    path = list(highlight or [])
    current = path[-1] if path else None
    visited = {s for s in path[:-1] if s != current}
    # JSON text is a YAML double-quoted scalar: any title is safe in the front matter.
    lines = [
        "---",
        f"title: {json.dumps(procedure.title, ensure_ascii=False)}",
        "---",
        "stateDiagram-v2",
        "  direction LR",
        f"  classDef visited {MERMAID_VISITED}",
        f"  classDef current {MERMAID_CURRENT}",
    ]
    for state in procedure.states:
        lines.append(f"  state {json.dumps(state.id)} as {_mermaid_id(state.id)}")
    initial = procedure.initial or procedure.state_ids[0]
    lines.append(f"  [*] --> {_mermaid_id(initial)}")
    for spec in procedure.transitions:
        for src in spec.sources:
            lines.append(f"  {_mermaid_id(src)} --> {_mermaid_id(spec.dest)}: {spec.trigger}")
    for state in procedure.states:
        if state.final:
            lines.append(f"  {_mermaid_id(state.id)} --> [*]")
    for state in procedure.states:
        if state.id in visited:
            lines.append(f"  class {_mermaid_id(state.id)} visited")
    if current is not None:
        lines.append(f"  class {_mermaid_id(current)} current")
    return "\n".join(lines) + "\n"


#: Mermaid styles of the states a case has been in, and of the one it is in now.
MERMAID_VISITED = "fill:#e8f0fe,stroke:#1a56db,color:#1a3d7c"
MERMAID_CURRENT = "fill:#ffe08a,stroke:#b45309,stroke-width:3px,color:#000,font-weight:bold"


def _mermaid_id(state: str) -> str:
    """A state id as a Mermaid identifier (letters, digits and ``_``)."""
    return re.sub(r"\W", "_", state)


def dot(procedure: Procedure, highlight: list[str] | None = None) -> str:
    """A Graphviz DOT digraph (text only; no graphviz needed to produce it)."""
    marked = set(highlight or [])
    lines = [f"digraph {_dot_id(procedure.id)} {{", "  rankdir=LR;", "  node [shape=box];"]
    for state in procedure.states:
        attrs = [f"label={_dot_str(state.title + chr(10) + '(' + state.id + ')')}"]
        if state.final:
            attrs.append("peripheries=2")
        if state.id in marked:
            attrs.append('style=filled fillcolor="#ffe08a"')
        lines.append(f"  {_dot_id(state.id)} [{' '.join(attrs)}];")
    for spec in procedure.transitions:
        for src in spec.sources:
            lines.append(
                f"  {_dot_id(src)} -> {_dot_id(spec.dest)} [label={_dot_str(spec.trigger)}];"
            )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_id(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_dot_str = _dot_id


def _show(value: FactValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
