"""Printing: one JSON document for --json; rich tables on a terminal; plain text when piped."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def binary_stdout() -> Any:
    """Standard output for bytes (a streamed JSON document); text written before is flushed."""
    sys.stdout.flush()
    return sys.stdout.buffer


def is_terminal() -> bool:
    """Whether stdout is a terminal (a TTY, or FORCE_COLOR / TTY_COMPATIBLE=1: rich decides)."""
    from treatyflow.cli.terminal import is_terminal as rich_terminal

    return rich_terminal()


def table(
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    styles: dict[int, Callable[[str], str]] | None = None,
    console: Any = None,
) -> None:
    """A table: on a terminal, coloured (``styles``: column -> styler; none with NO_COLOR)
    and fitted to its width without cutting a word (stacked rows when it cannot fit);
    piped, aligned plain text, one line per row."""
    cells = [["" if c is None else printable(str(c)) for c in row] for row in rows]
    if console is not None or is_terminal():
        from treatyflow.cli.terminal import console as terminal_console
        from treatyflow.cli.terminal import render_table

        con = console if console is not None else terminal_console()
        render_table(con, None if title is None else printable(title), headers, cells, styles)
        return
    if title:
        click.echo(printable(title))
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip())
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())


def printable(text: str) -> str:
    """``values.printable``, imported when first used (it brings pydantic; ``--help`` not)."""
    from treatyflow.values import printable as escape

    return escape(text)


def say(text: str, *, err: bool = False) -> None:
    """Print a line that holds stored text (a case id, a note, a citation) with every control
    and invisible character escaped, so that it cannot drive the terminal."""
    click.echo(printable(text), err=err)


def keyvalues(
    pairs: Sequence[tuple[str, Any]], *, styles: dict[str, Callable[[str], str]] | None = None
) -> None:
    """``key  value`` lines. On a terminal the values of ``styles``' keys are coloured and a
    long value is wrapped at spaces under itself, to the terminal's width."""
    width = max((len(k) for k, _ in pairs), default=0)
    if not is_terminal():
        for key, value in pairs:
            click.echo(f"{key.ljust(width)}  {'' if value is None else printable(str(value))}")
        return
    import textwrap

    from rich.text import Text

    from treatyflow.cli.terminal import console

    con = console()
    room = max(con.width - width - 2, 20)
    for key, value in pairs:
        text = "" if value is None else printable(str(value))
        style = styles[key](text) if styles and key in styles else ""
        parts = textwrap.wrap(text, room, break_long_words=False, break_on_hyphens=False)
        for n, part in enumerate(parts or [""]):
            line = Text(f"{(key if n == 0 else '').ljust(width)}  ")
            line.append(part, style=style)
            con.print(line, overflow="ignore", crop=False)


class progress_bar:
    """A rich progress bar on stderr when it is a terminal; nothing when piped."""

    def __init__(self, total: int, label: str) -> None:
        import sys

        self.total, self.label = total, label
        self.progress: Any = None
        if sys.stderr.isatty() and total > 1:
            from rich.console import Console
            from rich.progress import Progress

            self.progress = Progress(console=Console(stderr=True), transient=True)

    def __enter__(self) -> Any:
        if self.progress is None:
            return lambda: None
        self.progress.start()
        task = self.progress.add_task(self.label, total=self.total)
        return lambda: self.progress.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()
