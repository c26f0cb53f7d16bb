//! The catalogue list: search, pages, each painting's saves, views and orders, and publishing.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{load_admin_paintings, SetPaintingPublished};
use crate::pages::admin::{admin_error, AdminNav};
use crate::types::AdminPainting;

#[component]
pub fn AdminPaintingsPage() -> impl IntoView {
    let query = use_query_map();
    let search = move || query.read().get("q").unwrap_or_default();
    let page = move || query.read().get("page").and_then(|p| p.parse::<i64>().ok()).unwrap_or(1);
    let publish = ServerAction::<SetPaintingPublished>::new();
    let paintings = Resource::new(move || (search(), page(), publish.version().get()), |(q, page, _)| load_admin_paintings(Some(q), Some(page)));
    view! {
        <Title text="Catalogue · Admin"/>
        <section class="admin">
            <AdminNav/>
            <h1>"Catalogue"</h1>
            <form class="catalogue-search" method="get" action="/admin/paintings" role="search">
                <input type="search" name="q" value=search aria-label="Search by title, artist or style" placeholder="Title, artist or style" maxlength="200"/>
                <button type="submit" class="button">"Search"</button>
            </form>
            {move || publish.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match paintings.await {
                        Ok(list) => {
                            // GET forms, so that the browser encodes the query.
                            let q = search();
                            let pager = move |page: i64, label: &'static str| view! {
                                <form method="get" action="/admin/paintings">
                                    <input type="hidden" name="q" value=q.clone()/>
                                    <input type="hidden" name="page" value=page/>
                                    <button type="submit" class="button">{label}</button>
                                </form>
                            };
                            view! {
                                <p class="muted">{format!("{} paintings · page {} of {}", list.total, list.page, list.pages)}</p>
                                <table class="catalogue">
                                    <thead><tr><th></th><th>"Title"</th><th>"Artist"</th><th>"Style"</th><th>"Saves"</th><th>"Views"</th><th>"Orders"</th><th>"Shown to shoppers"</th></tr></thead>
                                    <tbody>
                                        {list.items.into_iter().map(|p| view! { <CatalogueRow painting=p publish/> }).collect_view()}
                                    </tbody>
                                </table>
                                <nav class="pager" aria-label="Pages">
                                    {(list.page > 1).then(|| pager(list.page - 1, "← Newer"))}
                                    {(list.page < list.pages).then(|| pager(list.page + 1, "Older →"))}
                                </nav>
                            }.into_any()
                        }
                        Err(error) => admin_error(error),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn CatalogueRow(painting: AdminPainting, publish: ServerAction<SetPaintingPublished>) -> impl IntoView {
    let p = painting;
    view! {
        <tr data-painting=p.id class:unpublished=!p.published>
            <td><img src=p.image_url.clone() alt="" width="48" loading="lazy"/></td>
            <td><a href=format!("/painting/{}", p.id)>{p.title.clone()}</a></td>
            <td>{p.artist.clone()}</td>
            <td>{p.style.clone().unwrap_or_default()}</td>
            <td>{p.saves}</td>
            <td>{p.views}</td>
            <td>{p.orders}</td>
            <td>
                <ActionForm action=publish>
                    <input type="hidden" name="id" value=p.id/>
                    <input type="hidden" name="published" value=(!p.published).to_string()/>
                    {if p.published { "Published " } else { "Unpublished " }}
                    <button type="submit" class="button">{if p.published { "Unpublish" } else { "Publish" }}</button>
                </ActionForm>
            </td>
        </tr>
    }
}
