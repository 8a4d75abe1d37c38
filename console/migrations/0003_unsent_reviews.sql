-- Operator decisions not yet handed to the router (its outbox refused them: a full
-- disk, a router that has stopped). Written in the decision's own transaction and
-- removed once the router has the event, so every decision goes out at least once:
-- they are retried every few seconds and at the next start.
CREATE TABLE unsent_reviews (
    review_id     TEXT PRIMARY KEY,
    -- The REVIEWED event (protobuf streetwatch.v1.Incident).
    event         BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL
);
