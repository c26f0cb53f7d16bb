use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{load_onboarding, ChooseStyles};
use crate::components::picture::Picture;
use crate::i18n::{td_string, Locale};
use crate::labels::{error_message, use_locale};
use crate::types::{Onboarding, StyleCard};

/// `sizes` for a card in the `.style-grid`: columns of 220 px or more, 1100 px at most.
const STYLE_SIZES: &str = "(max-width: 500px) 100vw, (max-width: 760px) 50vw, 280px";

/// Pick one or more home styles; the feed starts from their mix.
#[component]
pub fn OnboardingPage() -> impl IntoView {
    let locale = use_locale();
    let data = Resource::new(|| (), |_| load_onboarding());
    view! {
        <Title text=td_string!(locale, onboarding.title)/>
        <section class="onboarding">
            <h1>{td_string!(locale, onboarding.heading)}</h1>
            <p class="lead">{td_string!(locale, onboarding.lead)}</p>
            <Suspense fallback=move || view! { <p class="loading">{td_string!(locale, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(onboarding) => view! { <StyleForm onboarding/> }.into_any(),
                        Err(error) => view! { <p class="error" role="alert">{error_message(&error)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn StyleForm(onboarding: Onboarding) -> impl IntoView {
    let locale = use_locale();
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
                <p class="note">{td_string!(locale, onboarding.reseed_note)}</p>
            })}
            <button type="submit" class="button primary">{td_string!(locale, onboarding.submit)}</button>
            {move || choose.value().get().and_then(Result::err).map(|error| view! {
                <p class="form-error" role="alert">{error_message(&error)}</p>
            })}
        </ActionForm>
    }
}

#[component]
fn StyleOption(card: StyleCard, index: usize, checked: bool) -> impl IntoView {
    // Indexed names (codes[3]=nordic) so the form also posts without JavaScript.
    let name = format!("codes[{index}]");
    let locale = use_locale();
    // The style's name in the page's language first, then in the other one.
    let (style, other, other_lang) = match locale {
        Locale::zh_CN => (card.name_zh.clone(), card.name_en.clone(), "en"),
        Locale::en => (card.name_en.clone(), card.name_zh.clone(), "zh-CN"),
    };
    view! {
        <li class="style-card">
            <label>
                <input type="checkbox" name=name value=card.code.clone() checked=checked/>
                {card.picture.map(|picture| {
                    let alt = td_string!(locale, onboarding.picture_alt, title = picture.title_in(locale), style = &style).to_string();
                    view! {
                        <Picture src=picture.image_url srcset=picture.srcset srcset_webp=picture.srcset_webp sizes=STYLE_SIZES
                            alt width=picture.width height=picture.height/>
                    }
                })}
                <span class="style-name">{style.clone()} " " <span lang=other_lang>{other}</span></span>
            </label>
        </li>
    }
}
