"""Trust (tracker issue 13): keys, the registry, signed events, reserved `system`, roles and
four-eyes review; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import treatyflow
from treatyflow.cli import main
from treatyflow.keys import load_signer, parse_public_key
from treatyflow.registry import Registry, check_event

NOTICE = "Note verbale; kind=depositary-notification; level=official"


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "trust.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def keyfiles(tmp_path: Path) -> dict[str, Path]:
    """Private key files of alice (admin, analyst), bob (reviewer) and carol (analyst)."""
    out = {}
    for name in ("alice", "bob", "carol"):
        path = tmp_path / f"{name}.key"
        treatyflow.generate_key(path)
        out[name] = path
    return out


@pytest.fixture
def team(target: str, keyfiles: dict[str, Path]) -> str:
    """A database in team mode: alice admin+analyst, bob reviewer, carol analyst."""
    with treatyflow.open(target, create=True, key=keyfiles["alice"]) as ws:
        ws.add_key("alice", keyfiles["alice"], roles=["admin", "analyst"])
        ws.add_key("bob", f"{keyfiles['bob']}.pub", roles=["reviewer"])
        ws.add_key("carol", f"{keyfiles['carol']}.pub")
        ws.require_signatures(True)
    return target


def _as(target: str, keyfiles: dict[str, Path], who: str | None, **kw: Any) -> Any:
    return treatyflow.open(target, key=keyfiles[who] if who else "", **kw)


# ---------------------------------------------------------------------------- keys
def test_generate_writes_an_owner_only_key_and_prints_the_openssh_public_key(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    out = tmp_path / "me.key"
    result = runner.invoke(main, ["keys", "generate", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ssh-ed25519 AAAA")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert (tmp_path / "me.key.pub").read_text().strip() == result.stdout.strip()
    assert load_signer(out).public.openssh == result.stdout.strip()
    again = runner.invoke(main, ["keys", "generate", "-o", str(out)])
    assert again.exit_code == 1 and "exists" in again.stderr
    assert load_signer(out).public.openssh == result.stdout.strip()  # not overwritten
    forced = runner.invoke(main, ["keys", "generate", "-o", str(out), "--force"])
    assert forced.exit_code == 0 and forced.stdout != result.stdout


def test_generate_creates_a_missing_key_directory_owner_only(tmp_path: Path) -> None:
    """`keys generate -o ~/.treatyflow/alice.key` (trust.md, teams.md) works on a machine
    without ~/.treatyflow: the directory is made, owner-only, as ssh-keygen makes ~/.ssh."""
    out = tmp_path / ".treatyflow" / "alice.key"
    result = CliRunner().invoke(main, ["keys", "generate", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o700
    assert load_signer(out).public.openssh == result.stdout.strip()


def test_an_ssh_keygen_key_signs_and_its_fingerprint_is_openssh_s(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "x@y", "-f", str(key)], check=True
    )
    signer = load_signer(key)
    listed = subprocess.run(
        ["ssh-keygen", "-lf", f"{key}.pub"], check=True, capture_output=True, text=True
    ).stdout.split()[1]
    assert signer.fingerprint == listed
    assert parse_public_key(f"{key}.pub").fingerprint == listed
    assert parse_public_key(key.with_suffix(".pub").read_text()).fingerprint == listed
    assert signer.public.verify(signer.sign("sha256:" + "a" * 64), "sha256:" + "a" * 64)
    assert not signer.public.verify(signer.sign("sha256:" + "a" * 64), "sha256:" + "b" * 64)


def test_key_files_that_are_not_ed25519_keys_are_one_clear_error(tmp_path: Path) -> None:
    rsa = tmp_path / "id_rsa"
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-N", "", "-f", str(rsa)], check=True)
    locked = tmp_path / "locked"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "pw", "-f", str(locked)], check=True
    )
    junk = tmp_path / "junk"
    junk.write_text("hello")
    for path, words in ((rsa, "not an Ed25519"), (locked, "passphrase"), (junk, "not a private")):
        with pytest.raises(treatyflow.KeyFileError, match=words):
            load_signer(path)
    with pytest.raises(treatyflow.KeyFileError, match="cannot read"):
        load_signer(tmp_path / "missing")
    with pytest.raises(treatyflow.InvalidInput, match="Ed25519"):
        parse_public_key(f"{rsa}.pub")


def test_registry_first_key_by_anyone_then_only_an_admin(
    target: str, keyfiles: dict[str, Path]
) -> None:
    with treatyflow.open(target, create=True, key="") as ws:
        first = ws.add_key("alice", f"{keyfiles['alice']}.pub", roles=["admin"])
        assert first.roles == ("admin",) and first.retired is None
        with pytest.raises(treatyflow.NotAuthorised, match="admin"):
            ws.add_key("bob", f"{keyfiles['bob']}.pub", roles=["reviewer"])
    with (
        _as(target, keyfiles, "carol") as ws,  # not registered
        pytest.raises(treatyflow.NotAuthorised, match="not registered"),
    ):
        ws.add_key("bob", f"{keyfiles['bob']}.pub")
    with _as(target, keyfiles, "alice") as ws:
        ws.add_key("bob", f"{keyfiles['bob']}.pub", roles=["reviewer"])
        with pytest.raises(treatyflow.InvalidInput, match="registered already"):
            ws.add_key("bob2", f"{keyfiles['bob']}.pub")
        with pytest.raises(treatyflow.InvalidInput, match="reserved"):
            ws.add_key("system", f"{keyfiles['carol']}.pub")
        with pytest.raises(treatyflow.InvalidInput, match="not a role"):
            ws.add_key("carol", f"{keyfiles['carol']}.pub", roles=["boss"])
        with pytest.raises(treatyflow.InvalidInput, match="last admin"):
            ws.retire_key("alice")
        retired = ws.retire_key("bob")
        assert retired.retired is not None
        names = [(k.name, k.roles, k.retired is not None) for k in ws.list_keys()]
        assert names == [("alice", ("admin",), False), ("bob", ("reviewer",), True)]
    with _as(target, keyfiles, "bob") as ws:  # retired: signs nothing new
        with pytest.raises(treatyflow.NotAuthorised, match="retired"):
            ws.open_case(country="LTU", treaty="ottawa", on="2025-06-27")
        assert ws.cases() == []


def test_keys_cli_add_list_retire(db: Path, keyfiles: dict[str, Path]) -> None:
    runner = CliRunner(env={"TREATYFLOW_DB": str(db), "TREATYFLOW_ACTOR": None})
    pub = (keyfiles["alice"].with_suffix(".key.pub")).read_text().strip()
    add = runner.invoke(
        main, ["keys", "add", "alice", pub, "--role", "admin", "--role", "analyst"]
    )
    assert add.exit_code == 0, add.output
    refused = runner.invoke(main, ["keys", "add", "bob", f"{keyfiles['bob']}.pub"])
    assert refused.exit_code == 1 and "admin" in refused.stderr
    env_key = {"TREATYFLOW_KEY": str(keyfiles["alice"])}
    ok = runner.invoke(main, ["keys", "add", "bob", f"{keyfiles['bob']}.pub"], env=env_key)
    assert ok.exit_code == 0, ok.output
    listed = json.loads(runner.invoke(main, ["keys", "list", "--json"]).stdout)
    assert [(k["name"], k["roles"]) for k in listed] == [
        ("alice", ["admin", "analyst"]),
        ("bob", ["analyst"]),
    ]
    assert set(listed[0]) == {"name", "fingerprint", "public_key", "roles", "added", "retired"}
    assert listed[0]["fingerprint"].startswith("SHA256:")
    retire = runner.invoke(main, ["keys", "retire", "bob", "--key", str(keyfiles["alice"])])
    assert retire.exit_code == 0, retire.output
    assert json.loads(runner.invoke(main, ["keys", "list", "--json"]).stdout)[1]["retired"]


# ---------------------------------------------------------------------------- signing
def test_signed_events_carry_signature_key_and_recorded_by(
    team: str, keyfiles: dict[str, Path]
) -> None:
    with _as(team, keyfiles, "carol") as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="LTU-1", on="2025-01-10")
        ws.note("LTU-1", "a note", on="2025-01-11")
        events = [e.to_dict() for e in ws.history("LTU-1")]
        fingerprint = load_signer(keyfiles["carol"]).fingerprint
        role = None if "://" not in team else "postgres"
        for ev in events:
            assert ev["actor"] == "carol" and ev["key"] == fingerprint
            assert ev["signature"].startswith("ed25519:")
            assert ev["recorded_by"] == role
        assert ws.verify().ok


def test_unsigned_write_is_refused_in_team_mode_and_writes_nothing(
    team: str, keyfiles: dict[str, Path]
) -> None:
    with _as(team, keyfiles, "carol") as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="LTU-1", on="2025-01-10")
    with _as(team, keyfiles, None, actor="carol") as ws:
        with pytest.raises(treatyflow.SignatureRequired):
            ws.note("LTU-1", "unsigned", on="2025-01-11")
        with pytest.raises(treatyflow.SignatureRequired):
            ws.open_case(country="FIN", treaty="ottawa", on="2025-01-10")
        assert ws.case("LTU-1").version == 1 and len(ws.cases()) == 1
        with pytest.raises(treatyflow.NotAuthorised, match="admin"):
            ws.require_signatures(False)  # an admin's signed act
        assert ws.signatures_required()


def test_team_mode_cli_refuses_unsigned_and_mismatched_actor(
    db: Path, keyfiles: dict[str, Path]
) -> None:
    runner = CliRunner(env={"TREATYFLOW_DB": str(db), "TREATYFLOW_ACTOR": None})
    alice = str(keyfiles["alice"])
    for args in (
        ["keys", "add", "alice", f"{alice}.pub", "--role", "admin", "--role", "analyst"],
        ["db", "require-signatures", "on", "--key", alice],
    ):
        assert runner.invoke(main, args).exit_code == 0
    opened = ["case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "L1"]
    unsigned = runner.invoke(main, opened)
    assert unsigned.exit_code == 1
    assert "signed by a registered key" in unsigned.stderr and "--key" in unsigned.stderr
    other = runner.invoke(main, [*opened, "--key", alice, "--actor", "Head of Legal Office"])
    assert other.exit_code == 1 and "registered to 'alice'" in other.stderr
    system = runner.invoke(main, [*opened, "--key", alice, "--actor", "system"])
    assert system.exit_code == 1
    assert json.loads(runner.invoke(main, ["case", "list", "--json"]).stdout) == []
    signed = runner.invoke(main, [*opened, "--key", alice, "--actor", "alice"])
    assert signed.exit_code == 0, signed.output
    off = runner.invoke(main, ["db", "require-signatures", "off"])
    assert off.exit_code == 1


def test_system_is_refused_to_every_write_and_tick_alone_writes_it(
    team: str, keyfiles: dict[str, Path]
) -> None:
    with (
        _as(team, keyfiles, "alice", actor="system") as ws,
        pytest.raises(treatyflow.ActorMismatch),
    ):
        ws.open_case(country="LTU", treaty="ottawa", at="notified", on="2025-06-27")
    with _as(team, keyfiles, "alice") as ws:
        with pytest.raises(treatyflow.TreatyflowError):
            ws.open_case(country="LTU", treaty="ottawa", on="2025-06-27", actor="system")
        ws.open_case(country="LTU", treaty="ottawa", id="L1", at="notified", on="2025-06-27")
    with _as(team, keyfiles, None) as ws:  # tick needs a key in team mode too
        result = ws.tick(as_of="2025-12-27")
        assert result.fired == () and len(result.failed) == 1
    with _as(team, keyfiles, "alice") as ws:
        assert [f.to_state for f in ws.tick(as_of="2025-12-27").fired] == ["effective"]
        fired = ws.history("L1")[-1]
        assert (fired.actor, fired.key) == ("system", load_signer(keyfiles["alice"]).fingerprint)
        assert ws.verify().ok
    reg = Registry()
    row = {"kind": "note", "actor": "system", "recorded_at": "2025", "hash": "x", "data": {}}
    assert "reserved for clocks" in (check_event(row, reg) or "")


def test_forged_signature_fails_verify_naming_case_and_seq(
    team: str, keyfiles: dict[str, Path]
) -> None:
    from treatyflow.store.schema import events

    def edit(ws: Any, case_id: str, seq: int, **values: Any) -> None:
        with ws.store.engine.begin() as conn:
            conn.execute(
                events.update()
                .where(events.c.case_id == case_id, events.c.seq == seq)
                .values(**values)
            )

    with _as(team, keyfiles, "carol") as ws:
        for case_id in ("A", "B", "C"):
            ws.open_case(country="LTU", treaty="ottawa", id=case_id, on="2025-01-10")
            ws.note(case_id, "one", on="2025-01-11")
            ws.note(case_id, "two", on="2025-01-12")
        assert ws.verify().ok
        # A: a valid signature, but by another registered key (bob's)
        edit(ws, "A", 2, signature=load_signer(keyfiles["bob"]).sign(ws.history("A")[1].hash))
        # B: signature and key stripped from an event recorded while they were required
        edit(ws, "B", 3, signature=None, key=None)
        # C: bob's key named, carol's signature kept
        edit(ws, "C", 2, key=load_signer(keyfiles["bob"]).fingerprint)
        problems = {p.case_id: p for p in ws.verify().problems}
        assert {c: p.seq for c, p in problems.items()} == {"A": 2, "B": 3, "C": 2}
        assert "does not verify" in problems["A"].reason
        assert "not signed" in problems["B"].reason
        assert "names 'carol' but is signed by the key of 'bob'" in problems["C"].reason
    result = CliRunner().invoke(main, ["--db", team, "verify"])
    assert result.exit_code == 1
    assert "case 'B': first bad event is seq 3" in result.stdout


def test_a_retired_key_s_signature_fails_verify_and_old_ones_hold(
    team: str, keyfiles: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    with _as(team, keyfiles, "carol") as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="LTU-1", on="2025-01-10")
    with _as(team, keyfiles, "alice") as ws:
        ws.retire_key("carol")
        assert ws.verify().ok  # what carol signed before stays valid
    # A hostile client that ignores the retirement still signs with carol's key:
    monkeypatch.setattr(Registry, "active", lambda self, fp: self.keys.get(fp))
    with _as(team, keyfiles, "carol") as ws:
        ws.note("LTU-1", "after retirement", on="2025-01-11")
    monkeypatch.undo()
    with _as(team, keyfiles, "alice") as ws:
        problems = ws.verify().problems
        assert [(p.case_id, p.seq) for p in problems] == [("LTU-1", 2)]
        assert "retired" in problems[0].reason


def test_an_edited_registry_entry_fails_verify(team: str, keyfiles: dict[str, Path]) -> None:
    from treatyflow.store.schema import registry

    with _as(team, keyfiles, "alice") as ws:
        with ws.store.engine.begin() as conn:
            conn.execute(
                registry.update().where(registry.c.seq == 3).values(data='{"roles": ["admin"]}')
            )
        problems = ws.verify().problems
        assert [(p.case_id, p.seq) for p in problems] == [("<key registry>", 3)]


# ---------------------------------------------------------------------------- review
def test_four_eyes_review_of_notify(team: str, keyfiles: dict[str, Path]) -> None:
    with _as(team, keyfiles, "carol") as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="L1", at="law_signed", on="2025-01-10")
        view = ws.advance("L1", "notify", on="2025-06-27", sources=[NOTICE])
        assert view.state == "law_signed" and view.effective_on is None
        proposal = {"seq": 2, "trigger": "notify", "proposed_by": "carol", "on": "2025-06-27"}
        assert [r.to_dict() for r in view.awaiting_review] == [proposal]
        pending = ws.pending(as_of="2025-07-01").to_dict()["cases"]
        assert pending[0]["awaiting_review"] == [proposal]
        with pytest.raises(treatyflow.NotAuthorised, match="not a reviewer"):
            ws.approve("L1", 2)
    with _as(team, keyfiles, "bob") as ws:
        approved = ws.approve("L1", 2, note="receipt confirmed")
        assert approved.state == "notified" and approved.awaiting_review == ()
        assert approved.effective_on is not None and approved.effective_on.isoformat() == (
            "2025-12-27"
        )
        step = ws.history("L1")[-1]
        assert (step.kind, step.actor, step.occurred_on.isoformat()) == (
            "advance",
            "bob",
            "2025-06-27",
        )
        assert step.data["proposal_seq"] == 2 and step.data["proposed_by"] == "carol"
        assert step.sources[0]["kind"] == "depositary-notification"
        with pytest.raises(treatyflow.InvalidInput, match="already approved"):
            ws.approve("L1", 2)
        assert ws.verify().ok


def test_self_approval_is_refused(team: str, keyfiles: dict[str, Path]) -> None:
    with _as(team, keyfiles, "bob") as ws:  # a reviewer may propose, not approve it too
        ws.open_case(country="LTU", treaty="ottawa", id="L1", at="law_signed", on="2025-01-10")
        ws.advance("L1", "notify", on="2025-06-27", sources=[NOTICE])
        with pytest.raises(treatyflow.SelfApproval, match="cannot approve"):
            ws.approve("L1", 2)
        view = ws.case("L1")
        assert (view.state, view.version, len(view.awaiting_review)) == ("law_signed", 2, 1)


def test_self_approval_on_the_command_line_exits_1(db: Path, keyfiles: dict[str, Path]) -> None:
    runner = CliRunner(env={"TREATYFLOW_DB": str(db), "TREATYFLOW_ACTOR": None})
    alice, bob = str(keyfiles["alice"]), str(keyfiles["bob"])
    steps = [
        ["keys", "add", "alice", f"{alice}.pub", "--role", "admin", "--role", "reviewer"],
        ["keys", "add", "bob", f"{bob}.pub", "--role", "reviewer", "--key", alice],
        ["db", "require-signatures", "on", "--key", alice],
        [
            *("case", "open", "--country", "LTU", "--treaty", "ottawa", "--id", "L1"),
            *("--at", "law_signed", "--on", "2025-01-10", "--key", alice),
        ],
        [
            *("case", "advance", "L1", "notify", "--on", "2025-06-27"),
            *("--source", NOTICE, "--key", alice),
        ],
    ]
    for args in steps:
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
    assert "awaiting review: step 2" in result.stdout
    pending = runner.invoke(main, ["pending", "--as-of", "2025-07-01"]).stdout
    assert "REVIEW step 2 (notify)" in pending
    shown = runner.invoke(main, ["case", "show", "L1"]).stdout
    assert "step 2 (notify on 2025-06-27, by alice)" in shown
    history = runner.invoke(main, ["case", "history", "L1"]).stdout
    assert "proposed: law_signed → notified (notify; awaiting review)" in history
    own = runner.invoke(main, ["case", "approve", "L1", "2", "--key", alice])
    assert own.exit_code == 1 and "cannot approve" in own.stderr
    ok = runner.invoke(main, ["case", "approve", "L1", "2", "--key", bob, "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["state"] == "notified"
    report = runner.invoke(main, ["report", "case", "L1", "--format", "md"]).stdout
    assert "proposal #2 by alice, approved" in report


def test_a_correction_of_a_legal_date_needs_review_and_can_be_rejected(
    team: str, keyfiles: dict[str, Path]
) -> None:
    with _as(team, keyfiles, "carol") as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="L1", at="notified", on="2025-06-27")
        view = ws.correct("L1", 1, on="2025-06-30", reason="receipt was the 30th")
        assert view.effective_on is not None and view.effective_on.isoformat() == "2025-12-27"
        assert [r.trigger for r in view.awaiting_review] == ["correct"]
    with _as(team, keyfiles, "bob") as ws:
        with pytest.raises(treatyflow.InvalidInput, match="reason"):
            ws.reject("L1", 2, reason=" ")
        rejected = ws.reject("L1", 2, reason="the depositary says the 27th")
        assert rejected.awaiting_review == () and rejected.effective_on.isoformat() == "2025-12-27"
        assert ws.history("L1")[-1].kind == "reject"
    with _as(team, keyfiles, "carol") as ws:
        ws.correct("L1", 1, on="2025-06-30", reason="second try")
    with _as(team, keyfiles, "bob") as ws:
        view = ws.approve("L1", 4)
        assert view.effective_on is not None and view.effective_on.isoformat() == "2025-12-30"
        assert ws.history("L1")[-1].kind == "correct"
        assert ws.verify().ok


def test_single_analyst_mode_applies_steps_directly(tmp_path: Path) -> None:
    with treatyflow.open(tmp_path / "one.db", actor="analyst", create=True, key="") as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="L1", at="law_signed", on="2025-01-10")
        view = ws.advance("L1", "notify", on="2025-06-27", sources=[NOTICE])
        assert view.state == "notified" and view.awaiting_review == ()
        assert ws.pending(as_of="2025-07-01").to_dict()["cases"][0]["awaiting_review"] == []
        assert ws.history("L1")[-1].signature is None
        with pytest.raises(treatyflow.NotAuthorised, match="reviewer"):
            ws.approve("L1", 2)


def test_roles_limit_who_fires_a_step(
    team: str, keyfiles: dict[str, Path], tmp_path: Path
) -> None:
    procs = tmp_path / "wf" / "procedures"
    procs.mkdir(parents=True)
    (procs / "reviewed.yaml").write_text(
        """id: reviewed
