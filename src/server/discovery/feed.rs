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
//! scanning past them (bounded by `hnsw.max_scan_tuples`); when even that is not enough, an exact
//! scan fills the rest. Such a deep scan costs about 30 µs per painting it passes, so one scan
//! keeps the `CANDIDATES` nearest unseen paintings, and the pages that follow are the best of
//! them re-ranked exactly against the current taste, until they run out or the taste moves on.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use pgvector::Vector;
use sqlx::{PgConnection, PgPool};

use crate::error::AppError;
use crate::server::discovery::paintings::{CardRow, CARD_COLUMNS};
use crate::server::discovery::popularity::POPULARITY_SQL;
use crate::server::discovery::taste_model;
use crate::server::discovery::taste_worker::LIKED_KEPT;
use crate::server::error::ServerResult;
use crate::server::http::locale::message;
use crate::server::http::visitor::VisitorId;
use crate::server::infra::cache::Cached;
use crate::server::infra::clip::cosine;
use crate::server::infra::db::BeginCancelSafe;
use crate::server::infra::metrics::{self, Candidates};
use crate::types::{Because, FeedItem, FeedPage};

pub const DEFAULT_LIMIT: i64 = 10;
pub const MAX_LIMIT: i64 = 50;
/// How many landmarks spread over the catalogue anchor the diverse picks.
const LANDMARKS: usize = 24;
const LANDMARK_SAMPLE: i64 = 4000;
/// How many of each landmark's nearest paintings are cached with it.
const LANDMARK_NEIGHBOURS: i64 = 64;
const LANDMARK_TTL: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy)]
pub struct FeedSettings {
    /// Share of each page drawn from outside the nearest neighbours (default 1/6).
    pub exploration_rate: f64,
    /// `hnsw.max_scan_tuples` for the iterative scan before the exact fallback.
    pub max_scan_tuples: i64,
    /// Share of the catalogue seen from which deep scans are exact (see `find_candidates`).
    pub exact_scan_seen_share: f64,
    /// Weight of the learned likeness to the paintings a visitor liked lately, against the
    /// learned taste (1: as learned, 0: off).
    pub liked_weight: f64,
    /// Utility that everyone's reactions (popularity, -1 to 1) add for a visitor who has said
    /// nothing; it halves by `POPULARITY_HALF_LIFE` interactions.
    pub popularity_weight: f64,
}

impl FeedSettings {
    pub const DEFAULT: Self = Self {
        exploration_rate: 1.0 / 6.0,
        max_scan_tuples: 100_000,
        exact_scan_seen_share: 1.0 / 32.0,
        liked_weight: 1.0,
        popularity_weight: 0.2,
    };

    /// The popularity weight for a visitor with this many interactions.
    fn popularity_weight(&self, interactions: i32) -> f64 {
        self.popularity_weight * POPULARITY_HALF_LIFE / (POPULARITY_HALF_LIFE + f64::from(interactions.max(0)))
    }
}

/// Interactions after which everyone's reactions count half as much as at first.
const POPULARITY_HALF_LIFE: f64 = 10.0;
/// Personalised pages are re-scored from this many times as many of the taste's nearest
/// candidates as they have personalised slots, and the unseen paintings nearest each of the
/// `LIKED_KEPT` liked ones that weigh most (this many each). Against 3 and 16, these learn as
/// well within `artwall-bench quality`'s intervals and make re-scoring (likeness to every liked
/// painting, for each) about a third cheaper.
const RESCORED_PER_SLOT: i64 = 2;
const LIKED_NEIGHBOURS: i64 = 8;
/// The utility per unit of cosine of a taste that carries no scale of its own (the starting
/// taste before the first refit, the seed rule's): about a fitted prior's.
const UNSCALED_TASTE_STRENGTH: f64 = 5.0;

impl Default for FeedSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A point of the catalogue far from the other landmarks, with the published paintings nearest
/// it (nearest first), so that most diverse picks need no index search.
pub struct Landmark {
    vector: Vector,
    neighbours: Vec<i64>,
    /// How many of `neighbours` make up its region: about its share of the catalogue, so that
    /// the regions of a small catalogue's landmarks do not overlap.
    region: i32,
}

/// Landmarks spread across the catalogue (farthest-point sampling), cached for a while and
/// dropped when the catalogue changes.
pub struct Landmarks(Cached<Vec<Landmark>>);

