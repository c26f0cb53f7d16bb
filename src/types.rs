//! Data shared by the server and the WASM client.

use serde::{Deserialize, Serialize};

/// What a feed card needs: enough to reserve the image's box before it loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PaintingCard {
    pub id: i64,
    pub title: String,
    pub title_en: Option<String>,
    pub artist: String,
    pub artist_en: Option<String>,
    pub year: Option<i32>,
    pub style: Option<String>,
    pub image_url: String,
    pub width: i32,
    pub height: i32,
    /// Every stored size (`srcset`); none for paintings imported before sizes existed.
    pub srcset: Option<String>,
    /// The same sizes as WebP, where that is smaller than JPEG.
    pub srcset_webp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PaintingDetail {
    pub card: PaintingCard,
    pub image_hd_url: String,
    pub hd_width: i32,
    pub hd_height: i32,
    pub source: Option<String>,
    pub source_url: Option<String>,
    pub license: Option<String>,
    pub tags: Vec<String>,
    /// Whether the current visitor has saved it.
    pub saved: bool,
}

/// One painting in the feed, with why and where it is there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FeedItem {
    #[serde(flatten)]
    pub card: PaintingCard,
    /// Cosine similarity to the visitor's taste; none before the visitor has one.
    pub similarity: Option<f32>,
    /// Position in this feed session, for activity events.
    pub position: i64,
    /// Picked from outside the nearest neighbours, so the taste can move.
    pub exploration: bool,
    /// Already saved by this visitor (possible after "start over").
    #[serde(default)]
    pub saved: bool,
    /// Why a personalised card is there, when it is one of the paintings most like one the
    /// visitor liked lately: saved, viewed, clicked, shared or bought ("Because you saved ...").
    #[serde(default)]
    pub because: Option<Because>,
}

/// A painting the visitor liked that a feed card is like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Because {
    pub painting_id: i64,
    pub title: String,
    pub title_en: Option<String>,
    /// Saved now (else viewed, clicked, shared or bought).
    pub saved: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FeedPage {
    pub items: Vec<FeedItem>,
    /// Opaque; pass it back to get the next page.
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// The admin console's system panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminOverview {
    pub admin_email: String,
    pub model_id: String,
    pub model_label: String,
    pub model_is_clip: bool,
    pub catalogue_size: i64,
    pub storage_backend: String,
    pub figures: DashboardFigures,
}

/// A home style on the onboarding page, pictured by the painting nearest to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StyleCard {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// (image URL, width, height, painting title)
    pub picture: Option<PaintingCard>,
}

/// What every page needs to know about the shop itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ShopInfo {
    /// Payments go to a test-mode Stripe (or the project's own test server): no card is charged.
    pub test_payments: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Onboarding {
    pub cards: Vec<StyleCard>,
    /// The styles this visitor chose last time, if any.
    pub chosen: Vec<String>,
}

/// A painting with its cosine similarity to something (a query, another painting).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScoredCard {
    pub card: PaintingCard,
    pub similarity: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SearchResults {
    pub query: String,
    /// Only matches above the similarity floor; may be empty ("no close matches").
    pub items: Vec<ScoredCard>,
    /// The stand-in model reads colours and light, not subjects; the page says so.
    pub colour_only_model: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SavedList {
    /// Newest first.
    pub items: Vec<PaintingCard>,
}

/// What the "see it on your wall" panel needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RoomState {
    /// The visitor's newest room photo, if they uploaded one.
    pub photo: Option<RoomPhoto>,
    /// The upload limit, for the form's hint.
    pub max_megabytes: u64,
}

/// A stored room photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RoomPhoto {
    pub url: String,
    pub width: i32,
    pub height: i32,
}

/// One line of an order's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub from: Option<crate::order_status::OrderStatus>,
    pub to: crate::order_status::OrderStatus,
    /// shopper, stripe, admin or system
    pub actor: String,
    /// The admin's id for admin actions.
    pub actor_id: Option<String>,
    pub note: Option<String>,
    pub at: LocalTime,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ShippingAddress {
    pub name: String,
    pub phone: String,
    pub address: String,
}

/// An order as its shopper (or an admin) sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub id: String,
    pub painting: PaintingCard,
    pub options: crate::pricing::PrintOptions,
    pub amount_cents: i64,
    pub currency: String,
    pub status: crate::order_status::OrderStatus,
    pub refunded_cents: i64,
    pub tracking_number: Option<String>,
    pub shipping: Option<ShippingAddress>,
    /// Something an admin must look at (paid after expiry, amount mismatch...).
    pub needs_attention: bool,
    pub created_at: LocalTime,
    pub timeline: Vec<TimelineEntry>,
}

/// The admin's order list: newest first, with counts per status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminOrders {
    pub orders: Vec<OrderView>,
    pub counts: Vec<(crate::order_status::OrderStatus, i64)>,
}

/// A batch job as the admin sees it, with its figures worked out on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub id: String,
    /// "import" or "reembed".
    pub kind: String,
    /// queued, running, completed, interrupted.
    pub status: String,
    pub total: i64,
    /// Items finished, whether they worked or not.
    pub processed: i64,
    pub failed: i64,
    /// Items per minute since the job started.
    pub rate_per_minute: Option<f64>,
    pub eta_seconds: Option<i64>,
    /// How many times the job was picked up again after its server stopped.
    pub resumes: i64,
    pub created_at: LocalTime,
    pub failures: Vec<JobFailure>,
}

impl JobView {
    pub fn is_active(&self) -> bool {
        matches!(self.status.as_str(), "queued" | "running")
    }
}

