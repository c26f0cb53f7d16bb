use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::i18n::{t, tu_string, use_i18n};

/// A real 404: the server answers with status 404, not 200 with an error message.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    let i18n = use_i18n();
    view! {
        <Title text=tu_string!(i18n, not_found.title)/>
        <section class="not-found">
            <h1>{t!(i18n, not_found.heading)}</h1>
            <p>{t!(i18n, not_found.text)}</p>
            <A href="/feed" attr:class="button">{t!(i18n, not_found.back)}</A>
        </section>
    }
}
