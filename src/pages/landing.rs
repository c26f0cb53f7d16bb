use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::i18n::td_string;
use crate::labels::use_locale;

#[component]
pub fn Landing() -> impl IntoView {
    let locale = use_locale();
    view! {
        <Title text=""/>
        <section class="hero">
            <h1>{td_string!(locale, landing.title)}</h1>
            <p class="lead">{td_string!(locale, landing.lead)}</p>
            <A href="/onboarding" attr:class="button primary">{td_string!(locale, landing.start)}</A>
            " "
            <A href="/feed" attr:class="button">{td_string!(locale, landing.browse)}</A>
        </section>
        <section class="how">
            <div><h2>{td_string!(locale, landing.look)}</h2><p>{td_string!(locale, landing.look_text)}</p></div>
            <div><h2>{td_string!(locale, landing.learn)}</h2><p>{td_string!(locale, landing.learn_text)}</p></div>
            <div><h2>{td_string!(locale, landing.hang)}</h2><p>{td_string!(locale, landing.hang_text)}</p></div>
        </section>
    }
}
