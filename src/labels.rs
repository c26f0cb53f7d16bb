//! The shop's words for its closed sets (print options, order statuses, error kinds) and for its
//! bilingual data, in the visitor's language. The English `label()`s beside the types stay what
//! the server writes to logs, Stripe and the JSON API.

use crate::error::AppError;
use crate::i18n::{td_string, Locale};
use crate::order_status::OrderStatus;
use crate::pricing::{Frame, Material, PrintOption, PrintOptions, PrintSize};
use crate::types::{LocalTime, PaintingCard, WallClock};

/// The page's language. The server chooses it for each request (`server::http::locale`) and
/// writes it in `<html lang>`; the page keeps it for its life (the header's switch loads the page
/// afresh), so texts are plain strings, not views that follow a language signal.
pub fn page_locale() -> Locale {
    #[cfg(feature = "ssr")]
    if let Some(parts) = leptos::prelude::use_context::<axum::http::request::Parts>() {
        return crate::server::http::locale::request_locale(&parts.headers);
    }
    #[cfg(feature = "hydrate")]
    if let Some(lang) = leptos::prelude::document().document_element().and_then(|html| html.get_attribute("lang")) {
        return lang.parse().unwrap_or_default();
    }
    Locale::default()
}

/// The page's language, as `App` provides it.
pub fn use_locale() -> Locale {
    leptos::prelude::use_context().unwrap_or_else(page_locale)
}

impl Locale {
    /// The language the header's switch offers: the one this page is not in.
    pub fn other(self) -> Self {
        match self {
            Locale::zh_CN => Locale::en,
            Locale::en => Locale::zh_CN,
        }
    }
}

/// A value's name for people reading `locale`.
pub trait Label: PrintOption {
    fn label_in(self, locale: Locale) -> &'static str;
}

impl Label for PrintSize {
    /// "40 × 50 cm" reads the same in both languages.
    fn label_in(self, _locale: Locale) -> &'static str {
        self.label()
    }
}

impl Label for Material {
    fn label_in(self, locale: Locale) -> &'static str {
        match self {
            Material::Paper => td_string!(locale, print.material_paper),
            Material::Canvas => td_string!(locale, print.material_canvas),
            Material::Textured => td_string!(locale, print.material_textured),
        }
    }
}

impl Label for Frame {
    fn label_in(self, locale: Locale) -> &'static str {
        match self {
            Frame::None => td_string!(locale, print.frame_none),
            Frame::Black => td_string!(locale, print.frame_black),
            Frame::White => td_string!(locale, print.frame_white),
            Frame::Wood => td_string!(locale, print.frame_wood),
            Frame::Gold => td_string!(locale, print.frame_gold),
        }
    }
}

/// "50 × 60 cm, Canvas, Black frame" / "50 × 60 cm，画布，黑色画框".
pub fn describe_print(options: PrintOptions, locale: Locale) -> String {
    [options.size.label_in(locale), options.material.label_in(locale), options.frame.label_in(locale)]
        .join(td_string!(locale, print.separator))
}

pub fn status_label(status: OrderStatus, locale: Locale) -> &'static str {
    match status {
        OrderStatus::Pending => td_string!(locale, status.pending),
        OrderStatus::Paid => td_string!(locale, status.paid),
        OrderStatus::Processing => td_string!(locale, status.processing),
        OrderStatus::Shipped => td_string!(locale, status.shipped),
        OrderStatus::Delivered => td_string!(locale, status.delivered),
        OrderStatus::Completed => td_string!(locale, status.completed),
        OrderStatus::Expired => td_string!(locale, status.expired),
        OrderStatus::Failed => td_string!(locale, status.failed),
        OrderStatus::Refunded => td_string!(locale, status.refunded),
    }
}

/// An error as the page shows it, in the page's language.
pub fn error_message(error: &AppError) -> String {
    error_text(error, use_locale())
}

