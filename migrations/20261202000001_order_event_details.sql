-- What a timeline row records, typed (src/server/shop/order_notes.rs), so each reader sees it in
-- their own language. `note` keeps the English text of rows written before this and is no longer
-- written.
ALTER TABLE order_events ADD COLUMN detail JSONB;
