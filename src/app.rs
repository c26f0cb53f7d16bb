use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::hooks::use_location;
use leptos_router::{lazy_route, path, Lazy, LazyRoute, SsrMode};

use crate::i18n::td_string;
use crate::labels::{page_locale, use_locale};

use crate::pages::{
    admin::{Dashboard, LoginPage},
    admin_catalogue::{AdminPaintingsPage, EditPaintingPage, NewPaintingPage},
    admin_jobs::{ImportPage, JobPage},
    admin_orders::{AdminOrderPage, AdminOrdersPage},
    feed::Feed,
    landing::Landing,
    not_found::NotFound,
    onboarding::OnboardingPage,
    orders::{OrderPage, OrdersPage},
    painting::Painting,
    saved::SavedPage,
    search::SearchPage,
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The page's CSP names this response's nonce, which the hydration scripts carry.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        if let Ok(value) = axum::http::HeaderValue::from_str(&crate::server::http::security::page_csp(&nonce)) {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    // The page's language, which the browser reads back when it hydrates (`labels::page_locale`).
    let locale = page_locale();
    view! {
        <!DOCTYPE html>
        <html lang=locale.to_string()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <meta name="description" content=td_string!(locale, meta.description)/>
                // cargo-leptos hashes the CSS, JS and WASM names: they are cached as immutable.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationAfterLoad options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Leptos's hydration scripts, started once the first screen has loaded and painted. Its own
/// scripts would fetch the WASM (about 300 KB) at once, beside the first screen's images: on a
/// slow phone the largest of them painted seconds later (Lighthouse's LCP on `/feed`: 5.3 s).
/// Until hydration the page's links and plain forms work as they are. So they wait inert in a
/// `<template>` (no fetch, no run); a cloned script runs, and keeps its nonce. The template
/// also provides the split manifest that lazy routes read on the server.
#[component]
fn HydrationAfterLoad(options: LeptosOptions) -> impl IntoView {
    // After `load`, the next frame paints what has loaded (the largest image among it); then, once
    // the page is idle, hydration starts.
    const START_AFTER_LOAD: &str =
        "{const start=()=>document.head.append(document.getElementById('hydration-scripts').content.cloneNode(true));\
        const idle=()=>'requestIdleCallback' in window?requestIdleCallback(start,{timeout:500}):start();\
        const painted=()=>requestAnimationFrame(()=>setTimeout(idle));\
        document.readyState==='complete'?painted():addEventListener('load',painted,{once:true});}";
    view! {
        <template id="hydration-scripts">
            <HydrationScripts options/>
        </template>
        <script nonce=leptos::nonce::use_nonce()>{START_AFTER_LOAD}</script>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(page_locale());
    view! { <Shop/> }
}

#[component]
fn Shop() -> impl IntoView {
    let locale = use_locale();
    view! {
        <Title formatter=|title: String| if title.is_empty() { "ArtWall".to_string() } else { format!("{title} · ArtWall") }/>
        <Router>
            <TestPaymentsNotice/>
            <header class="site-header">
                <A href="/" attr:class="brand">"ArtWall"</A>
                <nav aria-label=td_string!(locale, nav.label)>
                    <A href="/feed">{td_string!(locale, nav.discover)}</A>
                    <A href="/search">{td_string!(locale, nav.search)}</A>
                    <A href="/saved">{td_string!(locale, nav.saved)}</A>
                    <A href="/onboarding">{td_string!(locale, nav.my_style)}</A>
                    <A href="/orders">{td_string!(locale, nav.orders)}</A>
                </nav>
                <LanguageSwitch/>
            </header>
            <main id="main">
                <Routes fallback=NotFound>
                    <Route path=path!("") view=Landing/>
                    // Rendered completely on the server: the first page is in the HTML before any JS.
                    <Route path=path!("/feed") view=Feed ssr=SsrMode::Async/>
                    <Route path=path!("/painting/:id") view=Painting ssr=SsrMode::Async/>
                    // Pages a first visit does not need come in chunks of their own (below).
                    <Route path=path!("/onboarding") view={Lazy::<OnboardingRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/saved") view={Lazy::<SavedRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/search") view={Lazy::<SearchRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/orders") view={Lazy::<OrdersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/order/:id") view={Lazy::<OrderRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/login") view={Lazy::<LoginRoute>::new()}/>
                    <Route path=path!("/admin") view={Lazy::<DashboardRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/orders") view={Lazy::<AdminOrdersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/orders/:id") view={Lazy::<AdminOrderRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/import") view={Lazy::<ImportRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/jobs/:id") view={Lazy::<JobRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/paintings") view={Lazy::<AdminPaintingsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/paintings/new") view={Lazy::<NewPaintingRoute>::new()}/>
                    <Route path=path!("/admin/paintings/:id") view={Lazy::<EditPaintingRoute>::new()} ssr=SsrMode::Async/>
                </Routes>
            </main>
            <footer class="site-footer">
                <p>{td_string!(locale, footer)}</p>
            </footer>
        </Router>
    }
}

/// Routes whose page the shopper's first visit (`/`, `/feed`, a painting) does not need: each
/// page's code goes into a WASM chunk of its own (`cargo leptos build --split`), fetched when the
/// page is first opened, so a first visit downloads no admin code.
macro_rules! lazy_routes {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

lazy_routes! {
    OnboardingRoute => OnboardingPage,
    SavedRoute => SavedPage,
    SearchRoute => SearchPage,
    OrdersRoute => OrdersPage,
    OrderRoute => OrderPage,
    LoginRoute => LoginPage,
    DashboardRoute => Dashboard,
    AdminOrdersRoute => AdminOrdersPage,
    AdminOrderRoute => AdminOrderPage,
    ImportRoute => ImportPage,
    JobRoute => JobPage,
    AdminPaintingsRoute => AdminPaintingsPage,
    NewPaintingRoute => NewPaintingPage,
    EditPaintingRoute => EditPaintingPage,
}

/// On every page while payments are in test mode, so nobody believes they paid.
#[component]
fn TestPaymentsNotice() -> impl IntoView {
    let locale = use_locale();
    let shop = OnceResource::new_blocking(crate::api::load_shop_info());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                shop.await.ok().filter(|shop| shop.test_payments).map(|_| view! {
                    <p class="test-payments" role="note">{td_string!(locale, notice.test_payments)}</p>
                })
            })}
        </Suspense>
    }
}

/// A plain form to the other language: the server keeps the choice in a cookie and sends the
/// visitor back here, rendered afresh in that language (painting titles and style names
/// included). It works before and without JavaScript.
#[component]
fn LanguageSwitch() -> impl IntoView {
    let locale = use_locale();
    let location = use_location();
    let other = locale.other().to_string();
    let here = move || {
        let search = location.search.get();
        let separator = if search.is_empty() || search.starts_with('?') { "" } else { "?" };
        format!("{}{separator}{search}", location.pathname.get())
    };
    view! {
        <form class="language-switch" method="post" action="/api/locale">
            <input type="hidden" name="locale" value=other.clone()/>
            <input type="hidden" name="next" value=here/>
            <button type="submit" class="link-button" lang=other title=td_string!(locale, language.switch_title)>
                {td_string!(locale, language.switch)}
            </button>
        </form>
    }
}
