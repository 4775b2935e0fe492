"""``treatyflow case attach`` and ``case document``: documents kept with the log (#17)."""

from __future__ import annotations

from pathlib import Path

import click

from treatyflow.cli.context import AppContext
from treatyflow.cli.options import (
    actor_option,
    json_option,
    note_option,
    parse_sources,
    parse_step_date,
    sources_options,
)
from treatyflow.cli.output import binary_stdout, emit_json, say

pass_app = click.make_pass_decorator(AppContext)


@click.command()
@click.argument("case_id")
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--kind", default=None, metavar="KIND", help="What evidence it is, e.g. decree, note-verbale."
)
@click.option(
    "--level",
    type=click.Choice(["reported", "official", "confirmed"]),
    default=None,
    help="Its evidence level (default: from --kind, official for a decree or note verbale, "
    "else reported).",
)
@click.option(
    "--on",
    "on",
    default=None,
    metavar="DATE",
    help="Legal date of the event (default today); a day, or <=DAY, DAY..DAY, YYYY-MM.",
)
@click.option(
    "--name", default=None, metavar="NAME", help="The file name to keep (default FILE's)."
)
@sources_options
@note_option
@actor_option
@json_option
@pass_app
def attach(
    app: AppContext,
    case_id: str,
    file: Path,
    kind: str | None,
    level: str | None,
    on: str | None,
    name: str | None,
    sources: tuple[str, ...],
    source_level: str | None,
    source_kind: str | None,
    note: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Keep a document with a case's log: its bytes are stored once under their SHA-256
    digest and an 'attach' event cites the digest (so it is under the hash chain). At most
    10 MiB (docs/documents.md). Later --source 'document=sha256:...' cites it.

    \b
    treatyflow case attach LTU-1 decree-441.pdf --kind decree --level official --on 2025-06-27
    """
    result = app.workspace().attach(
        case_id,
        file,
        name=name,
        kind=kind,
        level=level,
        on=parse_step_date(on),
        note=note,
        sources=parse_sources(sources, source_level, source_kind),
        actor=actor,
    )
    if as_json:
        emit_json(result.to_dict())
        return
    doc = result.document
    kept = "stored" if result.stored else "already stored, cited again"
    say(
        f"{result.case.id}: attached {doc.name} ({doc.size:,} bytes, {doc.media_type}) as "
        f"event {doc.seq}; {doc.sha256} ({kept})"
    )


@click.command()
@click.argument("digest", metavar="SHA256")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    metavar="FILE",
    help="Write the bytes to FILE (atomically, owner-only); '-' for stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing -o file.")
@json_option
@pass_app
def document(app: AppContext, digest: str, output: str, force: bool, as_json: bool) -> None:
    """Write the bytes of an attached document (SHA256: sha256:... or the 64 hex digits),
    after checking they still hash to it.

    \b
    treatyflow case document sha256:9f86d08... -o decree-441.pdf
    """
    from treatyflow.reports.output import check_output_path, write_private
    from treatyflow.values import document_digest

    digest = document_digest(digest)
    target = None if output == "-" else Path(output)
    if target is not None:
        check_output_path(target)
        if target.exists() and not force:
            from treatyflow.errors import ReportExists

            raise ReportExists(str(target))
    data = app.workspace().document(digest)
    if target is None:
        out = binary_stdout()
        out.write(data)
        out.flush()
        return
    write_private(target, data, force=force)
    if as_json:
        emit_json({"sha256": digest, "output": str(target), "size": len(data)})
        return
    click.echo(f"Wrote {target}: {len(data):,} bytes ({digest})", err=True)
