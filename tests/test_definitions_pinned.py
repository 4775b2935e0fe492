"""A case keeps the procedure version it was opened under, even after the YAML changes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

Cli = Callable[..., Result]

SHIPPED = Path(__file__).resolve().parents[1] / "workflows"

#: Version 1 of a procedure overriding the shipped 'generic' by id.
V1 = """\
id: generic
title: Generic withdrawal, version 1
country: generic
actions: [withdrawal]
include: [international-withdrawal]
initial: considering
states:
  - id: considering
    title: Considering
  - id: decided
    title: Decided
transitions:
  - trigger: decide
    source: considering
    dest: decided
  - trigger: notify
    source: decided
    dest: notified
"""

#: Version 2: 'decide' is gone; 'notify' now goes straight from 'considering'.
V2 = """\
id: generic
title: Generic withdrawal, version 2
country: generic
actions: [withdrawal]
include: [international-withdrawal]
initial: considering
states:
  - id: considering
    title: Considering
transitions:
  - trigger: notify
    source: considering
    dest: notified
"""


@pytest.fixture
def workflows(tmp_path: Path) -> Path:
    """A --workflows dir whose procedures/generic.yaml is version 1."""
    extra = tmp_path / "extra"
    (extra / "procedures").mkdir(parents=True)
    (extra / "procedures" / "generic.yaml").write_text(V1)
    return extra


def show(cli: Cli, case_id: str, workflows: Path | None) -> Any:
    result = cli("case", "show", case_id, "--json", workflows=workflows)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def open_case(cli: Cli, workflows: Path | None) -> Any:
    result = cli(
        "case",
        "open",
        "--country",
        "BRA",
        "--treaty",
        "ottawa",
        "--id",
        "P",
        "--procedure",
        "generic",
        "--on",
        "2025-01-10",
        "--json",
        workflows=workflows,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_current_procedure_is_reported_current(cli: Cli, workflows: Path) -> None:
    """While the YAML is unchanged, the case is on the current procedure with no flag."""
    opened = open_case(cli, workflows)
    assert (
        opened["procedure"],
        opened["procedure_title"],
    ) == ("generic", "Generic withdrawal, version 1")
    assert opened["procedure_current"] is True
    assert "procedure-changed" not in opened["flags"]


def test_edited_procedure_is_flagged(cli: Cli, workflows: Path) -> None:
    """After the YAML changes, show reports procedure_current false and 'procedure-changed'."""
    opened = open_case(cli, workflows)
    (workflows / "procedures" / "generic.yaml").write_text(V2)
    doc = show(cli, "P", workflows)
    assert opened["procedure_hash"] == doc["procedure_hash"]
    assert doc["procedure_current"] is False
    assert "procedure-changed" in doc["flags"]
    assert doc["procedure_title"] == "Generic withdrawal, version 1"


def test_case_keeps_running_under_its_version(cli: Cli, workflows: Path) -> None:
    """A pinned case follows version 1: 'decide' still works, v2's shortcut is refused."""
    open_case(cli, workflows)
    (workflows / "procedures" / "generic.yaml").write_text(V2)
    assert show(cli, "P", workflows)["allowed"] == ["decide"]

    shortcut = cli("case", "advance", "P", "notify", "--on", "2025-02-01", workflows=workflows)
    assert shortcut.exit_code == 1
    assert "allowed triggers: 'decide'" in shortcut.stderr

    assert (
        cli("case", "advance", "P", "decide", "--on", "2025-02-01", workflows=workflows).exit_code
        == 0
    )
    assert (
        cli("case", "advance", "P", "notify", "--on", "2025-02-02", workflows=workflows).exit_code
        == 0
    )
    doc = show(cli, "P", workflows)
    assert (doc["state"], doc["version"]) == ("notified", 3)


def test_new_case_gets_the_new_version(cli: Cli, workflows: Path) -> None:
    """A case opened after the edit runs under version 2, beside the pinned one."""
    first = open_case(cli, workflows)
    (workflows / "procedures" / "generic.yaml").write_text(V2)
    result = cli(
        "case",
        "open",
        "--country",
        "BRA",
        "--treaty",
        "ottawa",
        "--id",
        "Q",
        "--procedure",
        "generic",
        "--json",
        workflows=workflows,
    )
    second = json.loads(result.stdout)
    assert first["procedure_hash"] != second["procedure_hash"]
    assert second["allowed"] == ["notify"]
    assert second["procedure_current"] is True


def test_pinned_version_survives_removing_the_override(cli: Cli, workflows: Path) -> None:
    """Without the --workflows dir at all, the case still runs from the stored snapshot."""
    open_case(cli, workflows)
    doc = show(cli, "P", None)
    assert doc["procedure_current"] is False
    assert doc["allowed"] == ["decide"]
    assert cli("case", "advance", "P", "decide", "--on", "2025-02-01").exit_code == 0
    assert cli("verify").exit_code == 0


def test_history_and_verify_unaffected_by_the_edit(cli: Cli, workflows: Path) -> None:
    """Editing the definition changes no event: the chain still verifies."""
    open_case(cli, workflows)
    (workflows / "procedures" / "generic.yaml").write_text(V2)
    result = cli("verify", "--json", workflows=workflows)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["ok"] is True
