use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{lazy_route, path, Lazy, LazyRoute, SsrMode};

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
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <meta name="description" content="ArtWall: museum-quality prints of public-domain paintings, in a feed that learns your taste."/>
                // cargo-leptos hashes the CSS, JS and WASM names: they are cached as immutable.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|title: String| if title.is_empty() { "ArtWall".to_string() } else { format!("{title} · ArtWall") }/>
        <Router>
            <TestPaymentsNotice/>
            <header class="site-header">
                <A href="/" attr:class="brand">"ArtWall"</A>
                <nav aria-label="Main">
                    <A href="/feed">"Discover"</A>
                    <A href="/search">"Search"</A>
                    <A href="/saved">"Saved"</A>
                    <A href="/onboarding">"My style"</A>
                    <A href="/orders">"Orders"</A>
                </nav>
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
                <p>"Public-domain paintings from the Art Institute of Chicago and The Met, printed to order."</p>
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
    let shop = OnceResource::new_blocking(crate::api::load_shop_info());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                shop.await.ok().filter(|shop| shop.test_payments).map(|_| view! {
                    <p class="test-payments" role="note">"Test payments: no card is charged."</p>
                })
            })}
        </Suspense>
    }
}
