-- The ordinal learner's utility weighs likeness to each liked painting (viewed or better) and
-- keeps the scale of its taste, so the feed can re-score its candidates with the same utility
-- (src/server/discovery/taste_model.rs). `liked_weights` lines up with `liked`.
ALTER TABLE user_preferences ADD COLUMN liked_weights REAL[] NOT NULL DEFAULT '{}',
    ADD COLUMN taste_strength REAL CHECK (taste_strength >= 0);
-- Paintings liked before this count as much as one like usually does until the next refit.
UPDATE user_preferences SET liked_weights = array_fill(1::real, ARRAY[cardinality(liked)]) WHERE cardinality(liked) > 0;
ALTER TABLE user_preferences ADD CONSTRAINT liked_weights_line_up CHECK (cardinality(liked_weights) = cardinality(liked));
