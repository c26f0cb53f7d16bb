//! Operating the shop: the dashboard's figures, the audit log of admin actions, and retention.

pub mod audit;
pub mod dashboard;
pub mod retention;
