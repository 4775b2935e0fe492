"""Full-text search over events' notes and sources (SQLite FTS5; PostgreSQL tsvector + GIN).

SQLite: ``events_search`` is a view of each event's searchable text (its note; its sources'
citations, references and URLs); ``events_fts`` is an FTS5 table of that text (row id = the
event's id), filled by a trigger on every insert into ``events`` (so in the same transaction
as the insert, whichever path inserts: a step, a new case, a bundle import) and emptied of a
row deleted from ``events`` (which only happens outside treatyflow). Existing events are
indexed here. (The FTS5 table keeps its own copy of the text: a view that reads JSON
cannot be an FTS5 table's external content, and the copy is small beside the log.)

PostgreSQL: ``treatyflow_event_text(note, sources)`` is the same text,
``treatyflow_event_document(note, sources)`` its ``tsvector`` (configuration ``simple``: no
stemming, the notes are in many languages; every run of characters other than letters and
digits is a word break first, as in SQLite's ``unicode61`` tokenizer, so that ``C.N.123.2025``
or a URL is words, not one host or file token), and a GIN index on that expression, which the
database keeps with every insert; existing rows are indexed when the index is created.

Nothing here is part of the evidence: the hash chain covers the ``events`` rows only.

Revision ID: 0002_16
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0002_16"
down_revision = "0002_13"
branch_labels = None
depends_on = None

# -- SQLite -------------------------------------------------------------------------------
SQLITE_UP = (
    """CREATE VIEW events_search AS
SELECT e.id AS id, coalesce(e.note, '') AS note,
  CASE WHEN json_valid(e.sources) AND json_type(e.sources) = 'array' THEN coalesce((
    SELECT group_concat(
      trim(coalesce(json_extract(s.value, '$.citation'), '') || ' ' ||
           coalesce(json_extract(s.value, '$.reference'), '') || ' ' ||
           coalesce(json_extract(s.value, '$.url'), '')), ' / ')
    FROM json_each(e.sources) AS s WHERE json_type(s.value) = 'object'), '')
  ELSE '' END AS sources
FROM events AS e""",
    """CREATE VIRTUAL TABLE events_fts USING fts5(
  note, sources, tokenize='unicode61 remove_diacritics 2')""",
    # OR REPLACE: a row id reused after rows were deleted outside treatyflow (events are
    # never deleted by it) must not make the insert of a new event fail
    """CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN
  INSERT OR REPLACE INTO events_fts (rowid, note, sources)
    SELECT id, note, sources FROM events_search WHERE id = new.id;
END""",
    """CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN
  DELETE FROM events_fts WHERE rowid = old.id;
END""",
    "INSERT INTO events_fts (rowid, note, sources) SELECT id, note, sources FROM events_search",
)

SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS events_fts_delete",
    "DROP TRIGGER IF EXISTS events_fts_insert",
    "DROP TABLE IF EXISTS events_fts",
    "DROP VIEW IF EXISTS events_search",
)

# -- PostgreSQL -------------------------------------------------------------------------------
PG_UP = (
    r"""CREATE OR REPLACE FUNCTION treatyflow_event_text(note text, sources text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  parsed jsonb;
  out text := '';
BEGIN
  BEGIN
    parsed := sources::jsonb;
  EXCEPTION WHEN others THEN
    parsed := NULL;  -- an unreadable row (edited outside treatyflow): its note only
  END;
  IF parsed IS NOT NULL AND jsonb_typeof(parsed) = 'array' THEN
    SELECT coalesce(string_agg(trim(
             coalesce(s ->> 'citation', '') || ' ' || coalesce(s ->> 'reference', '') || ' ' ||
             coalesce(s ->> 'url', '')), ' / '), '')
      INTO out
      FROM jsonb_array_elements(parsed) AS s
     WHERE jsonb_typeof(s) = 'object';
  END IF;
  RETURN coalesce(note, '') || E'\n' || out;
END
$$""",
    """CREATE OR REPLACE FUNCTION treatyflow_event_document(note text, sources text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_tsvector('simple'::regconfig,
    regexp_replace(treatyflow_event_text(note, sources), '[^[:alnum:]]+', ' ', 'g'))
$$""",
    """CREATE INDEX ix_events_search ON events
  USING gin (treatyflow_event_document(note, sources))""",
)

PG_DOWN = (
    "DROP INDEX IF EXISTS ix_events_search",
    "DROP FUNCTION IF EXISTS treatyflow_event_document(text, text)",
    "DROP FUNCTION IF EXISTS treatyflow_event_text(text, text)",
)


def upgrade() -> None:
    statements = SQLITE_UP if op.get_bind().dialect.name == "sqlite" else PG_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else PG_DOWN
    for statement in statements:
        op.execute(statement)
