//! The personalised, never-repeating feed.
//!
//! A page is the unseen paintings nearest (cosine) to the visitor's taste, with about one item in
//! six taken from elsewhere in the catalogue (exploration), so the taste can move. Visitors with
//! no taste yet get a diverse spread. Whatever a page returns is recorded in `shown_paintings` in
//! the same transaction, under a per-visitor lock, so no painting is ever shown twice, even to
//! two tabs asking at the same moment.
//!
//! Shown paintings are exactly the top of the visitor's ranking, so a plain HNSW scan followed
//! by the NOT EXISTS filter runs dry after a few pages. pgvector 0.8's iterative index scans keep
//! scanning until the page is full (bounded by `hnsw.max_scan_tuples`); when even that is not
//! enough, an exact scan fills the rest.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pgvector::Vector;
use sqlx::{PgConnection, PgPool};
use tokio::sync::RwLock;

use crate::error::AppError;
use crate::server::clip::cosine;
use crate::server::error::ServerResult;
use crate::server::paintings::{CardRow, CARD_COLUMNS};
use crate::server::visitor::VisitorId;
use crate::types::{FeedItem, FeedPage};

pub const DEFAULT_LIMIT: i64 = 10;
pub const MAX_LIMIT: i64 = 50;
/// How many landmarks spread over the catalogue anchor the diverse picks.
const LANDMARKS: usize = 24;
const LANDMARK_SAMPLE: i64 = 4000;
const LANDMARK_TTL: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy)]
pub struct FeedSettings {
    /// Share of each page drawn from outside the nearest neighbours (default 1/6).
    pub exploration_rate: f64,
    /// `hnsw.max_scan_tuples` for the iterative scan before the exact fallback.
    pub max_scan_tuples: i64,
}

impl Default for FeedSettings {
    fn default() -> Self {
        Self { exploration_rate: 1.0 / 6.0, max_scan_tuples: 20_000 }
    }
}

/// Paintings spread across the catalogue (farthest-point sampling), cached for a while.
#[derive(Default)]
pub struct Landmarks(RwLock<Option<(Instant, Arc<Vec<Vector>>)>>);

impl Landmarks {
    async fn get(&self, db: &PgPool) -> ServerResult<Arc<Vec<Vector>>> {
        if let Some((at, landmarks)) = self.0.read().await.as_ref() {
            if at.elapsed() < LANDMARK_TTL && !landmarks.is_empty() {
                return Ok(landmarks.clone());
            }
        }
        let sample: Vec<(Vector,)> = sqlx::query_as("SELECT embedding FROM paintings WHERE published ORDER BY random() LIMIT $1")
            .bind(LANDMARK_SAMPLE)
            .fetch_all(db)
            .await?;
        let vectors: Vec<Vec<f32>> = sample.into_iter().map(|(v,)| v.to_vec()).collect();
        let landmarks = Arc::new(farthest_points(&vectors, LANDMARKS).into_iter().map(Vector::from).collect::<Vec<_>>());
        *self.0.write().await = Some((Instant::now(), landmarks.clone()));
        Ok(landmarks)
    }
}

/// Greedy farthest-point sampling: each pick is the point least similar to those already picked.
fn farthest_points(points: &[Vec<f32>], k: usize) -> Vec<Vec<f32>> {
    let Some(first) = points.first() else { return Vec::new() };
    let mut picked = vec![first.clone()];
    let mut closest: Vec<f32> = points.iter().map(|p| cosine(p, first)).collect();
    while picked.len() < k.min(points.len()) {
        let (next, _) = closest.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).expect("points is not empty");
        let point = points[next].clone();
        for (similarity, p) in closest.iter_mut().zip(points) {
            *similarity = similarity.max(cosine(p, &point));
        }
        picked.push(point);
    }
    picked
}

/// The cursor is the number of items this feed session has served: positions continue from it.
pub fn parse_cursor(cursor: Option<&str>) -> ServerResult<i64> {
    match cursor {
        None | Some("") => Ok(0),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|served| (0..100_000_000).contains(served))
            .ok_or_else(|| AppError::invalid("invalid feed cursor").into()),
    }
}

/// Exploration slots in a page, so that the long-run share is exactly `rate`.
fn exploration_slots(served: i64, limit: i64, rate: f64) -> i64 {
    let total = |n: i64| (n as f64 * rate).floor() as i64;
    total(served + limit) - total(served)
}

