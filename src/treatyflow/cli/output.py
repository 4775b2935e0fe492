"""Printing: one JSON document for --json; rich tables on a terminal; plain text when piped."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import click


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def binary_stdout() -> Any:
    """Standard output for bytes (a streamed JSON document); text written before is flushed."""
    sys.stdout.flush()
    return sys.stdout.buffer


def is_terminal() -> bool:
    return sys.stdout.isatty()


def table(title: str | None, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table: rich on a terminal (colour unless NO_COLOR), aligned plain text when piped."""
    cells = [["" if c is None else printable(str(c)) for c in row] for row in rows]
    if is_terminal():
        from rich.console import Console
        from rich.table import Table

        console = Console(no_color=bool(os.environ.get("NO_COLOR")), highlight=False)
        tab = Table(title=None if title is None else printable(title), title_justify="left")
        for h in headers:
            tab.add_column(h, overflow="fold")
        from rich.text import Text

        for row in cells:
            # Text, not a string: stored text is never read as rich markup ("[bold]").
            tab.add_row(*(Text(c) for c in row), end_section=False)
        console.print(tab)
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


def keyvalues(pairs: Sequence[tuple[str, Any]]) -> None:
    width = max((len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        click.echo(f"{key.ljust(width)}  {'' if value is None else printable(str(value))}")


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
