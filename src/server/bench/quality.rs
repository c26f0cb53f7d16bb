//! `artwall-bench quality`: does the feed learn? Simulated visitors with hidden tastes use the
//! real feed, the real activity store and the real taste worker, once per learner, and each page
//! is scored against what an oracle that knows the hidden taste would show.
//!
//! The protocol (issue 16):
//! - Visitors have 1, 2 or 3 interests (probabilities 0.5 / 0.3 / 0.2), each a random catalogue
//!   painting; a painting's utility is its highest cosine to any of them. Relevant: the top 10%
//!   of the catalogue by utility.
//! - Reactions by utility rank: the top 5% are saved, 5-25% viewed for 6 s, the bottom 25%
//!   hidden, the rest passed over; one reaction in ten is random. Onboarding picks the two home
//!   styles nearest the interests. An interaction is a save, a view or a hide.
//! - After 0, 10, 20 and 40 interactions, the next page (12) is scored: precision of the whole
//!   page, of its personalised slots (against the oracle's top n, n the number of those
//!   slots), and nDCG@12 (gain 2 for the save band, 1 for the view band). The oracle, random
//!   and popularity (the unseen paintings everyone's reactions so far rank highest) baselines are
//!   computed on exactly the unseen set the feed had; "perfect layout" is our page with the
//!   oracle's picks in the personalised slots and the feed's exploration picks.
//! - Ratios to the oracle are ratios of means over visitors, with paired bootstrap 95% intervals
//!   (every learner meets the same visitors).
//!
//! `--demo-like N` first replaces the catalogue with N paintings like the imported ones (each
//! one plus 0.5 N(0, Σ), normalised), so the relevant set never runs out. Prints figures;
//! asserts nothing.

use std::collections::{HashMap, HashSet};

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use uuid::Uuid;

use crate::error::AppError;
use crate::events::{EventKind, Source};
use crate::server::bench::{feed::require_bench_database, synthetic};
use crate::server::config::TasteLearnerKind;
use crate::server::discovery::activity::{self, CheckedEvent};
use crate::server::discovery::popularity::POPULARITY_SQL;
use crate::server::discovery::taste_worker::{self, TasteLearner};
use crate::server::error::ServerResult;
use crate::server::http::visitor::VisitorId;
use crate::server::infra::clip::cosine;
use crate::server::{discovery::feed, discovery::onboarding, state::AppState};
use crate::styles::HOME_STYLES;

pub const CHECKPOINTS: [usize; 4] = [0, 10, 20, 40];
const PAGE: usize = 12;
/// Shares of the catalogue, by rank of utility.
const RELEVANT_SHARE: f64 = 0.10;
const SAVE_SHARE: f64 = 0.05;
const VIEW_SHARE: f64 = 0.25;
const HIDE_FROM_SHARE: f64 = 0.75;
const RANDOM_REACTIONS: f64 = 0.10;
const LONG_VIEW_MS: i64 = 6_000;
const INTEREST_COUNTS: [(usize, f64); 3] = [(1, 0.5), (2, 0.3), (3, 0.2)];
const BOOTSTRAP_ROUNDS: usize = 2_000;
const DEMO_LIKE_KEY: &str = "demo-like";
const DEMO_LIKE_NOISE: f32 = 0.5;

/// The feeds compared: each learner the worker can run, and the onboarding taste never updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Learner {
    Ordinal,
    Seed,
    OnboardingOnly,
}

impl Learner {
    pub const ALL: [Self; 3] = [Self::Ordinal, Self::Seed, Self::OnboardingOnly];

    pub fn name(self) -> &'static str {
        match self {
            Self::Ordinal => "ordinal learner",
            Self::Seed => "seed rule",
            Self::OnboardingOnly => "onboarding only",
        }
    }

    fn worker(self) -> Option<TasteLearner> {
        match self {
            Self::Ordinal => Some(TasteLearner::new(TasteLearnerKind::Ordinal)),
            Self::Seed => Some(TasteLearner::new(TasteLearnerKind::Seed)),
            Self::OnboardingOnly => None,
        }
    }
}

/// One page, scored, with the baselines on the same unseen set.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scores {
    /// Pages the visitor had scrolled before this one.
    pub pages: usize,
    pub whole: f64,
    pub oracle: f64,
    pub random: f64,
    /// The most popular unseen paintings (everyone's reactions so far in this run).
    pub popularity: f64,
    pub perfect_layout: f64,
    /// Precision of the personalised slots and of the oracle's top as many (None: no such slot).
    pub personalised: Option<(f64, f64)>,
    pub ndcg: f64,
}

