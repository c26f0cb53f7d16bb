//! The admin console's own data: the dashboard's figures and the audit log of admin actions.

pub mod audit;
pub mod dashboard;
