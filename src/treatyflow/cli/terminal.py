"""A kinder terminal: colour, tables that fit the width, and a pager; none of it when piped.

rich decides what a stream is: a terminal when it is a TTY, or when ``FORCE_COLOR`` is set
(non-empty) or ``TTY_COMPATIBLE=1``; colour is off when ``NO_COLOR`` is set (non-empty);
the width is the terminal's, or ``COLUMNS``. Piped output stays plain aligned text, one line
per row, for grep and scripts (docs/terminal.md).

Tables never cut a word: when the columns fit the width with every word whole, they are a
rich table wrapped at spaces; when they do not, each row is printed as a block of
``header: value`` lines ("stacked"), wrapped at spaces too.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

#: A column's styler: the cell's text -> a rich style name ("" for none).
Styler = Callable[[str], str]

#: Colours of states: where a case is, at a glance.
STATE_STYLES = {
    "effective": "bold green",
    "notified": "yellow",
    "objection-period": "yellow",
    "objection_period": "yellow",
    "suspended": "magenta",
    "disputed": "magenta",
    "revoked": "dim",
    "abandoned": "dim",
    "rejected": "dim",
}
FLAG_STYLE = "bold red"
"""Flags that need a person: overdue, blocked, out of procedure, contested, a failing chain."""
URGENT = ("OVERDUE", "BLOCKED", "REVIEW", "out-of-procedure", "contested", "FAIL")


def state_style(state: str) -> str:
    return STATE_STYLES.get(state.strip().split(" ")[0], "cyan") if state.strip() else ""


CLOCK_STYLES = {
    "due": "bold red",
    "running": "yellow",
    "suspended": "magenta",
    "satisfied": "green",
}


def clock_style(status: str) -> str:
    return CLOCK_STYLES.get(status, "")


def flags_style(text: str) -> str:
    if not text or text == "-":
        return ""
    return FLAG_STYLE if any(word in text for word in URGENT) else "yellow"


def stdout_is_tty() -> bool:
    """Whether standard output (and input) is a real terminal: the pager's condition.

    Not FORCE_COLOR: forced colour into a pipe must not start a pager.
    """
    try:
        return sys.stdout.isatty() and sys.stdin.isatty()
    except (ValueError, AttributeError):
        return False


def console(*, stderr: bool = False, file: Any = None) -> Console:
    """A rich console on the current stdout (or stderr): colour, width, terminal or not."""
    from rich.console import Console

    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    # NO_COLOR: no escape sequence at all (rich alone would keep bold and dim).
    plain = os.environ.get("NO_COLOR", "") != ""
    return Console(
        file=stream,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
        color_system=None if plain else "auto",
    )


def is_terminal() -> bool:
    return console().is_terminal


def colour_on(*, stderr: bool = False) -> bool:
    """Whether to print colour on stdout (stderr): a terminal, and NO_COLOR not set."""
    con = console(stderr=stderr)
    return con.is_terminal and con.color_system is not None


def longest_word(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(word) for word in text.split()), default=0)


def fit_widths(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> list[int]:
    """Column widths (content only) that fit ``width`` with no word cut, or [] if none do.

    Each column gets at least its longest word (header included); space left goes first to
    headers (so that each fits on one line), then, a bit at a time, to the column furthest
    from its natural width (its longest line).
    """
    from rich.cells import cell_len

    columns = list(zip(headers, *rows, strict=True)) if rows else [(h,) for h in headers]
    least = [max(longest_word(c) for c in column) or 1 for column in columns]
    natural = [max(cell_len(c) for c in column) or 1 for column in columns]
    room = width - (3 * len(headers) + 1)  # a border and a space each side per column
    if sum(least) > room:
        return []
    widths = list(least)
    spare = room - sum(widths)
    for i, header in enumerate(headers):
        grow = min(max(cell_len(header) - widths[i], 0), spare)
        widths[i] += grow
        spare -= grow
    while spare > 0:
        need = [n - w for n, w in zip(natural, widths, strict=True)]
        most = max(range(len(widths)), key=lambda i: need[i])
        if need[most] <= 0:
            break
        step = min(spare, need[most], max(1, need[most] // 4))
        widths[most] += step
        spare -= step
    return widths


def render_table(
    con: Console,
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    styles: dict[int, Styler] | None = None,
) -> None:
    """A table on a terminal console: fitted to its width, or stacked rows when it cannot fit."""
    from rich.table import Table
    from rich.text import Text

    styles = styles or {}
    widths = fit_widths(headers, rows, con.width)
    if not widths:
        stacked(con, title, headers, rows, styles)
        return
    tab = Table(title=title, title_justify="left", expand=False)
    for header, w in zip(headers, widths, strict=True):
        tab.add_column(header, width=w, overflow="fold", no_wrap=False)
    for row in rows:
        # Text, not a string: stored text is never read as rich markup ("[bold]").
        cells = [Text(c, style=styles[i](c) if i in styles else "") for i, c in enumerate(row)]
        tab.add_row(*cells, end_section=False)
    con.print(tab)


def stacked(
    con: Console,
    title: str | None,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    styles: dict[int, Styler],
) -> None:
    """Each row as a block: the first cell as its heading, then ``header: value`` lines,
    wrapped at spaces (a word longer than the line stays whole)."""
    from rich.text import Text

    width = max(con.width, 20)
    if title:
        con.print(Text(title, style="bold"))
    label = max((len(h) for h in headers[1:]), default=0)
    for n, row in enumerate(rows):
        if n or title:
            con.print()
        head = Text()
        head.append(f"{headers[0]} ", style="bold")
        head.append(row[0], style=styles[0](row[0]) if 0 in styles else "bold")
        con.print(head)
        for i, (header, cell) in enumerate(zip(headers[1:], row[1:], strict=True), start=1):
            if not cell:
                continue
            lead = f"  {header.rjust(label)}: "
            wrapped = textwrap.wrap(
                cell,
                width=max(width - len(lead), 10),
                break_long_words=False,
                break_on_hyphens=False,
            ) or [""]
            style = styles[i](cell) if i in styles else ""
            for k, part in enumerate(wrapped):
                line = Text()
                line.append(lead if k == 0 else " " * len(lead), style="dim")
                line.append(part, style=style)
                con.print(line, overflow="ignore", crop=False)


def wrap_lines(lines: Sequence[tuple[int, str]], width: int) -> list[str]:
    """Indented lines (indent, text) wrapped at spaces to ``width``, continuation lines
    indented two more; used for ``conformance`` on a terminal."""
    out: list[str] = []
    for indent, text in lines:
        pad = " " * indent
        out += textwrap.wrap(
            text,
            width=max(width, 20),
            initial_indent=pad,
            subsequent_indent=pad + "  ",
            break_long_words=False,
            break_on_hyphens=False,
        ) or [pad]
    return out


def pager_command() -> str | None:
    """The pager to run: ``TREATYFLOW_PAGER``, else ``PAGER``, else ``less``; None when set to
    an empty value or ``cat`` (paging off)."""
    for name in ("TREATYFLOW_PAGER", "PAGER"):
        value = os.environ.get(name)
        if value is not None:
            return value.strip() if value.strip() not in ("", "cat") else None
    return "less" if shutil.which("less") else None


class Paged:
    """Collects what a command prints on a terminal, then pages it when it is longer than
    the screen (and a pager is wanted and available); prints it as it is otherwise.

    ``console`` writes into the collection with the real terminal's colour and width.
    """

    def __init__(self, *, enabled: bool) -> None:
        from rich.console import Console

        self.real = console()
        self.enabled = enabled and self.real.is_terminal and stdout_is_tty()
        self.buffer = io.StringIO()
        self.console: Console = (
            Console(
                file=self.buffer,
                width=self.real.width,
                force_terminal=self.real.is_terminal,
                color_system=self.real.color_system,  # type: ignore[arg-type]
                no_color=self.real.no_color,
                highlight=False,
                markup=False,
                emoji=False,
            )
            if self.enabled
            else self.real
        )

    def __enter__(self) -> Paged:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.enabled or exc[0] is not None:
            return
        text = self.buffer.getvalue()
        command = pager_command()
        long = text.count("\n") > self.real.height - 1
        if command is not None and long and run_pager(command, text):
            return
        sys.stdout.write(text)
        sys.stdout.flush()


def run_pager(command: str, text: str) -> bool:
    """Feed ``text`` to the pager ``command`` (a shell command line, as git runs $PAGER);
    False when it cannot be started. ``LESS`` defaults to ``FRX``: colours pass through,
    one screen or less is printed without waiting, the screen is not cleared."""
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    try:
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)  # noqa: S602
    except OSError:
        return False
    assert proc.stdin is not None
    try:
        proc.stdin.write(text.encode(sys.stdout.encoding or "utf-8", "backslashreplace"))
        proc.stdin.close()
    except BrokenPipeError:  # the reader quit the pager early: that is fine
        pass
    proc.wait()
    return proc.returncode != 127  # 127: the shell did not find the command


def citation(source: Mapping[str, Any], limit: int = 72) -> str:
    """One source as a short citation: its text (cut at a word, with an ellipsis) and where it
    is (the URL's host and the start of its path), unless the text already holds the URL."""
    from urllib.parse import urlsplit

    text = " ".join(str(source.get("citation") or "").split())
    url = str(source.get("url") or "")
    if url and url in text:
        text = " ".join(text.replace(url, " ").split()).rstrip(" :,;-")
    text = _cut(text, limit)
    if url:
        parts = urlsplit(url)
        host = parts.netloc.removeprefix("www.")
        path = parts.path.rstrip("/")
        where = host + (_cut_path(path) if path else "")
        text = f"{text} <{where}>" if text else where
    level = source.get("level")
    return f"{text} [{level}]" if level and level != "reported" else text


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return head.rstrip(" ,;:") + "…"


def _cut_path(path: str) -> str:
    """``/a/b/very-long-slug`` -> ``/a/…`` style: the first segment, then an ellipsis."""
    if len(path) <= 24:
        return path
    first = path.split("/")[1] if path.count("/") else path
    return f"/{first[:20]}/…" if len(first) <= 20 else f"/{first[:20]}…"
