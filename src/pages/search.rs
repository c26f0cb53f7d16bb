use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::search_paintings;
use crate::components::card::{PaintingCardView, TrackCards};
use crate::i18n::{td, td_string};
use crate::labels::{error_message, use_locale};
use crate::tracking::Source;

/// `/search?q=`: a plain GET form, so it works before (and without) JavaScript.
#[component]
pub fn SearchPage() -> impl IntoView {
    let locale = use_locale();
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
        <Title text=td_string!(locale, search.title)/>
        <h1 class="page-title">{td_string!(locale, search.title)}</h1>
        <form method="get" action="/search" class="search-form" role="search">
            <label for="q" class="visually-hidden">{td_string!(locale, search.label)}</label>
            <input id="q" type="search" name="q" maxlength="200" value=q placeholder=td_string!(locale, search.placeholder)/>
            <button type="submit" class="button primary">{td_string!(locale, search.submit)}</button>
        </form>
        <Suspense fallback=move || view! { <p class="loading">{td_string!(locale, search.searching)}</p> }>
            {move || Suspend::new(async move {
                match results.await {
                    None => view! { <p class="note">{td_string!(locale, search.prompt)}</p> }.into_any(),
                    Some(Ok(found)) => view! {
                        <p class="note" data-testid="model-languages">
                            {if found.colour_only_model { td_string!(locale, search.stand_in_model).into_any() } else { td_string!(locale, search.clip_model).into_any() }}
                        </p>
                        {if found.items.is_empty() {
                            let query = found.query.clone();
                            view! { <p class="empty-state">{td!(locale, search.no_matches, query)}</p> }.into_any()
                        } else {
                            view! {
                                <h2 class="visually-hidden">{td_string!(locale, search.found)}</h2>
                                <ul class="feed-grid">
                                    {found.items.into_iter().enumerate().map(|(i, item)| view! { <PaintingCardView card=item.card source=Source::Search position=i as i64/> }).collect_view()}
                                </ul>
                                <TrackCards source=Source::Search/>
                            }.into_any()
                        }}
                    }.into_any(),
                    Some(Err(error)) => view! { <p class="form-error" role="alert">{error_message(&error)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
