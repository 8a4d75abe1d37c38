-- streetwatch console schema, version 1. Migrations only ever add: a new file
-- 000N_*.sql, applied once in order (PRAGMA user_version counts them).

-- One row per incident: its newest state, what the feed lists.
CREATE TABLE incidents (
    id            TEXT PRIMARY KEY,
    -- Sequence number of the newest event of this incident (incident_events.seq):
    -- what a reconnecting feed catches up from.
    last_seq      INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    -- Pipeline state: 'open' until ENDED, then 'ended'.
    phase         TEXT NOT NULL,
    -- Operator state: 'new', 'acknowledged', 'dismissed', 'resolved'.
    review        TEXT NOT NULL DEFAULT 'new',
    camera        TEXT NOT NULL,
    zone_id       TEXT NOT NULL,
    zone_name     TEXT NOT NULL,
    severity      TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    ended_at_ms   INTEGER,
    dwell_secs    REAL NOT NULL,
    object_count  INTEGER NOT NULL,
    summary       TEXT NOT NULL,
    snapshot_uri  TEXT NOT NULL DEFAULT '',
    clip_uri      TEXT NOT NULL DEFAULT '',
    -- Revision of the newest pipeline event, and that event (streetwatch.v1.Incident).
    revision      INTEGER NOT NULL,
    latest        BLOB NOT NULL
);
-- The feed: newest first, unfiltered or by one filter (keyset pagination).
CREATE INDEX incidents_by_start ON incidents (started_at_ms DESC, id DESC);
CREATE INDEX incidents_by_kind ON incidents (kind, started_at_ms DESC, id DESC);
CREATE INDEX incidents_by_camera ON incidents (camera, started_at_ms DESC, id DESC);
CREATE INDEX incidents_by_zone ON incidents (zone_id, started_at_ms DESC, id DESC);
CREATE INDEX incidents_by_phase ON incidents (phase, started_at_ms DESC, id DESC);
CREATE INDEX incidents_by_review ON incidents (review, started_at_ms DESC, id DESC);
CREATE INDEX incidents_by_seq ON incidents (last_seq);

-- Every event of every incident, pipeline and operator: the incident's timeline.
CREATE TABLE incident_events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  TEXT NOT NULL,
    phase        TEXT NOT NULL,
    revision     INTEGER NOT NULL,
    -- Delivery is at-least-once: (id, revision) for pipeline events, the review id
    -- for operator decisions.
    dedupe_key   TEXT NOT NULL UNIQUE,
    at_ms        INTEGER NOT NULL,
    cause        TEXT NOT NULL DEFAULT '',
    summary      TEXT NOT NULL DEFAULT '',
    dwell_secs   REAL NOT NULL DEFAULT 0,
    object_count INTEGER NOT NULL DEFAULT 0,
    -- JSON array of {class, score, box:[x,y,w,h]}.
    objects      TEXT NOT NULL DEFAULT '[]',
    action       TEXT,
    operator     TEXT,
    note         TEXT
);
CREATE INDEX incident_events_by_incident ON incident_events (incident_id, seq);

-- Every operator action and login, who, when, from where.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms    INTEGER NOT NULL,
    user     TEXT NOT NULL,
    role     TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL DEFAULT '',
    detail   TEXT NOT NULL DEFAULT '',
    remote   TEXT NOT NULL DEFAULT '',
    outcome  TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (at_ms DESC);

-- Logged-in sessions. Only a hash of the cookie's token is kept: a copy of the
-- database does not log anyone in.
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    user         TEXT NOT NULL,
    role         TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_ms);
