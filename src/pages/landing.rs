use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::i18n::{t, use_i18n};

#[component]
pub fn Landing() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Title text=""/>
        <section class="hero">
            <h1>{t!(i18n, landing.title)}</h1>
            <p class="lead">{t!(i18n, landing.lead)}</p>
            <A href="/onboarding" attr:class="button primary">{t!(i18n, landing.start)}</A>
            " "
            <A href="/feed" attr:class="button">{t!(i18n, landing.browse)}</A>
        </section>
        <section class="how">
            <div><h2>{t!(i18n, landing.look)}</h2><p>{t!(i18n, landing.look_text)}</p></div>
            <div><h2>{t!(i18n, landing.learn)}</h2><p>{t!(i18n, landing.learn_text)}</p></div>
            <div><h2>{t!(i18n, landing.hang)}</h2><p>{t!(i18n, landing.hang_text)}</p></div>
        </section>
    }
}
