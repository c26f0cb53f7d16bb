//! ArtWall: one crate, two builds. `ssr` is the axum server (everything under `server/`),
//! `hydrate` is the WASM client; pages, components and shared types compile into both.

#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod codes;
pub mod components;
pub mod error;
pub mod events;
pub mod labels;
pub mod order_status;
pub mod pages;
pub mod pricing;
pub mod styles;
pub mod tracking;
pub mod types;

#[cfg(feature = "ssr")]
pub mod server;

// `i18n`: the `Locale` enum, `use_i18n`, `t!` and the texts of locales/*.json (see build.rs).
include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show_broken_page_notice();
    }));
    report_time_zone();
    // What `hydrate_lazy` does, with the marker set once hydration (which waits for the chunks
    // of lazy routes) is done.
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document().body().expect("a page has a body");
        leptos::mount::hydrate_from_async(body.clone(), app::App).await.forget();
        // End-to-end tests wait for this before they click.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}

/// Tells the server the browser's time zone (a cookie) so that pages show times in it from the
/// next request on; until then they show China time.
#[cfg(feature = "hydrate")]
fn report_time_zone() {
    use wasm_bindgen::JsCast;
    let options = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new()).resolved_options();
    let Some(zone) = js_sys::Reflect::get(&options, &"timeZone".into()).ok().and_then(|zone| zone.as_string()) else {
        return;
    };
    let secure =
        if leptos::prelude::window().location().protocol().as_deref() == Ok("https:") { "; Secure" } else { "" };
    let cookie = format!("{}={zone}; Path=/; Max-Age=31536000; SameSite=Lax{secure}", types::TIME_ZONE_COOKIE);
    let _ = leptos::prelude::document().unchecked_into::<web_sys::HtmlDocument>().set_cookie(&cookie);
}

/// After a panic the page no longer responds: most often a page's code chunk failed to load
/// because a deploy replaced it. Say so, with a plain link that reloads the page (it needs no
/// WASM: the router ignores `rel="external"` links).
#[cfg(feature = "hydrate")]
fn show_broken_page_notice() {
    let document = leptos::prelude::document();
    if document.get_element_by_id("page-broken").is_some() {
        return;
    }
    let element = |tag: &str| document.create_element(tag).ok();
    let (Some(body), Some(notice), Some(message), Some(reload)) =
        (document.body(), element("div"), element("p"), element("a"))
    else {
        return;
    };
    let locale = labels::page_locale();
    notice.set_id("page-broken");
    let _ = notice.set_attribute("role", "alert");
    message.set_text_content(Some(i18n::td_string!(locale, notice.broken_page)));
    let href = document.location().and_then(|location| location.href().ok()).unwrap_or_else(|| "/".into());
    let _ = reload.set_attribute("href", &href);
    let _ = reload.set_attribute("rel", "external");
    let _ = reload.set_attribute("class", "button primary");
    reload.set_text_content(Some(i18n::td_string!(locale, notice.reload)));
    let _ = notice.append_with_node_2(&message, &reload);
    let _ = body.prepend_with_node_1(&notice);
}
