//! A painting's style as the catalogue holds it (art-historical names in English, as imported,
//! such as "Post-Impressionism (Nabis)" or "Realism / Impressionism"), in the reader's language.
//! A name made only of terms we know is translated term by term; anything else is shown as
//! imported rather than half translated.

use crate::i18n::{td_string, Locale};

pub fn style_in(style: &str, locale: Locale) -> String {
    translated(style, locale).unwrap_or_else(|| style.to_owned())
}

fn translated(style: &str, locale: Locale) -> Option<String> {
    let parts = style.split(" / ").map(|part| {
        let part = part.trim();
        match part.strip_suffix(')').and_then(|rest| rest.split_once(" (")) {
            Some((name, qualifier)) => {
                let (name, qualifier) = (term(name, locale)?, term(qualifier, locale)?);
                Some(td_string!(locale, art_style.qualified, name, qualifier).to_string())
            }
            None => term(part, locale),
        }
    });
    Some(parts.collect::<Option<Vec<_>>>()?.join(" / "))
}

fn term(name: &str, locale: Locale) -> Option<String> {
    let text = match name {
        "Academic" => td_string!(locale, art_style.academic),
        "Baroque" => td_string!(locale, art_style.baroque),
        "Barbizon School" => td_string!(locale, art_style.barbizon_school),
        "Dutch Golden Age" => td_string!(locale, art_style.dutch_golden_age),
        "Early Renaissance" => td_string!(locale, art_style.early_renaissance),
        "Flemish Baroque" => td_string!(locale, art_style.flemish_baroque),
        "Georgian portraiture" => td_string!(locale, art_style.georgian_portraiture),
        "Gothic" => td_string!(locale, art_style.gothic),
        "High Renaissance" => td_string!(locale, art_style.high_renaissance),
        "Impressionism" => td_string!(locale, art_style.impressionism),
        "Late Baroque" => td_string!(locale, art_style.late_baroque),
        "Late Gothic" => td_string!(locale, art_style.late_gothic),
        "Mannerism" => td_string!(locale, art_style.mannerism),
        "Nabis" => td_string!(locale, art_style.nabis),
        "Naturalism" => td_string!(locale, art_style.naturalism),
        "Neo-Impressionism" => td_string!(locale, art_style.neo_impressionism),
        "Neoclassicism" => td_string!(locale, art_style.neoclassicism),
        "Northern Renaissance" => td_string!(locale, art_style.northern_renaissance),
        "Orientalism" => td_string!(locale, art_style.orientalism),
        "Post-Impressionism" => td_string!(locale, art_style.post_impressionism),
        "Pre-Raphaelite" => td_string!(locale, art_style.pre_raphaelite),
        "Proto-Renaissance" => td_string!(locale, art_style.proto_renaissance),
        "Realism" => td_string!(locale, art_style.realism),
        "Rococo" => td_string!(locale, art_style.rococo),
        "Romanticism" => td_string!(locale, art_style.romanticism),
        "Salon painting" => td_string!(locale, art_style.salon_painting),
        "Scandinavian" => td_string!(locale, art_style.scandinavian),
        "Symbolism" => td_string!(locale, art_style.symbolism),
        "19th-century European" => td_string!(locale, art_style.nineteenth_century_european),
        _ => return None,
    };
    Some(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_are_translated_term_by_term_and_others_kept_as_imported() {
        let zh = |style| style_in(style, Locale::zh_CN);
        assert_eq!(zh("Impressionism"), "印象派");
        assert_eq!(zh("Realism / Impressionism"), "现实主义 / 印象派");
        assert_eq!(zh("Post-Impressionism (Nabis)"), "后印象派（纳比派）");
        assert_eq!(zh("Fauvism"), "Fauvism", "an unknown name is shown as imported");
        assert_eq!(zh("Realism / Fauvism"), "Realism / Fauvism", "never half translated");
        for style in ["Post-Impressionism (Nabis)", "Barbizon School / Realism", "Fauvism"] {
            assert_eq!(style_in(style, Locale::en), style, "English reads as imported");
        }
    }

    #[test]
    fn every_style_of_the_demo_catalogue_has_a_chinese_name() {
        let csv = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/paintings/metadata.csv"))
            .expect("the demo catalogue in ../shared beside the checkout");
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let column = reader.headers().unwrap().iter().position(|name| name == "style").unwrap();
        for row in reader.records() {
            let style = row.unwrap()[column].to_owned();
            assert!(translated(&style, Locale::zh_CN).is_some(), "{style:?} has no Chinese name");
        }
    }
}
