-- Why an item failed, typed (AddFailure in src/server/catalogue/mod.rs), so each admin reads it in
-- their own language. `outcome` keeps the English reasons of items that failed before this.
ALTER TABLE batch_job_items ADD COLUMN failure JSONB;
