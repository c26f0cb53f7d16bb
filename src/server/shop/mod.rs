//! Selling prints: orders (the one owner of the orders table), checkout, Stripe payments and
//! their webhook, fulfilment, and the order jobs that reconcile with Stripe.

pub mod checkout;
pub mod fulfilment;
pub mod order_jobs;
pub mod order_notes;
pub mod orders;
pub mod payments;
