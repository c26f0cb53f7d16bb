-- The nearest unseen paintings that a visitor's last deep index scan found. Pages are the best of
-- them re-ranked against the current taste, until they run out or the taste has moved on; then
-- the next scan replaces them. One deep scan thus serves many pages.
CREATE TABLE feed_candidates (
    visitor_id   UUID PRIMARY KEY,
    taste        vector(512) NOT NULL,
    painting_ids BIGINT[] NOT NULL,
    found_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