impl Default for Landmarks {
    fn default() -> Self {
        Self(Cached::new(LANDMARK_TTL))
    }
}

impl Landmarks {
    pub async fn get(&self, db: &PgPool) -> ServerResult<Arc<Vec<Landmark>>> {
        let landmarks = self.0.get_or_compute(|| compute_landmarks(db)).await?;
        // An empty catalogue is not worth remembering: the first import should be seen at once.
        if landmarks.is_empty() {
            self.0.forget().await;
        }
        Ok(landmarks)
    }
}

/// `forget` and `is_kept` are the cache's own.
impl std::ops::Deref for Landmarks {
    type Target = Cached<Vec<Landmark>>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Picks the landmarks from a sample of the published catalogue, with their nearest paintings.
async fn compute_landmarks(db: &PgPool) -> ServerResult<Vec<Landmark>> {
    // A hash order: a sample spread like a random one, but the same on every instance and every
    // run (so the same catalogue gets the same landmarks).
    let sample: Vec<(i64, Vector)> =
        sqlx::query_as("SELECT id, embedding FROM paintings WHERE published ORDER BY md5(id::text) LIMIT $1")
            .bind(LANDMARK_SAMPLE)
            .fetch_all(db)
            .await?;
    let (ids, vectors): (Vec<i64>, Vec<Vec<f32>>) = sample.into_iter().map(|(id, v)| (id, v.to_vec())).unzip();
    // A sample that is the whole catalogue ranks each landmark's neighbours exactly, here
    // (so a small catalogue's landmarks do not vary with the index's random levels); a
    // larger catalogue asks the index.
    let points: Vec<Vector> = farthest_points(&vectors, LANDMARKS).into_iter().map(Vector::from).collect();
    let lists: Vec<Vec<i64>> = if (vectors.len() as i64) < LANDMARK_SAMPLE {
        points.iter().map(|point| nearest_in_sample(&ids, &vectors, point.as_slice())).collect()
    } else {
        let mut tx = db.begin_cancel_safe().await?;
        set_scan_settings(&mut tx, FeedSettings::default().max_scan_tuples).await?;
        let mut lists = Vec::with_capacity(points.len());
        for point in &points {
            // A literal LIMIT: a generic plan cannot see a bound one and may rank the whole catalogue.
            let list = sqlx::query_scalar(&format!(
                "SELECT id FROM paintings WHERE published ORDER BY embedding <=> $1 LIMIT {LANDMARK_NEIGHBOURS}"
            ))
            .bind(point)
            .fetch_all(&mut *tx)
            .await?;
            lists.push(list);
        }
        tx.commit().await?;
        lists
    };
    let region = (vectors.len() / LANDMARKS).clamp(1, LANDMARK_NEIGHBOURS as usize) as i32;
    Ok(points.into_iter().zip(lists).map(|(vector, neighbours)| Landmark { vector, neighbours, region }).collect())
}

/// The ids of the `LANDMARK_NEIGHBOURS` sample vectors nearest `point`, nearest first (ties by id).
fn nearest_in_sample(ids: &[i64], vectors: &[Vec<f32>], point: &[f32]) -> Vec<i64> {
    let mut ranked: Vec<(f32, i64)> = vectors.iter().zip(ids).map(|(v, id)| (cosine(v, point), *id)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked.into_iter().take(LANDMARK_NEIGHBOURS as usize).map(|(_, id)| id).collect()
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
            .ok_or_else(|| AppError::invalid(message!(feed.bad_cursor)).into()),
    }
}

/// Exploration slots in a page, so that the long-run share is exactly `rate`.
fn exploration_slots(served: i64, limit: i64, rate: f64) -> i64 {
    explored_in(served + limit, rate) - explored_in(served, rate)
}

/// Exploration picks among the first `n` items of a feed session, `rate` of them exploration.
fn explored_in(n: i64, rate: f64) -> i64 {
    (n as f64 * rate).floor() as i64
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
        return Err(AppError::invalid(message!(feed.bad_limit, max = MAX_LIMIT)).into());
    }
    let anchors = landmarks.get(db).await?;
    let mut tx = db.begin_cancel_safe().await?;
    // One feed request at a time per visitor: two tabs never receive the same painting. The lock,
    // the scan settings that every index search below needs (deep scans, diverse picks) and the
    // taste come in one round trip. The page's statements plan once per connection (planning
    // them took longer than running some); only the deep scan needs a custom plan.
    type Stored = (Option<Vector>, Option<f32>, Option<Vec<i64>>, Option<Vec<f32>>, Option<Vec<i64>>, Option<i32>);
    let (taste, strength, liked, liked_weights, liked_near, interactions): Stored = sqlx::query_as(&format!(
        "SELECT u.taste, u.taste_strength, u.liked, u.liked_weights, u.liked_near, u.interaction_count
         FROM (SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7)), {},
                      set_config('plan_cache_mode', 'force_generic_plan', true)) AS one_request_per_visitor
         LEFT JOIN user_preferences u ON u.visitor_id = $1",
        scan_settings(settings.max_scan_tuples)
    ))
    .bind(visitor.0)
    .fetch_one(&mut *tx)
    .await?;
    let taste = taste.map(|vector| Taste {
        vector,
        strength: strength.map_or(UNSCALED_TASTE_STRENGTH, f64::from),
        liked: liked.unwrap_or_default(),
        liked_weights: liked_weights.unwrap_or_default(),
        liked_near: liked_near.unwrap_or_default(),
        interactions: interactions.unwrap_or_default(),
    });

    let (mut nearest, mut spare, mut candidates) = (Vec::new(), None, Candidates::NoTaste);
    let explore = match &taste {
        Some(taste) => {
            let explore = exploration_slots(served, limit, settings.exploration_rate);
            (nearest, spare, candidates) = nearest_unseen(&mut tx, settings, visitor, taste, limit - explore).await?;
            explore
        }
        None => limit,
    };
    let chosen: Vec<i64> = nearest.iter().map(|n| n.card.id).collect();
    // Diverse picks fill the exploration slots, the whole page at cold start, and whatever the
    // nearest-neighbour search could not.
    let wanted = (explore + (limit - explore - nearest.len() as i64)).max(0);
    // Each page's landmark turns start after the ones earlier pages took, so they rotate through
    // every landmark whatever the page size (all items are diverse before there is a taste).
    let rate = if taste.is_some() { settings.exploration_rate } else { 1.0 };
    let first_turn = explored_in(served, rate);
    let taste_vector = taste.as_ref().map(|taste| &taste.vector);
    let diverse = diverse_unseen(&mut tx, visitor, taste_vector, &anchors, first_turn, wanted, &chosen).await?;

    let mut items = interleave(nearest, diverse, taste.is_some(), served);
    let ids: Vec<i64> = items.iter().map(|item| item.card.id).collect();
    // A spare nearest painting that did not end up on the page proves more are left; only
    // without one does the catalogue have to be asked, which can pass every seen painting.
    let more_known = spare.is_some_and(|id| !ids.contains(&id));
    // Record the page and drop it from the candidates, so the next page re-ranks only what is
    // left; learn which of it is saved and whether anything is left; all in one statement (the
    // EXISTS cannot see the insert, hence the explicit exclusion; OR skips it when $3 answers).
    let (saved, has_more): (Vec<i64>, bool) = sqlx::query_as(&format!(
        "WITH recorded AS (
             INSERT INTO shown_paintings (visitor_id, painting_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING
         ), served AS (
             UPDATE feed_candidates SET painting_ids = ARRAY(SELECT id FROM unnest(painting_ids) AS c(id) WHERE id <> ALL($2))
             WHERE visitor_id = $1
         )
         SELECT ARRAY(SELECT painting_id FROM saved_paintings WHERE visitor_id = $1 AND painting_id = ANY($2)),
                $3 OR EXISTS (SELECT 1 FROM paintings p WHERE {UNSEEN} AND p.id <> ALL($2))"
    ))
    .bind(visitor.0)
    .bind(&ids)
    .bind(more_known)
    .fetch_one(&mut *tx)
    .await?;
    items.iter_mut().for_each(|item| item.saved = saved.contains(&item.card.id));
    tx.commit().await?;
    metrics::feed_page(candidates);
    let next_cursor = has_more.then(|| (served + items.len() as i64).to_string());
    Ok(FeedPage { items, next_cursor, has_more })
}

