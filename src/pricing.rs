//! Print options and their prices, shared by the browser (live price) and the server (the only
//! authority: it recomputes every amount). Amounts are CNY cents.
//!
//! `amount = round(base(size) * multiplier(material)) + frame`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::codes::{CodeSet, UnknownCode};

pub const CURRENCY: &str = "cny";

/// What the three option sets share, so one form control serves them all.
pub trait PrintOption: Copy + PartialEq + Send + Sync + 'static + FromStr {
    fn code(self) -> &'static str;
    fn label(self) -> &'static str;
}

/// Generates a closed option set: its codes, labels, parsing (unknown codes are an error,
/// never a default) and serde as the code string.
macro_rules! print_option {
    ($(#[$meta:meta])* $name:ident, $set:ident { $($variant:ident => $code:literal, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }

            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label),+ }
            }
        }

        impl PrintOption for $name {
            fn code(self) -> &'static str { $name::code(self) }
            fn label(self) -> &'static str { $name::label(self) }
        }

        impl FromStr for $name {
            type Err = UnknownCode;

            fn from_str(code: &str) -> Result<Self, UnknownCode> {
                match code {
                    $($code => Ok(Self::$variant),)+
                    other => Err(UnknownCode {
                        set: CodeSet::$set,
                        given: other.to_owned(),
                        choices: Self::ALL.iter().map(|o| o.code()).collect(),
                    }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownCode;
            fn try_from(code: String) -> Result<Self, UnknownCode> { code.parse() }
        }

        impl From<$name> for String {
            fn from(option: $name) -> String { option.code().to_owned() }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.label()) }
        }

        // On the wire an option is its code (the serde above), so its schema is the codes.
        #[cfg(feature = "ssr")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::server::http::openapi::one_of([$($code),+])
            }
        }

        #[cfg(feature = "ssr")]
        impl utoipa::ToSchema for $name {}
    };
}

print_option!(
    /// Print size in centimetres, short side x long side.
    PrintSize, Size {
        S40x50 => "40x50", "40 × 50 cm";
        S50x60 => "50x60", "50 × 60 cm";
        S60x80 => "60x80", "60 × 80 cm";
        S80x100 => "80x100", "80 × 100 cm";
    }
);

print_option!(
    Material, Material {
        Paper => "paper", "Fine-art paper";
        Canvas => "canvas", "Canvas";
        Textured => "textured", "Textured canvas";
    }
);

print_option!(
    Frame, Frame {
        None => "none", "No frame";
        Black => "black", "Black frame";
        White => "white", "White frame";
        Wood => "wood", "Natural wood frame";
        Gold => "gold", "Gold frame";
    }
);

impl PrintSize {
    pub fn base_cents(self) -> i64 {
        match self {
            Self::S40x50 => 19_900,
            Self::S50x60 => 24_900,
            Self::S60x80 => 29_900,
            Self::S80x100 => 39_900,
        }
    }

    /// (short side, long side) in centimetres.
    pub fn sides_cm(self) -> (u32, u32) {
        match self {
            Self::S40x50 => (40, 50),
            Self::S50x60 => (50, 60),
            Self::S60x80 => (60, 80),
            Self::S80x100 => (80, 100),
        }
    }

    /// (width, height) in centimetres, turned to match the painting's orientation (a square one
    /// is upright).
    pub fn oriented_cm(self, painting_width: i32, painting_height: i32) -> (u32, u32) {
        let (short, long) = self.sides_cm();
        if painting_width > painting_height {
            (long, short)
        } else {
            (short, long)
        }
    }
}

impl Material {
    /// The price multiplier in hundredths, so the arithmetic stays exact.
    fn multiplier_percent(self) -> i64 {
        match self {
            Self::Paper => 100,
            Self::Canvas => 130,
            Self::Textured => 160,
        }
    }
}

impl Frame {
    pub fn cents(self) -> i64 {
        match self {
            Self::None => 0,
            Self::Black | Self::White => 5_000,
            Self::Wood => 8_000,
            Self::Gold => 10_000,
        }
    }
}

