-- The browser re-sends a batch when it cannot tell whether the last one arrived; each event
-- carries a client-generated id so that a re-sent event is stored once.
ALTER TABLE activities ADD COLUMN client_event_id UUID;
CREATE UNIQUE INDEX activities_client_event ON activities (visitor_id, client_event_id) WHERE client_event_id IS NOT NULL;

-- When each background worker last ran (the admin console shows it).
CREATE TABLE worker_heartbeats (
    worker     TEXT PRIMARY KEY,
    last_run   TIMESTAMPTZ NOT NULL,
    processed  BIGINT NOT NULL DEFAULT 0
);
