use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{load_more_like_this, load_painting, SetSaved, StartCheckout};
use crate::components::card::{PaintingCardView, TrackCards};
use crate::components::configurator::{frame_class, PrintConfigurator};
use crate::components::picture::{Fetch, Picture};
use crate::components::server_form::ServerForm;
use crate::components::wall::WallPreview;
use crate::error::AppError;
use crate::i18n::td_string;
use crate::labels::{error_message, use_locale};
use crate::pages::not_found::NotFound;
use crate::pricing::PrintOptions;
use crate::tracking::Source;
use crate::types::PaintingDetail;

#[component]
pub fn Painting() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok());
    let detail = Resource::new(id, |id| async move {
        match id {
            Some(id) => load_painting(id).await,
            None => Err(AppError::NotFound),
        }
    });
    let locale = use_locale();
    view! {
        <Suspense fallback=move || view! { <p class="loading">{td_string!(locale, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <PaintingView detail/> }.into_any(),
                    Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error_message(&error)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PaintingView(detail: PaintingDetail) -> impl IntoView {
    let locale = use_locale();
    let card = detail.card.clone();
    let alt = card.alt_text(locale);
    // Both languages where both exist: the page's language as the heading, the other beneath.
    let other_locale = locale.other();
    let other = |mine: &str, theirs: &str| (theirs != mine).then(|| theirs.to_owned());
    let title = card.title_in(locale).to_owned();
    let artist = card.artist_in(locale).to_owned();
    let other_title = other(&title, card.title_in(other_locale));
    let other_artist = other(&artist, card.artist_in(other_locale));
    let id = card.id;
    let save = ServerAction::<SetSaved>::new();
    let saved = RwSignal::new(detail.saved);
    Effect::new(move |_| {
        if let Some(Ok(state)) = save.value().get() {
            saved.set(state);
        }
    });
    let options = RwSignal::new(PrintOptions::default());
    view! {
        <Title text=title.clone()/>
        <article class="painting">
            <figure
                class=move || format!("painting-image {}", frame_class(options.get().frame))
                // As wide as the column allows and at most 85vh tall, known before the image loads:
                // a width of its own keeps the figure from starting at zero width and jumping.
                style=format!(
                    "aspect-ratio: {w} / {h}; width: min(100%, calc(85vh * {w} / {h}))",
                    w = detail.hd_width,
                    h = detail.hd_height
                )
            >
                <Picture src=detail.image_hd_url.clone() srcset=card.srcset.clone() srcset_webp=card.srcset_webp.clone()
                    sizes="(max-width: 760px) 100vw, 60vw" alt width=detail.hd_width height=detail.hd_height class="hd" fetch=Fetch::First/>
            </figure>
            <div class="painting-info">
                <h1>{title}</h1>
                {other_title.map(|t| view! { <p class="subtitle" lang=other_locale.to_string()>{t}</p> })}
                <p class="artist">{artist} {other_artist.map(|a| view! { <span lang=other_locale.to_string()>" · " {a}</span> })}</p>
                <dl class="facts">
                    {card.year.map(|y| view! { <dt>{td_string!(locale, painting.year)}</dt><dd>{y}</dd> })}
                    {card.style.clone().map(|s| view! { <dt>{td_string!(locale, painting.style)}</dt><dd>{s}</dd> })}
                    {detail.source.clone().map(|s| view! { <dt>{td_string!(locale, painting.source)}</dt><dd>{s}</dd> })}
                    {detail.license.clone().map(|l| view! { <dt>{td_string!(locale, painting.licence)}</dt><dd>{l}</dd> })}
                </dl>
                {detail.source_url.clone().map(|url| view! {
                    <p><a href=url rel="noopener noreferrer" target="_blank">{td_string!(locale, painting.at_museum)}</a></p>
                })}
                <ServerForm action=save attr:class="save-form"
                    input=move || SetSaved { painting_id: id, saved: !saved.get_untracked(), source: Source::Detail.code().into() }>
                    <input type="hidden" name="paintingId" value=id/>
                    <input type="hidden" name="saved" value=move || (!saved.get()).to_string()/>
                    <input type="hidden" name="source" value=Source::Detail.code()/>
                    <button type="submit" class="button" aria-pressed=move || saved.get().to_string()>
                        {move || if saved.get() { td_string!(locale, painting.saved) } else { td_string!(locale, painting.save) }}
                    </button>
                </ServerForm>
                <BuyForm painting_id=id options/>
            </div>
        </article>
        <WallPreview painting_id=id image_url=detail.image_hd_url.clone() painting_width=detail.hd_width painting_height=detail.hd_height options/>
        <MoreLikeThis id/>
    }
}

#[component]
fn MoreLikeThis(id: i64) -> impl IntoView {
    let locale = use_locale();
    let similar = Resource::new(move || id, load_more_like_this);
    view! {
        <section class="more-like-this" aria-labelledby="more-like-this">
            <h2 id="more-like-this">{td_string!(locale, painting.more_like_this)}</h2>
            <Suspense fallback=move || view! { <p class="loading">{td_string!(locale, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match similar.await {
                        Ok(items) => view! {
                            <ul class="feed-grid">
                                {items.into_iter().enumerate().map(|(i, item)| view! { <PaintingCardView card=item.card source=Source::Detail position=i as i64/> }).collect_view()}
                            </ul>
                            <TrackCards source=Source::Detail/>
                        }.into_any(),
                        Err(error) => view! { <p class="error">{error_message(&error)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The configurator inside the Buy form: it posts the options, the server prices them and
/// sends the shopper to Stripe Checkout (a plain form post is redirected there too).
#[component]
fn BuyForm(painting_id: i64, options: RwSignal<PrintOptions>) -> impl IntoView {
    // The server function redirects to Checkout: a 302 for a plain form post, and for the
    // hydrated form the router's redirect hook, which leaves the site with `location.href`.
    let locale = use_locale();
    let buy = ServerAction::<StartCheckout>::new();
    view! {
        <ServerForm action=buy attr:class="buy-form" input=move || {
            let PrintOptions { size, material, frame } = options.get_untracked();
            StartCheckout { painting_id, size: size.code().into(), material: material.code().into(), frame: frame.code().into() }
        }>
            <input type="hidden" name="paintingId" value=painting_id/>
            <PrintConfigurator options/>
            <button type="submit" class="button primary buy" disabled=move || buy.pending().get()>
                {move || if buy.pending().get() { td_string!(locale, painting.opening_checkout) } else { td_string!(locale, painting.buy) }}
            </button>
            {move || buy.value().get().and_then(Result::err).map(|error| view! {
                <p class="error" role="alert">{error_message(&error)}</p>
            })}
        </ServerForm>
    }
}