/// An import job just queued (`POST /api/admin/jobs/import` asked for JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobQueued {
    pub job_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobFailure {
    pub position: i32,
    pub label: String,
    pub reason: String,
}

/// One row of the admin's catalogue list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AdminPainting {
    pub id: i64,
    pub title: String,
    pub artist: String,
    pub style: Option<String>,
    pub image_url: String,
    pub published: bool,
    pub saves: i64,
    pub views: i64,
    pub orders: i64,
}

/// A page of the admin's catalogue list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdminPaintings {
    pub items: Vec<AdminPainting>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
}

/// The dashboard's figures about the shop and the feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DashboardFigures {
    /// The last 30 days, oldest first: orders paid that day and their revenue net of refunds.
    pub orders_by_day: Vec<DayFigures>,
    pub status_counts: Vec<(crate::order_status::OrderStatus, i64)>,
    /// The last 7 days.
    pub funnel: Funnel,
    pub top_saved: Vec<RankedPainting>,
    pub top_hidden: Vec<RankedPainting>,
    pub visitors_with_taste: i64,
    /// Activity events the taste worker has not applied yet, and the oldest one's age.
    pub backlog: i64,
    pub backlog_oldest_seconds: Option<i64>,
    pub worker_last_run: Option<LocalTime>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DayFigures {
    pub day: String,
    pub orders: i64,
    pub revenue_cents: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Funnel {
    pub impressions: i64,
    pub clicks: i64,
    pub saves: i64,
    pub purchases: i64,
    pub hides: i64,
}

impl Funnel {
    /// Saves per impression.
    pub fn save_rate(&self) -> Option<f64> {
        (self.impressions > 0).then(|| self.saves as f64 / self.impressions as f64)
    }

    /// Hides per impression.
    pub fn hide_rate(&self) -> Option<f64> {
        (self.impressions > 0).then(|| self.hides as f64 / self.impressions as f64)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RankedPainting {
    pub id: i64,
    pub title: String,
    pub count: i64,
}

/// A painting an admin just added, with its nearest neighbours as a check of its embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AddedPainting {
    pub painting: PaintingDetail,
    pub neighbours: Vec<ScoredCard>,
}

/// A painting's metadata as the admin's edit form shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PaintingEdit {
    pub id: i64,
    pub title: String,
    pub title_en: String,
    pub artist: String,
    pub artist_en: String,
    pub year: String,
    pub style: String,
    pub tags: String,
    pub source: String,
    pub source_url: String,
    pub license: String,
    pub image_url: String,
    pub published: bool,
    pub embedding_model: String,
}

/// The cookie in which the browser reports its IANA time zone (`Europe/Paris`) so that pages show
/// times in it; it holds nothing else.
pub const TIME_ZONE_COOKIE: &str = "artwall_tz";

/// A moment as its reader sees it: RFC 3339 with the UTC offset of the reader's time zone (their
/// browser's, else China time), e.g. `2026-11-29T21:05:00+08:00`. Pages show its wall-clock
/// fields as they are, so the browser needs no time-zone data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime, example = "2026-11-29T21:05:00+08:00"))]
#[serde(transparent)]
pub struct LocalTime(String);

/// A wall-clock date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallClock {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    /// Minutes east of UTC.
    pub offset_minutes: i16,
}

impl WallClock {
    /// "UTC+8", "UTC+5:30", "UTC-8", "UTC": which clock the time is on.
    pub fn zone_label(self) -> String {
        let (sign, minutes) =
            if self.offset_minutes < 0 { ('-', -self.offset_minutes) } else { ('+', self.offset_minutes) };
        match (minutes / 60, minutes % 60) {
            (0, 0) => "UTC".to_owned(),
            (hours, 0) => format!("UTC{sign}{hours}"),
            (hours, minutes) => format!("UTC{sign}{hours}:{minutes:02}"),
        }
    }
}

impl LocalTime {
    /// `at` in `zone`; beyond the years jiff knows (Postgres allows more), its first or last moment.
    #[cfg(feature = "ssr")]
    pub fn new(at: time::OffsetDateTime, zone: &jiff::tz::TimeZone) -> Self {
        let seconds = at.unix_timestamp();
        let instant = jiff::Timestamp::from_second(seconds).unwrap_or(if seconds < 0 {
            jiff::Timestamp::MIN
        } else {
            jiff::Timestamp::MAX
        });
        Self(instant.to_zoned(zone.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
    }

    /// Its date and time of day where it was written; `None` for a string that is not ours.
    pub fn wall_clock(&self) -> Option<WallClock> {
        let (date, time) = self.0.split_once('T')?;
        let mut date = date.splitn(3, '-').map(str::parse::<u16>);
        let (clock, offset) = time.split_at_checked(8)?;
        let mut clock = clock.split(':').map(str::parse::<u8>);
        let (sign, offset) = offset.split_at_checked(1)?;
        let sign = match sign {
            "+" => 1,
            "-" => -1,
            _ => return None,
        };
        let (offset_hours, offset_minutes) = offset.split_once(':')?;
        let offset_minutes = offset_hours.parse::<i16>().ok()? * 60 + offset_minutes.parse::<i16>().ok()?;
        Some(WallClock {
            year: date.next()?.ok()?,
            month: u8::try_from(date.next()?.ok()?).ok()?,
            day: u8::try_from(date.next()?.ok()?).ok()?,
            hour: clock.next()?.ok()?,
            minute: clock.next()?.ok()?,
            offset_minutes: sign * offset_minutes,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
