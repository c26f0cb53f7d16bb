//! The visitor's language, chosen on the server before anything renders: an explicit choice (the
//! header's switcher, kept in a cookie) wins, then the browser's `Accept-Language`, then Chinese,
//! the shop's own language. Also the time zone that pages show times in.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use leptos_i18n::Locale as _;
use serde::Deserialize;

use crate::error::AppError;
use crate::i18n::Locale;
use crate::server::error::wants_json;
use crate::server::http::security::is_local_path;
use crate::server::state::AppState;
use crate::types::TIME_ZONE_COOKIE;

/// Holds a language code (`zh-CN`, `en`) and nothing else.
const LOCALE_COOKIE: &str = "artwall_locale";
const REMEMBERED_FOR: time::Duration = time::Duration::days(365);
const SHOP_TIME_ZONE: &str = "Asia/Shanghai";

pub fn request_locale(headers: &HeaderMap) -> Locale {
    let chosen = CookieJar::from_headers(headers).get(LOCALE_COOKIE).and_then(|cookie| cookie.value().parse().ok());
    chosen.unwrap_or_else(|| {
        let accepted = headers.get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok()).unwrap_or_default();
        // Best first; `q=0` means "not this one".
        accept_language::parse_with_quality(accepted)
            .iter()
            .filter(|(_, quality)| *quality > 0.0)
            .find_map(|(tag, _)| speaking(tag))
            .unwrap_or_default()
    })
}

tokio::task_local! {
    /// The language of the request being answered, for what code far from the handler writes.
    static READER_LOCALE: Locale;
}

/// Middleware: the request's language, for the messages code deep in the shop writes to the
/// person who asked (`message!`).
pub async fn remember_reader_locale(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let locale = request_locale(request.headers());
    READER_LOCALE.scope(locale, next.run(request)).await
}

/// The language of whoever the current request is for: in a page render or server function, from
/// its request (leptos's context, which follows tasks the middleware's scope does not reach);
/// elsewhere in a request, from the middleware. Outside any request the reader is an operator (the
/// CLI, startup, logs): English.
pub fn reader_locale() -> Locale {
    if let Some(parts) = leptos::prelude::use_context::<axum::http::request::Parts>() {
        return request_locale(&parts.headers);
    }
    READER_LOCALE.try_with(|locale| *locale).unwrap_or(Locale::en)
}

/// A sentence for the person the current request is for, in their language: the key (and its
/// arguments) of `problem` in locales/*.json, as in `message!(search.too_long, max = 200)`.
macro_rules! message {
    ($key:ident . $name:ident $(, $($args:tt)*)?) => {
        $crate::i18n::td_string!($crate::server::http::locale::reader_locale(), problem.$key.$name $(, $($args)*)?)
            .to_string()
    };
}
pub(crate) use message;

/// The time zone the browser reported (its cookie, set by the client code), China time otherwise
/// or when the name is not a zone.
pub fn request_zone(headers: &HeaderMap) -> jiff::tz::TimeZone {
    CookieJar::from_headers(headers)
        .get(TIME_ZONE_COOKIE)
        .and_then(|cookie| jiff::tz::TimeZone::get(cookie.value()).ok())
        .unwrap_or_else(|| jiff::tz::TimeZone::get(SHOP_TIME_ZONE).expect("the bundled database has China time"))
}

/// The reader's time zone inside a server function or page render.
pub fn current_zone() -> jiff::tz::TimeZone {
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>();
    request_zone(parts.as_ref().map(|parts| &parts.headers).unwrap_or(&HeaderMap::new()))
}

/// Ours in the language of `tag`, whatever its region or script: one Chinese and one English
/// serve them all (leptos_i18n's own matching would not give `zh` or `zh-TW` our `zh-CN`).
fn speaking(tag: &str) -> Option<Locale> {
    let language = |tag: &str| tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
    Locale::get_all().iter().copied().find(|locale| language(locale.as_str()) == language(tag))
}

