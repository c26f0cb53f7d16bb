use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{load_onboarding, ChooseStyles};
use crate::components::picture::Picture;
use crate::types::{Onboarding, StyleCard};

/// `sizes` for a card in the `.style-grid`: columns of 220 px or more, 1100 px at most.
const STYLE_SIZES: &str = "(max-width: 500px) 100vw, (max-width: 760px) 50vw, 280px";

/// Pick one or more home styles; the feed starts from their mix.
#[component]
pub fn OnboardingPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_onboarding());
    view! {
        <Title text="Your home"/>
        <section class="onboarding">
            <h1>"What does your home look like?"</h1>
            <p class="lead">"Pick one or more styles. Your feed starts from their mix and learns from there."</p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(onboarding) => view! { <StyleForm onboarding/> }.into_any(),
                        Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn StyleForm(onboarding: Onboarding) -> impl IntoView {
    let choose = ServerAction::<ChooseStyles>::new();
    let reseeding = !onboarding.chosen.is_empty();
    let chosen = onboarding.chosen.clone();
    view! {
        <ActionForm action=choose attr:class="style-form">
            <ul class="style-grid">
                {onboarding.cards.into_iter().enumerate().map(|(i, card)| {
                    let checked = chosen.contains(&card.code);
                    view! { <StyleOption card index=i checked/> }
                }).collect_view()}
            </ul>
            {reseeding.then(|| view! {
                <p class="note">"Choosing again starts your taste afresh from these styles; what the feed learned so far is replaced."</p>
            })}
            <button type="submit" class="button primary">"Show me paintings"</button>
            {move || choose.value().get().and_then(Result::err).map(|error| view! {
                <p class="form-error" role="alert">{error.to_string()}</p>
            })}
        </ActionForm>
    }
}

#[component]
fn StyleOption(card: StyleCard, index: usize, checked: bool) -> impl IntoView {
    // Indexed names (codes[3]=nordic) so the form also posts without JavaScript.
    let name = format!("codes[{index}]");
    view! {
        <li class="style-card">
            <label>
                <input type="checkbox" name=name value=card.code.clone() checked=checked/>
                {card.picture.map(|picture| {
                    let alt = format!("{}, suggesting the {} style", picture.title_en.as_deref().unwrap_or(&picture.title), card.name_en);
                    view! {
                        <Picture src=picture.image_url srcset=picture.srcset srcset_webp=picture.srcset_webp sizes=STYLE_SIZES
                            alt width=picture.width height=picture.height/>
                    }
                })}
                <span class="style-name"><span lang="zh">{card.name_zh}</span> " " <span lang="en">{card.name_en}</span></span>
            </label>
        </li>
    }
}
