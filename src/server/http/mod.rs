//! Who is asking and whether to answer: the visitor cookie, admin sessions, rate limits, and
//! the headers and origin checks every response gets.

pub mod auth;
pub mod limits;
pub mod locale;
pub mod openapi;
pub mod request_id;
pub mod security;
pub mod sign_in;
pub mod visitor;
