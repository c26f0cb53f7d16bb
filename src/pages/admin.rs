use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{load_admin_overview, AdminLogin, AdminLogout};
use crate::error::AppError;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<AdminLogin>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <Title text="Admin sign in"/>
        <section class="auth-card">
            <h1>"Admin sign in"</h1>
            <ActionForm action=login>
                <label>"Email" <input type="email" name="email" autocomplete="username" required/></label>
                <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                <input type="hidden" name="next" value=next/>
                <button type="submit" class="button primary">"Sign in"</button>
            </ActionForm>
            {move || login.value().get().and_then(Result::err).map(|error| view! {
                <p class="form-error" role="alert">{error.to_string()}</p>
            })}
        </section>
    }
}

#[component]
pub fn Dashboard() -> impl IntoView {
    let overview = Resource::new(|| (), |_| load_admin_overview());
    let logout = ServerAction::<AdminLogout>::new();
    view! {
        <Title text="Admin"/>
        <section class="admin">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(o) => view! {
                            <header class="admin-header">
                                <h1>"ArtWall admin"</h1>
                                <p>"Signed in as " {o.admin_email.clone()}</p>
                                <ActionForm action=logout><button type="submit" class="button">"Sign out"</button></ActionForm>
                            </header>
                            <AdminNav/>
                            <h2>"System"</h2>
                            <dl class="facts">
                                <dt>"Model"</dt>
                                <dd>
                                    {o.model_label.clone()} " (" <code>{o.model_id.clone()}</code> ")"
                                    {(!o.model_is_clip).then(|| view! { <strong class="badge warn">"not CLIP"</strong> })}
                                </dd>
                                <dt>"Catalogue"</dt><dd>{o.catalogue_size} " paintings"</dd>
                                <dt>"Storage"</dt><dd>{o.storage_backend.clone()}</dd>
                            </dl>
                        }.into_any(),
                        Err(error) => admin_error(error),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The admin console's sections.
#[component]
pub fn AdminNav() -> impl IntoView {
    view! {
        <nav class="admin-nav" aria-label="Admin">
            <a href="/admin">"Dashboard"</a>
            <a href="/admin/paintings">"Catalogue"</a>
            <a href="/admin/import">"Import"</a>
            <a href="/admin/orders">"Orders"</a>
        </nav>
    }
}

/// An admin page's error: an ended session links to the sign-in page.
pub fn admin_error(error: AppError) -> AnyView {
    match error {
        AppError::Unauthorized => view! { <p>"Your session has ended. " <a href="/admin/login">"Sign in again"</a></p> }.into_any(),
        error => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
    }
}
