-- The shared console (`streetwatch console`) reads Kafka topics. Where it stands in
-- each partition is kept here, written in the same transaction as what it read: a
-- record is stored exactly once however often it is delivered, and a console started
-- on an empty database reads every topic from its beginning (a rebuild).
CREATE TABLE source_positions (
    topic       TEXT NOT NULL,
    partition   INTEGER NOT NULL,
    -- The offset of the next record to read.
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
);

-- The newest CameraStatus of each camera (the camera-status topic, compacted), as
-- the workers published it. Staleness is judged when read: a heartbeat that stopped
-- says more than the last state it carried.
CREATE TABLE camera_status (
    camera                TEXT PRIMARY KEY,
    site                  TEXT NOT NULL DEFAULT '',
    grid                  TEXT NOT NULL DEFAULT '',
    state                 TEXT NOT NULL,
    since_ms              INTEGER NOT NULL,
    last_error            TEXT NOT NULL DEFAULT '',
    fps                   REAL NOT NULL DEFAULT 0,
    worker                TEXT NOT NULL DEFAULT '',
    reported_at_ms        INTEGER NOT NULL,
    heartbeat_interval_ms INTEGER NOT NULL DEFAULT 0,
    last_frame_ms         INTEGER NOT NULL DEFAULT 0
);

-- The cameras of the assignment topic (compacted): the cluster's camera list. Camera
-- health lists these, with their newest status; a camera no worker reports on shows
-- stale, and a camera removed from the list disappears with its status.
CREATE TABLE assigned_cameras (
    camera TEXT PRIMARY KEY,
    site   TEXT NOT NULL DEFAULT '',
    grid   TEXT NOT NULL DEFAULT ''
);

-- Where an incident happened, for districts (accounts limited to sites or grids).
ALTER TABLE incidents ADD COLUMN site TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN grid TEXT NOT NULL DEFAULT '';