title: A step only a reviewer may take
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
    roles: [reviewer]
"""
    )
    wf = str(tmp_path / "wf")
    with _as(team, keyfiles, "carol", workflows=wf) as ws:
        ws.open_case(
            country="LTU", treaty="ottawa", id="L1", procedure="reviewed", on="2025-01-10"
        )
        with pytest.raises(treatyflow.NotAuthorised, match="needs the role reviewer"):
            ws.advance("L1", "notify", on="2025-06-27")
        assert ws.case("L1").version == 1
    with _as(team, keyfiles, "bob", workflows=wf) as ws:
        assert ws.advance("L1", "notify", on="2025-06-27").state == "notified"


def test_a_bundle_with_a_forged_signature_fails_verify_bundle_offline(
    team: str, keyfiles: dict[str, Path], tmp_path: Path
) -> None:
    with _as(team, keyfiles, "carol") as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="L1", on="2025-01-10")
        ws.note("L1", "signed note", on="2025-01-11")
        ws.export(tmp_path / "b.jsonl")
    good = CliRunner().invoke(main, ["verify", "--bundle", str(tmp_path / "b.jsonl")])
    assert good.exit_code == 0, good.output
    lines = (tmp_path / "b.jsonl").read_text().splitlines()
    assert sum('"type": "registry"' in line for line in lines) == 4
    forger = load_signer(keyfiles["bob"])
    out = []
    for line in lines:
        obj = json.loads(line)
        if obj.get("type") == "event" and obj["seq"] == 2:
            obj["signature"] = forger.sign(obj["hash"])  # a valid signature, the wrong key
        out.append(json.dumps(obj, sort_keys=True, ensure_ascii=False))
    forged = tmp_path / "forged.jsonl"
    forged.write_text("\n".join(out) + "\n")
    bad = CliRunner().invoke(
        main, ["--db", str(tmp_path / "never.db"), "verify", "--bundle", str(forged), "--json"]
    )
    assert bad.exit_code == 1
    problems = json.loads(bad.stdout)["problems"]
    assert any("case 'L1': first bad event is seq 2" in p and "signature" in p for p in problems)
    assert not (tmp_path / "never.db").exists()
    with treatyflow.open(tmp_path / "copy.db", create=True, key="") as ws:
        with pytest.raises(treatyflow.BundleInvalid):
            ws.import_bundle(forged)
        ws.import_bundle(tmp_path / "b.jsonl")
        assert ws.verify().ok and [k.name for k in ws.list_keys()] == ["alice", "bob", "carol"]
        assert ws.history("L1")[1].key == load_signer(keyfiles["carol"]).fingerprint


def test_reports_name_the_signers_or_say_not_reviewed(
    team: str, keyfiles: dict[str, Path], tmp_path: Path
) -> None:
    with _as(team, keyfiles, "carol") as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="L1", at="law_signed", on="2025-01-10")
        ws.advance("L1", "notify", on="2025-06-27", sources=[NOTICE])
    with _as(team, keyfiles, "bob") as ws:
        ws.approve("L1", 2)
        text = ws.report("case", "md", case_ids=["L1"], as_of="2025-07-01")
    assert "Signed: 3 of 3 event(s), by bob" in text and "carol" in text
    assert "1 step(s) approved by a second reviewer" in text
    with treatyflow.open(tmp_path / "solo.db", actor="analyst", create=True, key="") as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="L1", on="2025-01-10")
        solo = ws.report("case", "md", case_ids=["L1"], as_of="2025-07-01")
    assert "not signed; not reviewed" in solo


# ---------------------------------------------------------------------------- PostgreSQL
@pytest.fixture
def login_roles(postgres_url: str) -> Iterator[tuple[str, str]]:
    """Two real PostgreSQL login roles (unique names), dropped afterwards."""
    import uuid

    import sqlalchemy as sa

    names = (f"tf_ana_{uuid.uuid4().hex[:8]}", f"tf_rev_{uuid.uuid4().hex[:8]}")
    admin = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        for name in names:
            conn.exec_driver_sql(f'CREATE ROLE "{name}" LOGIN')
    try:
        yield names
    finally:
        with admin.begin() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP OWNED BY "{name}"')
                conn.exec_driver_sql(f'DROP ROLE "{name}"')
        admin.dispose()


def _login(url: str, role: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(url).set(username=role).render_as_string(hide_password=False)


def test_postgres_roles_cannot_rewrite_the_log_and_are_recorded(
    postgres_url: str, login_roles: tuple[str, str], keyfiles: dict[str, Path]
) -> None:
    import sqlalchemy as sa

    analyst, reviewer = login_roles
    with treatyflow.open(postgres_url, create=True, key=keyfiles["alice"]) as ws:
        ws.add_key("alice", f"{keyfiles['alice']}.pub", roles=["admin", "analyst"])
        ws.add_key("carol", f"{keyfiles['carol']}.pub")
        ws.add_key("bob", f"{keyfiles['bob']}.pub", roles=["reviewer"])
        ws.require_signatures(True)
        assert ws.grant(analyst, as_="analyst")["group"] == "treatyflow_analyst"
        ws.grant(reviewer, as_="reviewer")
    analyst_url, reviewer_url = _login(postgres_url, analyst), _login(postgres_url, reviewer)
    with treatyflow.open(analyst_url, key=keyfiles["carol"]) as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="L1", at="law_signed", on="2025-01-10")
        ws.advance("L1", "notify", on="2025-06-27", sources=[NOTICE])
    with treatyflow.open(reviewer_url, key=keyfiles["bob"]) as ws:
        assert ws.approve("L1", 2).state == "notified"
        by = [(e.actor, e.recorded_by) for e in ws.history("L1")]
        assert by == [("carol", analyst), ("carol", analyst), ("bob", reviewer)]
        assert ws.verify().ok
    engine = sa.create_engine(analyst_url, poolclass=sa.pool.NullPool)
    owner = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    try:
        for sql in (
            "UPDATE events SET note = 'rewritten' WHERE seq = 1",
            "DELETE FROM events WHERE seq = 3",
            "TRUNCATE events CASCADE",
            "UPDATE registry SET name = 'mallory' WHERE seq = 2",
            "INSERT INTO registry (seq, kind, data, recorded_at, actor, hash) "
            "VALUES (9, 'add', '{}', 'now', 'eve', 'h')",  # an analyst's role: no registry
        ):
            with pytest.raises(sa.exc.DBAPIError, match="permission denied"), engine.begin() as c:
                c.exec_driver_sql(sql)
        with owner.begin() as conn:  # a misconfigured grant: the trigger still refuses
            conn.exec_driver_sql(f'GRANT UPDATE, DELETE, TRUNCATE ON events TO "{analyst}"')
        for sql in (
            "UPDATE events SET note = 'rewritten' WHERE seq = 1",
            "DELETE FROM events WHERE seq = 3",
            "TRUNCATE events CASCADE",
        ):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as c:
                c.exec_driver_sql(sql)
        with engine.begin() as conn:  # recorded_by is the server's, not the client's
            conn.exec_driver_sql(
                "INSERT INTO definitions (hash, kind, definition_id, content, stored_at) "
                "VALUES ('h', 'x', 'x', '{}', 'now')"
            )
        with owner.begin() as conn:
            conn.exec_driver_sql(f'REVOKE UPDATE, DELETE, TRUNCATE ON events FROM "{analyst}"')
            conn.exec_driver_sql("DELETE FROM definitions WHERE hash = 'h'")
    finally:
        engine.dispose()
        owner.dispose()
    with treatyflow.open(postgres_url, key="") as ws:
        assert ws.history("L1")[0].note is None
        assert ws.verify().ok


def test_recorded_by_cannot_be_set_by_the_client(postgres_url: str) -> None:
    import sqlalchemy as sa

    with treatyflow.open(postgres_url, actor="analyst", create=True, key="") as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="L1", on="2025-01-10")
        with ws.store.engine.begin() as conn:
            row = conn.execute(sa.text("SELECT * FROM events WHERE seq = 1")).mappings().one()
            values = {k: v for k, v in row.items() if k != "id"}
            values.update(case_id="L1", seq=2, recorded_by="somebody else")
            conn.execute(sa.text("UPDATE cases SET version = 2 WHERE id = 'L1'"))
            cols = ", ".join(values)
            marks = ", ".join(f":{k}" for k in values)
            conn.execute(sa.text(f"INSERT INTO events ({cols}) VALUES ({marks})"), values)
        assert ws.history("L1")[1].recorded_by == "postgres"


def test_grant_by_a_role_that_may_not_create_roles_says_so(
    postgres_url: str, login_roles: tuple[str, str]
) -> None:
    """A role without CREATEROLE running the grant gets NotAuthorised naming what it lacks,
    not a raw database error; nothing is granted."""
    analyst, other = login_roles
    with treatyflow.open(postgres_url, actor="owner", create=True, key="") as ws:
        ws.grant(analyst, as_="analyst")
    with (
        treatyflow.open(_login(postgres_url, analyst), actor="a", key="") as ws,
        pytest.raises(treatyflow.NotAuthorised, match="CREATEROLE") as info,
    ):
        ws.grant(other, as_="analyst")
    assert info.value.who == analyst
    assert str(info.value).startswith(f"the database role {analyst!r} may not create")


def test_grant_is_postgresql_only(tmp_path: Path) -> None:
    with (
        treatyflow.open(tmp_path / "x.db", actor="a", create=True, key="") as ws,
        pytest.raises(treatyflow.InvalidInput, match="PostgreSQL"),
    ):
        ws.grant("someone", as_="analyst")


def test_json_of_the_setup_commands(tmp_path: Path) -> None:
    runner = CliRunner(env={"TREATYFLOW_DB": str(tmp_path / "j.db")})
    made = runner.invoke(main, ["keys", "generate", "-o", str(tmp_path / "k"), "--json"])
    doc = json.loads(made.stdout)
    assert doc["public_key"].startswith("ssh-ed25519 ") and doc["fingerprint"].startswith(
        "SHA256:"
    )
    assert runner.invoke(main, ["init"]).exit_code == 0
    args = ["keys", "add", "me", f"{tmp_path / 'k'}.pub", "--role", "admin", "--json"]
    assert json.loads(runner.invoke(main, args).stdout)["roles"] == ["admin"]
    on = runner.invoke(
        main, ["db", "require-signatures", "on", "--key", str(tmp_path / "k"), "--json"]
    )
    assert json.loads(on.stdout) == {"require_signatures": True}
    grant = runner.invoke(main, ["db", "grant", "someone", "--as", "analyst"])
    assert grant.exit_code == 1 and "PostgreSQL" in grant.stderr
    bad = runner.invoke(main, ["case", "note", "X", "hi", "--key", "\x00"])
    assert bad.exit_code == 1 and "not a file name" in bad.stderr


def test_import_refuses_a_database_that_has_a_key_registry(
    tmp_path: Path, keyfiles: dict[str, Path]
) -> None:
    with treatyflow.open(tmp_path / "a.db", actor="analyst", create=True, key="") as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="L1", on="2025-01-10")
        ws.export(tmp_path / "a.jsonl")
    with treatyflow.open(tmp_path / "b.db", create=True, key="") as ws:
        ws.add_key("alice", f"{keyfiles['alice']}.pub", roles=["admin"])
        with pytest.raises(treatyflow.InvalidInput, match="1 key registry"):
            ws.import_bundle(tmp_path / "a.jsonl")
        assert ws.cases() == []


def test_trust_fields_left_unset_do_not_change_a_definition_s_hash(catalog: Any) -> None:
    """roles/review/corrections are dumped only when set: a procedure that does not use
    them hashes as before they existed, so its cases stay pinned to it."""
    from treatyflow.catalog import content_hash
    from treatyflow.definitions.procedure import Procedure

    generic = catalog.procedure("generic")
    dumped = generic.model_dump(mode="json")
    notify = [t for t in dumped["transitions"] if t["trigger"] == "notify"]
    assert [t["review"] for t in notify] == ["required"]
    assert all("roles" not in t for t in dumped["transitions"])
    assert all("review" not in t for t in dumped["transitions"] if t["trigger"] != "notify")
    plain = Procedure.model_validate(
        {"id": "p", "title": "P", "transitions": [{"trigger": "go", "source": "a", "dest": "b"}]}
    )
    assert set(plain.model_dump(mode="json")["transitions"][0]) == {
        "trigger",
        "source",
        "dest",
        "title",
        "institution",
        "guards",
        "evidence",
        "clock",
        "optional",
        "contested",
        "description",
    }
    assert "corrections" not in plain.model_dump(mode="json")
    assert content_hash(plain) == content_hash(Procedure.model_validate(plain.model_dump()))


# ---------------------------------------------------------------------------- pure checks
def _registry(keyfiles: dict[str, Path]) -> list[Any]:
    """A valid registry: alice adds herself (self-signed), adds bob, requires signatures."""
    from dataclasses import replace

    from treatyflow.registry import Entry

    alice, bob = load_signer(keyfiles["alice"]), load_signer(keyfiles["bob"])
    entries: list[Any] = []

    def add(kind: str, name: str | None, data: dict[str, Any], signer: Any, actor: str) -> None:
        entry = Entry(
            seq=len(entries) + 1,
            kind=kind,
            name=name,
            data=data,
            recorded_at=f"2025-01-0{len(entries) + 1}T00:00:00.000000Z",
            actor=actor,
            prev_hash=entries[-1].hash if entries else None,
        ).sealed()
        entries.append(replace(entry, key=signer.fingerprint, signature=signer.sign(entry.hash)))

    def key(s: Any, roles: list[str]) -> dict[str, Any]:
        return {"public_key": s.public.openssh, "fingerprint": s.fingerprint, "roles": roles}

    add("add", "alice", key(alice, ["admin"]), alice, "alice")
    add("add", "bob", key(bob, ["reviewer"]), alice, "alice")
    add("policy", None, {"require_signatures": True}, alice, "alice")
    return entries


def _resealed(entry: Any, signer: Any, **changes: Any) -> Any:
    from dataclasses import replace

    new = replace(entry, **changes).sealed()
    return replace(new, key=signer.fingerprint, signature=signer.sign(new.hash))


@pytest.mark.parametrize(
    ("tamper", "seq", "reason"),
    [
        ("seq", 2, "expected registry entry 2"),
        ("prev", 2, "prev_hash does not match"),
        ("content", 2, "does not match its hash"),
        ("kind", 3, "unknown kind"),
        ("first-not-add", 1, "the first entry must add a key"),
        ("first-bad-signature", 1, "signature does not verify"),
        ("unsigned", 3, "not signed"),
        ("non-admin", 3, "not an admin"),
        ("actor", 3, "names 'mallory'"),
        ("bad-signature", 3, "signature does not verify"),
        ("unknown-signer", 3, "not valid then"),
        ("fingerprint", 2, "not the public key's"),
    ],
)
def test_every_registry_tamper_is_named(
    keyfiles: dict[str, Path], tamper: str, seq: int, reason: str
) -> None:
    from dataclasses import replace

    from treatyflow.registry import check_entries

    entries = _registry(keyfiles)
    alice, bob = load_signer(keyfiles["alice"]), load_signer(keyfiles["bob"])
    carol = load_signer(keyfiles["carol"])
    assert check_entries(entries) is None
    e = entries
    if tamper == "seq":
        e[1] = replace(e[1], seq=5)
    elif tamper == "prev":
        e[1] = _resealed(e[1], alice, prev_hash="sha256:" + "0" * 64)
    elif tamper == "content":
        e[1] = replace(e[1], data={**e[1].data, "roles": ["admin"]})
    elif tamper == "kind":
        e[2] = _resealed(e[2], alice, kind="promote")
    elif tamper == "first-not-add":
        e[0] = _resealed(e[0], alice, kind="policy")
    elif tamper == "first-bad-signature":
        e[0] = replace(e[0], signature=bob.sign(e[0].hash))
    elif tamper == "unsigned":
        e[2] = replace(e[2], key=None, signature=None)
    elif tamper == "non-admin":
        e[2] = _resealed(e[2], bob, actor="bob")
    elif tamper == "actor":
        e[2] = _resealed(e[2], alice, actor="mallory")
    elif tamper == "bad-signature":
        e[2] = replace(e[2], signature=alice.sign("sha256:" + "1" * 64))
    elif tamper == "unknown-signer":
        e[2] = _resealed(e[2], carol, actor="carol")
    elif tamper == "fingerprint":
        e[1] = _resealed(e[1], alice, data={**e[1].data, "fingerprint": carol.fingerprint})
    problem = check_entries(e)
    assert problem is not None and problem[0] == seq and reason in problem[1]


def test_event_author_checks(keyfiles: dict[str, Path]) -> None:
    from treatyflow.registry import Registry, check_event

    reg = Registry.fold(_registry(keyfiles))
    bob, carol = load_signer(keyfiles["bob"]), load_signer(keyfiles["carol"])
    h = "sha256:" + "a" * 64
    base = {"kind": "note", "actor": "bob", "hash": h, "data": {}}
    late = "2025-02-01T00:00:00.000000Z"
    ok = {**base, "recorded_at": late, "signature": bob.sign(h), "key": bob.fingerprint}
    assert check_event(ok, reg) is None
    cases = [
        ({**ok, "key": None}, "without a key"),
        ({**ok, "key": carol.fingerprint, "signature": carol.sign(h)}, "not in the registry"),
        ({**ok, "recorded_at": "2024-12-31T00:00:00.000000Z"}, "before that key was registered"),
        ({**base, "recorded_at": late, "signature": None, "key": None}, "not signed"),
    ]
    for row, reason in cases:
        assert reason in (check_event(row, reg) or ""), row
    early = {**base, "recorded_at": "2025-01-02T12:00:00.000000Z"}
    assert check_event(early, reg) is None  # before signatures were required
    clock = {**ok, "actor": "system", "kind": "take-effect"}
    assert check_event(clock, reg) is None  # tick's event, signed by whoever ran it


def test_approve_and_reject_refusals(team: str, keyfiles: dict[str, Path]) -> None:
    with _as(team, keyfiles, "carol") as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="L1", at="law_signed", on="2025-01-10")
        ws.advance("L1", "notify", on="2025-06-27", sources=[NOTICE])
        with pytest.raises(treatyflow.InvalidInput, match="no proposed step 1"):
            ws.reject("L1", 1, reason="not a proposal")
        ws.reject("L1", 2, reason="withdrawn by its proposer")  # the proposer may withdraw
        ws.advance("L1", "notify", on="2025-06-28", sources=[NOTICE])
    with _as(team, keyfiles, "alice") as ws:  # neither a reviewer nor the proposer
        with pytest.raises(treatyflow.NotAuthorised, match="not a reviewer"):
            ws.reject("L1", 4, reason="no")
        # the case moves on (an out-of-procedure step by the admin) before the review
        ws.advance("L1", "shelve", on="2025-06-29", out_of_procedure="test", to="rejected")
    with _as(team, keyfiles, "bob") as ws:
        with pytest.raises(treatyflow.InvalidInput, match="has moved from 'law_signed'"):
            ws.approve("L1", 4)
        with pytest.raises(treatyflow.InvalidInput, match="already rejected"):
            ws.approve("L1", 2)
        assert [r.seq for r in ws.case("L1").awaiting_review] == [4]
        ws.reject("L1", 4, reason="overtaken")
        assert ws.case("L1").awaiting_review == () and ws.verify().ok


def test_postgres_roles_attach_documents_but_cannot_rewrite_them(
    postgres_url: str, login_roles: tuple[str, str], keyfiles: dict[str, Path]
) -> None:
    """An analyst's login role may attach a document (#17), signed in team mode; no role may
    update, delete or truncate the documents' bytes, even with a misconfigured grant."""
    import sqlalchemy as sa

    analyst, _reviewer = login_roles
    with treatyflow.open(postgres_url, create=True, key=keyfiles["alice"]) as ws:
        ws.add_key("alice", f"{keyfiles['alice']}.pub", roles=["admin", "analyst"])
        ws.add_key("carol", f"{keyfiles['carol']}.pub")
        ws.require_signatures(True)
        ws.grant(analyst, as_="analyst")
    analyst_url = _login(postgres_url, analyst)
    with treatyflow.open(analyst_url, key=keyfiles["carol"]) as ws:
        ws.open_case(country="LTU", treaty="ottawa", id="L1", at="law_signed", on="2025-01-10")
        attached = ws.attach("L1", b"decree 441", name="decree.pdf", on="2025-01-11")
        event = ws.history("L1")[-1]
        assert (event.actor, event.recorded_by, event.key is not None) == ("carol", analyst, True)
        assert ws.document(attached.document.sha256) == b"decree 441"
    engine = sa.create_engine(analyst_url, poolclass=sa.pool.NullPool)
    owner = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    rewrites = (
        "UPDATE documents SET content = 'x'::bytea",
        "DELETE FROM documents",
        "TRUNCATE documents",
    )
    try:
        for sql in rewrites:
            with pytest.raises(sa.exc.DBAPIError, match="permission denied"), engine.begin() as c:
                c.exec_driver_sql(sql)
        with owner.begin() as conn:
            conn.exec_driver_sql(f'GRANT UPDATE, DELETE, TRUNCATE ON documents TO "{analyst}"')
        for sql in rewrites:
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as c:
                c.exec_driver_sql(sql)
        with owner.begin() as conn:
            conn.exec_driver_sql(f'REVOKE UPDATE, DELETE, TRUNCATE ON documents FROM "{analyst}"')
    finally:
        engine.dispose()
        owner.dispose()
    with treatyflow.open(postgres_url, key="") as ws:
        assert ws.verify().ok
