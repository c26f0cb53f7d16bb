use leptos::prelude::*;

use crate::components::picture::{Fetch, PaintingPicture, CARD_SIZES};
use crate::events::EventKind;
use crate::i18n::{td, td_string};
use crate::labels::{in_language, use_locale};
use crate::tracking::{self, Metadata, Source};
use crate::types::{Because, PaintingCard};

/// One painting in a grid. The frame reserves the image's aspect ratio, so nothing moves when
/// the image arrives. With a `source` the card is tracked (impressions, views, clicks, at
/// `position` in its list); in the feed, `actions` adds save, share and hide.
#[component]
pub fn PaintingCardView(
    card: PaintingCard,
    #[prop(optional)] source: Option<Source>,
    #[prop(optional)] position: Option<i64>,
    #[prop(optional)] actions: Option<Callback<i64>>,
    /// Whether the visitor has saved it already (the Save button starts pressed).
    #[prop(optional)]
    saved: bool,
    #[prop(optional, into)] hiding: Signal<bool>,
    /// Why the feed picked it (a painting the visitor liked that it is like).
    #[prop(default = None)]
    because: Option<Because>,
    #[prop(optional)] fetch: Fetch,
) -> impl IntoView {
    let locale = use_locale();
    let id = card.id;
    let href = format!("/painting/{id}");
    let byline = match card.year {
        Some(year) => td_string!(locale, card.byline, artist = card.artist_in(locale), year).to_string(),
        None => card.artist_in(locale).to_owned(),
    };
    let title = card.title_in(locale).to_owned();
    let on_click = move |_| {
        if let Some(source) = source {
            tracking::track(EventKind::Click, Some(id), position, source, Metadata::default());
            // The page is about to go: send the click now rather than hope for the next flush.
            tracking::flush_now();
        }
    };
    let frame = format!("aspect-ratio: {} / {}", card.width, card.height);
    view! {
        <li class="card" class:hiding=move || hiding.get() data-painting-id=id data-position=position data-source=source.map(Source::code)>
            <a href=href class="card-link" on:click=on_click>
                <div class="card-frame" style=frame>
                    <PaintingPicture card sizes=CARD_SIZES fetch/>
                </div>
                <div class="card-meta">
                    <h3 class="card-title">{title.clone()}</h3>
                    <p class="card-byline">{byline}</p>
                    {because.map(|because| {
                        let title = in_language(locale, &because.title, because.title_en.as_deref()).to_owned();
                        let reason = if because.saved {
                            td!(locale, card.because_saved, title, <cite> = <cite/>).into_any()
                        } else {
                            td!(locale, card.because_looked, title, <cite> = <cite/>).into_any()
                        };
                        view! { <p class="card-because">{reason}</p> }
                    })}
                </div>
            </a>
            {actions.map(|on_hide| view! { <CardActions id position=position.unwrap_or_default() title on_hide saved/> })}
        </li>
    }
}

/// Save (state visible at once), share (Web Share, else copy the link) and "don't show this".
#[component]
fn CardActions(id: i64, position: i64, title: String, on_hide: Callback<i64>, saved: bool) -> impl IntoView {
    let locale = use_locale();
    let saved = RwSignal::new(saved);
    let copied = RwSignal::new(false);
    let toggle_save = move |_| {
        let now = !saved.get_untracked();
        saved.set(now);
        tracking::track(
            if now { EventKind::Save } else { EventKind::Unsave },
            Some(id),
            Some(position),
            Source::Feed,
            Metadata::default(),
        );
        tracking::flush_now(); // saved state must survive an immediate reload
    };
    let hide = move |_| {
        tracking::track(EventKind::Hide, Some(id), Some(position), Source::Feed, Metadata::default());
        tracking::flush_now();
        on_hide.run(id);
    };
    let share = move |_| {
        tracking::track(EventKind::Share, Some(id), Some(position), Source::Feed, Metadata::default());
        if share_or_copy(id, &title) {
            copied.set(true);
            set_timeout(move || copied.set(false), std::time::Duration::from_secs(2));
        }
    };
    view! {
        <div class="card-actions">
            <button type="button" class="icon-button save" aria-pressed=move || saved.get().to_string()
                aria-label=move || if saved.get() { td_string!(locale, card.unsave) } else { td_string!(locale, card.save) } on:click=toggle_save>
                {move || if saved.get() { "♥" } else { "♡" }}
            </button>
            <button type="button" class="icon-button" aria-label=td_string!(locale, card.share) on:click=share>"↗"</button>
            <button type="button" class="icon-button" aria-label=td_string!(locale, card.hide) on:click=hide>"✕"</button>
            <span class="copied" role="status">{move || copied.get().then_some(td_string!(locale, card.link_copied))}</span>
        </div>
    }
}

/// Opens the Web Share sheet where there is one; otherwise copies the link and returns true.
fn share_or_copy(id: i64, title: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        let Some(window) = web_sys::window() else { return false };
        let url = format!("{}/painting/{id}", window.location().origin().unwrap_or_default());
        let navigator = window.navigator();
        if js_sys::Reflect::has(&navigator, &"share".into()).unwrap_or(false) {
            let data = web_sys::ShareData::new();
            data.set_title(title);
            data.set_url(&url);
            let _ = navigator.share_with_data(&data);
            false
        } else {
            let _ = navigator.clipboard().write_text(&url);
            true
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (id, title);
        false
    }
}

/// Starts tracking for a page and watches its tracked cards; render it after the cards.
#[component]
pub fn TrackCards(source: Source) -> impl IntoView {
    Effect::new(move |_| {
        tracking::start(source);
        // After a client-side navigation the cards reach the document a frame later.
        request_animation_frame(tracking::observe_cards);
    });
}
