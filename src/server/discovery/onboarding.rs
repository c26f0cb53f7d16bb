//! Style onboarding: the starting taste is the normalised mean of the chosen styles' embeddings.

use std::collections::BTreeMap;
use std::path::Path;

use pgvector::Vector;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::error::AppError;
use crate::server::discovery::activity::{self, ServerEvent};
use crate::server::discovery::paintings::{CardRow, CARD_COLUMNS};
use crate::server::error::{ServerError, ServerResult};
use crate::server::http::locale::message;
use crate::server::http::visitor::VisitorId;
use crate::server::infra::clip::{l2_normalised, Clip, EMBEDDING_DIM};
use crate::server::infra::db::BeginCancelSafe;
use crate::styles::{self, HOME_STYLES};
use crate::types::{PaintingCard, StyleCard};

/// The committed file: which model made the embeddings, and one per style.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StyleEmbeddings {
    pub model_id: String,
    pub styles: BTreeMap<String, StyleEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StyleEntry {
    pub prompt: String,
    pub embedding: Vec<f32>,
}

impl StyleEmbeddings {
    /// Embeds every style's prompt with the loaded model. Values are rounded to 6 decimals so
    /// that regenerating with the same model gives the same file.
    pub fn generate(clip: &Clip) -> ServerResult<Self> {
        let prompts: Vec<String> = HOME_STYLES.iter().map(|s| s.prompt.to_owned()).collect();
        let embeddings = clip.embed_texts_blocking(&prompts)?;
        let styles = HOME_STYLES
            .iter()
            .zip(embeddings)
            .map(|(style, embedding)| {
                let rounded = embedding.iter().map(|x| (x * 1e6).round() / 1e6).collect();
                (style.code.to_owned(), StyleEntry { prompt: style.prompt.to_owned(), embedding: rounded })
            })
            .collect();
        Ok(Self { model_id: clip.info().id.clone(), styles })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data serialises") + "\n"
    }

    /// Loads the file and refuses a mismatch: embeddings from another model live in another space.
    pub fn load(path: &Path, model_id: &str) -> ServerResult<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServerError::Model(format!("reading {}: {e}", path.display())))?;
        let file: Self =
            serde_json::from_str(&text).map_err(|e| ServerError::Model(format!("parsing {}: {e}", path.display())))?;
        if file.model_id != model_id {
            return Err(ServerError::Model(format!(
                "{} was generated with model {} but {model_id} is loaded; run `artwall styles generate --out {}`",
                path.display(),
                file.model_id,
                path.display()
            )));
        }
        for style in &HOME_STYLES {
            match file.styles.get(style.code) {
                Some(entry) if entry.embedding.len() == EMBEDDING_DIM => {}
                _ => {
                    return Err(ServerError::Model(format!(
                        "{}: style {} is missing or malformed",
                        path.display(),
                        style.code
                    )))
                }
            }
        }
        Ok(file)
    }

    pub fn embedding(&self, code: &str) -> Option<&[f32]> {
        self.styles.get(code).map(|entry| entry.embedding.as_slice())
    }

    /// The normalised mean of the chosen styles' embeddings.
    pub fn taste_for(&self, codes: &[String]) -> Result<Vec<f32>, AppError> {
        let codes = checked_codes(codes)?;
        let mut sum = vec![0.0f32; EMBEDDING_DIM];
        for code in &codes {
            for (total, x) in sum.iter_mut().zip(self.embedding(code).expect("checked code")) {
                *total += x;
            }
        }
        Ok(l2_normalised(&sum))
    }
}

/// At least one style, all known, no repeats.
fn checked_codes(codes: &[String]) -> Result<Vec<String>, AppError> {
    if codes.is_empty() {
        return Err(AppError::invalid(message!(onboarding.no_style)));
    }
    let mut checked: Vec<String> = Vec::new();
    for code in codes {
        if styles::by_code(code).is_none() {
            return Err(AppError::invalid(message!(onboarding.unknown_style, code)));
        }
        if !checked.contains(code) {
            checked.push(code.clone());
        }
    }
    Ok(checked)
}

