//! The shop's words for its closed sets (print options, order statuses, error kinds) and for its
//! bilingual data, in the visitor's language. The English `label()`s beside the types stay what
//! the server writes to logs, Stripe and the JSON API.

use crate::error::AppError;
use crate::i18n::{td_string, use_i18n, Locale};
use crate::order_status::OrderStatus;
use crate::pricing::{Frame, Material, PrintOption, PrintOptions, PrintSize};
use crate::types::PaintingCard;

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

/// An error as the page shows it, in the page's language. Messages about bad input are the
/// server's own sentence (in English for now).
pub fn error_message(error: &AppError) -> String {
    let locale = use_i18n().get_locale_untracked();
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
}
