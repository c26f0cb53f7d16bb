//! Protections every response and every state change goes through: security headers with a
//! per-response CSP nonce for pages, and a cross-site request check on everything that is not
//! a GET (Stripe's webhook excepted: it is server to server and signed).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

/// Only same-site paths: "/painting/3", never "//evil.example" or "https://...". Control
/// characters are refused too: browsers drop tabs and newlines from a URL, so "/\t/evil.example"
/// would become "//evil.example", and a CR/LF cannot go in a Location header at all; nor can
/// anything but ASCII (browsers send a page's own path percent-encoded).
pub fn is_local_path(path: &str) -> bool {
    path.is_ascii()
        && path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
        && path.len() <= 512
}

/// For pages: scripts only from us or with this response's nonce (the hydration script), WASM
/// allowed to compile, nothing framing us. Inline `style` attributes carry card aspect ratios.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob: https:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    )
}

/// For everything that is not a page (JSON, media, assets): nothing may run or frame it.
const NON_PAGE_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'self'; frame-ancestors 'none'; sandbox";
const UNRENDERED_PAGE_CSP: &str = "default-src 'self'; script-src 'none'; frame-ancestors 'none'";

/// Pages with a shopper's or an admin's own data (addresses, orders): not even kept on disk.
const PERSONAL_PAGES: &[&str] = &["/admin", "/order"];

/// Whether browsers are told to use https only (the public URL is https).
#[derive(Debug, Clone, Copy)]
pub struct Hsts(pub bool);

pub async fn security_headers(State(hsts): State<Hsts>, request: Request, next: Next) -> Response {
    let personal = PERSONAL_PAGES.iter().any(|prefix| request.uri().path().starts_with(prefix));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if hsts.0 {
        // Not includeSubDomains: the shop may live on an apex domain whose subdomains are not ours.
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    let is_html =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    // Pages are made for one visitor and change with every deploy: never stored for reuse
    // without asking (the hashed assets they link are the part that is cached).
    if is_html && !headers.contains_key(header::CACHE_CONTROL) {
        let policy = if personal { "no-store" } else { "private, no-cache" };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    // A page speaks the language its cookie or the browser's Accept-Language chose.
    if is_html {
        headers.append(header::VARY, HeaderValue::from_static("accept-language, cookie"));
    }
    // Pages rendered by the shell already carry their nonce CSP.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        // An HTML response the shell did not render (an error page) gets no scripts at all.
        let policy = if is_html { UNRENDERED_PAGE_CSP } else { NON_PAGE_CSP };
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    }
    response
}

/// Paths exempt from the cross-site check because they authenticate otherwise.
const SIGNED_ELSEWHERE: &[&str] = &["/api/webhooks/stripe"];

/// Refuses state changes a browser sent on another site's behalf. Browsers send
/// `Sec-Fetch-Site`; older ones send `Origin`, which must then be our public origin. A request
/// with neither is not from a browser page, so it carries no ambient cookies to abuse.
pub async fn refuse_cross_site(State(public_origin): State<String>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || SIGNED_ELSEWHERE.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let allowed = match (fetch_site, origin) {
        (Some(site), _) => site == "same-origin" || site == "none",
        (None, Some(origin)) => origin == public_origin,
        (None, None) => true,
    };
    if !allowed {
        tracing::warn!(path = %request.uri().path(), ?fetch_site, ?origin, "cross-site request refused");
        return AppError::Forbidden.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_this_site() {
        assert!(is_local_path("/painting/3#wall"));
        assert!(is_local_path("/search?q=%E7%9D%A1%E8%8E%B2"), "percent-encoded is ASCII");
        for bad in [
            "/search?q=睡莲",
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "painting/3",
            "/\t/evil.example",
            "/feed\r\nSet-Cookie: x=1",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }
}
