//! What a row of an order's timeline records, kept typed in `order_events.detail` so that the
//! shopper and the admin each read it in their own language, and the webhook's answer to Stripe
//! and the logs in English. Notes meant for the shop's staff (a payment or refund that does not fit
//! the order) are not shown to the shopper.

use serde::{Deserialize, Serialize};

use crate::i18n::{td_string, Locale};
use crate::labels::status_label;
use crate::order_status::OrderStatus;
use crate::pricing::format_cny;

/// Amounts are in cents; `via` (the Stripe event that told us) and `payment_status` (Stripe's code)
/// are kept for the record, not shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OrderNote {
    Placed,
    AddressChanged,
    Paid {
        via: String,
    },
    /// Money taken for an order that had expired or failed: a person fulfils or refunds it.
    PaidLate {
        via: String,
        was: OrderStatus,
    },
    AmountMismatch {
        via: String,
        reported: Option<i64>,
        currency: Option<String>,
        expected: i64,
    },
    AwaitingPayment {
        via: String,
        payment_status: String,
    },
    DelayedPaymentFailed,
    SessionExpired,
    NotPaidInTime,
    /// Stripe refused or could not be reached when the shopper went to pay.
    CheckoutNotStarted,
    /// Stripe's own words (its `last_payment_error.message`), quoted as given.
    AttemptFailed {
        reason: Option<String>,
    },
    RefundDoesNotFit {
        reported: Option<i64>,
        currency: Option<String>,
        amount: i64,
    },
    RefundWhileUnpaid {
        refunded: i64,
        status: OrderStatus,
    },
    PartialRefund {
        refunded: i64,
        amount: i64,
    },
    RefundedInFull {
        amount: i64,
    },
    RefundRequested {
        amount: i64,
    },
    Shipped {
        tracking: String,
    },
    MovedByAdmin {
        to: OrderStatus,
    },
    AutoCompleted {
        days: i32,
    },
}

impl OrderNote {
    pub fn text(&self, locale: Locale) -> String {
        match self {
            Self::Placed => td_string!(locale, timeline.placed).to_string(),
            Self::AddressChanged => td_string!(locale, timeline.address_changed).to_string(),
            Self::Paid { .. } => td_string!(locale, timeline.paid).to_string(),
            Self::PaidLate { was, .. } => {
                td_string!(locale, timeline.paid_late, status = status_label(*was, locale)).to_string()
            }
            Self::AmountMismatch { reported, currency, expected, .. } => {
                let reported = reported_amount(*reported, currency.as_deref(), locale);
                td_string!(locale, timeline.amount_mismatch, reported, expected = format_cny(*expected)).to_string()
            }
            Self::AwaitingPayment { .. } => td_string!(locale, timeline.awaiting_payment).to_string(),
            Self::DelayedPaymentFailed => td_string!(locale, timeline.delayed_payment_failed).to_string(),
            Self::SessionExpired => td_string!(locale, timeline.session_expired).to_string(),
            Self::NotPaidInTime => td_string!(locale, timeline.not_paid_in_time).to_string(),
            Self::CheckoutNotStarted => td_string!(locale, timeline.checkout_not_started).to_string(),
            Self::AttemptFailed { reason } => {
                let no_reason = || td_string!(locale, timeline.no_reason).to_string();
                let reason = reason.clone().unwrap_or_else(no_reason);
                td_string!(locale, timeline.attempt_failed, reason).to_string()
            }
            Self::RefundDoesNotFit { reported, currency, amount } => {
                let reported = reported_amount(*reported, currency.as_deref(), locale);
                td_string!(locale, timeline.refund_does_not_fit, reported, amount = format_cny(*amount)).to_string()
            }
            Self::RefundWhileUnpaid { refunded, status } => td_string!(
                locale,
                timeline.refund_while_unpaid,
                amount = format_cny(*refunded),
                status = status_label(*status, locale)
            )
            .to_string(),
            Self::PartialRefund { refunded, amount } => td_string!(
                locale,
                timeline.partial_refund,
                refunded = format_cny(*refunded),
                amount = format_cny(*amount)
            )
            .to_string(),
            Self::RefundedInFull { amount } => {
                td_string!(locale, timeline.refunded_in_full, amount = format_cny(*amount)).to_string()
            }
            Self::RefundRequested { amount } => {
                td_string!(locale, timeline.refund_requested, amount = format_cny(*amount)).to_string()
            }
            Self::Shipped { tracking } => td_string!(locale, timeline.shipped, tracking).to_string(),
            Self::MovedByAdmin { to } => {
                td_string!(locale, timeline.moved_by_admin, status = status_label(*to, locale)).to_string()
            }
            Self::AutoCompleted { days } => td_string!(locale, timeline.auto_completed, days).to_string(),
        }
    }

    /// What the shopper reads: a late payment is simply a payment to them, and notes for the staff
    /// are none of theirs.
    pub fn for_shopper(&self, locale: Locale) -> Option<String> {
        match self {
            Self::AmountMismatch { .. } | Self::RefundDoesNotFit { .. } | Self::RefundWhileUnpaid { .. } => None,
            Self::PaidLate { via, .. } => Some(Self::Paid { via: via.clone() }.text(locale)),
            other => Some(other.text(locale)),
        }
    }

    /// For the webhook's answer, the logs and the `note` column (what older versions show).
    pub fn in_english(&self) -> String {
        self.text(Locale::en)
    }
}

/// An amount as Stripe reported it, in its currency's minor units (which need not be ours).
fn reported_amount(cents: Option<i64>, currency: Option<&str>, locale: Locale) -> String {
    match cents {
        Some(cents) => {
            let currency = currency.unwrap_or("?").to_uppercase();
            td_string!(locale, timeline.minor_units, cents, currency).to_string()
        }
        None => td_string!(locale, timeline.no_amount).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_reads_in_each_language_and_keeps_its_figures() {
        let mismatch = OrderNote::AmountMismatch {
            via: "payment_intent.succeeded".into(),
            reported: Some(100),
            currency: Some("usd".into()),
            expected: 124_900,
        };
        assert_eq!(
            mismatch.in_english(),
            "amount mismatch: Stripe reports 100 USD in minor units, the order is ¥1249.00; not marked paid"
        );
        assert_eq!(
            mismatch.text(Locale::zh_CN),
            "金额不符：Stripe 报告 100（USD，按最小货币单位计），订单金额为 ¥1249.00；未标记为已付款"
        );
        assert_eq!(mismatch.for_shopper(Locale::zh_CN), None, "for the staff only");
        let late = OrderNote::PaidLate { via: "checkout.session.completed".into(), was: OrderStatus::Expired };
        assert_eq!(late.text(Locale::zh_CN), "订单状态为“已过期”时才收到付款：款项已收取，请发货或退款");
        assert_eq!(
            late.in_english(),
            "payment completed after the order was “Expired”: money was taken; fulfil or refund"
        );
        assert_eq!(late.for_shopper(Locale::zh_CN).as_deref(), Some("付款完成"));
    }

    #[test]
    fn a_note_is_stored_as_its_kind_and_fields() {
        let note = OrderNote::Shipped { tracking: "SF123".into() };
        let stored = serde_json::to_value(&note).unwrap();
        assert_eq!(stored, serde_json::json!({ "kind": "shipped", "tracking": "SF123" }));
        assert_eq!(serde_json::from_value::<OrderNote>(stored).unwrap(), note);
    }
}
