use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::search_paintings;
use crate::components::card::{PaintingCardView, TrackCards};
use crate::tracking::Source;

/// `/search?q=`: a plain GET form, so it works before (and without) JavaScript.
#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let results = Resource::new(q, |q| async move {
        if q.trim().is_empty() {
            None
        } else {
            Some(search_paintings(q).await)
        }
    });
    view! {
        <Title text="Search"/>
        <h1 class="page-title">"Search"</h1>
        <form method="get" action="/search" class="search-form" role="search">
            <label for="q" class="visually-hidden">"Search paintings"</label>
            <input id="q" type="search" name="q" maxlength="200" value=q placeholder="e.g. blue sea at night"/>
            <button type="submit" class="button primary">"Search"</button>
        </form>
        <Suspense fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || Suspend::new(async move {
                match results.await {
                    None => view! { <p class="note">"Describe what you would like on your wall."</p> }.into_any(),
                    Some(Ok(found)) => view! {
                        {found.colour_only_model.then(|| view! {
                            <p class="note">"This shop currently runs a stand-in model: search understands colours and light (blue, gold, dark, snow, sunset…), not subjects."</p>
                        })}
                        {if found.items.is_empty() {
                            view! { <p class="empty-state">"No close matches for “" {found.query.clone()} "”."</p> }.into_any()
                        } else {
                            view! {
                                <h2 class="visually-hidden">"Paintings found"</h2>
                                <ul class="feed-grid">
                                    {found.items.into_iter().enumerate().map(|(i, item)| view! { <PaintingCardView card=item.card source=Source::Search position=i as i64/> }).collect_view()}
                                </ul>
                                <TrackCards source=Source::Search/>
                            }.into_any()
                        }}
                    }.into_any(),
                    Some(Err(error)) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
