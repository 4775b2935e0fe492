"""Geometry for the HTML report's two inline SVG pictures: the timeline and the state diagram.

Only numbers and fixed class names are computed here; every piece of text (state titles,
triggers, notes) is carried as data and written by the Jinja2 template with autoescaping, so
nothing from a definition file or a user ever reaches the page unescaped. No graphviz, no
JavaScript: the diagram is laid out here, in layers.
"""

from __future__ import annotations

import datetime as dt
import itertools
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: Event kinds with a colour of their own (CSS classes ``ev-<kind>``).
KINDS = ("open", "advance", "take-effect", "set-fact", "note", "record", "correct", "retract")


# ---------------------------------------------------------------------------- timeline
@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    seq: int
    css: str
    title: str
    flagged: bool


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Due:
    x: float
    label: str
    title: str
    css: str


@dataclass
class Timeline:
    width: int
    height: int
    axis_y: float
    x0: float
    x1: float
    markers: list[Marker] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    dues: list[Due] = field(default_factory=list)
    as_of_x: float | None = None
    first: str = ""
    last: str = ""


WIDTH = 1000
MARGIN = 40
RADIUS = 10
LEVEL = 24


def timeline(case: Mapping[str, Any], as_of: str) -> Timeline:
    """Events on a date axis (stacked where they crowd), clock due dates as diamonds."""
    events = case["timeline"]
    dues = [
        c
        for c in case["clocks"]
        if c["due_on"] and c["status"] in ("running", "due", "satisfied", "suspended")
    ]
    days = [_day(e["legal_date"]) for e in events] + [_day(c["due_on"]) for c in dues]
    if not days:
        days = [_day(as_of)]
    lo, hi = min(days), max(days)
    if (hi - lo).days < 30:
        lo, hi = lo - dt.timedelta(days=15), hi + dt.timedelta(days=15)
    span = (hi - lo).days
    pad = max(1, round(span * 0.04))
    lo, hi = lo - dt.timedelta(days=pad), hi + dt.timedelta(days=pad)
    span = (hi - lo).days
    x0, x1 = float(MARGIN), float(WIDTH - MARGIN)

    def x_of(day: dt.date) -> float:
        return round(x0 + (x1 - x0) * (day - lo).days / span, 1)

    placed: list[tuple[float, int, Mapping[str, Any]]] = []
    last_x: list[float] = []
    for ev in sorted(events, key=lambda e: (e["legal_date"], e["seq"])):
        x = x_of(_day(ev["legal_date"]))
        level = next((i for i, lx in enumerate(last_x) if lx <= x - 2 * RADIUS - 3), len(last_x))
        if level == len(last_x):
            last_x.append(x)
        else:
            last_x[level] = x
        placed.append((x, level, ev))
    levels = max(len(last_x), 1)
    axis_y = 20 + levels * LEVEL + 8
    out = Timeline(
        width=WIDTH,
        height=int(axis_y + 58),
        axis_y=axis_y,
        x0=x0,
        x1=x1,
        first=lo.isoformat(),
        last=hi.isoformat(),
    )
    for x, level, ev in placed:
        kind = ev["kind"] if ev["kind"] in KINDS else "other"
        title = f"#{ev['seq']} {ev['legal_date']} {ev['change']}"
        if ev.get("note"):
            title += f" \u2014 {_short(ev['note'], 200)}"
        out.markers.append(
            Marker(
                x=x,
                y=axis_y - 12 - level * LEVEL,
                seq=int(ev["seq"]),
                css=f"ev-{kind}" + (" retracted" if ev.get("retracted_by") else ""),
                title=title
                + (f" (retracted by #{ev['retracted_by']})" if ev.get("retracted_by") else ""),
                flagged=bool(ev["flags"]),
            )
        )
    for clock in dues:
        out.dues.append(
            Due(
                x=x_of(_day(clock["due_on"])),
                label=_short(str(clock["name"]), 24),
                title=f"{clock['name']} ({clock['status']}) {clock['due_on']}: {clock['basis']}",
                css=f"due-{clock['status']}",
            )
        )
    out.ticks = _ticks(lo, hi, x_of)
    day = _day(as_of)
    if lo <= day <= hi:
        out.as_of_x = x_of(day)
    return out


