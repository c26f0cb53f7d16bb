-- Admin sign-in attempts per network in the current minute, shared by every instance of the shop
-- (the per-minute limit must hold in total, whichever instance answers). Owned by http::sign_in.
CREATE TABLE sign_in_attempts (
    -- An IPv4 address or an IPv6 /64.
    network           TEXT PRIMARY KEY,
    window_started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts          INT NOT NULL DEFAULT 1 CHECK (attempts > 0)
);
