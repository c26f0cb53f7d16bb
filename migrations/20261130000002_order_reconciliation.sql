-- When order jobs last tried to reconcile a pending order with Stripe and could not: the next
-- round starts with the orders tried least recently, so one that keeps failing cannot hold up
-- the rest (src/server/shop/order_jobs.rs; the column belongs to orders.rs like the table).
ALTER TABLE orders ADD COLUMN reconcile_attempted_at TIMESTAMPTZ;
