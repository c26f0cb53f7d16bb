use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{load_admin_overview, AdminLogin, AdminLogout};
use crate::error::AppError;
use crate::pricing::format_cny;
use crate::types::{DashboardFigures, RankedPainting};

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<AdminLogin>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <Title text="Admin sign in"/>
        <section class="auth-card">
            <h1>"Admin sign in"</h1>
            <ActionForm action=login>
                <label>"Email" <input type="email" name="email" autocomplete="username" required/></label>
                <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                <input type="hidden" name="next" value=next/>
                <button type="submit" class="button primary">"Sign in"</button>
            </ActionForm>
            {move || login.value().get().and_then(Result::err).map(|error| view! {
                <p class="form-error" role="alert">{error.to_string()}</p>
            })}
        </section>
    }
}

#[component]
pub fn Dashboard() -> impl IntoView {
    let overview = Resource::new(|| (), |_| load_admin_overview());
    let logout = ServerAction::<AdminLogout>::new();
    view! {
        <Title text="Admin"/>
        <section class="admin">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(o) => view! {
                            <header class="admin-header">
                                <h1>"ArtWall admin"</h1>
                                <p>"Signed in as " {o.admin_email.clone()}</p>
                                <ActionForm action=logout><button type="submit" class="button">"Sign out"</button></ActionForm>
                            </header>
                            <AdminNav/>
                            <h2>"System"</h2>
                            <dl class="facts">
                                <dt>"Model"</dt>
                                <dd>
                                    {o.model_label.clone()} " (" <code>{o.model_id.clone()}</code> ")"
                                    {(!o.model_is_clip).then(|| view! { <strong class="badge warn">"not CLIP"</strong> })}
                                </dd>
                                <dt>"Catalogue"</dt><dd>{o.catalogue_size} " paintings"</dd>
                                <dt>"Storage"</dt><dd>{o.storage_backend.clone()}</dd>
                                <dt>"Taste worker"</dt>
                                <dd>{o.figures.worker_last_run.clone().map_or_else(|| "has not run yet".to_owned(), |at| format!("last ran {at}"))}</dd>
                            </dl>
                            <ShopFigures figures=o.figures.clone()/>
                            <FeedHealth figures=o.figures/>
                        }.into_any(),
                        Err(error) => admin_error(error),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Orders and revenue per day (30 days) and orders by status.
#[component]
fn ShopFigures(figures: DashboardFigures) -> impl IntoView {
    let days = figures.orders_by_day;
    let total_orders: i64 = days.iter().map(|d| d.orders).sum();
    let total_revenue: i64 = days.iter().map(|d| d.revenue_cents).sum();
    let highest = days.iter().map(|d| d.revenue_cents).max().unwrap_or(0).max(1);
    let bar_width = CHART_WIDTH / days.len().max(1) as f64;
    view! {
        <h2>"Orders"</h2>
        <p>{format!("{total_orders} paid orders, {} in the last 30 days", format_cny(total_revenue))}</p>
        <svg class="chart" viewBox=format!("0 0 {CHART_WIDTH} {CHART_HEIGHT}") role="img"
            aria-label=format!("Revenue per day over the last 30 days: {} in all", format_cny(total_revenue))>
            {days.into_iter().enumerate().map(|(i, day)| {
                let height = (day.revenue_cents as f64 / highest as f64 * (CHART_HEIGHT - 2.0)).max(if day.orders > 0 { 2.0 } else { 0.0 });
                view! {
                    <rect x=i as f64 * bar_width + 1.0 y=CHART_HEIGHT - height width=(bar_width - 2.0).max(1.0) height=height data-day=day.day.clone()>
                        <title>{format!("{}: {} orders, {}", day.day, day.orders, format_cny(day.revenue_cents))}</title>
                    </rect>
                }
            }).collect_view()}
        </svg>
        <ul class="status-counts">
            {figures.status_counts.into_iter().map(|(status, n)| view! {
                <li><a href=format!("/admin/orders?status={}", status.code())>{status.label()}</a> " " <strong data-status=status.code()>{n}</strong></li>
            }).collect_view()}
        </ul>
    }
}

const CHART_WIDTH: f64 = 600.0;
const CHART_HEIGHT: f64 = 120.0;

/// The feed's funnel over 7 days, its rates, what is saved and hidden most, and the backlog.
#[component]
fn FeedHealth(figures: DashboardFigures) -> impl IntoView {
    let funnel = figures.funnel;
    let percent = |rate: Option<f64>| rate.map_or_else(|| "–".to_owned(), |r| format!("{:.1}%", r * 100.0));
    let ranked = |title: &'static str, list: Vec<RankedPainting>| {
        view! {
            <div>
                <h3>{title}</h3>
                {if list.is_empty() {
                    view! { <p class="muted">"None yet."</p> }.into_any()
                } else {
                    view! {
                        <ol>{list.into_iter().map(|p| view! { <li><a href=format!("/painting/{}", p.id)>{p.title}</a> " (" {p.count} ")"</li> }).collect_view()}</ol>
                    }.into_any()
                }}
            </div>
        }
    };
    view! {
        <h2>"Feed health"</h2>
        <dl class="facts funnel" aria-label="The last 7 days">
            <dt>"Impressions"</dt><dd data-testid="impressions">{funnel.impressions}</dd>
            <dt>"Clicks"</dt><dd>{funnel.clicks}</dd>
            <dt>"Saves"</dt><dd>{funnel.saves}</dd>
            <dt>"Purchases"</dt><dd>{funnel.purchases}</dd>
            <dt>"Save rate"</dt><dd>{percent(funnel.save_rate())}</dd>
            <dt>"Hide rate"</dt><dd>{percent(funnel.hide_rate())}</dd>
            <dt>"Visitors with a taste"</dt><dd>{figures.visitors_with_taste}</dd>
            <dt>"Activity backlog"</dt>
            <dd>{match figures.backlog_oldest_seconds {
                Some(age) => format!("{} events waiting, the oldest {age} s old", figures.backlog),
                None => "none waiting".to_owned(),
            }}</dd>
        </dl>
        <div class="rankings">
            {ranked("Most saved", figures.top_saved)}
            {ranked("Most hidden", figures.top_hidden)}
        </div>
    }
}

/// The admin console's sections.
#[component]
pub fn AdminNav() -> impl IntoView {
    view! {
        <nav class="admin-nav" aria-label="Admin">
            <a href="/admin">"Dashboard"</a>
            <a href="/admin/paintings">"Catalogue"</a>
            <a href="/admin/import">"Import"</a>
            <a href="/admin/orders">"Orders"</a>
        </nav>
    }
}

/// An admin page's error: an ended session links to the sign-in page.
pub fn admin_error(error: AppError) -> AnyView {
    match error {
        AppError::Unauthorized => {
            view! { <p>"Your session has ended. " <a href="/admin/login">"Sign in again"</a></p> }.into_any()
        }
        error => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
    }
}
