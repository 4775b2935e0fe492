"""``treatyflow keys ...``: generate a signing key, and keep the database's key registry."""

from __future__ import annotations

from pathlib import Path

import click

from treatyflow.cli.context import AppContext
from treatyflow.cli.options import json_option, key_option
from treatyflow.cli.output import emit_json, table

pass_app = click.make_pass_decorator(AppContext)

ROLE_CHOICE = click.Choice(["analyst", "reviewer", "admin"])


@click.group()
def keys() -> None:
    """Signing keys: generate one; add, list and retire the analysts' keys."""


@keys.command()
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Where to write the private key (mode 0600; FILE.pub beside it).",
)
@click.option("--force", is_flag=True, help="Overwrite FILE (and FILE.pub) if they exist.")
@json_option
def generate(output: Path, force: bool, as_json: bool) -> None:
    """Write a new Ed25519 private key and print its public key (OpenSSH format).

    An existing key made by 'ssh-keygen -t ed25519' (without a passphrase) works too.
    """
    from treatyflow.app.workspace import generate_key
    from treatyflow.keys import fingerprint

    public = generate_key(output, force=force)
    if as_json:
        emit_json({"key": str(output), "public_key": public, "fingerprint": fingerprint(public)})
    else:
        click.echo(public)


@keys.command()
@click.argument("name")
@click.argument("public_key", metavar="PUBKEY_OR_FILE")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=ROLE_CHOICE,
    help="A role of the key (repeatable; default analyst).",
)
@key_option
@json_option
@pass_app
def add(
    app: AppContext, name: str, public_key: str, roles: tuple[str, ...], as_json: bool
) -> None:
    """Register an analyst's public key under NAME.

    PUBKEY_OR_FILE is the line 'ssh-ed25519 AAAA...' or a file holding it. The first key
    may be added by anyone (make it an admin's); after that only with an admin's --key.
    """
    info = app.workspace().add_key(name, public_key, roles=roles)
    if as_json:
        emit_json(info.to_dict())
    else:
        click.echo(f"added {info.name} ({', '.join(info.roles)}): {info.fingerprint}")


@keys.command("list")
@json_option
@pass_app
def list_(app: AppContext, as_json: bool) -> None:
    """List every registered key, retired ones too."""
    found = [k.to_dict() for k in app.workspace().list_keys()]
    if as_json:
        emit_json(found)
        return
    table(
        None,
        ["name", "fingerprint", "roles", "added", "retired"],
        [
            [k["name"], k["fingerprint"], ", ".join(k["roles"]), k["added"], k["retired"] or "-"]
            for k in found
        ],
    )


@keys.command()
@click.argument("name")
@key_option
@json_option
@pass_app
def retire(app: AppContext, name: str, as_json: bool) -> None:
    """Retire NAME's key (admin): it signs nothing new; what it signed stays valid."""
    info = app.workspace().retire_key(name)
    if as_json:
        emit_json(info.to_dict())
    else:
        click.echo(f"retired {info.name} ({info.fingerprint}) at {info.retired}")
