//! The shopper's orders: the list and one order with its timeline. After Stripe sends the
//! shopper back, the order page says "confirming payment…" and checks again every 2 s until
//! the webhook has landed.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{load_my_orders, load_order, UpdateShipping};
use crate::components::picture::{Fetch, PaintingPicture};
use crate::error::AppError;
use crate::i18n::td_string;
use crate::labels::{actor_label, date_in, date_time_in, describe_print, error_message, status_label, use_locale};
use crate::order_status::OrderStatus;
use crate::pages::not_found::NotFound;
use crate::pricing::format_cny;
use crate::types::{OrderView, TimelineEntry};

const CONFIRMING_POLL_MS: u64 = 2_000;

#[component]
pub fn OrdersPage() -> impl IntoView {
    let locale = use_locale();
    let orders = Resource::new(|| (), |_| load_my_orders());
    view! {
        <Title text=td_string!(locale, orders.title)/>
        <h1 class="page-title">{td_string!(locale, orders.title)}</h1>
        <Suspense fallback=move || view! { <p class="loading">{td_string!(locale, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Ok(list) if list.is_empty() => view! {
                        <div class="empty-state">
                            <p>{td_string!(locale, orders.empty)}</p>
                            <A href="/feed" attr:class="button primary">{td_string!(locale, common.discover_paintings)}</A>
                        </div>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="order-list">
                            {list.into_iter().map(|order| view! { <OrderRow order/> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error_message(&error)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// One order in a list: picture, title, options, amount and status, linking to `href`.
#[component]
pub fn OrderSummary(order: OrderView, href: String) -> impl IntoView {
    let locale = use_locale();
    view! {
        <a class="order-row" href=href>
            <PaintingPicture card=order.painting.clone() sizes="72px"/>
            <span class="order-main">
                <strong>{order.painting.title_in(locale).to_owned()}</strong>
                <span>{describe_print(order.options, locale)}</span>
                <span class="muted">{order.id.clone()} " · " {date_in(&order.created_at, locale)}</span>
            </span>
            <span class="order-amount">{format_cny(order.amount_cents)}</span>
            <StatusBadge status=order.status flagged=order.needs_attention/>
        </a>
    }
}

#[component]
fn OrderRow(order: OrderView) -> impl IntoView {
    let href = format!("/order/{}", order.id);
    view! { <li><OrderSummary order href/></li> }
}

#[component]
pub fn StatusBadge(status: OrderStatus, #[prop(optional)] flagged: bool) -> impl IntoView {
    let locale = use_locale();
    view! {
        <span class=format!("status status-{}", status.code()) data-status=status.code()>{move || status_label(status, locale)}</span>
        {flagged.then(|| view! { <span class="status status-flag">{td_string!(locale, orders.needs_attention)}</span> })}
    }
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let returning_from_stripe = move || query.read().get("success").as_deref() == Some("true");
    let locale = use_locale();
    let save_address = ServerAction::<UpdateShipping>::new();
    let tick = RwSignal::new(0u32);
    let order = Resource::new(move || (id(), tick.get(), save_address.version().get()), |(id, _, _)| load_order(id));
    // Until the webhook lands, check again every couple of seconds.
    let confirming = move || {
        returning_from_stripe() && order.get().and_then(Result::ok).is_some_and(|o| o.status == OrderStatus::Pending)
    };
    Effect::new(move |_| {
        if confirming() {
            set_timeout(move || tick.update(|t| *t += 1), std::time::Duration::from_millis(CONFIRMING_POLL_MS));
        }
    });
    view! {
        <Suspense fallback=move || view! { <p class="loading">{td_string!(locale, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match order.await {
                    Ok(order) => view! { <OrderDetail order confirming=returning_from_stripe() save_address/> }.into_any(),
                    Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error_message(&error)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OrderDetail(order: OrderView, confirming: bool, save_address: ServerAction<UpdateShipping>) -> impl IntoView {
    let waiting = confirming && order.status == OrderStatus::Pending;
    let editable = order.status.address_editable();
    let shipping = order.shipping.clone();
    let locale = use_locale();
    let id = order.id.clone();
    view! {
        <Title text=td_string!(locale, orders.order_title, id).to_string()/>
        <h1 class="page-title">{td_string!(locale, orders.your_order)}</h1>
        {waiting.then(|| view! { <p class="notice" role="status">{td_string!(locale, orders.confirming)}</p> })}
        <section class="order-detail">
            <OrderFacts order=order.clone()/>
            <div>
                <h2>{td_string!(locale, orders.shipping)}</h2>
                {match shipping.clone() {
                    Some(address) => view! {
                        <p class="address">{address.name} <br/> {address.phone} <br/> {address.address}</p>
                    }.into_any(),
                    None => view! { <p class="muted">{td_string!(locale, orders.address_at_checkout)}</p> }.into_any(),
                }}
                {order.tracking_number.clone().map(|t| view! { <p>{td_string!(locale, orders.tracking_number)} <strong data-testid="tracking">{t}</strong></p> })}
                {editable.then(|| {
                    let address = shipping.unwrap_or_default();
                    view! {
                        <details class="edit-address">
                            <summary>{td_string!(locale, orders.change_address)}</summary>
                            <ActionForm action=save_address>
                                <input type="hidden" name="orderId" value=order.id.clone()/>
                                <label>{td_string!(locale, orders.name)} <input name="name" required maxlength="200" value=address.name/></label>
                                <label>{td_string!(locale, orders.phone)} <input name="phone" required maxlength="40" value=address.phone/></label>
                                <label>{td_string!(locale, orders.address)} <textarea name="address" required maxlength="500">{address.address}</textarea></label>
                                <button type="submit" class="button">{td_string!(locale, orders.save_address)}</button>
                                {move || save_address.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{error_message(&e)}</p> })}
                            </ActionForm>
                        </details>
                    }
                })}
            </div>
        </section>
        <OrderTimeline entries=order.timeline/>
        <p><A href="/orders">{td_string!(locale, orders.all_orders)}</A></p>
    }
}

/// Painting, options, amount and status.
#[component]
pub fn OrderFacts(order: OrderView) -> impl IntoView {
    let locale = use_locale();
    view! {
        <div class="order-facts">
            <a href=format!("/painting/{}", order.painting.id)>
                <PaintingPicture card=order.painting.clone() sizes="220px" fetch=Fetch::First/>
            </a>
            <dl class="facts">
                <dt>{td_string!(locale, orders.order)}</dt><dd>{order.id.clone()}</dd>
                <dt>{td_string!(locale, orders.painting)}</dt><dd>{order.painting.title_in(locale).to_owned()}</dd>
                <dt>{td_string!(locale, orders.print)}</dt><dd>{describe_print(order.options, locale)}</dd>
                <dt>{td_string!(locale, orders.amount)}</dt><dd>{format_cny(order.amount_cents)}</dd>
                {(order.refunded_cents > 0).then(|| view! { <dt>{td_string!(locale, orders.refunded)}</dt><dd>{format_cny(order.refunded_cents)}</dd> })}
                <dt>{td_string!(locale, orders.status)}</dt><dd><StatusBadge status=order.status flagged=order.needs_attention/></dd>
            </dl>
        </div>
    }
}

#[component]
pub fn OrderTimeline(entries: Vec<TimelineEntry>) -> impl IntoView {
    let locale = use_locale();
    view! {
        <section class="timeline" aria-labelledby="timeline-title">
            <h2 id="timeline-title">{td_string!(locale, orders.timeline)}</h2>
            <ol>
                {entries.into_iter().map(|entry| view! {
                    <li>
                        <time datetime=entry.at.as_str().to_owned()>{date_time_in(&entry.at, locale)}</time>
                        <span class="timeline-status">{status_label(entry.to, locale)}</span>
                        <span class="muted">{actor_label(&entry.actor, entry.actor_id.as_deref(), locale)}</span>
                        {entry.note.map(|note| view! { <span class="timeline-note">{note}</span> })}
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}
