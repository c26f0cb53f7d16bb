use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{load_admin_overview, AdminLogin, AdminLogout};
use crate::error::AppError;
use crate::i18n::{td, td_string};
use crate::labels::{date_time_in, error_message, status_label, use_locale};
use crate::pricing::format_cny;
use crate::types::{DashboardFigures, RankedPainting};

#[component]
pub fn LoginPage() -> impl IntoView {
    let locale = use_locale();
    let login = ServerAction::<AdminLogin>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <Title text=td_string!(locale, admin.sign_in_title)/>
        <section class="auth-card">
            <h1>{td_string!(locale, admin.sign_in_title)}</h1>
            <ActionForm action=login>
                <label>{td_string!(locale, admin.email)} <input type="email" name="email" autocomplete="username" required/></label>
                <label>{td_string!(locale, admin.password)} <input type="password" name="password" autocomplete="current-password" required/></label>
                <input type="hidden" name="next" value=next/>
                <button type="submit" class="button primary">{td_string!(locale, admin.sign_in)}</button>
            </ActionForm>
            {move || login.value().get().and_then(Result::err).map(|error| view! {
                <p class="form-error" role="alert">{error_message(&error)}</p>
            })}
        </section>
    }
}

#[component]
pub fn Dashboard() -> impl IntoView {
    let locale = use_locale();
    let overview = Resource::new(|| (), |_| load_admin_overview());
    let logout = ServerAction::<AdminLogout>::new();
    view! {
        <Title text=td_string!(locale, admin.dashboard_title)/>
        <section class="admin">
            <Suspense fallback=move || view! { <p class="loading">{td_string!(locale, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(o) => view! {
                            <header class="admin-header">
                                <h1>{td_string!(locale, admin.console)}</h1>
                                <p>{td!(locale, admin.signed_in_as, email = o.admin_email.clone())}</p>
                                <ActionForm action=logout><button type="submit" class="button">{td_string!(locale, admin.sign_out)}</button></ActionForm>
                            </header>
                            <AdminNav/>
                            <h2>{td_string!(locale, admin.system)}</h2>
                            <dl class="facts">
                                <dt>{td_string!(locale, admin.model)}</dt>
                                <dd>
                                    {o.model_label.clone()} " (" <code>{o.model_id.clone()}</code> ")"
                                    {(!o.model_is_clip).then(|| view! { <strong class="badge warn">{td_string!(locale, admin.not_clip)}</strong> })}
                                </dd>
                                <dt>{td_string!(locale, admin.catalogue)}</dt><dd>{td!(locale, admin.catalogue_size, count = o.catalogue_size)}</dd>
                                <dt>{td_string!(locale, admin.storage)}</dt><dd>{o.storage_backend.clone()}</dd>
                                <dt>{td_string!(locale, admin.taste_worker)}</dt>
                                <dd>{match o.figures.worker_last_run.as_ref() {
                                    Some(at) => td!(locale, admin.worker_last, at = date_time_in(at, locale)).into_any(),
                                    None => td_string!(locale, admin.worker_never).into_any(),
                                }}</dd>
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
    let locale = use_locale();
    view! {
        <h2>{td_string!(locale, admin.orders)}</h2>
        <p>{td!(locale, admin.orders_summary, count = total_orders, revenue = format_cny(total_revenue))}</p>
        <svg class="chart" viewBox=format!("0 0 {CHART_WIDTH} {CHART_HEIGHT}") role="img"
            aria-label=td_string!(locale, admin.revenue_chart, revenue = format_cny(total_revenue)).to_string()>
            {days.into_iter().enumerate().map(|(i, day)| {
                let height = (day.revenue_cents as f64 / highest as f64 * (CHART_HEIGHT - 2.0)).max(if day.orders > 0 { 2.0 } else { 0.0 });
                view! {
                    <rect x=i as f64 * bar_width + 1.0 y=CHART_HEIGHT - height width=(bar_width - 2.0).max(1.0) height=height data-day=day.day.clone()>
                        <title>{td_string!(locale, admin.day_bar, day = &day.day, count = day.orders, revenue = format_cny(day.revenue_cents)).to_string()}</title>
                    </rect>
                }
            }).collect_view()}
        </svg>
        <ul class="status-counts">
            {figures.status_counts.into_iter().map(|(status, n)| view! {
                <li><a href=format!("/admin/orders?status={}", status.code())>{status_label(status, locale)}</a> " " <strong data-status=status.code()>{n}</strong></li>
            }).collect_view()}
        </ul>
    }
}

const CHART_WIDTH: f64 = 600.0;
const CHART_HEIGHT: f64 = 120.0;

/// The feed's funnel over 7 days, its rates, what is saved and hidden most, and the backlog.
#[component]
fn FeedHealth(figures: DashboardFigures) -> impl IntoView {
    let locale = use_locale();
    let funnel = figures.funnel;
    let percent = |rate: Option<f64>| rate.map_or_else(|| "–".to_owned(), |r| format!("{:.1}%", r * 100.0));
    let ranked = |title: &'static str, list: Vec<RankedPainting>| {
        view! {
            <div>
                <h3>{title}</h3>
                {if list.is_empty() {
                    view! { <p class="muted">{td_string!(locale, admin.none_yet)}</p> }.into_any()
                } else {
                    view! {
                        <ol>{list.into_iter().map(|p| view! { <li><a href=format!("/painting/{}", p.id)>{p.title}</a> " (" {p.count} ")"</li> }).collect_view()}</ol>
                    }.into_any()
                }}
            </div>
        }
    };
    view! {
        <h2>{td_string!(locale, admin.feed_health)}</h2>
        <dl class="facts funnel" aria-label=move || td_string!(locale, admin.last_7_days)>
            <dt>{td_string!(locale, admin.impressions)}</dt><dd data-testid="impressions">{funnel.impressions}</dd>
            <dt>{td_string!(locale, admin.clicks)}</dt><dd>{funnel.clicks}</dd>
            <dt>{td_string!(locale, admin.saves)}</dt><dd>{funnel.saves}</dd>
            <dt>{td_string!(locale, admin.purchases)}</dt><dd>{funnel.purchases}</dd>
            <dt>{td_string!(locale, admin.save_rate)}</dt><dd>{percent(funnel.save_rate())}</dd>
            <dt>{td_string!(locale, admin.hide_rate)}</dt><dd>{percent(funnel.hide_rate())}</dd>
            <dt>{td_string!(locale, admin.visitors_with_taste)}</dt><dd>{figures.visitors_with_taste}</dd>
            <dt>{td_string!(locale, admin.backlog)}</dt>
            <dd>{match figures.backlog_oldest_seconds {
                Some(age) => td!(locale, admin.backlog_waiting, count = figures.backlog, age).into_any(),
                None => td_string!(locale, admin.backlog_none).into_any(),
            }}</dd>
        </dl>
        <div class="rankings">
            {ranked(td_string!(locale, admin.most_saved), figures.top_saved)}
            {ranked(td_string!(locale, admin.most_hidden), figures.top_hidden)}
        </div>
    }
}

/// The admin console's sections.
#[component]
pub fn AdminNav() -> impl IntoView {
    let locale = use_locale();
    view! {
        <nav class="admin-nav" aria-label=td_string!(locale, admin.nav)>
            <a href="/admin">{td_string!(locale, admin.nav_dashboard)}</a>
            <a href="/admin/paintings">{td_string!(locale, admin.nav_catalogue)}</a>
            <a href="/admin/import">{td_string!(locale, admin.nav_import)}</a>
            <a href="/admin/orders">{td_string!(locale, admin.nav_orders)}</a>
        </nav>
    }
}

/// An admin page's error: an ended session links to the sign-in page.
pub fn admin_error(error: AppError) -> AnyView {
    let locale = use_locale();
    match error {
        AppError::Unauthorized => view! {
            <p>{td_string!(locale, admin.session_ended)} " " <a href="/admin/login">{td_string!(locale, admin.sign_in_again)}</a></p>
        }
        .into_any(),
        error => view! { <p class="error" role="alert">{error_message(&error)}</p> }.into_any(),
    }
}

/// "<page> · Admin", the tab's title of an admin page.
pub fn admin_title(page: &'static str) -> String {
    td_string!(use_locale(), admin.title_suffix, page).to_string()
}
