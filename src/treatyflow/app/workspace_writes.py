"""The :class:`~treatyflow.app.workspace.Workspace`'s changes to a case's log: open a case,
advance it (one or many), set a fact, note, record, correct, retract, tick its clocks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from treatyflow.app.arguments import (
    DateLike,
    SourceLike,
    as_date,
    as_legal,
    as_sources,
    required_date,
    required_legal,
)
from treatyflow.app.views import case_view
from treatyflow.app.workspace_base import WorkspaceBase
from treatyflow.definitions.basics import FactValue
from treatyflow.legal.dates import LegalDate

if TYPE_CHECKING:
    from treatyflow.app.batch import AdvanceRequest
    from treatyflow.results import AdvanceOutcome, CaseView, Fired, TickResult


class WorkspaceWrites(WorkspaceBase):
    """The steps recorded in a case's log."""

    def open_case(
        self,
        *,
        country: str,
        treaty: str,
        on: DateLike | LegalDate | None = None,
        id: str | None = None,
        at: str | None = None,
        procedure: str | None = None,
        action: str = "withdrawal",
        facts: Mapping[str, FactValue] | None = None,
        sources: Iterable[SourceLike] = (),
        note: str | None = None,
        out_of_procedure: str | None = None,
        actor: str | None = None,
    ) -> CaseView:
        """Open a case: ``country`` (ISO 3166-1 alpha-3) leaving ``treaty`` by ``action``.

        ``at`` opens it already in a later state (tracking that starts mid-procedure), with
        ``on`` (default today) as the opening's legal date; ``facts`` hold from ``on``;
        ``procedure`` defaults to the country's own where one exists, else the generic one;
        ``id`` defaults to ``ISO3-treaty-year`` (``-2``, ``-3`` ... when taken).

        Raises:
            CaseExists, NoticeTooEarly, InvalidInput, TreatyNotFound, ProcedureNotFound.
        """
        when = as_legal(on, "on")
        from treatyflow.app import writes

        opened = writes.open_case(
            self._core,
            country=country,
            treaty=treaty,
            actor=self._who(actor),
            on=None if when is None else when.latest,
            occurred=when,
            procedure=procedure,
            action=action,
            case_id=id,
            at=at,
            facts=facts,
            sources=as_sources(sources),
            note=note,
            out_of_procedure=out_of_procedure,
        )
        with self._core.store.read() as conn:
            defs = self._core.definitions_for(conn, opened.record)
        return case_view(
            self._core, opened.record, defs, [opened.first], as_of=None, known_at=None
        )

    def advance(
        self,
        case_id: str,
        trigger: str,
        *,
        on: DateLike,
        sources: Iterable[SourceLike] = (),
        note: str | None = None,
        out_of_procedure: str | None = None,
        to: str | None = None,
        backdate: str | None = None,
        actor: str | None = None,
    ) -> CaseView:
        """Fire ``trigger`` on the case as of the legal date ``on``.

        The step must be allowed from the case's state, its guards must hold and its evidence
        be cited; ``out_of_procedure=REASON`` records it anyway, flagged (``to`` names the
        state a trigger the procedure does not know leads to). ``backdate=REASON`` allows a
        date before the case's last one.

        Raises:
            TransitionNotAllowed, GuardsNotMet, EvidenceMissing, NoticeTooEarly, OutOfOrder,
            ClockDueFirst, CaseNotFound, ConcurrentUpdate.
        """
        when = required_legal(on, "on")
        from treatyflow.app import writes

        record, ctx = writes.advance(
            self._core,
            case_id,
            trigger,
            on=when.latest,
            occurred=when,
            actor=self._who(actor),
            sources=as_sources(sources),
            note=note,
            out_of_procedure=out_of_procedure,
            to=to,
            backdate=backdate,
        )
        return self._after(record, ctx)

    def advance_many(
        self,
        items: Iterable[AdvanceRequest | Mapping[str, Any] | str | bytes],
        *,
        actor: str | None = None,
    ) -> Iterator[AdvanceOutcome]:
        """Advance many cases, each item in a transaction of its own, with every check of
        :meth:`advance`; yields one :class:`AdvanceOutcome` per item, in order, as it goes.

        An item is an :class:`AdvanceRequest`, a mapping with its keys (``case``,
        ``trigger``, ``on``, and optionally ``sources``, ``source_level``, ``source_kind``,
        ``note``, ``out_of_procedure``, ``to``, ``backdate``, ``actor``), or a line of JSON
        holding such an object (a blank line is skipped but counted); ``actor`` records the
        items that name none (default: the workspace's actor). A refused step or a
        malformed item gives an outcome with ``ok`` false and the error, writes nothing,
        and does not stop the items after it. The outcomes' ``to_dict()`` are the lines
        ``case advance-many`` prints.
        """
        from treatyflow.app import batch

        with self._core.store.session():
            yield from batch.advance_many(
                self._core,
                items,
                who=lambda named: self._who(named or actor),
                legal=lambda on: required_legal(on, "on"),
                sources=as_sources,
            )

    def set_fact(
        self,
        case_id: str,
        name: str,
        value: FactValue,
        *,
        on: DateLike,
        sources: Iterable[SourceLike] = (),
        note: str | None = None,
        backdate: str | None = None,
        actor: str | None = None,
    ) -> CaseView:
        """Record that the fact ``name`` has ``value`` from the legal date ``on`` on.

        ``value`` is typed (``True``, a ``date``, a number, text) or its text (``"true"``);
        it is checked against the fact's declared type.
        """
        when = required_legal(on, "on")
        from treatyflow.app import writes

        record, ctx = writes.set_fact(
            self._core,
            case_id,
            name,
            value,
            on=when.latest,
            occurred=when,
            actor=self._who(actor),
            sources=as_sources(sources),
            note=note,
            backdate=backdate,
        )
        return self._after(record, ctx)

    def note(
        self,
        case_id: str,
        text: str,
        *,
        on: DateLike | None = None,
        sources: Iterable[SourceLike] = (),
        actor: str | None = None,
    ) -> CaseView:
        """Add a note (and sources) to the case's log, dated ``on`` (default today)."""
        when = as_legal(on, "on")
        from treatyflow.app import writes

        record, ctx = writes.note(
            self._core,
            case_id,
            text,
            on=None if when is None else when.latest,
            occurred=when,
            actor=self._who(actor),
            sources=as_sources(sources),
        )
        return self._after(record, ctx)

    def record(
        self,
        case_id: str,
        record_type: str,
        *,
        on: DateLike,
        by: str | None = None,
        sources: Iterable[SourceLike] = (),
        note: str | None = None,
        actor: str | None = None,
    ) -> CaseView:
        """Record an event that changes no state: ``objection``, ``finding``, ``judgment``,
        ``press-report``, ``statement`` or ``other`` (``by``: the State or body)."""
        when = required_legal(on, "on")
        from treatyflow.app import writes

        record, ctx = writes.record(
            self._core,
            case_id,
            record_type,
            on=when.latest,
            occurred=when,
            actor=self._who(actor),
            by=by,
            sources=as_sources(sources),
            note=note,
        )
        return self._after(record, ctx)

    def correct(
        self,
        case_id: str,
        seq: int,
        *,
        on: DateLike,
        reason: str,
        sources: Iterable[SourceLike] = (),
        actor: str | None = None,
    ) -> CaseView:
        """Correct the legal date of event ``seq`` to ``on``; the old event stays in the log
        and the correction records the due dates before and after."""
        from treatyflow.app import amendments

        record, ctx = amendments.correct(
            self._core,
            case_id,
            seq,
            on=required_date(on, "on"),
            reason=reason,
            actor=self._who(actor),
            sources=as_sources(sources),
        )
        return self._after(record, ctx)

    def tick(
        self, *, as_of: DateLike | None = None, progress: Callable[[], None] | None = None
    ) -> TickResult:
        """Fire every clock due on or before ``as_of`` (default today), as events by
        ``system``; each case in a transaction of its own. Running it twice adds nothing.
        A case that cannot be fired is listed in ``failed``; the others still fire.
        ``progress`` is called once per case looked at (for a progress bar)."""
        from treatyflow.app import clocks

        return clocks.tick(self._core, as_date(as_of, "as_of"), seen=progress)

    def tick_case(self, case_id: str, *, as_of: DateLike | None = None) -> list[Fired]:
        """Fire every clock of one case due on or before ``as_of`` (default today)."""
        day = as_date(as_of, "as_of") or self._core.today()
        from treatyflow.app import clocks

        return clocks.tick_case(self._core, case_id, day)

    def retract(
        self,
        case_id: str,
        seq: int,
        *,
        reason: str,
        actor: str | None = None,
    ) -> CaseView:
        """Take back event ``seq``, a step recorded by mistake (wrong case, wrong trigger):
        it stays in the log, struck through in reports, but no longer counts; the state,
        facts and clocks are recomputed without it.

        Raises:
            RetractionRefused: later steps depend on it (they are named), or it is the
                opening, a clock firing, a correction or a retraction, or already retracted.
            InvalidInput: no event ``seq``, or no reason.
        """
        from treatyflow.app import amendments

        record, ctx = amendments.retract(
            self._core, case_id, seq, reason=reason, actor=self._who(actor)
        )
        return self._after(record, ctx)