/// A painting this visitor may still be shown ($1 is the visitor).
const UNSEEN: &str = "p.published
    AND NOT EXISTS (SELECT 1 FROM shown_paintings s WHERE s.visitor_id = $1 AND s.painting_id = p.id)
    AND NOT EXISTS (SELECT 1 FROM hidden_paintings h WHERE h.visitor_id = $1 AND h.painting_id = p.id)";

/// What the feed knows of a visitor's taste (see `taste_model`).
struct Taste {
    vector: Vector,
    /// Utility per unit of cosine to `vector`.
    strength: f64,
    /// Paintings they liked lately, newest first, the weight of likeness to each, and unseen
    /// paintings nearest those that weigh most.
    liked: Vec<i64>,
    liked_weights: Vec<f32>,
    liked_near: Vec<i64>,
    interactions: i32,
}

/// A personalised pick: the card, its similarity to the taste and what it is most like.
struct Nearest {
    card: CardRow,
    similarity: f32,
    because: Option<Because>,
}

/// The `limit` best unseen paintings for the taste, best first, the id of the next one, if
/// there is one, and where they were found. The taste's nearest come from the visitor's candidates re-ranked against it,
/// after a deep scan for new candidates when those cannot fill the page. Unless the weights
/// are zero, the best of them and the paintings nearest the liked ones that weigh most (found
/// by the taste worker, see `find_liked_near`) are then re-scored with the visitor's whole
/// utility: the taste, likeness to each liked painting, and everyone's reactions while the
/// visitor has said little.
async fn nearest_unseen(
    tx: &mut PgConnection,
    settings: FeedSettings,
    visitor: VisitorId,
    taste: &Taste,
    limit: i64,
) -> ServerResult<(Vec<Nearest>, Option<i64>, Candidates)> {
    if limit <= 0 {
        return Ok((Vec::new(), None, Candidates::ExplorationOnly));
    }
    let rescore = settings.liked_weight > 0.0 || settings.popularity_weight > 0.0;
    let wanted = if rescore { limit * RESCORED_PER_SLOT + 1 } else { limit + 1 };
    let page = candidate_page_sql();
    let mut rows = fetch_scored(&mut *tx, &page, visitor, &taste.vector, wanted).await?;
    let mut candidates = Candidates::Cache;
    if (rows.len() as i64) < limit {
        (_, candidates) = find_candidates(&mut *tx, settings, visitor, &taste.vector).await?;
        rows = fetch_scored(&mut *tx, &page, visitor, &taste.vector, wanted).await?;
    }
    let mut picks: Vec<Nearest> = if rescore {
        let pool: Vec<i64> = rows.iter().map(|(row, _)| row.id).collect();
        rescored(&mut *tx, settings, visitor, taste, &pool).await?
    } else {
        rows.into_iter().map(|(card, similarity)| Nearest { card, similarity, because: None }).collect()
    };
    let spare = picks.get(limit as usize).map(|n| n.card.id);
    picks.truncate(limit as usize);
    Ok((picks, spare, candidates))
}

