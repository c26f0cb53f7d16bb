-- What the feed adds to the taste (src/server/discovery/feed.rs).
--
-- The paintings a visitor recently saved, shared or bought, newest first, written by the
-- ordinal learner, and the unseen paintings nearest each of them, found by the worker: the feed
-- also shows those, so a visitor with two or three interests sees all of them, and says why
-- ("Because you saved ...").
ALTER TABLE user_preferences ADD COLUMN liked BIGINT[] NOT NULL DEFAULT '{}',
    ADD COLUMN liked_near BIGINT[] NOT NULL DEFAULT '{}';

-- Everyone's reactions to each painting, counted once each by the taste worker as it learns
-- them: the feed's popularity offset.
CREATE TABLE painting_reactions (
    painting_id BIGINT PRIMARY KEY REFERENCES paintings (id) ON DELETE CASCADE,
    shown       INT NOT NULL DEFAULT 0 CHECK (shown >= 0),
    liked       INT NOT NULL DEFAULT 0 CHECK (liked >= 0),
    hidden      INT NOT NULL DEFAULT 0 CHECK (hidden >= 0)
);
