"""``treatyflow doctor``: one screen of health checks, each problem with its fix."""

from __future__ import annotations

from pathlib import Path

import click

from treatyflow.cli.context import AppContext
from treatyflow.cli.options import json_option
from treatyflow.cli.output import emit_json

pass_app = click.make_pass_decorator(AppContext)


@click.command()
@json_option
@pass_app
def doctor(app: AppContext, as_json: bool) -> None:
    """Check the database, every hash chain, migrations, permissions, definitions and clocks.

    Exits 1 on any problem; each problem comes with the command that fixes it.
    """
    from treatyflow.doctor import run_checks
    from treatyflow.redaction import redact_url

    findings = run_checks(
        app.db,
        app.workflow_dirs(),
        extra_dir=Path(app.workflows) if app.workflows else None,
    )
    problems = [f for f in findings if not f.ok]
    if as_json:
        emit_json(
            {
                "ok": not problems,
                "database": redact_url(app.db),
                "problems": len(problems),
                "findings": [f.to_json() for f in findings],
            }
        )
    else:
        click.echo(f"treatyflow doctor: {redact_url(app.db)}")
        width = max(len(f.check) for f in findings)
        for f in findings:
            if f.ok:
                click.echo(f"  ok    {f.check.ljust(width)}  {f.detail or ''}".rstrip())
            else:
                click.echo(f"  FAIL  {f.check.ljust(width)}  {f.problem}")
                click.echo(f"        {' ' * width}  fix: {f.fix_command}")
        if problems:
            click.echo(f"{len(problems)} problem(s) found.")
        else:
            click.echo("No problems found.")
    if problems:
        raise SystemExit(1)
