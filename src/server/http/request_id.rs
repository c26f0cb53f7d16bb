//! Every request carries an `x-request-id`: the client's when it sent a sensible one, a fresh
//! UUID otherwise. It goes back on the response and names the span every log line of the request
//! is written in, so an operator can find one request's lines (and a client can quote its id).

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client's id is kept when it is 1 to 64 letters, digits, `-`, `_` or `.`: enough for UUIDs
/// and tracing ids, nothing that could forge a log line or carry a payload.
pub fn is_valid(id: &[u8]) -> bool {
    (1..=64).contains(&id.len()) && id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Middleware: drops a request id that is not valid, so that `SetRequestIdLayer` makes a new one.
pub async fn drop_invalid(mut request: Request, next: Next) -> Response {
    if request.headers().get(&REQUEST_ID).is_some_and(|id| !is_valid(id.as_bytes())) {
        request.headers_mut().remove(&REQUEST_ID);
    }
    next.run(request).await
}

/// The span of one request: its id, method and route pattern. The route, not the path: paths
/// can carry secrets (a room photo's token), patterns cannot.
pub fn span(request: &Request) -> tracing::Span {
    let id = request.headers().get(&REQUEST_ID).and_then(|id| id.to_str().ok()).unwrap_or("-");
    let route = request.extensions().get::<MatchedPath>().map_or("-", MatchedPath::as_str);
    tracing::info_span!("request", id, method = %request.method(), route)
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn sensible_ids_are_kept_and_anything_else_is_not() {
        for id in ["0b7c2f8e-8c4f-4a52-9d8e-2f1c7c6f5a10", "abc", "req_1.2-3", &"a".repeat(64)] {
            assert!(is_valid(id.as_bytes()), "{id}");
        }
        for id in ["", "has space", "line\nbreak", "quote\"", "ünïcode", &"a".repeat(65), "{\"json\":1}"] {
            assert!(!is_valid(id.as_bytes()), "{id:?}");
        }
    }
}
