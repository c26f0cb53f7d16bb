-- Failed admin sign-ins in a row, per network and per account, shared by every instance of the
-- shop (the delay they cause must hold whichever instance answers). Owned by http::sign_in.
CREATE TABLE sign_in_failures (
    -- "network:<address or /64>" or "account:<sha-256 of the lowercased email>": no email in clear.
    key            TEXT PRIMARY KEY,
    failures       INT NOT NULL CHECK (failures > 0),
    last_failed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