/// An error in `locale`. Messages about bad input are the server's own sentence, written in the
/// language of the request that caused them.
pub fn error_text(error: &AppError, locale: Locale) -> String {
    let text = match error {
        AppError::Invalid(message) | AppError::TooLarge(message) | AppError::InvalidField { message, .. } => {
            return message.clone()
        }
        AppError::NotFound => td_string!(locale, error.not_found),
        AppError::Unauthorized => td_string!(locale, error.unauthorized),
        AppError::Forbidden => td_string!(locale, error.forbidden),
        AppError::RateLimited => td_string!(locale, error.rate_limited),
        AppError::Unavailable => td_string!(locale, error.unavailable),
        AppError::PaymentUnavailable => td_string!(locale, error.payment_unavailable),
        AppError::Internal => td_string!(locale, error.internal),
    };
    text.to_owned()
}

/// A batch job's status (`JobView::status`).
pub fn job_status(status: &str, locale: Locale) -> String {
    match status {
        "queued" => td_string!(locale, admin.job_queued),
        "running" => td_string!(locale, admin.job_running),
        "completed" => td_string!(locale, admin.job_completed),
        "failed" => td_string!(locale, admin.job_failed),
        "interrupted" => td_string!(locale, admin.job_interrupted),
        "cancelled" => td_string!(locale, admin.job_cancelled),
        other => other,
    }
    .to_owned()
}

/// Who moved an order (`TimelineEntry::actor`, an admin with their id).
pub fn actor_label(actor: &str, admin_id: Option<&str>, locale: Locale) -> String {
    let who = match actor {
        "shopper" => td_string!(locale, orders.actor_shopper),
        "stripe" => td_string!(locale, orders.actor_stripe),
        "admin" => td_string!(locale, orders.actor_admin),
        "system" => td_string!(locale, orders.actor_system),
        other => other,
    };
    match admin_id {
        Some(id) => format!("{who} #{id}"),
        None => who.to_owned(),
    }
}

/// "29 Nov 2026" / "2026年11月29日", in the zone the server wrote `at` in.
pub fn date_in(at: &LocalTime, locale: Locale) -> String {
    at.wall_clock().map_or_else(|| at.as_str().to_owned(), |clock| date_of(clock, locale))
}

/// "29 Nov 2026, 21:05 (UTC+8)" / "2026年11月29日 21:05（UTC+8）": the clock is named, since a page
/// the browser has not yet told its zone shows China time.
pub fn date_time_in(at: &LocalTime, locale: Locale) -> String {
    at.wall_clock().map_or_else(
        || at.as_str().to_owned(),
        |clock| {
            let (date, time) = (date_of(clock, locale), format!("{:02}:{:02}", clock.hour, clock.minute));
            td_string!(locale, time.date_time, date, time, zone = clock.zone_label()).to_string()
        },
    )
}

fn date_of(clock: WallClock, locale: Locale) -> String {
    let month = match clock.month {
        1 => td_string!(locale, time.month_1),
        2 => td_string!(locale, time.month_2),
        3 => td_string!(locale, time.month_3),
        4 => td_string!(locale, time.month_4),
        5 => td_string!(locale, time.month_5),
        6 => td_string!(locale, time.month_6),
        7 => td_string!(locale, time.month_7),
        8 => td_string!(locale, time.month_8),
        9 => td_string!(locale, time.month_9),
        10 => td_string!(locale, time.month_10),
        11 => td_string!(locale, time.month_11),
        _ => td_string!(locale, time.month_12),
    };
    td_string!(locale, time.date, day = clock.day, month, year = clock.year).to_string()
}

/// Of a catalogue text stored as its primary version (`title`, `artist`: Chinese where the
/// catalogue has it) and, where known, in English: English pages show the English one, Chinese
/// pages the primary one, and either falls back to the other when it is missing.
pub fn in_language<'a>(locale: Locale, zh: &'a str, en: Option<&'a str>) -> &'a str {
    match (locale, en) {
        (Locale::en, Some(en)) if !en.is_empty() => en,
        _ if zh.is_empty() => en.unwrap_or_default(),
        _ => zh,
    }
}

impl PaintingCard {
    pub fn title_in(&self, locale: Locale) -> &str {
        in_language(locale, &self.title, self.title_en.as_deref())
    }

    pub fn artist_in(&self, locale: Locale) -> &str {
        in_language(locale, &self.artist, self.artist_en.as_deref())
    }

