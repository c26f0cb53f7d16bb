//! The one error type that crosses the wire. Server-side failures are logged where they happen
//! (see `server::error`) and reach the browser only as one of these variants, never as SQL,
//! paths or stack traces.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("please sign in")]
    Unauthorized,
    #[error("you are not allowed to do that")]
    Forbidden,
    /// Bad input, with a message meant for the person who sent it.
    #[error("{0}")]
    Invalid(String),
    /// Bad input in one field of a form: the field's name (to show the message beside it).
    #[error("{message}")]
    InvalidField { field: String, message: String },
    /// The upload is bigger than allowed (413), with the limit in the message.
    #[error("{0}")]
    TooLarge(String),
    #[error("too many requests; try again in a moment")]
    RateLimited,
    #[error("the service is temporarily unavailable; try again")]
    Unavailable,
    #[error("payment is unavailable right now; please try again in a moment")]
    PaymentUnavailable,
    #[error("something went wrong on our side; it has been logged")]
    Internal,
}

impl AppError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    pub fn status_code(&self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::Invalid(_) | Self::InvalidField { .. } => 400,
            Self::TooLarge(_) => 413,
            Self::RateLimited => 429,
            Self::Unavailable | Self::PaymentUnavailable => 503,
            Self::Internal => 500,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::Deserialization(message) => {
                Self::Invalid(format!("malformed request: {message}"))
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => Self::Unavailable,
            _ => Self::Internal,
        }
    }
}