pub async fn next_page(
    db: &PgPool,
    landmarks: &Landmarks,
    settings: FeedSettings,
    visitor: VisitorId,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> ServerResult<FeedPage> {
    let served = parse_cursor(cursor)?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::invalid(format!("limit must be between 1 and {MAX_LIMIT}")).into());
    }
    let anchors = landmarks.get(db).await?;
    let mut tx = db.begin().await?;
    // One feed request at a time per visitor: two tabs never receive the same painting.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))").bind(visitor.0.to_string()).execute(&mut *tx).await?;
    let taste: Option<Vector> = sqlx::query_scalar("SELECT taste FROM user_preferences WHERE visitor_id = $1")
        .bind(visitor.0)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();

    let mut nearest = Vec::new();
    let explore = match &taste {
        Some(taste) => {
            let explore = exploration_slots(served, limit, settings.exploration_rate);
            nearest = nearest_unseen(&mut tx, visitor, taste, limit - explore, settings.max_scan_tuples).await?;
            explore
        }
        None => limit,
    };
    let chosen: Vec<i64> = nearest.iter().map(|(row, _)| row.id).collect();
    // Diverse picks fill the exploration slots, the whole page at cold start, and whatever the
    // nearest-neighbour search could not.
    let wanted = (explore + (limit - explore - nearest.len() as i64)).max(0);
    let diverse = diverse_unseen(&mut tx, visitor, taste.as_ref(), &anchors, served, wanted, &chosen).await?;

    let mut items = interleave(nearest, diverse, taste.is_some(), served);
    let ids: Vec<i64> = items.iter().map(|item| item.card.id).collect();
    let saved: Vec<i64> = sqlx::query_scalar("SELECT painting_id FROM saved_paintings WHERE visitor_id = $1 AND painting_id = ANY($2)")
        .bind(visitor.0)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
    items.iter_mut().for_each(|item| item.saved = saved.contains(&item.card.id));
    sqlx::query("INSERT INTO shown_paintings (visitor_id, painting_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING")
        .bind(visitor.0)
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    let has_more: bool = sqlx::query_scalar(&format!("SELECT EXISTS (SELECT 1 FROM paintings p WHERE {UNSEEN})"))
        .bind(visitor.0)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    let next_cursor = has_more.then(|| (served + items.len() as i64).to_string());
    Ok(FeedPage { items, next_cursor, has_more })
}

/// A painting this visitor may still be shown ($1 is the visitor).
const UNSEEN: &str = "p.published
    AND NOT EXISTS (SELECT 1 FROM shown_paintings s WHERE s.visitor_id = $1 AND s.painting_id = p.id)
    AND NOT EXISTS (SELECT 1 FROM hidden_paintings h WHERE h.visitor_id = $1 AND h.painting_id = p.id)";

async fn nearest_unseen(
    tx: &mut PgConnection,
    visitor: VisitorId,
    taste: &Vector,
    limit: i64,
    max_scan_tuples: i64,
) -> ServerResult<Vec<(CardRow, f32)>> {
    if limit <= 0 {
        return Ok(Vec::new());
    }
    set_scan_settings(&mut *tx, max_scan_tuples).await?;
    let query = nearest_unseen_sql();
    let mut rows: Vec<(CardRow, f32)> = fetch_scored(&mut *tx, &query, visitor, taste, limit).await?;
    if (rows.len() as i64) < limit {
        // The index scan gave up (max_scan_tuples) before the page was full: scan exactly.
        sqlx::query("SET LOCAL enable_indexscan = off").execute(&mut *tx).await?;
        rows = fetch_scored(&mut *tx, &query, visitor, taste, limit).await?;
        sqlx::query("SET LOCAL enable_indexscan = on").execute(&mut *tx).await?;
    }
    Ok(rows)
}

/// Iterative HNSW scans for the current transaction. relaxed_order returns neighbours slightly
/// out of order; the nearest-unseen statement re-sorts them.
pub async fn set_scan_settings(tx: &mut PgConnection, max_scan_tuples: i64) -> ServerResult<()> {
    sqlx::query("SET LOCAL hnsw.iterative_scan = relaxed_order").execute(&mut *tx).await?;
    sqlx::query(&format!("SET LOCAL hnsw.max_scan_tuples = {max_scan_tuples}")).execute(&mut *tx).await?;
    sqlx::query("SET LOCAL hnsw.ef_search = 100").execute(&mut *tx).await?;
    Ok(())
}

/// The nearest-unseen statement ($1 visitor, $2 taste, $3 limit); `make bench` times it raw.
pub fn nearest_unseen_sql() -> String {
    format!(
        "WITH candidates AS MATERIALIZED (
             SELECT p.id, p.embedding <=> $2 AS distance FROM paintings p
             WHERE {UNSEEN} ORDER BY p.embedding <=> $2 LIMIT $3
         )
         SELECT {CARD_COLUMNS}, (1 - c.distance)::real AS similarity
         FROM candidates c JOIN paintings p ON p.id = c.id ORDER BY c.distance"
    )
}

