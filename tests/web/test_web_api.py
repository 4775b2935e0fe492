"""The web view's JSON: the same documents as the CLI's --json, described by OpenAPI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from treatyflow.cli import main


def cli_json(db: Path, *args: str) -> bytes:
    result = CliRunner().invoke(main, ["--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def test_api_pending_is_the_cli_document(client: Any, demo_db: Path) -> None:
    for day in ("2025-07-01", "2026-03-01"):
        response = client.get(f"/api/pending?as_of={day}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.content == cli_json(demo_db, "pending", "--json", "--as-of", day)


def test_api_case_is_the_cli_document(client: Any, demo_db: Path) -> None:
    response = client.get("/api/cases/EST-ottawa-2025?as_of=2025-07-01")
    assert response.status_code == 200
    expected = cli_json(
        demo_db, "case", "show", "EST-ottawa-2025", "--json", "--as-of", "2025-07-01"
    )
    assert response.content == expected
    assert json.loads(response.content)["state"] == "notified"


def test_api_search_is_the_cli_document(client: Any, demo_db: Path) -> None:
    response = client.get("/api/search?q=Riigikogu")
    assert response.content == cli_json(demo_db, "search", "Riigikogu", "--json")
    assert {h["case_id"] for h in response.json()["hits"]} == {"EST-ottawa-2025"}


def test_api_errors_are_json(client: Any) -> None:
    missing = client.get("/api/cases/NOPE")
    assert missing.status_code == 404
    assert missing.json() == {"error": "no case 'NOPE'.", "status": 404}
    bad = client.get("/api/pending?as_of=someday")
    assert bad.status_code == 400 and "someday" in bad.json()["error"]
    assert client.get("/api/search?q=x&limit=abc").status_code == 400
    assert client.get("/api/search?q=x&limit=500").status_code == 400


def test_openapi_describes_the_responses(client: Any) -> None:
    """The OpenAPI document lists the JSON routes, and the real responses validate against
    the schemas it gives."""
    import jsonschema

    doc = client.get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert {"/api/pending", "/api/cases/{case_id}", "/api/search"} <= set(doc["paths"])
    schemas = doc["components"]["schemas"]

    def check(name: str, value: Any) -> None:
        schema = {**schemas[name], "components": doc["components"]}
        schema = json.loads(json.dumps(schema))
        jsonschema.validate(value, schema)

    check("Pending", client.get("/api/pending?as_of=2025-07-01").json())
    check("Case", client.get("/api/cases/LTU-ottawa-2025").json())
    check("Search", client.get("/api/search?q=Riigikogu").json())
    check("Error", client.get("/api/cases/NOPE").json())


def test_cli_search_prints_a_table_and_refuses_bad_text(demo_db: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["--db", str(demo_db), "search", "Riigikogu"])
    assert out.exit_code == 0 and "EST-ottawa-2025" in out.stdout
    none = runner.invoke(main, ["--db", str(demo_db), "search", "zyzzyva"])
    assert none.exit_code == 0 and "No event holds 'zyzzyva'" in none.stdout
    bad = runner.invoke(main, ["--db", str(demo_db), "search", "..."])
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: the search text holds no word")
    unknown = runner.invoke(main, ["--db", str(demo_db), "search", "x", "--case", "NOPE"])
    assert unknown.exit_code == 1 and "NOPE" in unknown.stderr


def test_demo_says_how_to_start_the_server(tmp_path: Path) -> None:
    db = tmp_path / "my demo.db"
    out = CliRunner().invoke(
        main, ["--db", str(db), "demo", "--out", str(tmp_path / "r"), "--as-of", "2025-07-01"]
    )
    assert out.exit_code == 0, out.output
    lines = [x for x in out.stdout.splitlines() if "serve" in x]
    assert lines == [
        f"Browse it live: treatyflow --db '{db}' serve, then open http://127.0.0.1:8080/"
    ]


def test_serve_refuses_a_database_that_is_not_there(tmp_path: Path) -> None:
    """serve checks the database before it listens: no database, an error and exit 1."""
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "none.db"), "serve"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no database at")


def test_serve_runs_the_server_on_loopback_by_default(demo_db: Path, monkeypatch: Any) -> None:
    served: list[tuple[str, int]] = []
    monkeypatch.setattr(
        "treatyflow.web.server.run", lambda ws, *, host, port: served.append((host, port))
    )
    quiet = CliRunner().invoke(main, ["--db", str(demo_db), "serve"])
    assert quiet.exit_code == 0 and served == [("127.0.0.1", 8080)]
    assert "http://127.0.0.1:8080/" in quiet.stdout and quiet.stderr == ""
    loud = CliRunner().invoke(main, ["--db", str(demo_db), "serve", "--host", "0.0.0.0"])
    assert loud.exit_code == 0 and served[-1] == ("0.0.0.0", 8080)
    assert "anyone who can reach it can read every case" in loud.stderr
