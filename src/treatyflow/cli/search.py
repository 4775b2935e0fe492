"""``treatyflow search``: events whose notes or sources hold every word, best first."""

from __future__ import annotations

import click

from treatyflow.cli.context import AppContext
from treatyflow.cli.options import json_option
from treatyflow.cli.output import emit_json, table

pass_app = click.make_pass_decorator(AppContext)


@click.command()
@click.argument("text")
@click.option("--case", "case_id", default=None, metavar="ID", help="Only this case's events.")
@click.option(
    "--limit",
    type=click.IntRange(1, 200),
    default=20,
    show_default=True,
    help="The most events to list.",
)
@json_option
@pass_app
def search(app: AppContext, text: str, case_id: str | None, limit: int, as_json: bool) -> None:
    """Find events whose notes or sources hold every word of TEXT, best match first.

    TEXT is plain words (case ignored, and accents on SQLite; punctuation separates words),
    never a query language. Sources match on their citation, reference and URL.

    \b
    Example:
      treatyflow search Riigikogu --case EST-ottawa-2025
    """
    result = app.workspace().search(text, case_id=case_id, limit=limit)
    if as_json:
        emit_json(result.to_dict())
        return
    if not result.hits:
        click.echo(f"No event holds {' '.join(result.words)!r}.")
        return
    table(
        None,
        ["case", "#", "legal date", "kind", "snippet"],
        [[h.case_id, h.seq, h.occurred_on.isoformat(), h.kind, h.snippet] for h in result.hits],
    )
    if result.more:
        click.echo(f"(more than {result.limit} events match; --limit shows more)")
