//! Closed sets of codes on the wire (print options, order statuses) and what a code that names
//! none of their members says: in English for logs and serde, in the reader's language from the
//! server.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSet {
    Size,
    Material,
    Frame,
    OrderStatus,
}

impl CodeSet {
    fn english(self) -> &'static str {
        match self {
            Self::Size => "size",
            Self::Material => "material",
            Self::Frame => "frame",
            Self::OrderStatus => "order status",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCode {
    pub set: CodeSet,
    pub given: String,
    pub choices: Vec<&'static str>,
}

impl fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}; choose one of: {}", self.set.english(), self.given, self.choices.join(", "))
    }
}

impl std::error::Error for UnknownCode {}

#[cfg(feature = "ssr")]
impl UnknownCode {
    /// For whoever the current request is for, in their language.
    pub fn message(&self) -> String {
        use crate::server::http::locale::message;
        let set = match self.set {
            CodeSet::Size => message!(code.size),
            CodeSet::Material => message!(code.material),
            CodeSet::Frame => message!(code.frame),
            CodeSet::OrderStatus => message!(code.order_status),
        };
        let choices = self.choices.join(&message!(code.list_separator));
        message!(code.unknown, set, given = &self.given, choices)
    }
}

#[cfg(feature = "ssr")]
impl From<UnknownCode> for crate::error::AppError {
    fn from(unknown: UnknownCode) -> Self {
        Self::invalid(unknown.message())
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_code_names_itself_and_the_choices() {
        let unknown = UnknownCode { set: CodeSet::Frame, given: "silver".into(), choices: vec!["none", "black"] };
        assert_eq!(unknown.to_string(), r#"unknown frame "silver"; choose one of: none, black"#);
        // Outside a request the reader is an operator, who reads English.
        assert_eq!(unknown.message(), "unknown frame “silver”; choose one of: none, black");
    }
}
