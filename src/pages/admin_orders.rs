//! Admin fulfilment: orders by status with counts, and one order with the moves the state
//! machine allows, tracking when shipping, and refunds through Stripe.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{load_admin_order, load_admin_orders, AdvanceOrder, RefundOrder};
use crate::i18n::{td, td_string};
use crate::labels::{error_message, status_label, use_locale};
use crate::order_status::OrderStatus;
use crate::pages::admin::{admin_error, admin_title, AdminNav};
use crate::pages::orders::{OrderFacts, OrderSummary, OrderTimeline};
use crate::pricing::format_cny;
use crate::types::OrderView;

#[component]
pub fn AdminOrdersPage() -> impl IntoView {
    let query = use_query_map();
    let status = move || query.read().get("status");
    let orders = Resource::new(status, load_admin_orders);
    let locale = use_locale();
    view! {
        <Title text=admin_title(td_string!(locale, admin.orders))/>
        <section class="admin">
            <AdminNav/>
            <h1>{td_string!(locale, admin.orders)}</h1>
            <Suspense fallback=move || view! { <p class="loading">{td_string!(locale, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match orders.await {
                        Ok(data) => {
                            let total: i64 = data.counts.iter().map(|(_, n)| n).sum();
                            view! {
                                <nav class="status-filter" aria-label=td_string!(locale, admin.filter_by_status)>
                                    <a href="/admin/orders">{td!(locale, admin.all_count, count = total)}</a>
                                    {data.counts.into_iter().map(|(s, n)| view! {
                                        <a href=format!("/admin/orders?status={}", s.code()) data-status=s.code()>
                                            {td!(locale, admin.status_count, status = status_label(s, locale), count = n)}
                                        </a>
                                    }).collect_view()}
                                </nav>
                                {if data.orders.is_empty() {
                                    view! { <p class="empty-state">{td_string!(locale, admin.no_orders)}</p> }.into_any()
                                } else {
                                    view! {
                                        <ul class="order-list">
                                            {data.orders.into_iter().map(|order| {
                                                let href = format!("/admin/orders/{}", order.id);
                                                view! { <li><OrderSummary order href/></li> }
                                            }).collect_view()}
                                        </ul>
                                    }.into_any()
                                }}
                            }.into_any()
                        }
                        Err(error) => admin_error(error),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn AdminOrderPage() -> impl IntoView {
    let params = use_params_map();
    let advance = ServerAction::<AdvanceOrder>::new();
    let refund = ServerAction::<RefundOrder>::new();
    let order = Resource::new(
        move || (params.read().get("id").unwrap_or_default(), advance.version().get(), refund.version().get()),
        |(id, _, _)| load_admin_order(id),
    );
    let locale = use_locale();
    view! {
        <Title text=admin_title(td_string!(locale, admin.order_title))/>
        <section class="admin">
            <AdminNav/>
            <p><a href="/admin/orders">{td_string!(locale, admin.all_orders)}</a></p>
            <Suspense fallback=move || view! { <p class="loading">{td_string!(locale, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match order.await {
                        Ok(order) => view! { <AdminOrder order advance refund/> }.into_any(),
                        Err(error) => admin_error(error),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn AdminOrder(
    order: OrderView,
    advance: ServerAction<AdvanceOrder>,
    refund: ServerAction<RefundOrder>,
) -> impl IntoView {
    let moves = order.status.admin_moves();
    let refundable = order.status.is_paid() && order.status != OrderStatus::Refunded;
    let remaining = order.amount_cents - order.refunded_cents;
    let id = order.id.clone();
    let locale = use_locale();
    view! {
        <h1>{td!(locale, admin.order_heading, id = order.id.clone())}</h1>
        <OrderFacts order=order.clone()/>
        {order.shipping.clone().map(|a| view! { <p class="address">{td_string!(locale, admin.ship_to)} {a.name} ", " {a.phone} ", " {a.address}</p> })}
        <div class="admin-actions">
            {moves.into_iter().map(|to| {
                let id = id.clone();
                view! {
                    <ActionForm action=advance attr:class="advance-form">
                        <input type="hidden" name="orderId" value=id/>
                        <input type="hidden" name="to" value=to.code()/>
                        {(to == OrderStatus::Shipped).then(|| view! {
                            <label>{td_string!(locale, admin.tracking_number)} <input name="tracking" required maxlength="100"/></label>
                        })}
                        <button type="submit" class="button primary">{td!(locale, admin.mark_as, status = status_label(to, locale).to_lowercase())}</button>
                    </ActionForm>
                }
            }).collect_view()}
            {refundable.then(|| view! {
                <ActionForm action=refund attr:class="refund-form">
                    <input type="hidden" name="orderId" value=id.clone()/>
                    <label>{td!(locale, admin.refund_amount, amount = format_cny(remaining))}
                        <input name="amountCents" inputmode="numeric" pattern="[0-9]*"/>
                    </label>
                    <button type="submit" class="button">{td_string!(locale, admin.refund)}</button>
                </ActionForm>
            })}
            {move || advance.value().get().and_then(Result::err).or_else(|| refund.value().get().and_then(Result::err)).map(|e| view! {
                <p class="error" role="alert">{error_message(&e)}</p>
            })}
            {move || refund.value().get().and_then(Result::ok).map(|cents| view! {
                <p class="notice" role="status">{td!(locale, admin.refund_requested, amount = format_cny(cents))}</p>
            })}
        </div>
        <OrderTimeline entries=order.timeline/>
    }
}
