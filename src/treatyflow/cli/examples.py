"""An example for every command's ``--help``: real command lines, most of them runnable on
the database ``treatyflow demo`` builds (its cases are ``LTU-ottawa-2025`` and the like).

One table, so that a new command gets its example in one place; ``apply`` adds a command's
examples to the end of its help (its epilog) when the command is loaded. A command whose
own docstring already shows a ``treatyflow ...`` line is left as it is. tests/test_terminal.py
walks the command tree and fails for a command without an example.
"""

from __future__ import annotations

import click

#: command path (after ``treatyflow``) -> example command lines.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "init": ("treatyflow --db team.db init",),
    "workflow": ("treatyflow workflow list", "treatyflow workflow show ottawa"),
    "workflow list": ("treatyflow workflow list --json",),
    "workflow show": ("treatyflow workflow show ltu",),
    "workflow diff": ("treatyflow workflow diff ottawa",),
    "workflow lint": ("treatyflow workflow lint workflows/procedures/ltu.yaml",),
    "workflow diagram": (
        "treatyflow workflow diagram ltu --case LTU-ottawa-2025 > ltu.mmd",
        "treatyflow workflow diagram generic --format dot | dot -Tsvg > generic.svg",
    ),
    "case": ("treatyflow case list", "treatyflow case show LTU-ottawa-2025"),
    "case open": (
        "treatyflow case open --country LTU --treaty ottawa --id LTU-1 --at notified "
        "--on 2025-06-27",
    ),
    "case advance": (
        'treatyflow case advance LTU-1 revoke --on 2025-09-01 --source "C.N.456.2025; '
        'kind=depositary-notification"',
    ),
    "case set-fact": ("treatyflow case set-fact LTU-1 armed_conflict=false --on 2025-06-27",),
    "case note": (
        'treatyflow case note LTU-ottawa-2025 "Asked the MFA for the C.N. reference." '
        "--on 2025-07-02",
    ),
    "case record": (
        "treatyflow case record UKR-ottawa-2025 objection --by CHE --on 2025-10-15 "
        '--source "Swiss Federal Council, 15 Oct 2025"',
    ),
    "case correct": (
        'treatyflow case correct LTU-1 1 --on 2025-06-26 --reason "the C.N. gives 26 June"',
    ),
    "case approve": ("treatyflow case approve LTU-1 3 --key ~/.treatyflow/reviewer.key",),
    "case reject": (
        'treatyflow case reject LTU-1 3 --reason "wrong date" --key ~/.treatyflow/reviewer.key',
    ),
    "case attach": (
        "treatyflow case attach LTU-ottawa-2025 cn-456-2025.pdf --kind depositary-notification "
        "--level official --on 2025-06-27",
    ),
    "case document": ("treatyflow case document sha256:3f2a... -o cn-456-2025.pdf",),
    "case show": ("treatyflow case show LTU-ottawa-2025", "treatyflow case show LTU-1 --json"),
    "case history": (
        "treatyflow case history LTU-ottawa-2025",
        "treatyflow case history LTU-ottawa-2025 --as-of 2025-07-01 --no-pager",
    ),
    "case migrate": ("treatyflow case migrate --all --dry-run",),
    "case list": ("treatyflow case list --json",),
    "pending": ("treatyflow pending --as-of 2025-12-01",),
    "tick": ("treatyflow tick --as-of 2025-12-27",),
    "verify": ("treatyflow verify", "treatyflow verify --bundle backup.jsonl"),
    "demo": ("treatyflow --db demo.db demo --out reports",),
    "conformance": ("treatyflow conformance UKR-ottawa-2025",),
    "report case": ("treatyflow report case LTU-ottawa-2025 --format html -o ltu.html",),
    "report portfolio": ("treatyflow report portfolio --country LTU --country EST --format md",),
    "report matrix": (
        "treatyflow report matrix",
        "treatyflow report matrix --format csv > matrix.csv",
    ),
    "db": ("treatyflow db current",),
    "db reproject": ("treatyflow db reproject", "treatyflow db reproject --all"),
    "db reindex": ("treatyflow db reindex",),
    "db upgrade": ("treatyflow db upgrade",),
    "db current": ("treatyflow db current",),
    "db history": ("treatyflow db history",),
    "db require-signatures": ("treatyflow db require-signatures on --key admin.key",),
    "db grant": (
        "treatyflow --db postgresql+psycopg://admin@db.example/treaties db grant alice "
        "--as analyst",
    ),
    "keys": ("treatyflow keys list",),
    "keys generate": ("treatyflow keys generate -o ~/.treatyflow/alice.key",),
    "keys add": (
        "treatyflow keys add alice ~/.treatyflow/alice.key.pub --role analyst --key admin.key",
    ),
    "keys list": ("treatyflow keys list --json",),
    "keys retire": ("treatyflow keys retire alice --key admin.key",),
    "export": ("treatyflow export -o backup.jsonl",),
    "import": ("treatyflow --db restored.db import backup.jsonl",),
    "checkpoint": ("treatyflow checkpoint -o /safe/place/checkpoint.json",),
    "doctor": ("treatyflow doctor",),
}


def has_example(help_text: str) -> bool:
    """Whether a help text shows a command line (a line starting ``treatyflow ``)."""
    return any(line.strip().startswith("treatyflow ") for line in help_text.splitlines())


def apply(command: click.Command, path: str) -> None:
    """Give ``command`` (and every subcommand) its examples as an epilog, where its own help
    has none; ``path`` is its name after ``treatyflow`` (``"case open"``)."""
    lines = EXAMPLES.get(path)
    if lines and not command.epilog and not has_example(command.help or ""):
        noun = "Example" if len(lines) == 1 else "Examples"
        # \b keeps click from re-wrapping the lines: each is a command to copy as it is.
        command.epilog = "\b\n" + f"{noun}:\n" + "\n".join(f"  {line}" for line in lines)
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            apply(sub, f"{path} {name}")
