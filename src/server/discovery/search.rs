//! Text-to-art search through the text tower, with a similarity floor and an honest empty state.

use std::sync::Arc;

use pgvector::Vector;
use serde_json::json;
use sqlx::PgPool;

use crate::error::AppError;
use crate::events::{EventKind, Source};
use crate::server::discovery::activity::{self, CheckedEvent};
use crate::server::discovery::paintings;
use crate::server::error::ServerResult;
use crate::server::http::locale::message;
use crate::server::http::visitor::VisitorId;
use crate::server::infra::clip::{cosine, Clip, ModelKind};
use crate::types::SearchResults;

pub const MAX_QUERY_CHARS: usize = 200;
const RESULTS: i64 = 24;

/// A query whose embedding is this close to the empty prompt's says nothing the model can read
/// (a subject, under the colour-only stand-in): it matches nothing rather than everything.
const UNREADABLE: f32 = 0.999;

/// A checked search query: trimmed, 1 to 200 characters, none of them control characters.
pub struct Query(String);

impl Query {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let query = raw.trim();
        if query.is_empty() {
            return Err(AppError::invalid(message!(search.empty)));
        }
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(AppError::invalid(message!(search.too_long, max = MAX_QUERY_CHARS)));
        }
        // Nobody types them, and the database stores no NUL.
        if query.chars().any(char::is_control) {
            return Err(AppError::invalid(message!(search.control_characters)));
        }
        Ok(Self(query.to_owned()))
    }
}

/// The similarity floor: CLIP's text-image cosines run lower than the stand-in's.
pub fn default_floor(kind: ModelKind) -> f32 {
    match kind {
        ModelKind::Clip => 0.22,
        ModelKind::Standin => 0.15,
    }
}

/// Searched on `reads` (see `paintings::nearest`); the search is recorded on `db`.
pub async fn search(
    reads: &PgPool,
    db: &PgPool,
    clip: &Arc<Clip>,
    visitor: VisitorId,
    raw_query: &str,
    floor: f32,
) -> ServerResult<SearchResults> {
    let query = Query::parse(raw_query)?;
    let embeddings = clip.embed_texts(vec![query.0.clone(), String::new()]).await?;
    let (text, empty) = (&embeddings[0], &embeddings[1]);
    let items = if cosine(text, empty) < UNREADABLE {
        paintings::nearest(reads, db, &Vector::from(text.clone()), visitor, None, floor, RESULTS).await?
    } else {
        Vec::new()
    };
    let event = CheckedEvent::server(
        EventKind::Search,
        None,
        Source::Search,
        json!({ "query": query.0, "results": items.len() }),
    );
    activity::record(db, visitor, &[&event]).await?;
    Ok(SearchResults { query: query.0, items, colour_only_model: clip.info().kind == ModelKind::Standin })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_checked() {
        assert!(Query::parse("   ").is_err());
        assert!(Query::parse(&"x".repeat(201)).is_err());
        assert_eq!(Query::parse("  blue sea ").unwrap().0, "blue sea");
        assert!(Query::parse(&"é".repeat(200)).is_ok(), "characters, not bytes");
        for control in ["\0", "blue\u{0}sea", "sea\u{1b}[2J", "a\nb"] {
            assert!(Query::parse(control).is_err(), "{control:?}");
        }
    }
}
