-- Visitor cookies are signed from now on (src/server/http/visitor.rs owns this table). The
-- visitors who exist today carry an unsigned cookie: each is accepted once, for an id listed
-- here, and exchanged for a signed one, so nobody loses their taste, saves or orders.
CREATE TABLE legacy_visitors (
    visitor_id UUID PRIMARY KEY
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