/// Seeds (or re-seeds) the visitor's taste from their chosen styles and logs the choice.
/// Re-seeding replaces the old taste rather than averaging into it; the page says so.
pub async fn choose(db: &PgPool, styles: &StyleEmbeddings, visitor: VisitorId, codes: &[String]) -> ServerResult<()> {
    let taste = styles.taste_for(codes)?;
    let codes = checked_codes(codes)?;
    let mut tx = db.begin_cancel_safe().await?;
    sqlx::query(
        // The learner starts again from here: `prior_at` leaves earlier reactions behind.
        "INSERT INTO user_preferences (visitor_id, taste, prior, prior_at, last_style_codes) VALUES ($1, $2, $2, now(), $3)
         ON CONFLICT (visitor_id) DO UPDATE SET taste = EXCLUDED.taste, prior = EXCLUDED.prior, prior_at = now(),
             last_style_codes = EXCLUDED.last_style_codes, updated_at = now()",
    )
    .bind(visitor.0)
    .bind(Vector::from(taste))
    .bind(&codes)
    .execute(&mut *tx)
    .await?;
    activity::record_server_event(&mut tx, visitor, ServerEvent::StyleSelect { style_codes: &codes }).await?;
    tx.commit().await?;
    Ok(())
}

/// One picture card per style: the catalogue painting nearest to the style (each used once).
pub async fn style_cards(db: &PgPool, styles: &StyleEmbeddings) -> ServerResult<Vec<StyleCard>> {
    let mut cards = Vec::new();
    let mut used: Vec<i64> = Vec::new();
    for style in &HOME_STYLES {
        let embedding = Vector::from(styles.embedding(style.code).expect("checked at start-up").to_vec());
        let picture: Option<CardRow> = sqlx::query_as(&format!(
            "SELECT {CARD_COLUMNS} FROM paintings p
             WHERE p.published AND p.id <> ALL($2) ORDER BY p.embedding <=> $1 LIMIT 1"
        ))
        .bind(embedding)
        .bind(&used)
        .fetch_optional(db)
        .await?;
        if let Some(row) = &picture {
            used.push(row.id);
        }
        cards.push(StyleCard {
            code: style.code.to_owned(),
            name_zh: style.name_zh.to_owned(),
            name_en: style.name_en.to_owned(),
            picture: picture.map(PaintingCard::from),
        });
    }
    Ok(cards)
}

/// The visitor's current choice, to pre-tick the cards.
pub async fn current_choice(db: &PgPool, visitor: VisitorId) -> ServerResult<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT last_style_codes FROM user_preferences WHERE visitor_id = $1")
        .bind(visitor.0)
        .fetch_optional(db)
        .await?
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embeddings() -> StyleEmbeddings {
        let styles = HOME_STYLES
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut e = vec![0.0; EMBEDDING_DIM];
                e[i] = 1.0;
                (s.code.to_owned(), StyleEntry { prompt: s.prompt.into(), embedding: e })
            })
            .collect();
        StyleEmbeddings { model_id: "m".into(), styles }
    }

    #[test]
    fn taste_is_the_normalised_mean() {
        let taste = embeddings().taste_for(&["modern".into(), "nordic".into()]).unwrap();
        let half = 1.0 / 2f32.sqrt();
        assert!((taste[0] - half).abs() < 1e-6 && (taste[1] - half).abs() < 1e-6);
        assert_eq!(embeddings().taste_for(&["nordic".into(), "nordic".into()]).unwrap()[1], 1.0, "repeats count once");
    }

    #[test]
    fn choices_are_checked() {
        assert_eq!(
            embeddings().taste_for(&[]),
            Err(AppError::invalid("pick at least one style")),
            "outside a request: English"
        );
        assert!(embeddings().taste_for(&["baroque".into()]).is_err());
    }
}