/// Scores per learner, per visitor, per checkpoint (None where a visitor never got there).
pub struct Report {
    pub learners: Vec<Learner>,
    pub scores: Vec<Vec<[Option<Scores>; CHECKPOINTS.len()]>>,
    pub paintings: usize,
}

impl Report {
    /// Every visitor's scores at a checkpoint for one learner, `metric` of them.
    fn column(
        &self,
        learner: usize,
        checkpoint: usize,
        metric: impl Fn(&Scores) -> Option<(f64, f64)>,
    ) -> Vec<Option<(f64, f64)>> {
        self.scores[learner].iter().map(|visitor| visitor[checkpoint].as_ref().and_then(&metric)).collect()
    }

    /// The mean of a learner's whole-page precision at a checkpoint, as a share of the oracle's.
    pub fn share_of_oracle(&self, learner: Learner, checkpoint: usize) -> f64 {
        let index = self.learners.iter().position(|l| *l == learner).expect("a simulated learner");
        ratio_of_sums(&self.column(index, checkpoint, |s| Some((s.whole, s.oracle))), None).unwrap_or(0.0)
    }
}

pub async fn run(
    state: &AppState,
    visitors: usize,
    seed: u64,
    demo_like: usize,
    learners: &[Learner],
) -> ServerResult<()> {
    require_bench_database(&state.db, "artwall-bench quality").await?;
    if demo_like > 0 {
        replace_with_demo_like(state, demo_like, seed).await?;
    }
    let catalogue = published(&state.db).await?;
    if catalogue.len() < 100 {
        return Err(AppError::invalid(format!(
            "artwall-bench quality needs a catalogue of at least 100 paintings, found {}",
            catalogue.len()
        ))
        .into());
    }
    let report = simulate(state, &catalogue, visitors, seed, learners).await?;
    print(&report, seed);
    Ok(())
}

/// The published paintings' embeddings, the catalogue visitors are simulated on.
pub async fn published(db: &sqlx::PgPool) -> ServerResult<Vec<(i64, Vec<f32>)>> {
    let rows: Vec<(i64, pgvector::Vector)> =
        sqlx::query_as("SELECT id, embedding FROM paintings WHERE published ORDER BY id").fetch_all(db).await?;
    Ok(rows.into_iter().map(|(id, v)| (id, v.to_vec())).collect())
}

/// Unpublishes the imported catalogue and publishes `n` paintings like it in its place.
async fn replace_with_demo_like(state: &AppState, n: usize, seed: u64) -> ServerResult<()> {
    let pattern = format!("{DEMO_LIKE_KEY}:%");
    sqlx::query("DELETE FROM paintings WHERE source_key LIKE $1").bind(&pattern).execute(&state.db).await?;
    // The imported catalogue, published or not (an earlier run unpublished it).
    let base: Vec<pgvector::Vector> =
        sqlx::query_scalar("SELECT embedding FROM paintings ORDER BY id").fetch_all(&state.db).await?;
    if base.len() < 2 {
        return Err(AppError::invalid("--demo-like needs an imported catalogue to imitate").into());
    }
    let base: Vec<Vec<f32>> = base.into_iter().map(|v| v.to_vec()).collect();
    sqlx::query("UPDATE paintings SET published = false").execute(&state.db).await?;
    synthetic::insert(&state.db, &synthetic::demo_like(&base, n, DEMO_LIKE_NOISE, seed), DEMO_LIKE_KEY).await?;
    Ok(())
}

/// Runs `visitors` simulated visitors (fixed by `seed`) through each learner's feed.
pub async fn simulate(
    state: &AppState,
    catalogue: &[(i64, Vec<f32>)],
    visitors: usize,
    seed: u64,
    learners: &[Learner],
) -> ServerResult<Report> {
    let mut rng = StdRng::seed_from_u64(seed);
    let hidden: Vec<Hidden> = (0..visitors).map(|_| Hidden::new(catalogue, &mut rng)).collect();
    let mut scores = Vec::new();
    for learner in learners {
        // Every learner's visitors meet the same popularity: none, then what those before them did.
        sqlx::query("DELETE FROM painting_reactions").execute(&state.db).await?;
        let worker = learner.worker();
        let mut per_visitor = Vec::new();
        for visitor in &hidden {
            per_visitor.push(visit(state, worker.as_ref(), visitor).await?);
        }
        scores.push(per_visitor);
    }
    Ok(Report { learners: learners.to_vec(), scores, paintings: catalogue.len() })
}

