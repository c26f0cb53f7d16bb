use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// A `<form>` that posts to a server function without JS and, once hydrated, dispatches `action`
/// with the arguments `input` builds from the page's own signals. Unlike `ActionForm`, it never
/// parses the form's fields in the browser, which keeps the form parser (`serde_qs`) out of the
/// WASM a first visit loads; the fields inside are still what a plain post sends.
#[component]
pub fn ServerForm<S>(action: ServerAction<S>, input: impl Fn() -> S + 'static, children: Children) -> impl IntoView
where
    S: ServerFn + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    view! {
        <form method="post" action=S::url() on:submit=move |ev| {
            if ev.default_prevented() {
                return;
            }
            ev.prevent_default();
            action.dispatch(input());
        }>
            {children()}
        </form>
    }
}
