use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::i18n::td_string;
use crate::labels::use_locale;

/// A real 404: the server answers with status 404, not 200 with an error message.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    let locale = use_locale();
    view! {
        <Title text=td_string!(locale, not_found.title)/>
        <section class="not-found">
            <h1>{td_string!(locale, not_found.heading)}</h1>
            <p>{td_string!(locale, not_found.text)}</p>
            <A href="/feed" attr:class="button">{td_string!(locale, not_found.back)}</A>
        </section>
    }
}
