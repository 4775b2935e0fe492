"""Start-up guards that are not timings: patterns known to cost every command milliseconds."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import treatyflow.casefile
import treatyflow.definitions.procedure
import treatyflow.definitions.treaty
import treatyflow.evidence


def _models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for module in (
        treatyflow.definitions.procedure,
        treatyflow.definitions.treaty,
        treatyflow.evidence,
        treatyflow.casefile,
    ):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def test_no_model_field_has_a_builtin_default_factory() -> None:
    """`default_factory=list` makes pydantic tokenise the builtin's text signature at class
    creation (definitions.factories explains); every factory is a plain Python function."""
    models = _models()
    assert len(models) >= 18  # the definitions' models, evidence's Source, the case file's
    offenders = [
        f"{model.__name__}.{name}"
        for model in models
        for name, field in model.model_fields.items()
        if field.default_factory is not None and not inspect.isfunction(field.default_factory)
    ]
    assert offenders == []


def test_factories_give_each_instance_its_own_container() -> None:
    """The shared factories return a new object per call, as list and dict did."""
    from treatyflow.definitions.factories import empty_dict, empty_list

    assert empty_list() == [] and empty_list() is not empty_list()
    assert empty_dict() == {} and empty_dict() is not empty_dict()


#: The start of a probe: run ``case show --json`` (the database and the case id its
#: arguments) through the CLI's main in this process, its exit status in ``code``, its
#: output kept in ``out``. What follows reports on stderr and then writes ``out``.
CASE_SHOW = """\
import contextlib, io, json, sys
from treatyflow.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main(["--db", sys.argv[1], "case", "show", sys.argv[2], "--json"])
    except SystemExit as exc:
        code = exc.code
"""

#: Run ``case show --json`` in this process and report which definition models had their
#: pydantic validator built, and whether PyYAML was imported.
SHOW_PROBE = (
    CASE_SHOW
    + """\
from pydantic import BaseModel
import treatyflow.definitions.procedure, treatyflow.definitions.treaty, treatyflow.evidence
built = sorted(
    f"{m.__name__}.{v.__name__}"
    for m in (treatyflow.definitions.procedure, treatyflow.definitions.treaty,
              treatyflow.evidence)
    for v in vars(m).values()
    if isinstance(v, type) and issubclass(v, BaseModel) and v.__module__ == m.__name__
    and v.__pydantic_complete__
)
print(json.dumps({"code": code, "built": built, "yaml": "yaml" in sys.modules,
                  "lint": "treatyflow.definitions.lint" in sys.modules}),
      file=sys.stderr)
