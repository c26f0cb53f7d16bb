use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{load_feed_page, ResetFeed};
use crate::components::card::PaintingCardView;
use crate::components::infinite::Sentinel;
use crate::components::picture::Fetch;
use crate::components::server_form::ServerForm;
use crate::i18n::td_string;
use crate::labels::{error_message, use_locale};
use crate::tracking::{self, Source};
use crate::types::FeedPage;

/// Twelve cards fill whole rows at two, three and four columns.
const PAGE: i64 = 12;
/// The cards of the first page fetched at once: a first screen shows at most this many.
const FIRST_SCREEN: usize = 4;

#[component]
pub fn Feed() -> impl IntoView {
    let locale = use_locale();
    let first = Resource::new(|| (), |_| load_feed_page(None, Some(PAGE)));
    view! {
        <Title text=td_string!(locale, feed.title)/>
        <h1 class="page-title">{td_string!(locale, feed.title)}</h1>
        <Suspense fallback=|| view! { <Placeholders/> }>
            {move || Suspend::new(async move {
                match first.await {
                    Ok(page) => view! { <FeedGrid first=page/> }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error_message(&error)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The infinite grid: starts from the server-rendered first page, then asks the `feed_page`
/// server function for more as the reader scrolls.
#[component]
fn FeedGrid(first: FeedPage) -> impl IntoView {
    let locale = use_locale();
    let first_screen: Vec<i64> = first.items.iter().take(FIRST_SCREEN).map(|item| item.card.id).collect();
    let items = RwSignal::new(first.items);
    let cursor = RwSignal::new(first.next_cursor);
    let has_more = RwSignal::new(first.has_more);
    let loading = RwSignal::new(false);
    let failure = RwSignal::new(None::<String>);
    // Hidden cards fade out, then leave the list.
    let hiding = RwSignal::new(std::collections::HashSet::<i64>::new());
    let hide = Callback::new(move |id: i64| {
        hiding.update(|h| _ = h.insert(id));
        set_timeout(
            move || items.update(|list| list.retain(|item| item.card.id != id)),
            std::time::Duration::from_millis(320),
        );
    });
    // After hydration: start tracking, and watch every card that renders.
    Effect::new(move |_| {
        items.with(|list| list.len());
        tracking::start(Source::Feed);
        tracking::observe_cards();
    });
    let load_more = move || {
        if loading.get_untracked() || !has_more.get_untracked() {
            return;
        }
        loading.set(true);
        failure.set(None);
        leptos::task::spawn_local(async move {
            match load_feed_page(cursor.get_untracked(), Some(PAGE)).await {
                Ok(page) => {
                    items.update(|list| list.extend(page.items));
                    cursor.set(page.next_cursor);
                    has_more.set(page.has_more);
                }
                Err(error) => failure.set(Some(error_message(&error))),
            }
            loading.set(false);
        });
    };
    view! {
        // Cards have <h3> titles: the headings go down one level at a time.
        <h2 class="visually-hidden">{td_string!(locale, feed.picked_for_you)}</h2>
        <ul class="feed-grid">
            <For
                each=move || items.get()
                key=|item| item.card.id
                children=move |item| {
                    let id = item.card.id;
                    let fetch = match first_screen.iter().position(|&shown| shown == id) {
                        Some(0) => Fetch::First,
                        Some(_) => Fetch::Eager,
                        None => Fetch::Lazy,
                    };
                    view! {
                        <PaintingCardView card=item.card source=Source::Feed position=item.position saved=item.saved because=item.because actions=hide
                            hiding=Signal::derive(move || hiding.with(|h| h.contains(&id))) fetch/>
                    }
                }
            />
        </ul>
        <Show when=move || loading.get()>
            <Placeholders/>
        </Show>
        {move || failure.get().map(|message| view! {
            <div class="feed-error" role="alert">
                <p>{td_string!(locale, feed.load_failed, reason = message)}</p>
                <button class="button" on:click=move |_| load_more()>{td_string!(locale, common.retry)}</button>
            </div>
        })}
        <Show
            when=move || has_more.get()
            fallback=|| view! { <SeenEverything/> }
        >
            <Sentinel on_visible=Callback::new(move |_| load_more()) rearm=Signal::derive(move || items.with(Vec::len))/>
            <div class="load-more">
                <button class="button" on:click=move |_| load_more() disabled=move || loading.get()>{td_string!(locale, feed.load_more)}</button>
            </div>
        </Show>
    }
}

/// The end of the catalogue, with a way to start over.
#[component]
fn SeenEverything() -> impl IntoView {
    let locale = use_locale();
    let reset = ServerAction::<ResetFeed>::new();
    // After a reset, reload the page: the feed starts again from the top of the taste ranking.
    Effect::new(move |_| {
        if let Some(Ok(())) = reset.value().get() {
            #[cfg(feature = "hydrate")]
            let _ = leptos::prelude::window().location().reload();
        }
    });
    view! {
        <div class="feed-end" role="status">
            <p>{td_string!(locale, feed.seen_everything)}</p>
            <ServerForm action=reset input=|| ResetFeed {}>
                <button type="submit" class="button">{td_string!(locale, feed.start_over)}</button>
            </ServerForm>
        </div>
    }
}

/// Grey boxes in the shape of cards while a page loads.
#[component]
fn Placeholders() -> impl IntoView {
    view! {
        <ul class="feed-grid placeholders" aria-hidden="true">
            {(0..6).map(|i| view! { <li class="card placeholder" style=format!("--ratio: {}", [0.8, 1.25, 0.75, 1.0, 1.33, 0.7][i])></li> }).collect_view()}
        </ul>
    }
}