/// One configured print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PrintOptions {
    pub size: PrintSize,
    pub material: Material,
    pub frame: Frame,
}

impl Default for PrintOptions {
    fn default() -> Self {
        Self { size: PrintSize::S50x60, material: Material::Paper, frame: Frame::None }
    }
}

impl PrintOptions {
    /// Parses the three codes, naming the first one that is unknown.
    pub fn parse(size: &str, material: &str, frame: &str) -> Result<Self, UnknownCode> {
        Ok(Self { size: size.parse()?, material: material.parse()?, frame: frame.parse()? })
    }

    /// The price in CNY cents: `round(base * multiplier) + frame`, rounding half up.
    pub fn amount_cents(self) -> i64 {
        (self.size.base_cents() * self.material.multiplier_percent() + 50) / 100 + self.frame.cents()
    }

    /// "50 × 60 cm, Canvas, Black frame", for line items and order pages.
    pub fn describe(self) -> String {
        format!("{}, {}, {}", self.size.label(), self.material.label(), self.frame.label())
    }
}

/// "¥249.00"
pub fn format_cny(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.abs();
    format!("{sign}¥{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_follow_the_price_table() {
        let price = |s: &str, m: &str, f: &str| PrintOptions::parse(s, m, f).unwrap().amount_cents();
        assert_eq!(price("40x50", "paper", "none"), 19_900);
        assert_eq!(price("50x60", "canvas", "none"), 32_370); // 24900 * 1.3
        assert_eq!(price("60x80", "textured", "wood"), 47_840 + 8_000); // 29900 * 1.6 + 8000
        assert_eq!(price("80x100", "canvas", "gold"), 51_870 + 10_000); // 39900 * 1.3 = 51870
        assert_eq!(price("40x50", "textured", "black"), 31_840 + 5_000);
        // Every combination agrees with the floating-point formula, rounded.
        for &size in PrintSize::ALL {
            for &material in Material::ALL {
                for &frame in Frame::ALL {
                    let options = PrintOptions { size, material, frame };
                    let multiplier = material.multiplier_percent() as f64 / 100.0;
                    let expected = (size.base_cents() as f64 * multiplier).round() as i64 + frame.cents();
                    assert_eq!(options.amount_cents(), expected, "{options:?}");
                }
            }
        }
    }

    #[test]
    fn unknown_options_are_errors_not_defaults() {
        let error = PrintOptions::parse("30x40", "paper", "none").unwrap_err().to_string();
        assert!(error.contains("unknown size \"30x40\"") && error.contains("40x50"), "{error}");
        let error = PrintOptions::parse("40x50", "vinyl", "none").unwrap_err();
        assert_eq!((error.set, error.given.as_str()), (CodeSet::Material, "vinyl"));
        assert!(PrintOptions::parse("40x50", "paper", "silver").unwrap_err().to_string().contains("unknown frame"));
        assert!(
            serde_json::from_str::<PrintOptions>(r#"{"size":"40x50","material":"paper","frame":"plastic"}"#).is_err()
        );
        let parsed: PrintOptions =
            serde_json::from_str(r#"{"size":"80x100","material":"textured","frame":"gold"}"#).unwrap();
        assert_eq!(parsed.describe(), "80 × 100 cm, Textured canvas, Gold frame");
    }

    #[test]
    fn sizes_turn_with_the_painting_and_prices_format() {
        assert_eq!(PrintSize::S60x80.oriented_cm(1200, 800), (80, 60));
        assert_eq!(PrintSize::S60x80.oriented_cm(800, 1200), (60, 80));
        // A square painting hangs upright, as the wall preview and the shop's photos assume.
        assert_eq!(PrintSize::S60x80.oriented_cm(1000, 1000), (60, 80));
        assert_eq!(format_cny(32_370), "¥323.70");
        assert_eq!(format_cny(5), "¥0.05");
        assert_eq!(format_cny(0), "¥0.00", "nothing is not negative");
        assert_eq!(format_cny(-1_250), "-¥12.50");
    }
}
