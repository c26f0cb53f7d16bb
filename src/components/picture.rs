use leptos::prelude::*;

/// How soon the browser fetches an image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fetch {
    /// When it nears the viewport (below the fold).
    #[default]
    Lazy,
    /// At once, after the page's `First`: it is in the first screen of a wide window (on a phone
    /// it may be below the fold, and must not hold up the one above it).
    Eager,
    /// At once and before the page's other images: the page's largest image, its LCP.
    First,
}

/// `sizes` for a card in a `.feed-grid`: one column on a phone, then columns of 260 px or more
/// inside `main` (1440 px at most).
pub const CARD_SIZES: &str = "(max-width: 560px) 100vw, (max-width: 840px) 50vw, (max-width: 1120px) 34vw, 360px";

/// A painting at the width the page shows it: the browser picks the smallest stored size that
/// fills it (`srcset`), as WebP where the painting has it, else JPEG. Paintings imported before
/// the sizes existed have only `src`. Width and height reserve the space, so nothing shifts.
#[component]
pub fn Picture(
    src: String,
    srcset: Option<String>,
    srcset_webp: Option<String>,
    sizes: &'static str,
    alt: String,
    width: i32,
    height: i32,
    #[prop(optional)] fetch: Fetch,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    let sizes = srcset.is_some().then_some(sizes);
    view! {
        <picture>
            {srcset_webp.map(|srcset| view! { <source type="image/webp" srcset=srcset sizes=sizes/> })}
            <img
                src=src
                srcset=srcset
                sizes=sizes
                alt=alt
                width=width
                height=height
                class=class
                loading=if fetch == Fetch::Lazy { "lazy" } else { "eager" }
                fetchpriority=match fetch {
                    Fetch::First => Some("high"),
                    Fetch::Eager => Some("low"),
                    Fetch::Lazy => None,
                }
                // Decoding off the main thread would paint the LCP image a frame or more later.
                decoding=(fetch != Fetch::First).then_some("async")
            />
        </picture>
    }
}

/// A catalogue painting's card image at `sizes` (lazily fetched unless told): for grids, lists
/// and orders.
#[component]
pub fn PaintingPicture(
    card: crate::types::PaintingCard,
    sizes: &'static str,
    #[prop(optional)] fetch: Fetch,
) -> impl IntoView {
    let alt = card.alt_text(crate::labels::use_locale());
    view! {
        <Picture src=card.image_url srcset=card.srcset srcset_webp=card.srcset_webp sizes alt
            width=card.width height=card.height fetch/>
    }
}
