use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn Landing() -> impl IntoView {
    view! {
        <Title text=""/>
        <section class="hero">
            <h1>"Paintings for the walls you live with"</h1>
            <p class="lead">
                "ArtWall prints public-domain masterpieces on paper or canvas, framed or not. "
                "Scroll an endless wall of paintings; the more you look, save and skip, "
                "the more it learns what belongs in your home."
            </p>
            <A href="/onboarding" attr:class="button primary">"Start with your home's style"</A>
            " "
            <A href="/feed" attr:class="button">"Just browse"</A>
        </section>
        <section class="how">
            <div><h2>"Look"</h2><p>"A feed of paintings from six centuries, never the same one twice."</p></div>
            <div><h2>"Learn"</h2><p>"Your saves and skips steer what comes next, in seconds."</p></div>
            <div><h2>"Hang"</h2><p>"Museum-grade prints in four sizes, on paper, canvas or textured canvas."</p></div>
        </section>
    }
}
