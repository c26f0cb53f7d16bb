-- Indexes for the admin dashboard, where every figure is one query.
-- Orders and revenue per day of payment.
CREATE INDEX orders_paid_at ON orders (paid_at) WHERE paid_at IS NOT NULL;
-- The 7-day funnel counts event types by time: an index-only scan with the type included.
DROP INDEX activities_created;
CREATE INDEX activities_created ON activities (created_at) INCLUDE (event_type);
-- The backlog: how many events wait, and the oldest one's age.
CREATE INDEX activities_backlog ON activities (created_at) WHERE NOT processed;
-- Visitors with a taste.
CREATE INDEX user_preferences_with_taste ON user_preferences (visitor_id) WHERE taste IS NOT NULL;
