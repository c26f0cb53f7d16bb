-- Admin sessions end after a while without use as well as at their expiry
-- (ARTWALL_ADMIN_IDLE_MINUTES; src/server/http/auth.rs owns the table).
ALTER TABLE admin_sessions ADD COLUMN last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now();
