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
use crate::order_status::OrderStatus;
use crate::pages::not_found::NotFound;
use crate::pricing::format_cny;
use crate::types::{OrderView, TimelineEntry};

const CONFIRMING_POLL_MS: u64 = 2_000;

#[component]
pub fn OrdersPage() -> impl IntoView {
    let orders = Resource::new(|| (), |_| load_my_orders());
    view! {
        <Title text="My orders"/>
        <h1 class="page-title">"My orders"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Ok(list) if list.is_empty() => view! {
                        <div class="empty-state">
                            <p>"No orders yet. Find a painting you love and choose a print."</p>
                            <A href="/feed" attr:class="button primary">"Discover paintings"</A>
                        </div>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="order-list">
                            {list.into_iter().map(|order| view! { <OrderRow order/> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// One order in a list: picture, title, options, amount and status, linking to `href`.
#[component]
pub fn OrderSummary(order: OrderView, href: String) -> impl IntoView {
    view! {
        <a class="order-row" href=href>
            <PaintingPicture card=order.painting.clone() sizes="72px"/>
            <span class="order-main">
                <strong>{order.painting.title_en.clone().unwrap_or(order.painting.title.clone())}</strong>
                <span>{order.options.describe()}</span>
                <span class="muted">{order.id.clone()} " · " {order.created_at.replace('T', " ").replace('Z', " UTC")}</span>
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
    view! {
        <span class=format!("status status-{}", status.code()) data-status=status.code()>{status.label()}</span>
        {flagged.then(|| view! { <span class="status status-flag">"Needs attention"</span> })}
    }
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let returning_from_stripe = move || query.read().get("success").as_deref() == Some("true");
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
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match order.await {
                    Ok(order) => view! { <OrderDetail order confirming=returning_from_stripe() save_address/> }.into_any(),
                    Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                    Err(error) => view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any(),
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
    view! {
        <Title text=format!("Order {}", order.id)/>
        <h1 class="page-title">"Your order"</h1>
        {waiting.then(|| view! { <p class="notice" role="status">"Confirming payment… this takes a few seconds."</p> })}
        <section class="order-detail">
            <OrderFacts order=order.clone()/>
            <div>
                <h2>"Shipping"</h2>
                {match shipping.clone() {
                    Some(address) => view! {
                        <p class="address">{address.name} <br/> {address.phone} <br/> {address.address}</p>
                    }.into_any(),
                    None => view! { <p class="muted">"We will use the address you give at checkout."</p> }.into_any(),
                }}
                {order.tracking_number.clone().map(|t| view! { <p>"Tracking number: " <strong data-testid="tracking">{t}</strong></p> })}
                {editable.then(|| {
                    let address = shipping.unwrap_or_default();
                    view! {
                        <details class="edit-address">
                            <summary>"Change the shipping address"</summary>
                            <ActionForm action=save_address>
                                <input type="hidden" name="orderId" value=order.id.clone()/>
                                <label>"Name" <input name="name" required maxlength="200" value=address.name/></label>
                                <label>"Phone" <input name="phone" required maxlength="40" value=address.phone/></label>
                                <label>"Address" <textarea name="address" required maxlength="500">{address.address}</textarea></label>
                                <button type="submit" class="button">"Save address"</button>
                                {move || save_address.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
                            </ActionForm>
                        </details>
                    }
                })}
            </div>
        </section>
        <OrderTimeline entries=order.timeline/>
        <p><A href="/orders">"All my orders"</A></p>
    }
}

/// Painting, options, amount and status.
#[component]
pub fn OrderFacts(order: OrderView) -> impl IntoView {
    view! {
        <div class="order-facts">
            <a href=format!("/painting/{}", order.painting.id)>
                <PaintingPicture card=order.painting.clone() sizes="220px" fetch=Fetch::Eager/>
            </a>
            <dl class="facts">
                <dt>"Order"</dt><dd>{order.id.clone()}</dd>
                <dt>"Painting"</dt><dd>{order.painting.title_en.clone().unwrap_or(order.painting.title.clone())}</dd>
                <dt>"Print"</dt><dd>{order.options.describe()}</dd>
                <dt>"Amount"</dt><dd>{format_cny(order.amount_cents)}</dd>
                {(order.refunded_cents > 0).then(|| view! { <dt>"Refunded"</dt><dd>{format_cny(order.refunded_cents)}</dd> })}
                <dt>"Status"</dt><dd><StatusBadge status=order.status flagged=order.needs_attention/></dd>
            </dl>
        </div>
    }
}

#[component]
pub fn OrderTimeline(entries: Vec<TimelineEntry>) -> impl IntoView {
    view! {
        <section class="timeline" aria-labelledby="timeline-title">
            <h2 id="timeline-title">"Timeline"</h2>
            <ol>
                {entries.into_iter().map(|entry| view! {
                    <li>
                        <time>{entry.at.replace('T', " ").replace('Z', " UTC")}</time>
                        <span class="timeline-status">{entry.to.label()}</span>
                        <span class="muted">
                            {match entry.actor_id { Some(id) => format!("{} #{id}", entry.actor), None => entry.actor }}
                        </span>
                        {entry.note.map(|note| view! { <span class="timeline-note">{note}</span> })}
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}
