"""Whole-set checks over treaties and procedures: graph soundness and cross references.

Pure: receives models and a ``locate`` callback that maps (kind, id, path) to a file and
line, and returns every problem at once: root causes (a wrong or misspelt name, with "did you
mean" when a declared one is close) apart from their consequences (states that cannot be
reached or have no way out), so that they can be listed first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping

from treatyflow.definitions.problems import did_you_mean
from treatyflow.definitions.procedure import INTERNATIONAL_STATES, Procedure
from treatyflow.definitions.treaty import Treaty
from treatyflow.errors import Problem
from treatyflow.parties import find_party

Locate = Callable[[str, str, tuple[str | int, ...]], tuple[str, int | None]]

#: Facts every clock may read (contract: "Facts every treaty clock may read").
SHARED_FACTS = {"armed_conflict", "specified_date"}


def lint(
    treaties: Mapping[str, Treaty], procedures: Mapping[str, Procedure], locate: Locate
) -> tuple[list[Problem], list[Problem]]:
    """Every problem in the set as (root causes, consequences); both empty: the set is sound.

    A consequence is a graph problem (unreachable, no way out), which a misspelt state or
    trigger among the root causes often explains.
    """
    problems: list[Problem] = []
    consequences: list[Problem] = []

    def report(kind: str, ident: str, where: tuple[str | int, ...], message: str) -> None:
        path, line = locate(kind, ident, where)
        problems.append(Problem(path, line, message))

    def follows(kind: str, ident: str, where: tuple[str | int, ...], message: str) -> None:
        path, line = locate(kind, ident, where)
        consequences.append(Problem(path, line, message))

    treaty_facts = set(SHARED_FACTS)
    for treaty in treaties.values():
        treaty_facts |= set(treaty.facts)
        _lint_treaty(treaty, report)

    parts = {pid: p for pid, p in procedures.items() if p.part}
    for proc in procedures.values():
        missing = [name for name in proc.include if name not in parts]
        for name in missing:
            index = proc.include.index(name)
            report(
                "procedure",
                proc.id,
                ("include", index),
                f"includes unknown part {name!r}" + did_you_mean(name, parts),
            )
        if missing:
            continue
        cycle = _include_cycle(proc, parts)
        if cycle:
            report("procedure", proc.id, ("include",), f"include cycle: {' -> '.join(cycle)}")
            continue
        _lint_procedure(proc, proc.compose(parts), treaties, treaty_facts, report, follows)
    return problems, consequences


Report = Callable[[str, str, tuple[str | int, ...], str], None]


def _lint_treaty(treaty: Treaty, report: Report) -> None:
    if "withdrawal" not in treaty.actions:
        report("treaty", treaty.id, ("actions",), "has no 'withdrawal' action")
    for action, clause in treaty.actions.items():
        where: tuple[str | int, ...] = ("actions", action)
        for fact in (clause.postpone_while, clause.later_date_fact):
            if fact and fact not in treaty.facts:
                report(
                    "treaty",
                    treaty.id,
                    where,
                    f"clause reads undeclared fact {fact!r}" + did_you_mean(fact, treaty.facts),
                )
        for i, cond in enumerate(clause.conditions):
            if cond.fact not in treaty.facts:
                report(
                    "treaty",
                    treaty.id,
                    (*where, "conditions", i),
                    f"condition reads undeclared fact {cond.fact!r}"
                    + did_you_mean(cond.fact, treaty.facts),
                )
        codes = [
            ((*where, "conditions", i, "countries", j), code)
            for i, cond in enumerate(clause.conditions)
            for j, code in enumerate(cond.countries)
        ] + [((*where, "available_to", j), code) for j, code in enumerate(clause.available_to)]
        for at, code in codes:
            party = find_party(code)
            if party is None:
                report("treaty", treaty.id, at, f"{code!r} is not a known party code")
            elif party.kind not in treaty.parties:
                report(
                    "treaty",
                    treaty.id,
                    at,
                    f"{code!r} is a {party.kind.value}, a kind of party the treaty does not "
                    "admit (see 'parties')",
                )
        early = clause.earliest_notice
        if early and early.from_fact not in treaty.facts:
            report(
                "treaty",
                treaty.id,
                (*where, "earliest_notice"),
                f"earliest_notice reads undeclared fact {early.from_fact!r}"
                + did_you_mean(early.from_fact, treaty.facts),
            )


def _include_cycle(proc: Procedure, parts: Mapping[str, Procedure]) -> list[str]:
    def walk(pid: str, trail: list[str]) -> list[str]:
        node = parts.get(pid) if pid != proc.id else proc
        for name in node.include if node else []:
            if name in trail:
                return [*trail, name]
            found = walk(name, [*trail, name])
            if found:
                return found
        return []

    return walk(proc.id, [proc.id])


def _lint_procedure(
    raw: Procedure,
    proc: Procedure,
    treaties: Mapping[str, Treaty],
    treaty_facts: set[str],
    report: Report,
    follows: Report,
) -> None:
    def rep(where: tuple[str | int, ...], message: str) -> None:
        report("procedure", raw.id, where, message)

    def then(where: tuple[str | int, ...], message: str) -> None:
        follows("procedure", raw.id, where, message)

    states = {s.id for s in proc.states}
    seen: set[str] = set()
    for i, state in enumerate(raw.states):
        if state.id in seen:
            rep(("states", i), f"state {state.id!r} is declared twice")
        seen.add(state.id)
    for i, tid in enumerate(raw.treaties):
        if tid not in treaties:
            rep(("treaties", i), f"unknown treaty {tid!r}" + did_you_mean(tid, treaties))
    if raw.part:
        _lint_edges(raw, proc, states, treaty_facts, rep)
        return
    if raw.country is None:
        rep(("country",), "a procedure needs 'country' (ISO 3166-1 alpha-3 or 'generic')")
    elif raw.country != "generic" and not _is_country(raw.country):
        rep(("country",), f"{raw.country!r} is neither an ISO 3166-1 alpha-3 nor a party code")
    if not raw.actions:
        rep(("actions",), "a procedure needs at least one action")
    if raw.initial is None:
        rep(("initial",), "a procedure needs an 'initial' state")
    elif raw.initial not in states:
        rep(
            ("initial",),
            f"initial state {raw.initial!r} is not declared" + did_you_mean(raw.initial, states),
        )
    if "withdrawal" in raw.actions:
        for needed in INTERNATIONAL_STATES:
            if needed not in states:
                rep(
                    ("actions",),
                    f"a withdrawal procedure needs the international state {needed!r} "
                    "(include 'international-withdrawal')",
                )
    _lint_edges(raw, proc, states, treaty_facts, rep)
    if raw.initial in states:
        _lint_graph(raw, proc, then)


def _lint_edges(
    raw: Procedure,
    proc: Procedure,
    states: set[str],
    treaty_facts: set[str],
    rep: Callable[[tuple[str | int, ...], str], None],
) -> None:
    own = len(raw.transitions)
    facts = set(proc.facts) | treaty_facts
    pairs: dict[tuple[str, str], int] = {}
    clocks = {c.name for c in proc.clocks}
    for i, tr in enumerate(proc.transitions):
        # Problems in a part's transitions are reported against the part itself.
        if i >= own:
            continue
        where: tuple[str | int, ...] = ("transitions", i)
        for src in tr.sources:
            if src not in states:
                rep(
                    (*where, "source"),
                    f"transition {tr.trigger!r} from unknown state {src!r}"
                    + did_you_mean(src, states),
                )
            key = (tr.trigger, src)
            if key in pairs:
                rep(where, f"trigger {tr.trigger!r} is declared twice from state {src!r}")
            pairs[key] = i
        if tr.dest not in states:
            rep(
                (*where, "dest"),
                f"transition {tr.trigger!r} to unknown state {tr.dest!r}"
                + did_you_mean(tr.dest, states),
            )
        for g, guard in enumerate(tr.guards):
            if guard.fact not in facts:
                rep(
                    (*where, "guards", g),
                    f"guard on undeclared fact {guard.fact!r} (declare it under 'facts')"
                    + did_you_mean(guard.fact, facts),
                )
        if tr.clock is not None and tr.clock not in clocks:
            rep(
                (*where, "clock"),
                f"transition {tr.trigger!r} names unknown clock {tr.clock!r}"
                + did_you_mean(tr.clock, clocks),
            )
        if tr.clock is not None and (tr.roles or tr.review):
            # tick fires it as 'system': no analyst's role applies, no reviewer can stop it
            field = "review" if tr.review else "roles"
            rep(
                (*where, field),
                f"transition {tr.trigger!r} is fired by a clock; 'roles' and 'review' "
                "apply only to an analyst's step",
            )
    triggers = {t.trigger for t in proc.transitions}
    for i, clock in enumerate(raw.clocks):
        if clock.starts_at not in states:
            rep(
                ("clocks", i),
                f"clock {clock.name!r} starts at unknown state {clock.starts_at!r}"
                + did_you_mean(clock.starts_at, states),
            )
        if clock.fires is not None and clock.fires not in triggers:
            rep(
                ("clocks", i),
                f"clock {clock.name!r} fires unknown trigger {clock.fires!r}"
                + did_you_mean(clock.fires, triggers),
            )
        for state in clock.void_in:
            if state not in states:
                rep(
                    ("clocks", i),
                    f"clock {clock.name!r} is voided in unknown state {state!r}"
                    + did_you_mean(state, states),
                )


def _lint_graph(
    raw: Procedure, proc: Procedure, rep: Callable[[tuple[str | int, ...], str], None]
) -> None:
    assert proc.initial is not None
    edges: dict[str, set[str]] = {s.id: set() for s in proc.states}
    for tr in proc.transitions:
        for src in tr.sources:
            if src in edges and tr.dest in edges:
                edges[src].add(tr.dest)
    reached = {proc.initial}
    queue = deque([proc.initial])
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in reached:
                reached.add(nxt)
                queue.append(nxt)
    index = {s.id: i for i, s in enumerate(raw.states)}
    for state in proc.states:
        where: tuple[str | int, ...] = ("states", index[state.id]) if state.id in index else ()
        if state.id not in reached:
            rep(where, f"state {state.id!r} cannot be reached from {proc.initial!r}")
        if not state.final and not edges[state.id]:
            rep(where, f"state {state.id!r} is not final and has no way out")


def _is_country(code: str) -> bool:
    return find_party(code) is not None
