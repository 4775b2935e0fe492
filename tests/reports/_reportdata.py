"""The report tests' database: ordinary, corrected and hostile cases, built through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

from click.testing import CliRunner, Result

from treatyflow.cli import main

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS = "javascript:alert(1)"
#: A case id, actor, note and source made of every payload at once.
HOSTILE = f"{SCRIPT}{IMG} {JS}"
HOSTILE_ID = f"{SCRIPT}{IMG}"

Run = Callable[..., Result]


def _runner(db: Path) -> Run:
    runner = CliRunner(env={"TREATYFLOW_ACTOR": "analyst", "TREATYFLOW_WORKFLOWS": None})

    def run(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(main, ["--db", str(db), *args])
        if ok:
            assert result.exit_code == 0, (args, result.output, result.stderr)
        return result

    return run


def build(db: Path) -> Run:
    """Build the report test database in ``db``; returns a runner bound to it."""
    run = _runner(db)
    run("init")
    run(
        "case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "LTU-1",
        "--at", "notified", "--on", "2025-06-27",
        "--source", "citation=Depositary notification C.N.123.2025; "
        "url=https://treaties.un.org/doc/CN.123.2025; level=official; "
        "kind=depositary-notification; ref=C.N.123.2025",
        "--note", "Instrument received by the Secretary-General.",
    )  # fmt: skip
    run("case", "note", "LTU-1", "A second look at the file.", "--on", "2025-07-02")
    run(
        "case", "open", "--country", "EST", "--treaty", "ottawa", "--id", "EST-1",
        "--at", "notified", "--on", "2025-06-26",
    )  # fmt: skip
    run(
        "case", "correct", "EST-1", "1", "--on", "2025-06-27",
        "--reason", "The depositary's C.N. gives 27 June as the date of receipt.",
    )  # fmt: skip
    run("case", "open", "--country", "POL", "--treaty", "ottawa", "--id", "POL-1", "--on",
        "2025-05-20")  # fmt: skip
    run(
        "case", "open", "--country", "FIN", "--treaty", "ottawa", "--id", HOSTILE_ID,
        "--at", "notified", "--on", "2025-07-10", "--actor", HOSTILE,
        "--note", HOSTILE,
        "--source", f"citation={HOSTILE}; url=https://example.org/{IMG}",
        "--source", JS,
    )  # fmt: skip
    run(
        "case", "note", HOSTILE_ID, "+SUM(A1:A9)", "--on", "2025-07-11", "--actor", "@admin",
        "--source", '=HYPERLINK("http://evil")',
    )  # fmt: skip
    run("tick", "--as-of", "2025-12-31")
    return run


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <style> elements."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.style = ""
        self.text: list[str] = []
        self._in_style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data
        else:
            self.text.append(data)

    @property
    def names(self) -> set[str]:
        return {t for t, _ in self.tags}

    @property
    def attributes(self) -> set[str]:
        return {name for _, attrs in self.tags for name in attrs}

    def values(self, name: str) -> list[str]:
        return [str(a[name]) for _, a in self.tags if name in a]
