//! The order state machine, in one place, shared by the server (the only one that moves orders)
//! and the pages (which show the admin only the moves it allows).
//!
//! pending → paid → processing → shipped → delivered → completed;
//! pending → expired / failed; refunded from paid onward. Nothing moves backwards, and a refund
//! is final. A payment that completes after expiry (or failure) is still money taken: such an
//! order moves on to paid, flagged for the admin.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::codes::{CodeSet, UnknownCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Paid,
    Processing,
    Shipped,
    Delivered,
    Completed,
    Expired,
    Failed,
    Refunded,
}

use OrderStatus::*;

impl OrderStatus {
    pub const ALL: [Self; 9] = [Pending, Paid, Processing, Shipped, Delivered, Completed, Expired, Failed, Refunded];

    pub fn code(self) -> &'static str {
        match self {
            Pending => "pending",
            Paid => "paid",
            Processing => "processing",
            Shipped => "shipped",
            Delivered => "delivered",
            Completed => "completed",
            Expired => "expired",
            Failed => "failed",
            Refunded => "refunded",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Pending => "Awaiting payment",
            Paid => "Paid",
            Processing => "Being printed",
            Shipped => "Shipped",
            Delivered => "Delivered",
            Completed => "Completed",
            Expired => "Expired",
            Failed => "Payment failed",
            Refunded => "Refunded",
        }
    }

    /// Every move the machine allows. Anything else is refused (or, for Stripe's late or
    /// repeated news, ignored).
    pub fn can_move_to(self, to: Self) -> bool {
        matches!(
            (self, to),
            (Pending, Paid | Expired | Failed)
                | (Expired | Failed, Paid)
                | (Paid, Processing)
                | (Processing, Shipped)
                | (Shipped, Delivered)
                | (Delivered, Completed)
                | (Paid | Processing | Shipped | Delivered | Completed, Refunded)
        )
    }

    /// The next fulfilment steps an admin may take by hand (refunds go through Stripe).
    pub fn admin_moves(self) -> Vec<Self> {
        [Processing, Shipped, Delivered, Completed].into_iter().filter(|&to| self.can_move_to(to)).collect()
    }

    /// Money has been taken for the order (it may since have been refunded).
    pub fn is_paid(self) -> bool {
        matches!(self, Paid | Processing | Shipped | Delivered | Completed | Refunded)
    }

    /// The shopper may still change where it goes.
    pub fn address_editable(self) -> bool {
        matches!(self, Pending | Paid | Processing)
    }
}

impl FromStr for OrderStatus {
    type Err = UnknownCode;

    fn from_str(code: &str) -> Result<Self, UnknownCode> {
        Self::ALL.into_iter().find(|s| s.code() == code).ok_or_else(|| UnknownCode {
            set: CodeSet::OrderStatus,
            given: code.to_owned(),
            choices: Self::ALL.iter().map(|s| s.code()).collect(),
        })
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_can_change_until_the_print_is_shipped() {
        let editable: Vec<OrderStatus> = OrderStatus::ALL.into_iter().filter(|s| s.address_editable()).collect();
        assert_eq!(editable, [Pending, Paid, Processing]);
    }

    #[test]
    fn a_status_shows_as_its_label() {
        for status in OrderStatus::ALL {
            assert_eq!(status.to_string(), status.label());
        }
    }

    #[test]
    fn every_status_has_its_own_label_for_shoppers() {
        let labels: std::collections::HashSet<&str> = OrderStatus::ALL.into_iter().map(OrderStatus::label).collect();
        assert_eq!(labels.len(), OrderStatus::ALL.len(), "no two statuses read alike");
        assert!(labels.iter().all(|label| label.starts_with(char::is_uppercase)), "{labels:?}");
        assert_eq!(Pending.label(), "Awaiting payment");
        assert_eq!(Failed.label(), "Payment failed");
    }

    #[test]
    fn the_happy_path_and_its_branches_are_allowed() {
        let path = [Pending, Paid, Processing, Shipped, Delivered, Completed];
        for pair in path.windows(2) {
            assert!(pair[0].can_move_to(pair[1]), "{:?} -> {:?}", pair[0], pair[1]);
        }
        assert!(Pending.can_move_to(Expired) && Pending.can_move_to(Failed));
        assert!(Expired.can_move_to(Paid), "a late payment is still money taken");
        for from in [Paid, Processing, Shipped, Delivered, Completed] {
            assert!(from.can_move_to(Refunded));
        }
    }

    #[test]
    fn nothing_moves_backwards_and_refunds_are_final() {
        for from in OrderStatus::ALL {
            assert!(!from.can_move_to(from), "{from:?} to itself");
            assert!(!from.can_move_to(Pending), "{from:?} back to pending");
        }
        assert!(OrderStatus::ALL.iter().all(|&to| !Refunded.can_move_to(to)));
        assert!(!Shipped.can_move_to(Paid) && !Completed.can_move_to(Delivered) && !Paid.can_move_to(Expired));
        assert!(!Pending.can_move_to(Refunded) && !Pending.can_move_to(Shipped));
        assert_eq!(Paid.admin_moves(), vec![Processing]);
        assert_eq!(Refunded.admin_moves(), vec![]);
        assert_eq!("shipped".parse::<OrderStatus>(), Ok(Shipped));
        assert!("lost".parse::<OrderStatus>().is_err());
    }
}
