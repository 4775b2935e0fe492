"""The OpenAPI 3.1 description of the web view's JSON (``GET /api/openapi.json``).

Written out here rather than generated: the documents are the CLI's ``--json`` documents
(``to_dict()`` of :mod:`treatyflow.results`), described once in docs/ and checked by the
tests against real responses.
"""

from __future__ import annotations

from typing import Any

from treatyflow import __version__

_DATE = {"type": "string", "format": "date"}
_DATE_OR_NULL = {"type": ["string", "null"], "format": "date"}

CLOCK = {
    "type": "object",
    "required": ["name", "status", "due_on", "basis"],
    "properties": {
        "name": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["running", "due", "suspended", "unknown", "satisfied", "void"],
        },
        "due_on": _DATE_OR_NULL,
        "basis": {"type": "string"},
    },
}

CASE = {
    "type": "object",
    "description": "`treatyflow case show CASE_ID --json`: the case as of a legal date.",
    "required": [
        "id",
        "country",
        "treaty",
        "procedure",
        "procedure_hash",
        "action",
        "state",
        "version",
        "allowed",
        "facts",
        "effective_on",
        "clocks",
    ],
    "properties": {
        "id": {"type": "string"},
        "country": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "treaty": {"type": "string"},
        "procedure": {"type": "string"},
        "procedure_hash": {"type": "string"},
        "action": {"type": "string"},
        "state": {"type": "string"},
        "version": {"type": "integer", "minimum": 1},
        "allowed": {"type": "array", "items": {"type": "string"}},
        "facts": {"type": "object"},
        "effective_on": _DATE_OR_NULL,
        "clocks": {"type": "array", "items": {"$ref": "#/components/schemas/Clock"}},
        "flags": {"type": "array", "items": {"type": "string"}},
        "as_of": _DATE,
    },
}

PENDING = {
    "type": "object",
    "description": "`treatyflow pending --json`: every open case, nearest date first.",
    "required": ["as_of", "known_at", "cases"],
    "properties": {
        "as_of": _DATE,
        "known_at": {"type": ["string", "null"]},
        "cases": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "state", "next_date", "overdue", "blocked", "steps", "clocks"],
                "properties": {
                    "id": {"type": "string"},
                    "country": {"type": "string"},
                    "treaty": {"type": "string"},
                    "state": {"type": "string"},
                    "next_date": _DATE_OR_NULL,
                    "overdue": {"type": "boolean"},
                    "blocked": {"type": "boolean"},
                    "steps": {"type": "array", "items": {"type": "object"}},
                    "clocks": {"type": "array", "items": {"$ref": "#/components/schemas/Clock"}},
                    "effective_on": _DATE_OR_NULL,
                    "flags": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}

SEARCH = {
    "type": "object",
    "description": "`treatyflow search TEXT --json`: matching events, best first.",
    "required": ["query", "words", "case_id", "limit", "more", "hits"],
    "properties": {
        "query": {"type": "string"},
        "words": {"type": "array", "items": {"type": "string"}},
        "case_id": {"type": ["string", "null"]},
        "limit": {"type": "integer"},
        "more": {"type": "boolean"},
        "hits": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["case_id", "seq", "kind", "occurred_on", "snippet", "marks", "rank"],
                "properties": {
                    "case_id": {"type": "string"},
                    "seq": {"type": "integer"},
                    "kind": {"type": "string"},
                    "occurred_on": _DATE,
                    "recorded_at": {"type": "string"},
                    "snippet": {"type": "string"},
                    "marks": {
                        "type": "array",
                        "items": {
                            "type": "array",
                            "items": {"type": "integer"},
                            "minItems": 2,
                            "maxItems": 2,
                        },
                    },
                    "rank": {"type": "number"},
                },
            },
        },
    },
}

ERROR = {
    "type": "object",
    "required": ["error", "status"],
    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_AS_OF = {
    "name": "as_of",
    "in": "query",
    "required": False,
    "description": "The legal date to read as of (default: today).",
    "schema": _DATE,
}
_ERRORS = {
    "400": _json("Error", "Bad input (one sentence)."),
    "404": _json("Error", "No such case."),
}


def document() -> dict[str, Any]:
    """The OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "treatyflow web view",
            "version": __version__,
            "description": "Read-only JSON of `treatyflow serve`: the same documents as the "
            "command line's --json. Every other method than GET is 405.",
        },
        "paths": {
            "/api/pending": {
                "get": {
                    "summary": "What is pending (== `treatyflow pending --json`)",
                    "parameters": [_AS_OF],
                    "responses": {"200": _json("Pending", "The pending list."), **_ERRORS},
                }
            },
            "/api/cases/{case_id}": {
                "get": {
                    "summary": "One case (== `treatyflow case show CASE_ID --json`)",
                    "parameters": [
                        {
                            "name": "case_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "maxLength": 200},
                        },
                        _AS_OF,
                    ],
                    "responses": {"200": _json("Case", "The case."), **_ERRORS},
                }
            },
            "/api/search": {
                "get": {
                    "summary": "Full-text search (== `treatyflow search TEXT --json`)",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": True,
                            "description": "Plain words (at most 200 characters, 16 words).",
                            "schema": {"type": "string", "maxLength": 200},
                        },
                        {
                            "name": "case",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                        },
                    ],
                    "responses": {"200": _json("Search", "The hits."), **_ERRORS},
                }
            },
        },
        "components": {
            "schemas": {
                "Clock": CLOCK,
                "Case": CASE,
                "Pending": PENDING,
                "Search": SEARCH,
                "Error": ERROR,
            }
        },
    }
