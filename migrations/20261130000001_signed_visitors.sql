-- Visitor cookies are signed from now on (src/server/http/visitor.rs owns this table). The
-- visitors who exist today carry an unsigned cookie: an id listed here is accepted unsigned and
-- exchanged for a signed cookie, so nobody loses their taste, saves or orders. The exchange stays
-- open for a short while after the first one (two tabs, a lost response), then closes for good;
-- ids nobody comes back for stop working after a deadline (see visitor.rs).
CREATE TABLE legacy_visitors (
    visitor_id UUID PRIMARY KEY,
    listed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    claimed_at TIMESTAMPTZ
);

INSERT INTO legacy_visitors (visitor_id)
SELECT visitor_id FROM user_preferences
UNION SELECT visitor_id FROM activities
UNION SELECT visitor_id FROM shown_paintings
UNION SELECT visitor_id FROM saved_paintings
UNION SELECT visitor_id FROM hidden_paintings
UNION SELECT visitor_id FROM orders
UNION SELECT visitor_id FROM room_photos
UNION SELECT visitor_id FROM feed_candidates;