/// `pool` (unseen paintings near the taste) and those of the paintings nearest the visitor's
/// liked ones that are still unseen, best utility first; a painting among those nearest a liked
/// one says which liked painting adds most to it.
async fn rescored(
    tx: &mut PgConnection,
    settings: FeedSettings,
    visitor: VisitorId,
    taste: &Taste,
    pool: &[i64],
) -> ServerResult<Vec<Nearest>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        card: CardRow,
        similarity: f32,
        likeness: Option<f64>,
        popularity: f32,
        near_liked: bool,
        because_id: Option<i64>,
        because_title: Option<String>,
        because_title_en: Option<String>,
        because_saved: Option<bool>,
    }
    // A liked weight of 0 turns the liked paintings off altogether (reasons too).
    let (liked, weights, liked_near): (&[i64], &[f32], &[i64]) = match settings.liked_weight > 0.0 {
        true => (&taste.liked, &taste.liked_weights, &taste.liked_near),
        false => (&[], &[], &[]),
    };
    // A hidden painting stops counting as liked at once, before the worker has learned the
    // hide. Likeness is `taste_model::likeness` of the cosine distance.
    let reach = taste_model::LIKENESS_REACH;
    // Each pool painting meets each liked one once, in one grouped pass over both (materialised,
    // so neither is fetched again per pair); the reason is the liked painting whose term is
    // largest, the lower id of equals (`max` of [term, -id]: no sort per painting).
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "WITH liked AS MATERIALIZED (
             SELECT l.id, l.weight, p.embedding, p.title, p.title_en,
                    EXISTS (SELECT 1 FROM saved_paintings s WHERE s.visitor_id = $1 AND s.painting_id = l.id) AS saved
             FROM unnest($3::bigint[], $4::real[]) AS l(id, weight) JOIN paintings p ON p.id = l.id AND p.published
             WHERE NOT EXISTS (SELECT 1 FROM hidden_paintings h WHERE h.visitor_id = $1 AND h.painting_id = l.id)
         ), pool AS MATERIALIZED (
             SELECT {CARD_COLUMNS}, p.embedding
             FROM (SELECT unnest($5::bigint[]) AS id UNION SELECT unnest($6::bigint[])) pool
             JOIN paintings p ON p.id = pool.id AND {UNSEEN}
         ), terms AS (
             SELECT p.id, l.id AS liked_id, l.weight,
                    l.weight * exp(-(p.embedding <=> l.embedding) / {reach}) AS term
             FROM pool p CROSS JOIN liked l WHERE l.id <> p.id
         ), k AS (
             SELECT id, sum(term)::float8 AS likeness,
                    (-(max(ARRAY[term, -liked_id]) FILTER (WHERE weight > 0))[2])::bigint AS because_id
             FROM terms GROUP BY id
         )
         SELECT {CARD_COLUMNS}, (1 - (p.embedding <=> $2))::real AS similarity, k.likeness,
                {POPULARITY_SQL} AS popularity, p.id = ANY($6) AS near_liked,
                b.id AS because_id, b.title AS because_title, b.title_en AS because_title_en, b.saved AS because_saved
         FROM pool p
         LEFT JOIN k ON k.id = p.id
         LEFT JOIN liked b ON b.id = k.because_id
         LEFT JOIN painting_reactions r ON r.painting_id = p.id"
    ))
    .bind(visitor.0)
    .bind(&taste.vector)
    .bind(liked)
    .bind(weights)
    .bind(pool)
    .bind(liked_near)
    .fetch_all(&mut *tx)
    .await?;
    let popularity_weight = settings.popularity_weight(taste.interactions);
    let mut scored: Vec<(f64, Nearest)> = rows
        .into_iter()
        .map(|row| {
            let score = taste.strength * f64::from(row.similarity)
                + settings.liked_weight * row.likeness.unwrap_or(0.0)
                + popularity_weight * f64::from(row.popularity);
            let because = match (row.because_id.filter(|_| row.near_liked), row.because_title) {
                (Some(painting_id), Some(title)) => Some(Because {
                    painting_id,
                    title,
                    title_en: row.because_title_en,
                    saved: row.because_saved.unwrap_or(false),
                }),
                _ => None,
            };
            (score, Nearest { card: row.card, similarity: row.similarity, because })
        })
        .collect();
    // Ties (equal scores) in id order, so a page is the same however the rows came.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.card.id.cmp(&b.1.card.id)));
    Ok(scored.into_iter().map(|(_, nearest)| nearest).collect())
}

