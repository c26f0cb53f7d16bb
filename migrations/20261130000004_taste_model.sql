-- The ordinal taste learner (src/server/discovery/taste_model.rs).
--
-- The catalogue's principal components, per embedding model: the learner's shared basis.
-- `components` holds `dimensions` rows of 512, row after row.
CREATE TABLE taste_bases (
    embedding_model TEXT PRIMARY KEY,
    painting_count  INT NOT NULL,
    dimensions      INT NOT NULL CHECK (dimensions >= 0),
    mean            vector(512) NOT NULL,
    components      REAL[] NOT NULL,
    scales          REAL[] NOT NULL,
    computed_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (cardinality(components) = dimensions * 512 AND cardinality(scales) = dimensions)
);

-- Where a visitor's taste starts (their home styles, blended with room photos), and since when:
-- the learner refits from events after `prior_at` around `prior`. Existing tastes become priors,
-- so what the seed rule learned is kept, from their newest learned event on, so events still
-- waiting are learned by the new learner.
ALTER TABLE user_preferences ADD COLUMN prior vector(512), ADD COLUMN prior_at TIMESTAMPTZ;
UPDATE user_preferences u SET prior = taste,
    prior_at = coalesce((SELECT max(created_at) FROM activities a WHERE a.visitor_id = u.visitor_id AND a.processed), now())
WHERE taste IS NOT NULL;

-- The learner reads each visitor's latest events about paintings, newest first.
CREATE INDEX activities_visitor_history ON activities (visitor_id, id DESC) WHERE painting_id IS NOT NULL;
