"""``treatyflow case ...``: open, advance, annotate and read cases.

The group is here; its commands are in a module per job: ``case_writes`` (the steps
recorded in a case's log: open, advance, set-fact, note, record, correct, retract, import,
approve, reject), ``case_reads`` (show, history, list), ``case_migrate`` (migrate) and
``documents`` (attach, document). A command's module is imported only when that command is
run or asked for by name, so ``case show`` loads none of the writes' modules (start-up is
the cost of every command, docs/performance.md).
"""

from __future__ import annotations

import importlib

import click

#: name -> (module, attribute) of every ``case`` command.
COMMANDS: dict[str, tuple[str, str]] = {
    "open": ("treatyflow.cli.case_writes", "open_"),
    "advance": ("treatyflow.cli.case_writes", "advance"),
    "advance-many": ("treatyflow.cli.case_writes", "advance_many"),
    "set-fact": ("treatyflow.cli.case_writes", "set_fact"),
    "note": ("treatyflow.cli.case_writes", "note"),
    "record": ("treatyflow.cli.case_writes", "record"),
    "correct": ("treatyflow.cli.case_writes", "correct"),
    "retract": ("treatyflow.cli.case_writes", "retract"),
    "import": ("treatyflow.cli.case_writes", "import_"),
    "approve": ("treatyflow.cli.case_writes", "approve"),
    "reject": ("treatyflow.cli.case_writes", "reject"),
    "show": ("treatyflow.cli.case_reads", "show"),
    "history": ("treatyflow.cli.case_reads", "history"),
    "migrate": ("treatyflow.cli.case_migrate", "migrate"),
    "list": ("treatyflow.cli.case_reads", "list_"),
    "attach": ("treatyflow.cli.documents", "attach"),
    "document": ("treatyflow.cli.documents", "document"),
}


class LazyGroup(click.Group):
    """A group whose commands are imported from ``COMMANDS`` when first looked up; it lists
    them in click's order (sorted by name) without importing any."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command) and command.name == cmd_name
            from treatyflow.cli.examples import apply

            apply(command, f"{self.name} {cmd_name}")
            self.add_command(command)
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup)
def case() -> None:
    """Open, advance and read cases (one State's action on one treaty)."""
