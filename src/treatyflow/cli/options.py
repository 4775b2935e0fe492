"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from treatyflow.cli.context import AppContext

F = Callable[..., Any]


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(f)


def actor_option(f: F) -> F:
    """``--actor`` (None when not given: the workspace's default) and ``--key``."""
    f = key_option(f)
    return click.option(
        "--actor",
        envvar="TREATYFLOW_ACTOR",
        default=None,
        show_default="login name; with --key, the key's registered name",
        help="Who records this [env: TREATYFLOW_ACTOR].",
    )(f)


def _store_key(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    app = ctx.find_object(AppContext)
    if app is not None and value:
        app.key = value


def key_option(f: F) -> F:
    """``--key FILE``: the Ed25519 private key that signs what the command writes."""
    return click.option(
        "--key",
        envvar="TREATYFLOW_KEY",
        default=None,
        metavar="FILE",
        expose_value=False,
        callback=_store_key,
        help="Sign what this writes with this Ed25519 private key (OpenSSH format) "
        "[env: TREATYFLOW_KEY].",
    )(f)


def sources_options(f: F) -> F:
    f = click.option(
        "--source-level",
        type=click.Choice(["reported", "official", "confirmed"]),
        default=None,
        help="Evidence level of the --source(s) that do not say (default: official for an "
        "official kind such as decree or note-verbale, else reported).",
    )(f)
    f = click.option(
        "--source-kind",
        default=None,
        metavar="KIND",
        help="Kind of evidence of the --source(s) that do not say, e.g. decree.",
    )(f)
    return click.option(
        "--source",
        "sources",
        multiple=True,
        metavar="TEXT",
        help="A citation (repeatable). Either plain text (a URL in it is picked up) or "
        "'citation=...; url=...; date=YYYY-MM-DD; level=official; kind=decree; ref=441/2025'; "
        "'document=sha256:...' cites an attached document.",
    )(f)


def note_option(f: F) -> F:
    return click.option("--note", default=None, metavar="TEXT", help="A note for the log.")(f)


def parse_sources(sources: tuple[str, ...], level: str | None, kind: str | None) -> list[Any]:
    from treatyflow.values import parse_source

    return [parse_source(s, level=level, kind=kind) for s in sources]


def parse_step_date(value: str | None) -> Any:
    """``--on`` of a step: a day, or a range when only that is known (``<=DAY``,
    ``DAY..DAY``, ``YYYY-MM``); None stays None."""
    from treatyflow.values import parse_on as parse_legal

    return None if value is None else parse_legal(value, "--on")


def parse_on(value: str | None, field: str = "--on") -> Any:
    from treatyflow.values import parse_date

    return None if value is None else parse_date(value, field)


def split_assignment(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` as typed after ``set-fact`` or ``--fact``: (name, value text)."""
    from treatyflow.errors import InvalidInput

    if "=" not in text:
        raise InvalidInput("fact", text, f"{text!r} is not NAME=VALUE (e.g. armed_conflict=true).")
    name, _, value = text.partition("=")
    return name.strip(), value


def parse_facts(assignments: tuple[str, ...]) -> dict[str, str]:
    """Repeated ``--fact NAME=VALUE`` options as name -> value text (the last one wins)."""
    return dict(split_assignment(a) for a in assignments)