/// How many nearest unseen paintings one deep scan keeps for the pages that follow.
const CANDIDATES: i64 = 256;
/// Candidates serve while the taste they were found for is within this cosine distance of the
/// current one (similarity 0.98); a taste that moved further gets a fresh scan.
const CANDIDATE_MAX_DRIFT: f64 = 0.02;

/// The best `$3` of the visitor's (`$1`) candidates for the taste `$2`. Ordered by similarity, not
/// distance, so the planner cannot swap in a scan of the whole index.
pub(crate) fn candidate_page_sql() -> String {
    format!(
        "SELECT {CARD_COLUMNS}, (1 - (p.embedding <=> $2))::real AS similarity
         FROM feed_candidates f, unnest(f.painting_ids) AS c(id), paintings p
         WHERE f.visitor_id = $1 AND f.taste <=> $2 <= {CANDIDATE_MAX_DRIFT} AND p.id = c.id AND {UNSEEN}
         ORDER BY similarity DESC LIMIT $3"
    )
}

/// Replaces the visitor's candidates with the `CANDIDATES` unseen paintings nearest the taste and
/// returns them with the scan that found them: from an iterative index scan while the visitor has seen little of the catalogue,
/// otherwise, or where the index scan gave up (`hnsw.max_scan_tuples`) before finding them all,
/// from an exact scan. Expects the scan settings of `set_scan_settings`.
///
/// The iterative scan costs about 30 µs for each seen painting it has to pass, the exact scan
/// about 1 µs for each painting in the catalogue (both measured on 100k paintings), hence the
/// switch at `exact_scan_seen_share` (default 1/32) of the catalogue seen.
pub(crate) async fn find_candidates(
    tx: &mut PgConnection,
    settings: FeedSettings,
    visitor: VisitorId,
    taste: &Vector,
) -> ServerResult<(Vec<i64>, Candidates)> {
    // The catalogue's size is the planner's estimate (unknown, so exact, before the first ANALYZE).
    // Custom plans from here on: a generic plan of the scan cannot see its LIMIT and may choose to
    // rank the whole catalogue.
    let (seen, catalogue, _): (i64, f64, String) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM shown_paintings WHERE visitor_id = $1),
                (SELECT greatest(reltuples, 0)::float8 FROM pg_class WHERE oid = 'paintings'::regclass),
                set_config('plan_cache_mode', 'force_custom_plan', true)",
    )
    .bind(visitor.0)
    .fetch_one(&mut *tx)
    .await?;
    let scan = nearest_unseen_sql();
    let (mut ids, mut found_by) = (Vec::new(), Candidates::IndexScan);
    if (seen as f64) < catalogue * settings.exact_scan_seen_share {
        ids = sqlx::query_scalar(&scan).bind(visitor.0).bind(taste).bind(CANDIDATES).fetch_all(&mut *tx).await?;
    }
    if (ids.len() as i64) < CANDIDATES {
        found_by = Candidates::ExactScan;
        sqlx::query("SET LOCAL enable_indexscan = off").execute(&mut *tx).await?;
        ids = sqlx::query_scalar(&scan).bind(visitor.0).bind(taste).bind(CANDIDATES).fetch_all(&mut *tx).await?;
        sqlx::query("SET LOCAL enable_indexscan = on").execute(&mut *tx).await?;
    }
    sqlx::query(
        "INSERT INTO feed_candidates (visitor_id, taste, painting_ids) VALUES ($1, $2, $3)
         ON CONFLICT (visitor_id) DO UPDATE SET taste = $2, painting_ids = $3, found_at = now()",
    )
    .bind(visitor.0)
    .bind(taste)
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    Ok((ids, found_by))
}

