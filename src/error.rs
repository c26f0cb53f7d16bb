//! The one error type that crosses the wire. Server-side failures are logged where they happen
//! (see `server::error`) and reach the browser only as one of these variants, never as SQL,
//! paths or stack traces.

use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// On the wire (server functions and raw routes alike) an error is
/// `{"error": "invalidField", "message": "...", "field": "sourceUrl"}`: a code for programs, a
/// sentence for people, and for a form the field it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(into = "WireError", try_from = "WireError")]
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

/// Every error on the wire: `{error: code, message, field?}`.
#[derive(Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WireError {
    error: String,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl AppError {
    /// The error's code on the wire.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "notFound",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::Invalid(_) => "invalid",
            Self::InvalidField { .. } => "invalidField",
            Self::TooLarge(_) => "tooLarge",
            Self::RateLimited => "rateLimited",
            Self::Unavailable => "unavailable",
            Self::PaymentUnavailable => "paymentUnavailable",
            Self::Internal => "internal",
        }
    }
}

impl From<AppError> for WireError {
    fn from(error: AppError) -> Self {
        let field = match &error {
            AppError::InvalidField { field, .. } => Some(field.clone()),
            _ => None,
        };
        // In the language of whoever asked; the English `Display` is for logs.
        #[cfg(feature = "ssr")]
        let message = crate::labels::error_text(&error, crate::server::http::locale::reader_locale());
        #[cfg(not(feature = "ssr"))]
        let message = error.to_string();
        Self { error: error.code().to_owned(), message, field }
    }
}

impl TryFrom<WireError> for AppError {
    type Error = String;

    fn try_from(wire: WireError) -> Result<Self, String> {
        Ok(match (wire.error.as_str(), wire.field) {
            ("notFound", _) => Self::NotFound,
            ("unauthorized", _) => Self::Unauthorized,
            ("forbidden", _) => Self::Forbidden,
            ("invalid", _) => Self::Invalid(wire.message),
            ("invalidField", Some(field)) => Self::InvalidField { field, message: wire.message },
            ("tooLarge", _) => Self::TooLarge(wire.message),
            ("rateLimited", _) => Self::RateLimited,
            ("unavailable", _) => Self::Unavailable,
            ("paymentUnavailable", _) => Self::PaymentUnavailable,
            ("internal", _) => Self::Internal,
            (code, _) => return Err(format!("unknown error code {code:?}")),
        })
    }
}

impl FromServerFnError for AppError {
    type Encoder = crate::api::codec::JsonTextEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The server answers in its reader's language. The browser meets this only for an
            // answer it cannot decode: the shop's fault, not the shopper's.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Args(reason) | ServerFnErrorErr::Deserialization(reason) => {
                Self::invalid(crate::server::http::locale::message!(request.unreadable, reason))
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => Self::Unavailable,
            _ => Self::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AppError;

    #[test]
    fn every_error_goes_over_the_wire_as_code_message_and_field_and_comes_back() {
        let all = [
            AppError::NotFound,
            AppError::Unauthorized,
            AppError::Forbidden,
            AppError::invalid("no such size"),
            AppError::InvalidField { field: "sourceUrl".into(), message: "not a URL".into() },
            AppError::TooLarge("at most 10 MB".into()),
            AppError::RateLimited,
            AppError::Unavailable,
            AppError::PaymentUnavailable,
            AppError::Internal,
        ];
        for error in all {
            let json = serde_json::to_value(&error).unwrap();
            assert_eq!(json["error"], error.code(), "{json}");
            // Bad input keeps the sentence it was given; the other kinds are worded for people
            // (in the reader's language: tests/it/http.rs).
            let message = json["message"].as_str().unwrap();
            match error {
                AppError::Invalid(_) | AppError::InvalidField { .. } | AppError::TooLarge(_) => {
                    assert_eq!(message, error.to_string())
                }
                _ => assert!(message.ends_with('.') && message != error.to_string(), "{json}"),
            }
            assert_eq!(json.get("field").is_some(), matches!(error, AppError::InvalidField { .. }), "{json}");
            assert_eq!(serde_json::from_value::<AppError>(json).unwrap(), error);
        }
        assert!(serde_json::from_str::<AppError>(r#"{"error":"teapot","message":"short and stout"}"#).is_err());
    }
}