    /// "Water Lilies by Claude Monet" / "克劳德·莫奈《睡莲》".
    pub fn alt_text(&self, locale: Locale) -> String {
        td_string!(locale, card.by, title = self.title_in(locale), artist = self.artist_in(locale)).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_shows_in_the_chosen_language_and_falls_back_to_the_other() {
        assert_eq!(in_language(Locale::en, "睡莲", Some("Water Lilies")), "Water Lilies");
        assert_eq!(in_language(Locale::zh_CN, "睡莲", Some("Water Lilies")), "睡莲");
        assert_eq!(in_language(Locale::en, "睡莲", None), "睡莲", "no English: the Chinese");
        assert_eq!(in_language(Locale::en, "睡莲", Some("")), "睡莲", "an empty English is none");
        assert_eq!(in_language(Locale::zh_CN, "", Some("Water Lilies")), "Water Lilies", "no Chinese: the English");
    }

    #[test]
    fn every_print_option_and_status_has_a_name_in_each_language() {
        for locale in [Locale::zh_CN, Locale::en] {
            let names: Vec<&str> = Material::ALL
                .iter()
                .map(|m| m.label_in(locale))
                .chain(Frame::ALL.iter().map(|f| f.label_in(locale)))
                .chain(OrderStatus::ALL.iter().map(|s| status_label(*s, locale)))
                .collect();
            let distinct: std::collections::HashSet<&&str> = names.iter().collect();
            assert_eq!(distinct.len(), names.len(), "{locale}: two values share a name: {names:?}");
        }
        for (english, own) in Material::ALL
            .iter()
            .map(|m| (m.label_in(Locale::en), m.label()))
            .chain(Frame::ALL.iter().map(|f| (f.label_in(Locale::en), f.label())))
            .chain(OrderStatus::ALL.iter().map(|s| (status_label(*s, Locale::en), s.label())))
        {
            assert_eq!(english, own, "the English names are the types' own (the server's, Stripe's)");
        }
        assert_eq!(
            describe_print(PrintOptions::default(), Locale::zh_CN),
            format!("{}，{}，{}", PrintOptions::default().size.label(), "艺术纸", "无画框")
        );
    }

    #[test]
    fn a_moment_reads_in_the_readers_zone_and_language() {
        let zone = |name| jiff::tz::TimeZone::get(name).unwrap();
        // 2026-11-29 13:05:42 UTC
        let at = time::OffsetDateTime::from_unix_timestamp(1_795_957_542).unwrap();
        let in_china = LocalTime::new(at, &zone("Asia/Shanghai"));
        assert_eq!(in_china.as_str(), "2026-11-29T21:05:42+08:00");
        assert_eq!(date_in(&in_china, Locale::zh_CN), "2026年11月29日");
        assert_eq!(date_in(&in_china, Locale::en), "29 Nov 2026");
        assert_eq!(date_time_in(&in_china, Locale::zh_CN), "2026年11月29日 21:05（UTC+8）");
        assert_eq!(date_time_in(&in_china, Locale::en), "29 Nov 2026, 21:05 (UTC+8)");
        // West of Greenwich it is still the morning of the 29th; in Kiribati already the 30th.
        assert_eq!(
            date_time_in(&LocalTime::new(at, &zone("America/Los_Angeles")), Locale::en),
            "29 Nov 2026, 05:05 (UTC-8)"
        );
        assert_eq!(date_in(&LocalTime::new(at, &zone("Pacific/Kiritimati")), Locale::en), "30 Nov 2026");
        let january = time::OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap(); // 2026-01-01 00:00 UTC
        assert_eq!(
            date_time_in(&LocalTime::new(january, &jiff::tz::TimeZone::UTC), Locale::en),
            "1 Jan 2026, 00:00 (UTC)"
        );
        let india = LocalTime::new(january, &zone("Asia/Kolkata"));
        assert_eq!(date_time_in(&india, Locale::en), "1 Jan 2026, 05:30 (UTC+5:30)");
        let newfoundland = LocalTime::new(january, &zone("America/St_Johns"));
        assert_eq!(date_time_in(&newfoundland, Locale::en), "31 Dec 2025, 20:30 (UTC-3:30)");
    }
}
