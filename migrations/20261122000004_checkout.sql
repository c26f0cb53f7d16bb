-- Where the shopper pays: kept so a second click on Buy returns the same Checkout page.
ALTER TABLE orders ADD COLUMN stripe_session_url TEXT;
-- The double-click guard looks for the visitor's open order for the same print.
CREATE INDEX orders_open_for_visitor ON orders (visitor_id, painting_id, size, material, frame) WHERE status = 'pending';
-- Background jobs: pending orders past expiry, delivered orders due for completion.
CREATE INDEX orders_pending_expiry ON orders (expires_at) WHERE status = 'pending';
CREATE INDEX orders_delivered_at ON orders (delivered_at) WHERE status = 'delivered';
CREATE INDEX orders_payment_intent ON orders (stripe_payment_intent) WHERE stripe_payment_intent IS NOT NULL;
