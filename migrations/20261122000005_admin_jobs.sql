-- Admin batch jobs work item by item, so that a job survives a restart (the items still
-- pending are simply picked up again) and failed items can be retried on their own.
CREATE TABLE batch_job_items (
    job_id      UUID NOT NULL REFERENCES batch_jobs (id) ON DELETE CASCADE,
    position    INT NOT NULL CHECK (position >= 0),
    -- Import: the row as given (metadata and imageUrl). Re-embed: {"paintingId": ...}.
    payload     JSONB NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    -- Why it failed, or what happened ("added", "already in the catalogue").
    outcome     TEXT CHECK (length(outcome) <= 1000),
    painting_id BIGINT REFERENCES paintings (id) ON DELETE SET NULL,
    attempts    INT NOT NULL DEFAULT 0,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, position)
);
CREATE INDEX batch_job_items_pending ON batch_job_items (job_id, position) WHERE status = 'pending';
CREATE INDEX batch_job_items_failed ON batch_job_items (job_id, position) WHERE status = 'failed';

-- Who runs the job and when it last showed signs of life: a running job whose heartbeat is
-- stale was interrupted (its server stopped) and is resumed by the next runner.
ALTER TABLE batch_jobs
    ADD COLUMN runner       TEXT,
    ADD COLUMN heartbeat_at TIMESTAMPTZ,
    ADD COLUMN resumes      INT NOT NULL DEFAULT 0;

-- What admins did: who, what, when, and the state before and after.
CREATE TABLE audit_log (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    admin_id   BIGINT REFERENCES admin_users (id) ON DELETE SET NULL,
    action     TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
    subject    TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    before     JSONB,
    after      JSONB,
    at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_subject ON audit_log (subject, at DESC);

-- The admin catalogue list counts orders per painting.
CREATE INDEX orders_painting ON orders (painting_id);