/// Settings for iterative HNSW scans, as `set_config` calls local to the transaction.
/// relaxed_order returns neighbours slightly out of order, which does not matter: candidates are
/// re-ranked exactly.
fn scan_settings(max_scan_tuples: i64) -> String {
    format!(
        "set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.max_scan_tuples', '{max_scan_tuples}', true),
         set_config('hnsw.ef_search', '100', true)"
    )
}

/// Stores the `LIKED_NEIGHBOURS` unseen paintings nearest each of the visitor's liked ones that
/// weigh most (`LIKED_KEPT` of them), for the feed to re-score (see `nearest_unseen`): one index
/// search each, in the taste worker's transaction rather than in every feed request.
pub async fn find_liked_near(tx: &mut PgConnection, visitor: uuid::Uuid) -> ServerResult<()> {
    set_scan_settings(&mut *tx, FeedSettings::DEFAULT.max_scan_tuples).await?;
    // A literal LIMIT: a generic plan cannot see a bound one and may rank the whole catalogue.
    sqlx::query(&format!(
        "UPDATE user_preferences u SET liked_near = ARRAY(
             SELECT DISTINCT n.id FROM (
                 SELECT l.id FROM unnest(u.liked, u.liked_weights) AS l(id, weight)
                 WHERE l.weight > 0 ORDER BY l.weight DESC, l.id LIMIT {LIKED_KEPT}
             ) l JOIN paintings lp ON lp.id = l.id
             CROSS JOIN LATERAL (
                 SELECT p.id FROM paintings p WHERE {UNSEEN} AND p.id <> ALL(u.liked)
                 ORDER BY p.embedding <=> lp.embedding LIMIT {LIKED_NEIGHBOURS}
             ) n)
         WHERE u.visitor_id = $1"
    ))
    .bind(visitor)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Iterative HNSW scans for the rest of the transaction (see `scan_settings`).