sys.stdout.write(out.getvalue())
"""
)


def _probe(probe: str, db: Path, envs: list[dict[str, str]]) -> list[tuple[Any, str]]:
    """Run ``probe`` on case EST-1 of ``db`` once in each environment, one after the other:
    each run's report (the last line of its stderr) and stdout."""
    runs = [
        subprocess.run(
            [sys.executable, "-c", probe, str(db), "EST-1"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        for env in envs
    ]
    return [(json.loads(r.stderr.strip().splitlines()[-1]), r.stdout) for r in runs]


def _cached_env(tmp_path: Path) -> dict[str, str]:
    """This process's environment with a cache directory of the test's own, the cache on
    (and no import-time profile on stderr)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPROFILEIMPORTTIME"}
    env["TREATYFLOW_CACHE_DIR"] = str(tmp_path / "cache")
    env.pop("TREATYFLOW_NO_CACHE", None)
    return env


def test_the_definition_models_are_built_on_first_use() -> None:
    """``defer_build``: importing the models builds no validator (a read never needs one)."""
    models = [m for m in _models() if m.__module__ != treatyflow.casefile.__name__]
    assert models and all(m.model_config.get("defer_build") for m in models)


def test_a_warm_case_show_builds_no_model_and_prints_what_a_cold_one_does(
    tmp_path: Path,
) -> None:
    """With the catalogue cached, ``case show`` validates, lints and dumps no definition
    (nor imports the lint), so no pydantic validator or serialiser is built; its JSON is
    the cold run's byte for byte (a case whose next step requires evidence: the evidence is
    dumped by hand)."""
    import treatyflow

    db = tmp_path / "t.db"
    with treatyflow.open(db, actor="analyst", create=True) as ws:
        ws.open_case(country="EST", treaty="ottawa", id="EST-1", at="proclaimed", on="2025-05-01")
        assert ws.case("EST-1").to_dict()["steps"][0]["evidence"]
    env = _cached_env(tmp_path)
    (cold, cold_out), (warm, warm_out) = _probe(SHOW_PROBE, db, [env, env])
    assert cold["code"] == 0 and cold["built"], "the probe sees a cold load build the models"
    assert warm == {"code": 0, "built": [], "yaml": False, "lint": False}
    assert cold_out == warm_out
    assert json.loads(warm_out)["id"] == "EST-1"


def test_the_hand_dumped_evidence_is_pydantic_s_dump() -> None:
    """``EvidenceRequirement.as_json`` (what ``case show`` prints) is ``model_dump``."""
    from treatyflow.catalog import load_catalog, shipped_workflows
    from treatyflow.definitions.procedure import EvidenceRequirement

    catalog = load_catalog([shipped_workflows()], strict=False)
    found = [
        req
        for proc in catalog.procedures.values()
        for spec in proc.transitions
        for req in spec.evidence
    ]
    found.append(EvidenceRequirement(kind="decree", min_level="official", reference=True))
    assert len(found) > 3
    for req in found:
        assert req.as_json() == req.model_dump(mode="json")
        assert list(req.as_json()) == list(req.model_dump(mode="json"))


def test_the_shared_fact_specs_are_valid_as_constructed() -> None:
    """The shared fact specs are constructed without validation: they are what validating
    them gives."""
    from treatyflow.definitions.treaty import FactSpec
    from treatyflow.projection import shared_fact_specs

    for spec in shared_fact_specs().values():
        again = FactSpec.model_validate(spec.model_dump(exclude_unset=True))
        assert again == spec and again.model_dump() == spec.model_dump()
        assert again.model_fields_set == spec.model_fields_set


#: Run ``case show --json`` through the CLI's main in this process and report the modules
#: it left imported.
MODULES_PROBE = (
    CASE_SHOW
    + """\
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
sys.stdout.write(out.getvalue())
"""
)

#: What a warm ``case show --json`` no longer imports (docs/performance.md, "Start-up in
#: session 6"): pydantic's model machinery and the definition models (the case's
#: definitions are the cached plain twins), the other case commands' modules, the
#: Workspace's write capabilities, dateutil, click's completion, and what it never needed.
NOT_ON_A_WARM_READ = (
    "pydantic.main",
    "pydantic.fields",
    "annotated_types",
    "treatyflow.definitions.procedure",
    "treatyflow.definitions.treaty",
    "treatyflow.evidence",
    "treatyflow.definitions.lint",
    "treatyflow.cli.case_writes",
    "treatyflow.cli.case_migrate",
    "treatyflow.cli.documents",
    "treatyflow.app.writes",
    "treatyflow.app.amendments",
    "treatyflow.app.clocks",
    "dateutil",
    "click.shell_completion",
    "mimetypes",
    "sqlmodel",
    "yaml",
    "rich",
    "jinja2",
    "cryptography",
    "pycountry",
)


def test_a_warm_case_show_imports_no_model_and_prints_what_a_cold_one_does(
    tmp_path: Path,
) -> None:
    """With the catalogue cached, ``case show --json`` reads the case's treaty and procedure
    as plain twins: it imports neither pydantic's models nor the definitions' (nor the
    modules listed above), and prints what a cold run (which validates the models) and a
    run without the cache print, byte for byte; a cold run does import the models."""
    import treatyflow

    db = tmp_path / "t.db"
    with treatyflow.open(db, actor="analyst", create=True) as ws:
        ws.open_case(country="EST", treaty="ottawa", id="EST-1", at="proclaimed", on="2025-05-01")
        ws.set_fact("EST-1", "armed_conflict", True, on="2025-05-02")
    env = _cached_env(tmp_path)
    uncached = {**env, "TREATYFLOW_NO_CACHE": "1"}
    runs = _probe(MODULES_PROBE, db, [env, env, uncached])
    (cold, cold_out), (warm, warm_out), (off, off_out) = runs
    assert cold["code"] == warm["code"] == off["code"] == 0
    assert "treatyflow.definitions.procedure" in cold["modules"]  # the probe sees them
    assert "treatyflow.definitions.plain" in warm["modules"]
    loaded = {
        m
        for m in warm["modules"]
        for top in NOT_ON_A_WARM_READ
        if m == top or m.startswith(top + ".")
    }
    assert loaded == set()
    assert cold_out == warm_out == off_out
    assert json.loads(warm_out)["facts"] == {"armed_conflict": True}


def test_the_plain_twins_are_the_models() -> None:
    """Every shipped treaty and composed procedure's twin holds the model's field values in
    field order (nested models as twins of their own class name), and answers its read
    methods as the model does; the cached plain catalogue has the models' content hashes."""
    from pydantic import BaseModel

    from treatyflow.catalog import load_catalog, load_plain_catalog, shipped_workflows
    from treatyflow.definitions import plain

    def same(model: Any, twin: Any) -> None:
        if isinstance(model, BaseModel):
            assert type(twin) is plain.TWINS[type(model).__name__]
            assert list(vars(twin)) == list(type(model).model_fields)
            for name in type(model).model_fields:
                same(getattr(model, name), getattr(twin, name))
        elif isinstance(model, list | tuple):
            assert type(twin) is type(model) and len(twin) == len(model)
            for a, b in zip(model, twin, strict=True):
                same(a, b)
        elif isinstance(model, dict):
            assert list(twin) == list(model)
            for key in model:
                same(model[key], twin[key])
        else:
            assert type(twin) is type(model) and twin == model

    dirs = [shipped_workflows()]
    catalog = load_catalog(dirs)
    cached = load_plain_catalog(dirs)
    models = [catalog.procedure(pid) for pid in catalog.whole_procedures()]
    for proc in models:
        twin = plain.twin(proc)
        same(proc, twin)
        assert twin.state_ids == proc.state_ids
        for state in proc.state_ids:
            assert twin.state(state) == plain.twin(proc.state(state))
        for spec, tspec in zip(proc.transitions, twin.transitions, strict=True):
            assert tspec.sources == spec.sources
            assert [g.describe() for g in tspec.guards] == [g.describe() for g in spec.guards]
            assert [e.as_json() for e in tspec.evidence] == [e.as_json() for e in spec.evidence]
            assert [list(e.as_json()) for e in tspec.evidence] == [
                list(e.as_json()) for e in spec.evidence
            ]
    for treaty in catalog.treaties.values():
        same(treaty, plain.twin(treaty))
    if cached is not None:  # the cache is on (TREATYFLOW_NO_CACHE unset)
        for pid in catalog.whole_procedures():
            assert cached.current_hash("procedure", pid) == catalog.procedure_hash(pid)
            same(catalog.procedure(pid), cached.procedures[pid])
        for tid in catalog.treaties:
            assert cached.current_hash("treaty", tid) == catalog.treaty_hash(tid)
    assert any(t.guards for p in models for t in p.transitions)


def test_the_plain_shared_fact_specs_are_the_models() -> None:
    """The shared fact specs a read uses are the twins of the models a change uses."""
    from treatyflow.definitions.plain import twin
    from treatyflow.projection import shared_fact_specs

    models, twins = shared_fact_specs(), shared_fact_specs(plain=True)
    assert list(models) == list(twins)
    for name, spec in models.items():
        assert twin(spec) == twins[name]
