use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

/// A real 404: the server answers with status 404, not 200 with an error message.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <section class="not-found">
            <h1>"We couldn't find that"</h1>
            <p>"The page or painting you asked for isn't here. It may have been removed."</p>
            <A href="/feed" attr:class="button">"Back to the paintings"</A>
        </section>
    }
}