def _ticks(lo: dt.date, hi: dt.date, x_of: Any) -> list[Tick]:
    months: list[dt.date] = []
    cur = dt.date(lo.year, lo.month, 1)
    if cur < lo:
        cur = _next_month(cur)
    while cur <= hi:
        months.append(cur)
        cur = _next_month(cur)
    if len(months) > 14:
        years = [m for m in months if m.month == 1] or months[:1]
        step = max(1, len(years) // 12 + (1 if len(years) % 12 else 0))
        return [Tick(x_of(m), str(m.year)) for m in years[::step]]
    return [Tick(x_of(m), f"{MONTHS[m.month - 1]} {m.year}") for m in months]


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(str(text)[:10])


def _short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


# ---------------------------------------------------------------------------- diagram
@dataclass(frozen=True)
class Node:
    id: str
    lines: tuple[str, ...]
    x: float
    y: float
    w: float
    h: float
    css: str
    title: str


@dataclass(frozen=True)
class Edge:
    d: str
    label: str
    lx: float
    ly: float
    css: str
    title: str


@dataclass
class Diagram:
    width: int
    height: int
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


NODE_W = 196
NODE_H = 50
H_GAP = 34
V_GAP = 46
TOP = 16
SIDE = 70


def diagram(graph: Mapping[str, Any], path: Sequence[str], current: str) -> Diagram:
    """The procedure's states in layers (longest path from the initial state), the case's
    path and current state highlighted, the transitions it took drawn bold."""
    states = [s["id"] for s in graph["states"]]
    titles = {s["id"]: s["title"] for s in graph["states"]}
    finals = {s["id"] for s in graph["states"] if s["final"]}
    pairs: dict[tuple[str, str], list[str]] = {}
    clocked: set[tuple[str, str]] = set()
    for t in graph["transitions"]:
        if t["from"] in titles and t["to"] in titles and t["from"] != t["to"]:
            labels = pairs.setdefault((t["from"], t["to"]), [])
            if t["trigger"] not in labels:
                labels.append(t["trigger"])
            if t.get("clock"):
                clocked.add((t["from"], t["to"]))
    rank = _ranks(states, graph.get("initial"), list(pairs))
    rows: dict[int, list[str]] = {}
    for s in states:
        rows.setdefault(rank[s], []).append(s)
    pos: dict[str, float] = {}
    for r in sorted(rows):
        order = {s: i for i, s in enumerate(states)}
        preds = {s: [pos[u] for (u, v) in pairs if v == s and u in pos] for s in rows[r]}
        rows[r].sort(key=lambda s: (sum(preds[s]) / len(preds[s]) if preds[s] else 0.5, order[s]))
        n = len(rows[r])
        for i, s in enumerate(rows[r]):
            pos[s] = (i + 0.5) / n
    widest = max((len(v) for v in rows.values()), default=1)
    inner = max(widest * NODE_W + (widest - 1) * H_GAP, 3 * NODE_W)
    side = SIDE if any(rank[v] < rank[u] for (u, v) in pairs) else 0  # room for back edges
    width = int(inner + 2 * 20 + side)
    centre = 20 + side + inner / 2
    xy: dict[str, tuple[float, float]] = {}
    for r, members in rows.items():
        total = len(members) * NODE_W + (len(members) - 1) * H_GAP
        left = centre - total / 2
        for i, s in enumerate(members):
            xy[s] = (left + i * (NODE_W + H_GAP), TOP + r * (NODE_H + V_GAP))
    height = int(TOP + (max(rows, default=0) + 1) * (NODE_H + V_GAP) - V_GAP + TOP)
    visited = set(path)
    taken = set(itertools.pairwise(path))
    out = Diagram(width=width, height=height)
    for (u, v), labels in pairs.items():
        css = "taken" if (u, v) in taken else ("clock" if (u, v) in clocked else "plain")
        d, lx, ly = _route(xy[u], xy[v], rank[u], rank[v])
        label = " / ".join(labels)
        shown = _short(label, 28) if css == "taken" or u == current else ""
        out.edges.append(
            Edge(d, shown, lx, ly, css, f"{label}: {titles[u]} {chr(8594)} {titles[v]}")
        )
    out.edges.sort(key=lambda e: e.css == "taken")  # taken edges drawn last, on top
    for s in states:
        x, y = xy[s]
        css = "current" if s == current else ("visited" if s in visited else "plain")
        if s in finals:
            css += " final"
        lines = tuple(textwrap.wrap(titles[s], 27, max_lines=2, placeholder="\u2026")) or (s,)
        out.nodes.append(Node(s, lines, x, y, NODE_W, NODE_H, css, f"{titles[s]} ({s})"))
    return out


def _ranks(states: list[str], initial: str | None, edges: list[tuple[str, str]]) -> dict[str, int]:
    succ: dict[str, list[str]] = {s: [] for s in states}
    for u, v in edges:
        succ[u].append(v)
    back: set[tuple[str, str]] = set()
    seen: set[str] = set()
    on_stack: set[str] = set()

    # depth-first search with an explicit stack (a procedure of a thousand chained states
    # must not exhaust Python's recursion limit); the same order as the recursive search
    for root in ([initial] if initial in succ else []) + states:
        if root is None or root in seen:
            continue
        seen.add(root)
        on_stack.add(root)
        stack = [(root, iter(succ[root]))]
        while stack:
            u, successors = stack[-1]
            for v in successors:
                if v in on_stack:
                    back.add((u, v))
                elif v not in seen:
                    seen.add(v)
                    on_stack.add(v)
                    stack.append((v, iter(succ[v])))
                    break
            else:
                stack.pop()
                on_stack.discard(u)
    forward = [(u, v) for u, v in edges if (u, v) not in back]
    rank = dict.fromkeys(states, 0)
    for _ in states:  # longest path by relaxation: a DAG settles within len(states) rounds
        changed = False
        for u, v in forward:
            if rank[v] < rank[u] + 1:
                rank[v] = rank[u] + 1
                changed = True
        if not changed:
            break
    return rank


def _route(
    a: tuple[float, float], b: tuple[float, float], ra: int, rb: int
) -> tuple[str, float, float]:
    (ax, ay), (bx, by) = a, b
    if rb > ra:  # downwards: bottom centre to top centre
        x1, y1 = ax + NODE_W / 2, ay + NODE_H
        x2, y2 = bx + NODE_W / 2, by
        dy = max(24.0, (y2 - y1) / 2)
        c1, c2 = (x1, y1 + dy), (x2, y2 - dy)
    elif rb == ra:  # same layer: side to side
        if bx > ax:
            x1, y1, x2, y2 = ax + NODE_W, ay + NODE_H / 2, bx, by + NODE_H / 2
        else:
            x1, y1, x2, y2 = ax, ay + NODE_H / 2, bx + NODE_W, by + NODE_H / 2
        c1, c2 = (x1, y1 - 20), (x2, y2 - 20)
    else:  # back edge: from the top of the source up to the bottom of the target, bowed left
        x1, y1 = ax + NODE_W * 0.18, ay
        x2, y2 = bx + NODE_W * 0.18, by + NODE_H
        c1, c2 = (x1 - 55, y1 - 30), (x2 - 55, y2 + 30)
    lx = (x1 + 3 * c1[0] + 3 * c2[0] + x2) / 8
    ly = (y1 + 3 * c1[1] + 3 * c2[1] + y2) / 8
    d = f"M{x1:.1f},{y1:.1f} C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {x2:.1f},{y2:.1f}"
    return d, round(lx, 1), round(ly, 1)
