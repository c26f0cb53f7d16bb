-- Every instance keeps figures computed from the published catalogue (the feed's landmarks, the
-- taste learner's basis). A transaction that adds, removes, publishes, hides or re-embeds
-- paintings notifies `catalogue_changed` when it commits (Postgres sends one notice per
-- transaction however many rows it touched), and each instance drops those figures
-- (discovery::catalogue_changes). A trigger, so no writer of `paintings` can forget it.
CREATE FUNCTION notify_catalogue_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('catalogue_changed', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER catalogue_changed
    AFTER INSERT OR DELETE OR UPDATE OF published, embedding, embedding_model OR TRUNCATE ON paintings
    FOR EACH STATEMENT EXECUTE FUNCTION notify_catalogue_changed();
