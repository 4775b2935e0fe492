"""Start-up guards that are not timings: patterns known to cost every command milliseconds."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

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


#: Run ``case show --json`` in this process and report which definition models had their
#: pydantic validator built, and whether PyYAML was imported.
SHOW_PROBE = """\
import contextlib, io, json, sys
from pydantic import BaseModel
from treatyflow.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main(["--db", sys.argv[1], "case", "show", sys.argv[2], "--json"])
    except SystemExit as exc:
        code = exc.code
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
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPROFILEIMPORTTIME"}
    env["TREATYFLOW_CACHE_DIR"] = str(tmp_path / "cache")
    env.pop("TREATYFLOW_NO_CACHE", None)
    runs = [
        subprocess.run(
            [sys.executable, "-c", SHOW_PROBE, str(db), "EST-1"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        for _ in range(2)
    ]
    cold, warm = (json.loads(r.stderr.strip().splitlines()[-1]) for r in runs)
    assert cold["code"] == 0 and cold["built"], "the probe sees a cold load build the models"
    assert warm == {"code": 0, "built": [], "yaml": False, "lint": False}
    assert runs[0].stdout == runs[1].stdout
    assert json.loads(runs[1].stdout)["id"] == "EST-1"


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
    from treatyflow.projection import SHARED_FACT_SPECS

    for spec in SHARED_FACT_SPECS.values():
        again = FactSpec.model_validate(spec.model_dump(exclude_unset=True))
        assert again == spec and again.model_dump() == spec.model_dump()
        assert again.model_fields_set == spec.model_fields_set
