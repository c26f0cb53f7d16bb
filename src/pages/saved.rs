use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::{load_saved, SetSaved};
use crate::components::card::{PaintingCardView, TrackCards};
use crate::tracking::Source;

/// The visitor's saved paintings, newest first.
#[component]
pub fn SavedPage() -> impl IntoView {
    let unsave = ServerAction::<SetSaved>::new();
    let saved = Resource::new(move || unsave.version().get(), |_| load_saved());
    view! {
        <Title text="Saved"/>
        <h1 class="page-title">"Saved"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match saved.await {
                    Ok(list) if list.items.is_empty() => view! {
                        <div class="empty-state">
                            <p>"Nothing saved yet. Save the paintings you love and they wait for you here."</p>
                            <A href="/feed" attr:class="button primary">"Discover paintings"</A>
                        </div>
                    }.into_any(),
                    Ok(list) => {
                        let count = list.items.len();
                        view! {
                            <p class="count">{format!("{count} {}", if count == 1 { "painting" } else { "paintings" })}</p>
                            <h2 class="visually-hidden">"Your saved paintings"</h2>
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
                                                <button type="submit" class="button small">"Unsave"</button>
                                            </ActionForm>
                                        </div>
                                    }
                                }).collect_view()}
                            </ul>
                            <TrackCards source=Source::Saved/>
                        }.into_any()
                    }
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