/// The switcher's form.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LocaleChoice {
    /// `zh-CN` or `en`.
    locale: String,
    /// The page to go back to (a local path); the home page otherwise.
    #[serde(default)]
    next: Option<String>,
}

/// The language now chosen (the JSON answer).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ChosenLocale {
    locale: String,
}

/// `POST /api/locale`: remembers the language and sends the browser back to its page (303).
#[utoipa::path(post, path = "/api/locale", tag = "language",
    description = "The header's language switch, a plain form: remembers the language for a year in the \
        `artwall_locale` cookie, which pages then speak whatever the browser's Accept-Language, and sends the browser \
        back to `next` (a local path; the home page otherwise). With `Accept: application/json` it answers instead.",
    request_body(content = LocaleChoice, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, body = ChosenLocale, description = "The cookie is set (`Accept: application/json`)"),
        (status = 303, description = "Back to `next`, with the cookie set"),
    ))]
pub async fn choose_locale(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LocaleChoice>, FormRejection>,
) -> Response {
    // Like every other bad input: a 400 that says what is wrong.
    let choice = match form {
        Ok(Form(choice)) => choice,
        Err(rejection) => {
            return AppError::invalid(message!(request.unreadable, reason = rejection.body_text())).into_response()
        }
    };
    let Ok(locale) = choice.locale.parse::<Locale>() else {
        return AppError::invalid(message!(language.unknown)).into_response();
    };
    let next = choice.next.filter(|path| is_local_path(path)).unwrap_or_else(|| "/".to_owned());
    let cookie = Cookie::build((LOCALE_COOKIE, locale.to_string()))
        .path("/")
        .http_only(true)
        .secure(state.config.cookies_secure())
        .same_site(SameSite::Lax)
        .max_age(REMEMBERED_FOR)
        .build();
    let set_cookie = [(header::SET_COOKIE, cookie.to_string())];
    if wants_json(&headers) {
        return (set_cookie, Json(ChosenLocale { locale: locale.to_string() })).into_response();
    }
    (set_cookie, Redirect::to(&next)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locale_of(headers: &[(&str, &str)]) -> Locale {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(name.parse::<header::HeaderName>().unwrap(), value.parse().unwrap());
        }
        request_locale(&map)
    }

    #[test]
    fn a_choice_outranks_the_browser_which_outranks_chinese() {
        assert_eq!(locale_of(&[]), Locale::zh_CN, "nothing said: the shop's own language");
        assert_eq!(locale_of(&[("accept-language", "en-GB,en;q=0.9")]), Locale::en);
        assert_eq!(locale_of(&[("accept-language", "fr-FR,en;q=0.5,zh;q=0.8")]), Locale::zh_CN, "by quality");
        assert_eq!(locale_of(&[("accept-language", "zh-TW,en;q=0.5")]), Locale::zh_CN, "the nearest Chinese");
        assert_eq!(locale_of(&[("accept-language", "de, en-US;q=0.7")]), Locale::en, "the first we speak");
        assert_eq!(locale_of(&[("accept-language", "en;q=0, fr")]), Locale::zh_CN, "q=0 refuses");
        assert_eq!(locale_of(&[("accept-language", "zh_CN")]), Locale::zh_CN);
        assert_eq!(locale_of(&[("accept-language", "*")]), Locale::zh_CN, "anything: ours");
        assert_eq!(locale_of(&[("accept-language", "fr, de")]), Locale::zh_CN, "nothing we speak");
        assert_eq!(locale_of(&[("accept-language", "zh-CN"), ("cookie", "artwall_locale=en")]), Locale::en);
        assert_eq!(locale_of(&[("accept-language", "en"), ("cookie", "a=1; artwall_locale=zh-CN")]), Locale::zh_CN);
        assert_eq!(
            locale_of(&[("accept-language", "en"), ("cookie", "artwall_locale=klingon")]),
            Locale::en,
            "a cookie we cannot read is no choice"
        );
    }
}
