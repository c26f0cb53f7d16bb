-- What a timeline row records, typed (src/server/shop/order_notes.rs), so each reader sees it in
-- their own language. `note` keeps an English text, what older versions show.
ALTER TABLE order_events ADD COLUMN IF NOT EXISTS detail JSONB;

-- Rows written before: the notes the shop wrote in fixed words become their kinds. Others (about
-- amounts, which the staff reads) keep their English text.
UPDATE order_events SET detail = jsonb_build_object('kind', CASE note
        WHEN 'order placed' THEN 'placed'
        WHEN 'shipping address changed' THEN 'address_changed'
        WHEN 'checkout session expired' THEN 'session_expired'
        WHEN 'not paid within the checkout window' THEN 'not_paid_in_time'
        WHEN 'the delayed payment failed (checkout.session.async_payment_failed)' THEN 'delayed_payment_failed'
        WHEN 'the payment provider could not start a checkout' THEN 'checkout_not_started'
    END)
WHERE detail IS NULL AND note IN ('order placed', 'shipping address changed', 'checkout session expired',
    'not paid within the checkout window', 'the delayed payment failed (checkout.session.async_payment_failed)',
    'the payment provider could not start a checkout');
UPDATE order_events
SET detail = jsonb_build_object('kind', 'paid', 'via', substring(note FROM '^payment completed \(([a-z_.]+)\)$'))
WHERE detail IS NULL AND note ~ '^payment completed \([a-z_.]+\)$';
UPDATE order_events
SET detail = jsonb_build_object('kind', 'shipped', 'tracking', substring(note FROM '^shipped with tracking number (.+)$'))
WHERE detail IS NULL AND note ~ '^shipped with tracking number .+$';
UPDATE order_events
SET detail = jsonb_build_object('kind', 'moved_by_admin', 'to', substring(note FROM '^moved to ([a-z]+) by an admin$'))
WHERE detail IS NULL AND note ~ '^moved to [a-z]+ by an admin$';
UPDATE order_events
SET detail = jsonb_build_object('kind', 'auto_completed',
    'days', substring(note FROM '^completed automatically ([0-9]{1,4}) days after delivery$')::int)
WHERE detail IS NULL AND note ~ '^completed automatically [0-9]{1,4} days after delivery$';
