-- Every instance keeps figures computed from the published catalogue (the feed's landmarks, the
-- taste learner's basis). A transaction that adds, removes, publishes, hides or re-embeds
-- paintings notifies `catalogue_changed` when it commits (Postgres folds a transaction's identical
-- notices into one), and each instance drops those figures (discovery::catalogue_changes).
-- Row triggers, so that a statement that changes nothing (a re-import that adds nothing, an edit
-- of a title) notifies nobody; a trigger, so that no writer of `paintings` can forget it.
CREATE FUNCTION notify_catalogue_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('catalogue_changed', '');
    RETURN NULL;
END
$$;

-- A draft (not published) is in no figure.
CREATE TRIGGER catalogue_added
    AFTER INSERT ON paintings
    FOR EACH ROW WHEN (NEW.published) EXECUTE FUNCTION notify_catalogue_changed();

CREATE TRIGGER catalogue_removed
    AFTER DELETE ON paintings
    FOR EACH ROW WHEN (OLD.published) EXECUTE FUNCTION notify_catalogue_changed();

CREATE TRIGGER catalogue_changed
    AFTER UPDATE OF published, embedding, embedding_model ON paintings
    FOR EACH ROW
    -- Vectors compared as text: a restore (pg_restore runs with an empty search_path) cannot
    -- find pgvector's `=` for a trigger condition.
    WHEN (OLD.published IS DISTINCT FROM NEW.published
          OR OLD.embedding::text IS DISTINCT FROM NEW.embedding::text
          OR OLD.embedding_model IS DISTINCT FROM NEW.embedding_model)
    EXECUTE FUNCTION notify_catalogue_changed();

CREATE TRIGGER catalogue_truncated
    AFTER TRUNCATE ON paintings
    FOR EACH STATEMENT EXECUTE FUNCTION notify_catalogue_changed();