/// A simulated visitor's hidden taste, and how they react.
struct Hidden {
    interests: Vec<Vec<f32>>,
    /// Painting ids, highest utility first, and each one's rank in that order.
    by_utility: Vec<i64>,
    rank: HashMap<i64, usize>,
    /// Their own random reactions, the same whichever feed they meet.
    seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Band {
    Save,
    View,
    PassOver,
    Hide,
}

impl Hidden {
    fn new(catalogue: &[(i64, Vec<f32>)], rng: &mut StdRng) -> Self {
        let count = INTEREST_COUNTS.choose_weighted(rng, |(_, p)| *p).expect("weights are positive").0;
        let interests: Vec<Vec<f32>> = catalogue.choose_multiple(rng, count).map(|(_, v)| v.clone()).collect();
        let utility = |v: &[f32]| interests.iter().map(|i| cosine(i, v)).fold(f32::MIN, f32::max);
        let mut scored: Vec<(i64, f32)> = catalogue.iter().map(|(id, v)| (*id, utility(v))).collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        let by_utility: Vec<i64> = scored.iter().map(|(id, _)| *id).collect();
        let rank = by_utility.iter().enumerate().map(|(rank, id)| (*id, rank)).collect();
        Self { interests, by_utility, rank, seed: rng.random() }
    }

    fn cut(&self, share: f64) -> usize {
        (self.by_utility.len() as f64 * share).round() as usize
    }

    fn band(&self, id: i64) -> Band {
        match self.rank[&id] {
            r if r < self.cut(SAVE_SHARE) => Band::Save,
            r if r < self.cut(VIEW_SHARE) => Band::View,
            r if r >= self.cut(HIDE_FROM_SHARE) => Band::Hide,
            _ => Band::PassOver,
        }
    }

    fn relevant(&self, id: i64) -> bool {
        self.rank[&id] < self.cut(RELEVANT_SHARE)
    }

    fn gain(&self, id: i64) -> f64 {
        match self.band(id) {
            Band::Save => 2.0,
            Band::View => 1.0,
            Band::PassOver | Band::Hide => 0.0,
        }
    }

    fn precision(&self, ids: &[i64]) -> f64 {
        ids.iter().filter(|id| self.relevant(**id)).count() as f64 / ids.len().max(1) as f64
    }

    fn dcg(&self, ids: &[i64]) -> f64 {
        ids.iter().enumerate().map(|(i, id)| self.gain(*id) / (i as f64 + 2.0).log2()).sum()
    }

