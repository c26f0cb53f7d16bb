use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::{load_saved, SetSaved};
use crate::components::card::{PaintingCardView, TrackCards};
use crate::i18n::{td, td_string};
use crate::labels::{error_message, use_locale};
use crate::tracking::Source;

/// The visitor's saved paintings, newest first.
#[component]
pub fn SavedPage() -> impl IntoView {
    let locale = use_locale();
    let unsave = ServerAction::<SetSaved>::new();
    let saved = Resource::new(move || unsave.version().get(), |_| load_saved());
    view! {
        <Title text=td_string!(locale, saved.title)/>
        <h1 class="page-title">{td_string!(locale, saved.title)}</h1>
        <Suspense fallback=move || view! { <p class="loading">{td_string!(locale, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match saved.await {
                    Ok(list) if list.items.is_empty() => view! {
                        <div class="empty-state">
                            <p>{td_string!(locale, saved.empty)}</p>
                            <A href="/feed" attr:class="button primary">{td_string!(locale, common.discover_paintings)}</A>
                        </div>
                    }.into_any(),
                    Ok(list) => {
                        let count = list.items.len();
                        view! {
                            <p class="count">{if count == 1 { td_string!(locale, saved.one).into_any() } else { td!(locale, saved.many, count).into_any() }}</p>
                            <h2 class="visually-hidden">{td_string!(locale, saved.your_saved)}</h2>
                            <ul class="feed-grid saved-grid">
                                {list.items.into_iter().enumerate().map(|(position, card)| {
                                    let id = card.id;
                                    view! {
                                        <div class="saved-item">
                                            <PaintingCardView card source=Source::Saved position=position as i64/>
                                            <ActionForm action=unsave>
                                                <input type="hidden" name="paintingId" value=id/>
                                                <input type="hidden" name="saved" value="false"/>
                                                <input type="hidden" name="source" value="saved"/>
                                                <button type="submit" class="button small">{td_string!(locale, card.unsave)}</button>
                                            </ActionForm>
                                        </div>
                                    }
                                }).collect_view()}
                            </ul>
                            <TrackCards source=Source::Saved/>
                        }.into_any()
                    }
                    Err(error) => view! { <p class="error" role="alert">{error_message(&error)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
