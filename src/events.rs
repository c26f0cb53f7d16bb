//! The activity vocabulary, compiled into both halves: the browser sends these events, the server
//! checks, stores and learns from them. On the wire and in the database each is its snake_case
//! code (`session_start`, `feed`).

use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Impression,
    View,
    Click,
    Save,
    Unsave,
    Hide,
    Share,
    SessionStart,
    SessionEnd,
    /// Recorded by the server when an order is paid.
    Purchase,
    /// Recorded by the server when a visitor searches.
    Search,
    /// Recorded by the server when a visitor picks home styles.
    StyleSelect,
    /// Recorded by the server when a visitor uploads a room photo.
    RoomPhoto,
}

impl EventKind {
    pub const ALL: [Self; 13] = [
        Self::Impression,
        Self::View,
        Self::Click,
        Self::Save,
        Self::Unsave,
        Self::Hide,
        Self::Share,
        Self::SessionStart,
        Self::SessionEnd,
        Self::Purchase,
        Self::Search,
        Self::StyleSelect,
        Self::RoomPhoto,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Impression => "impression",
            Self::View => "view",
            Self::Click => "click",
            Self::Save => "save",
            Self::Unsave => "unsave",
            Self::Hide => "hide",
            Self::Share => "share",
            Self::SessionStart => "session_start",
            Self::SessionEnd => "session_end",
            Self::Purchase => "purchase",
            Self::Search => "search",
            Self::StyleSelect => "style_select",
            Self::RoomPhoto => "room_photo",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// Whether the browser may send it; the others only the server records.
    pub fn sent_by_browser(self) -> bool {
        !matches!(self, Self::Purchase | Self::Search | Self::StyleSelect | Self::RoomPhoto)
    }

    /// Whether it is about one painting (and so names it).
    pub fn about_painting(self) -> bool {
        matches!(
            self,
            Self::Impression
                | Self::View
                | Self::Click
                | Self::Save
                | Self::Unsave
                | Self::Hide
                | Self::Share
                | Self::Purchase
        )
    }
}

/// Where it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Feed,
    Detail,
    Search,
    Saved,
    /// The server's own: a paid checkout, onboarding, a room photo.
    Checkout,
    Onboarding,
    Room,
}

impl Source {
    pub const ALL: [Self; 7] =
        [Self::Feed, Self::Detail, Self::Search, Self::Saved, Self::Checkout, Self::Onboarding, Self::Room];

    pub fn code(self) -> &'static str {
        match self {
            Self::Feed => "feed",
            Self::Detail => "detail",
            Self::Search => "search",
            Self::Saved => "saved",
            Self::Checkout => "checkout",
            Self::Onboarding => "onboarding",
            Self::Room => "room",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|source| source.code() == code)
    }

    /// The pages the browser tracks cards on.
    pub fn sent_by_browser(self) -> bool {
        matches!(self, Self::Feed | Self::Detail | Self::Search | Self::Saved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_wire_format_and_parse_back() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.code()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.code());
        }
        for source in Source::ALL {
            assert_eq!(Source::parse(source.code()), Some(source));
            assert_eq!(serde_json::to_value(source).unwrap(), source.code());
        }
        assert_eq!(EventKind::parse("purchases"), None);
        let browser: Vec<&str> =
            EventKind::ALL.into_iter().filter(|k| k.sent_by_browser()).map(EventKind::code).collect();
        assert_eq!(
            browser,
            ["impression", "view", "click", "save", "unsave", "hide", "share", "session_start", "session_end"]
        );
    }
}
