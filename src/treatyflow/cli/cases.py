"""``treatyflow case ...``: open, advance, annotate and read cases.

The group is here; its commands are in a module per job: ``case_writes`` (the steps
recorded in a case's log: open, advance, set-fact, note, record, correct, retract, import,
approve, reject), ``case_reads`` (show, history, list), ``case_migrate`` (migrate) and
``documents`` (attach, document).
"""

from __future__ import annotations

import click

from treatyflow.cli import case_migrate, case_reads, case_writes, documents


@click.group()
def case() -> None:
    """Open, advance and read cases (one State's action on one treaty)."""


for _command in (
    case_writes.open_,
    case_writes.advance,
    case_writes.advance_many,
    case_writes.set_fact,
    case_writes.note,
    case_writes.record,
    case_writes.correct,
    case_writes.retract,
    case_writes.import_,
    case_writes.approve,
    case_writes.reject,
    case_reads.show,
    case_reads.history,
    case_migrate.migrate,
    case_reads.list_,
    documents.attach,
    documents.document,
):
    case.add_command(_command)