async fn fetch_scored(tx: &mut PgConnection, query: &str, visitor: VisitorId, target: &Vector, limit: i64) -> ServerResult<Vec<(CardRow, f32)>> {
    #[derive(sqlx::FromRow)]
    struct Scored {
        #[sqlx(flatten)]
        card: CardRow,
        similarity: f32,
    }
    let rows: Vec<Scored> = sqlx::query_as(query).bind(visitor.0).bind(target).bind(limit).fetch_all(&mut *tx).await?;
    Ok(rows.into_iter().map(|r| (r.card, r.similarity)).collect())
}

/// Unseen paintings spread over the catalogue: the nearest unseen painting to each landmark in
/// turn. Landmarks come in farthest-point order, so consecutive ones are far apart; each page
/// starts where the previous one stopped.
async fn diverse_unseen(
    tx: &mut PgConnection,
    visitor: VisitorId,
    taste: Option<&Vector>,
    landmarks: &[Vector],
    served: i64,
    wanted: i64,
    exclude: &[i64],
) -> ServerResult<Vec<(CardRow, Option<f32>)>> {
    #[derive(sqlx::FromRow)]
    struct Pick {
        #[sqlx(flatten)]
        card: CardRow,
        similarity: Option<f32>,
    }
    let mut picked = Vec::new();
    if wanted <= 0 || landmarks.is_empty() {
        return Ok(picked);
    }
    let mut excluded = exclude.to_vec();
    let start = served as usize;
    let query = format!(
        "SELECT {CARD_COLUMNS}, (1 - (p.embedding <=> $4))::real AS similarity
         FROM paintings p WHERE {UNSEEN} AND p.id <> ALL($3)
         ORDER BY p.embedding <=> $2 LIMIT 1"
    );
    // Each landmark may come up empty once the catalogue is nearly seen; stop after a full round
    // without a pick.
    let mut misses = 0;
    let mut turn = 0;
    while (picked.len() as i64) < wanted && misses < landmarks.len() {
        let landmark = &landmarks[(start + turn) % landmarks.len()];
        turn += 1;
        let row: Option<Pick> =
            sqlx::query_as(&query).bind(visitor.0).bind(landmark).bind(&excluded).bind(taste).fetch_optional(&mut *tx).await?;
        match row {
            Some(pick) => {
                misses = 0;
                excluded.push(pick.card.id);
                picked.push((pick.card, pick.similarity));
            }
            None => misses += 1,
        }
    }
    Ok(picked)
}

/// Nearest items in order, with an exploration item every sixth place or so; positions
/// continue from `served`.
fn interleave(nearest: Vec<(CardRow, f32)>, diverse: Vec<(CardRow, Option<f32>)>, personalised: bool, served: i64) -> Vec<FeedItem> {
    let total = nearest.len() + diverse.len();
    let explore_every = if nearest.is_empty() { 1 } else { (total / diverse.len().max(1)).max(2) };
    let mut nearest = nearest.into_iter();
    let mut diverse = diverse.into_iter();
    let mut items = Vec::with_capacity(total);
    for slot in 0..total {
        let take_diverse = (slot + 1) % explore_every == 0 || nearest.len() == 0;
        let (card, similarity, exploration) = match (take_diverse, diverse.len()) {
            (true, n) if n > 0 => {
                let (row, similarity) = diverse.next().expect("diverse has items");
                (row, similarity, personalised)
            }
            _ => {
                let (row, similarity) = nearest.next().expect("nearest has items");
                (row, Some(similarity), false)
            }
        };
        items.push(FeedItem { position: served + slot as i64, similarity, exploration, saved: false, card: card.into() });
    }
    items
}

/// "Start over": forget what this visitor has been shown (hidden paintings stay hidden).
pub async fn reset(db: &PgPool, visitor: VisitorId) -> ServerResult<u64> {
    let result = sqlx::query("DELETE FROM shown_paintings WHERE visitor_id = $1").bind(visitor.0).execute(db).await?;
    Ok(result.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exploration_share_is_exact_over_time() {
        let rate = 1.0 / 6.0;
        let slots: i64 = (0..60).map(|page| exploration_slots(page * 10, 10, rate)).sum();
        assert_eq!(slots, 100);
        assert!((0..60).all(|page| (1..=2).contains(&exploration_slots(page * 10, 10, rate))));
        assert_eq!(exploration_slots(0, 10, 0.0), 0);
    }

    #[test]
    fn farthest_points_spread_out() {
        let points = vec![vec![1.0, 0.0], vec![0.99, 0.14], vec![0.0, 1.0], vec![-1.0, 0.0]];
        let picked = farthest_points(&points, 3);
        assert_eq!(picked, vec![vec![1.0, 0.0], vec![-1.0, 0.0], vec![0.0, 1.0]]);
    }

    #[test]
    fn cursors_and_limits_are_checked() {
        assert_eq!(parse_cursor(None).unwrap(), 0);
        assert_eq!(parse_cursor(Some("30")).unwrap(), 30);
        assert!(parse_cursor(Some("-1")).is_err());
        assert!(parse_cursor(Some("x")).is_err());
    }
}