pub(crate) async fn set_scan_settings(tx: &mut PgConnection, max_scan_tuples: i64) -> ServerResult<()> {
    sqlx::query(&format!("SELECT {}", scan_settings(max_scan_tuples))).execute(&mut *tx).await?;
    Ok(())
}

/// The deep scan ($1 visitor, $2 taste, $3 limit): ids of the unseen paintings nearest the taste.
/// `make bench` times it raw.
pub(crate) fn nearest_unseen_sql() -> String {
    format!("SELECT p.id FROM paintings p WHERE {UNSEEN} ORDER BY p.embedding <=> $2 LIMIT $3")
}

async fn fetch_scored(
    tx: &mut PgConnection,
    query: &str,
    visitor: VisitorId,
    target: &Vector,
    limit: i64,
) -> ServerResult<Vec<(CardRow, f32)>> {
    #[derive(sqlx::FromRow)]
    struct Scored {
        #[sqlx(flatten)]
        card: CardRow,
        similarity: f32,
    }
    let rows: Vec<Scored> = sqlx::query_as(query).bind(visitor.0).bind(target).bind(limit).fetch_all(&mut *tx).await?;
    Ok(rows.into_iter().map(|r| (r.card, r.similarity)).collect())
}

/// Unseen paintings spread over the catalogue: one from each landmark's region in turn, from
/// `first_turn`. Landmarks come in farthest-point order, so consecutive ones are far apart.
/// Within a region (the landmark's cached nearest paintings) the pick is the one nearest the
/// taste, if there is one, else nearest the landmark: exploration still visits every region,
/// but shows the visitor what they are likeliest to care about there, which they then react
/// to. The cached lists answer most picks in one statement; a landmark whose list this
/// visitor has used up is searched in the index.
async fn diverse_unseen(
    tx: &mut PgConnection,
    visitor: VisitorId,
    taste: Option<&Vector>,
    landmarks: &[Landmark],
    first_turn: i64,
    wanted: i64,
    exclude: &[i64],
) -> ServerResult<Vec<(CardRow, Option<f32>)>> {
    if wanted <= 0 || landmarks.is_empty() {
        return Ok(Vec::new());
    }
    let wanted = wanted as usize;
    let turns: Vec<&Landmark> =
        (0..landmarks.len()).map(|turn| &landmarks[(first_turn as usize + turn) % landmarks.len()]).collect();
    // A spare landmark or two in case a list is used up.
    let listed = &turns[..(wanted + 2).min(turns.len())];
    let (mut neighbours, mut firsts, mut lasts, mut regions) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for landmark in listed {
        firsts.push(neighbours.len() as i32 + 1);
        neighbours.extend_from_slice(&landmark.neighbours);
        lasts.push(neighbours.len() as i32);
        regions.push(landmark.region);
    }
    // The two best available paintings of each listed landmark's list (two, in case lists
    // overlap): those of its region nearest the taste (without one, nearest the landmark),
    // else the first ones past its region. Each list is probed by id: a plan free to choose
    // would hash every painting the visitor has seen.
    let rows: Vec<Pick> = sqlx::query_as(&format!(
        "SELECT t.turn, {CARD_COLUMNS}, p.similarity
         FROM unnest($3::int[], $4::int[], $7::int[]) WITH ORDINALITY AS t(first, last, region, turn)
         CROSS JOIN LATERAL (
             SELECT p.*, (1 - (p.embedding <=> $2))::real AS similarity, c.n > t.region AS beyond,
                    CASE WHEN c.n <= t.region THEN p.embedding <=> $2 END AS distance, c.n
             FROM unnest($5[t.first:t.last]) WITH ORDINALITY AS c(id, n)
             CROSS JOIN LATERAL (SELECT p.* FROM paintings p WHERE p.id = c.id AND {UNSEEN} AND p.id <> ALL($6)) p
             ORDER BY beyond, distance NULLS LAST, c.n
             LIMIT 2
         ) p
         ORDER BY t.turn, p.beyond, p.distance NULLS LAST, p.n"
    ))
    .bind(visitor.0)
    .bind(taste)
    .bind(&firsts)
    .bind(&lasts)
    .bind(&neighbours)
    .bind(exclude)
    .bind(&regions)
    .fetch_all(&mut *tx)
    .await?;
    let mut excluded: HashSet<i64> = exclude.iter().copied().collect();
    let mut picks = Vec::with_capacity(wanted);
    let mut turn = None;
    for row in rows {
        if picks.len() == wanted {
            break;
        }
        if turn != Some(row.turn) && excluded.insert(row.card.id) {
            turn = Some(row.turn);
            picks.push((row.card, row.similarity));
        }
    }
    let search =
        format!("SELECT p.id FROM paintings p WHERE {UNSEEN} AND p.id <> ALL($3) ORDER BY p.embedding <=> $2 LIMIT 1");
    let mut searched = Vec::new();
    for landmark in turns.iter().cycle().skip(listed.len()).take(turns.len()) {
        if picks.len() + searched.len() == wanted {
            break;
        }
        let excluded_ids: Vec<i64> = excluded.iter().copied().collect();
        let pick: Option<i64> = sqlx::query_scalar(&search)
            .bind(visitor.0)
            .bind(&landmark.vector)
            .bind(&excluded_ids)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(id) = pick {
            excluded.insert(id);
            searched.push(id);
        }
    }
    if !searched.is_empty() {
        let mut rows: Vec<Pick> = sqlx::query_as(&format!(
            "SELECT 0::bigint AS turn, {CARD_COLUMNS}, (1 - (p.embedding <=> $2))::real AS similarity FROM paintings p WHERE p.id = ANY($1)"
        ))
        .bind(&searched)
        .bind(taste)
        .fetch_all(&mut *tx)
        .await?;
        rows.sort_by_key(|row| searched.iter().position(|id| *id == row.card.id));
        picks.extend(rows.into_iter().map(|row| (row.card, row.similarity)));
    }
    Ok(picks)
}

