use leptos::prelude::*;

use crate::types::PaintingCard;

/// One painting in a grid. The frame reserves the image's aspect ratio, so nothing moves when
/// the lazy image arrives.
#[component]
pub fn PaintingCardView(card: PaintingCard) -> impl IntoView {
    let href = format!("/painting/{}", card.id);
    let alt = card.alt_text();
    let byline = match card.year {
        Some(year) => format!("{}, {year}", card.artist_en.as_deref().unwrap_or(&card.artist)),
        None => card.artist_en.clone().unwrap_or_else(|| card.artist.clone()),
    };
    let title = card.title_en.clone().unwrap_or_else(|| card.title.clone());
    view! {
        <li class="card" data-painting-id=card.id>
            <a href=href class="card-link">
                <div class="card-frame" style=format!("aspect-ratio: {} / {}", card.width, card.height)>
                    <img src=card.image_url alt=alt loading="lazy" decoding="async" width=card.width height=card.height/>
                </div>
                <div class="card-meta">
                    <h3 class="card-title">{title}</h3>
                    <p class="card-byline">{byline}</p>
                </div>
            </a>
        </li>
    }
}