    /// The two home styles nearest any of the interests.
    fn onboarding_styles(&self, state: &AppState) -> Vec<String> {
        let mut styles: Vec<(&str, f32)> = HOME_STYLES
            .iter()
            .map(|style| {
                let embedding = state.styles.embedding(style.code).expect("checked at start-up");
                (style.code, self.interests.iter().map(|i| cosine(i, embedding)).fold(f32::MIN, f32::max))
            })
            .collect();
        styles.sort_by(|a, b| b.1.total_cmp(&a.1));
        styles.iter().take(2).map(|(code, _)| code.to_string()).collect()
    }
}

/// One visitor's scroll through the feed that `worker` learns for (None: nothing learns).
async fn visit(
    state: &AppState,
    worker: Option<&TasteLearner>,
    hidden: &Hidden,
) -> ServerResult<[Option<Scores>; CHECKPOINTS.len()]> {
    let visitor = VisitorId(Uuid::new_v4());
    let mut rng = StdRng::seed_from_u64(hidden.seed);
    onboarding::choose(&state.db, &state.styles, visitor, &hidden.onboarding_styles(state)).await?;
    let mut measured = [None; CHECKPOINTS.len()];
    let (mut next_checkpoint, mut interactions, mut pages) = (0, 0, 0);
    let mut seen: HashSet<i64> = HashSet::new();
    let mut cursor = None;
    while next_checkpoint < CHECKPOINTS.len() {
        let page = feed::next_page(
            &state.db,
            &state.landmarks,
            state.feed_settings(),
            visitor,
            cursor.as_deref(),
            Some(PAGE as i64),
        )
        .await?;
        if page.items.is_empty() {
            break;
        }
        cursor = page.next_cursor.clone();
        if interactions >= CHECKPOINTS[next_checkpoint] {
            let popular = most_popular_unseen(&state.db, &seen).await?;
            measured[next_checkpoint] = Some(score(hidden, &page.items, &seen, &popular, pages));
            next_checkpoint += 1;
        }
        // The feed recorded the whole page as shown.
        seen.extend(page.items.iter().map(|item| item.card.id));
        pages += 1;
        // The visitor reacts, stopping at the next checkpoint so it is measured exactly there.
        let mut events = Vec::new();
        for item in &page.items {
            let id = item.card.id;
            events.push(CheckedEvent::server(EventKind::Impression, Some(id), Source::Feed, json!({})));
            let band = match rng.random_bool(RANDOM_REACTIONS) {
                true => *[Band::Save, Band::View, Band::PassOver, Band::Hide].choose(&mut rng).expect("not empty"),
                false => hidden.band(id),
            };
            let reaction = match band {
                Band::Save => (EventKind::Save, json!({})),
                Band::View => (EventKind::View, json!({ "dwellTimeMs": LONG_VIEW_MS })),
                Band::Hide => (EventKind::Hide, json!({})),
                Band::PassOver => continue,
            };
            events.push(CheckedEvent::server(reaction.0, Some(id), Source::Feed, reaction.1));
            interactions += 1;
            if next_checkpoint < CHECKPOINTS.len() && interactions == CHECKPOINTS[next_checkpoint] {
                break;
            }
        }
        activity::record(&state.db, visitor, &events.iter().collect::<Vec<_>>()).await?;
        if let Some(worker) = worker {
            taste_worker::process_visitor(&state.db, worker, visitor.0).await?;
        }
    }
    Ok(measured)
}

/// The `PAGE` published paintings not in `seen` that everyone's reactions rank highest.
async fn most_popular_unseen(db: &sqlx::PgPool, seen: &HashSet<i64>) -> ServerResult<Vec<i64>> {
    let seen: Vec<i64> = seen.iter().copied().collect();
    Ok(sqlx::query_scalar(&format!(
        "SELECT p.id FROM paintings p LEFT JOIN painting_reactions r ON r.painting_id = p.id
         WHERE p.published AND p.id <> ALL($1) ORDER BY {POPULARITY_SQL} DESC, p.id LIMIT {PAGE}"
    ))
    .bind(&seen)
    .fetch_all(db)
    .await?)
}

fn score(
    hidden: &Hidden,
    items: &[crate::types::FeedItem],
    seen: &HashSet<i64>,
    popular: &[i64],
    pages: usize,
) -> Scores {
    let page: Vec<i64> = items.iter().map(|item| item.card.id).collect();
    let personalised: Vec<i64> = items.iter().filter(|item| !item.exploration).map(|item| item.card.id).collect();
    let explored: Vec<i64> = items.iter().filter(|item| item.exploration).map(|item| item.card.id).collect();
    let unseen: Vec<i64> = hidden.by_utility.iter().copied().filter(|id| !seen.contains(id)).collect();
    let oracle = &unseen[..PAGE.min(unseen.len())];
    let oracle_personal = &unseen[..personalised.len().min(unseen.len())];
    let relevant = |ids: &[i64]| ids.iter().filter(|id| hidden.relevant(**id)).count() as f64;
    let ideal = hidden.dcg(oracle);
    Scores {
        pages,
        whole: hidden.precision(&page),
        oracle: hidden.precision(oracle),
        random: hidden.precision(&unseen),
        popularity: hidden.precision(popular),
        // The oracle's picks, then the feed's exploration picks that are not among them.
        perfect_layout: {
            let distinct: HashSet<i64> = oracle_personal.iter().chain(&explored).copied().collect();
            relevant(&distinct.into_iter().collect::<Vec<_>>()) / page.len().max(1) as f64
        },
        personalised: (!personalised.is_empty())
            .then(|| (hidden.precision(&personalised), hidden.precision(oracle_personal))),
        ndcg: if ideal > 0.0 { hidden.dcg(&page) / ideal } else { 0.0 },
    }
}

/// Σ numerators / Σ denominators over the visitors that have both, resampled by `pick` (None:
/// every visitor once).
fn ratio_of_sums(pairs: &[Option<(f64, f64)>], pick: Option<&[usize]>) -> Option<f64> {
    let (mut top, mut bottom) = (0.0, 0.0);
    let mut add = |i: usize| {
        if let Some((a, b)) = pairs[i] {
            top += a;
            bottom += b;
        }
    };
    match pick {
        Some(picked) => picked.iter().for_each(|&i| add(i)),
        None => (0..pairs.len()).for_each(&mut add),
    }
    (bottom > 0.0).then(|| top / bottom)
}

/// The ratio and its paired bootstrap 95% interval (visitors resampled with replacement).
fn with_interval(pairs: &[Option<(f64, f64)>], rng: &mut StdRng) -> String {
    let Some(point) = ratio_of_sums(pairs, None) else { return "-".into() };
    let mut draws: Vec<f64> = (0..BOOTSTRAP_ROUNDS)
        .filter_map(|_| {
            let picked: Vec<usize> = (0..pairs.len()).map(|_| rng.random_range(0..pairs.len())).collect();
            ratio_of_sums(pairs, Some(&picked))
        })
        .collect();
    draws.sort_by(f64::total_cmp);
    let at = |q: f64| draws[((draws.len() - 1) as f64 * q).round() as usize];
    format!("{point:.2} [{:.2}, {:.2}]", at(0.025), at(0.975))
}

fn print(report: &Report, seed: u64) {
    let visitors = report.scores.first().map_or(0, Vec::len);
    println!(
        "{visitors} simulated visitors (seed {seed}), {} paintings, pages of {PAGE}; relevant = top {:.0}% by utility; \
         ratios are of means over visitors, [paired bootstrap 95%]",
        report.paintings,
        RELEVANT_SHARE * 100.0
    );
    println!(
        "{:>5}  {:<16} {:>6}  {:<20} {:<22} {:<20} {:>6}",
        "after", "feed", "p@12", "p@12 / oracle", "personalised / oracle", "nDCG@12", "pages"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mean = |values: Vec<Option<(f64, f64)>>| ratio_of_sums(&values, None).unwrap_or(0.0);
    for (c, checkpoint) in CHECKPOINTS.iter().enumerate() {
        // The baselines on the first learner's unseen sets (each learner's own are alike).
        let baseline = |metric: fn(&Scores) -> f64| {
            let pairs = report.column(0, c, |s| Some((metric(s), s.oracle)));
            (mean(report.column(0, c, |s| Some((metric(s), 1.0)))), ratio_of_sums(&pairs, None).unwrap_or(0.0))
        };
        for (name, metric) in [
            ("oracle", (|s: &Scores| s.oracle) as fn(&Scores) -> f64),
            ("perfect layout", |s: &Scores| s.perfect_layout),
            ("random", |s: &Scores| s.random),
            ("popularity", |s: &Scores| s.popularity),
        ] {
            let (p, share) = baseline(metric);
            println!("{checkpoint:>5}  {name:<16} {p:>6.3}  {share:<20.2}");
        }
        for (l, learner) in report.learners.iter().enumerate() {
            let p = mean(report.column(l, c, |s| Some((s.whole, 1.0))));
            let whole = with_interval(&report.column(l, c, |s| Some((s.whole, s.oracle))), &mut rng);
            let personalised = with_interval(&report.column(l, c, |s| s.personalised), &mut rng);
            let ndcg = with_interval(&report.column(l, c, |s| Some((s.ndcg, 1.0))), &mut rng);
            let pages = mean(report.column(l, c, |s| Some((s.pages as f64, 1.0))));
            println!(
                "{checkpoint:>5}  {:<16} {p:>6.3}  {whole:<20} {personalised:<22} {ndcg:<20} {pages:>6.1}",
                learner.name()
            );
        }
    }
    if let (Some(ordinal), Some(seed_rule)) = (
        report.learners.iter().position(|l| *l == Learner::Ordinal),
        report.learners.iter().position(|l| *l == Learner::Seed),
    ) {
        for (c, checkpoint) in CHECKPOINTS.iter().enumerate() {
            let paired: Vec<Option<(f64, f64)>> = report.scores[ordinal]
                .iter()
                .zip(&report.scores[seed_rule])
                .map(|(a, b)| Some((a[c]?.whole, b[c]?.whole)))
                .collect();
            println!("after {checkpoint:>2}: ordinal / seed rule, whole page: {}", with_interval(&paired, &mut rng));
        }
    }
}