#[derive(sqlx::FromRow)]
struct Pick {
    turn: i64,
    #[sqlx(flatten)]
    card: CardRow,
    similarity: Option<f32>,
}

/// Nearest items in order, with an exploration item every sixth place or so; positions
/// continue from `served`.
fn interleave(
    nearest: Vec<Nearest>,
    diverse: Vec<(CardRow, Option<f32>)>,
    personalised: bool,
    served: i64,
) -> Vec<FeedItem> {
    let total = nearest.len() + diverse.len();
    let explore_every = if nearest.is_empty() { 1 } else { (total / diverse.len().max(1)).max(2) };
    let mut nearest = nearest.into_iter();
    let mut diverse = diverse.into_iter();
    let mut items = Vec::with_capacity(total);
    for slot in 0..total {
        let take_diverse = (slot + 1) % explore_every == 0 || nearest.len() == 0;
        let (card, similarity, exploration, because) = match (take_diverse, diverse.len()) {
            (true, n) if n > 0 => {
                let (row, similarity) = diverse.next().expect("diverse has items");
                (row, similarity, personalised, None)
            }
            _ => {
                let pick = nearest.next().expect("nearest has items");
                (pick.card, Some(pick.similarity), false, pick.because)
            }
        };
        items.push(FeedItem {
            position: served + slot as i64,
            similarity,
            exploration,
            saved: false,
            because,
            card: card.into(),
        });
    }
    items
}

/// "Start over": forget what this visitor has been shown (hidden paintings stay hidden).
pub async fn reset(db: &PgPool, visitor: VisitorId) -> ServerResult<u64> {
    let mut tx = db.begin_cancel_safe().await?;
    // The candidates left out everything already shown: the next page needs a fresh scan.
    sqlx::query("DELETE FROM feed_candidates WHERE visitor_id = $1").bind(visitor.0).execute(&mut *tx).await?;
    let result =
        sqlx::query("DELETE FROM shown_paintings WHERE visitor_id = $1").bind(visitor.0).execute(&mut *tx).await?;
    tx.commit().await?;
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
    fn exploration_turns_rotate_through_every_landmark_with_pages_of_twelve() {
        let rate = FeedSettings::DEFAULT.exploration_rate;
        let mut used = HashSet::new();
        for page in 0..LANDMARKS as i64 {
            let (served, slots) = (page * 12, exploration_slots(page * 12, 12, rate));
            // The first two turns of each page: its exploration slots.
            used.extend((0..slots).map(|turn| (explored_in(served, rate) + turn) as usize % LANDMARKS));
        }
        assert_eq!(used.len(), LANDMARKS, "turns used: {used:?}");
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
