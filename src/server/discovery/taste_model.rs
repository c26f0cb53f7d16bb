//! The ordinal taste learner: what a visitor was shown and how they reacted, refitted as one
//! model each time they say something new.
//!
//! Each painting a visitor was shown gets a level: hidden (0) < shown and passed over (1) <
//! viewed or clicked (2) < saved, shared or bought (3). The utility of a painting `x` is
//! `s(x) = b + w·z(x) + Σ a_j k(x, c_j)`: a linear part over `z`, the painting's coordinates in
//! the catalogue's principal components, and its likeness `k` to each painting `c_j` the
//! visitor liked lately (viewed or better), so that a visitor with two or three separate
//! interests is not averaged into none. It is fitted to those levels with the all-threshold
//! ordinal logistic loss (one logistic term per threshold, Rennie & Srebro 2005): concave, so a
//! few Newton steps find the best fit. A Gaussian prior centred on the visitor's starting taste
//! (their home styles, blended with room photos) keeps a short history from swinging the linear
//! part; another, centred on 0, keeps one like from counting for much until others agree.
//!
//! The stored taste is the 512-d direction that ranks paintings exactly as the linear part does,
//! so the feed's nearest-neighbour scan serves the model unchanged; with it go the linear part's
//! scale and each liked painting's weight, which the feed uses to re-score its candidates.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nalgebra::{DMatrix, DVector};
use pgvector::Vector;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use sqlx::PgPool;

use crate::events::EventKind;
use crate::server::error::ServerResult;
use crate::server::infra::cache::Cached;
use crate::server::infra::clip::{l2_normalised, EMBEDDING_DIM};
use crate::server::infra::db::BeginCancelSafe;

/// Principal components kept (at most one fewer than the paintings they come from).
pub const BASIS_DIMENSIONS: usize = 64;
/// Paintings sampled to compute a basis: plenty for 64 components, bounded memory.
pub const BASIS_SAMPLE: i64 = 20_000;
/// The utility's thresholds between hidden | passed over | viewed | saved.
const THRESHOLDS: [f64; 3] = [-1.0, 1.0, 2.0];
/// How far (standard deviation of its utilities over the catalogue) the prior spreads paintings.
/// Two home styles say little about a visitor: a prior that spreads paintings as far as the
/// thresholds apart drowns their first reactions (`artwall-bench quality`, personalised slots
/// after 20 interactions: 0.79 of the oracle at 1.0 against 0.70 at 1.5; an offline replica of
/// it learned alike from 0.5 to 1.25 and far worse at 2.5).
const PRIOR_SPREAD: f64 = 1.0;
/// Precision of the prior on each weight, on the visitor's bias, and on each liked painting's
/// weight. A loose prior on the weights: the starting taste (home styles) is a hint, and the
/// protocol of `artwall-bench quality` (issue 16) learned best at 0.2 of the values tried
/// (0.1-1). The bias is held near 0, so that the reactions move the weights rather than the
/// visitor's overall level (on the same protocol 0.5-10 learned alike; 0.1 was 0.02-0.05 of
/// the oracle worse after 20 interactions).
const PRIOR_PRECISION: f64 = 0.2;
const BIAS_PRECISION: f64 = 1.0;
const LIKENESS_PRECISION: f64 = 1.0;
/// How far likeness to a liked painting reaches: a painting at cosine distance `d` from it is
/// `exp(-d / LIKENESS_REACH)` like it (a demo painting's nearest neighbour lies at about 0.015,
/// its hundredth at about 0.06; of 0.03-0.12, 0.08 learned best).
pub const LIKENESS_REACH: f64 = 0.08;
/// The most recent liked paintings whose likeness the utility weighs.
pub const LIKED_CENTRES: usize = 16;
const NEWTON_STEPS: usize = 8;
/// The random probe of the basis computation is fixed, so a sample always gives one basis.
const BASIS_SEED: u64 = 16;

/// The catalogue's principal components: `components` are orthonormal rows, `scales` their
/// standard deviations over the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Basis {
    pub mean: Vec<f32>,
    pub components: Vec<Vec<f32>>,
    pub scales: Vec<f32>,
}

impl Basis {
    /// The principal components of `embeddings`.
    ///
    /// A randomised range finder with two power iterations (Halko, Martinsson & Tropp 2011):
    /// the components come from the eigenvectors of a small (k + 10)-square matrix. Large
    /// products go through nalgebra's matrix multiply, which is fast even in a debug build.
    pub fn fit(embeddings: &[Vec<f32>]) -> Self {
        let n = embeddings.len();
        if n < 2 {
            return Self::empty();
        }
        let mut mean = vec![0.0f64; EMBEDDING_DIM];
        for e in embeddings {
            mean.iter_mut().zip(e).for_each(|(m, x)| *m += f64::from(*x) / n as f64);
        }
        let centred = DMatrix::from_fn(n, EMBEDDING_DIM, |i, j| f64::from(embeddings[i][j]) - mean[j]);
        // Centred, the sample has rank n - 1 at most: a wider probe would be rank-deficient (and
        // a sample of n paintings has at most n - 1 components).
        let width = (BASIS_DIMENSIONS + 10).min(n - 1).min(EMBEDDING_DIM);
        let mut rng = StdRng::seed_from_u64(BASIS_SEED);
        let probe = DMatrix::from_fn(EMBEDDING_DIM, width, |_, _| rng.sample::<f64, _>(StandardNormal));
        let transposed = centred.transpose();
        let mut range = orthonormal(&centred * probe);
        for _ in 0..2 {
            range = orthonormal(&centred * orthonormal(&transposed * &range));
        }
        let projected = range.transpose() * &centred;
        let eigen = (&projected * projected.transpose()).symmetric_eigen();
        let directions = projected.transpose() * &eigen.eigenvectors;
        let mut order: Vec<usize> = (0..eigen.eigenvalues.len()).collect();
        order.sort_by(|a, b| eigen.eigenvalues[*b].total_cmp(&eigen.eigenvalues[*a]));
        let (components, scales) = order
            .into_iter()
            .take(BASIS_DIMENSIONS)
            .filter(|&k| eigen.eigenvalues[k] > 1e-9)
            .map(|k| {
                let component = directions.column(k).normalize();
                let scale = (eigen.eigenvalues[k] / (n - 1) as f64).sqrt() as f32;
                (component.iter().map(|x| *x as f32).collect(), scale)
            })
            .unzip();
        Self { mean: mean.iter().map(|m| *m as f32).collect(), components, scales }
    }

    /// No components: the learner keeps the prior as it is.
    pub fn empty() -> Self {
        Self { mean: vec![0.0; EMBEDDING_DIM], components: Vec::new(), scales: Vec::new() }
    }

    pub fn dimensions(&self) -> usize {
        self.components.len()
    }

    /// The catalogue's total spread within the basis: coordinates are in this unit, so a
    /// utility's weights are on one scale whatever the model.
    fn unit(&self) -> f32 {
        self.scales.iter().map(|s| s * s).sum::<f32>().sqrt()
    }

    /// Each painting's coordinates, a row each.
    fn coordinates(&self, embeddings: &[&[f32]]) -> DMatrix<f64> {
        let unit = self.unit();
        let whitening =
            DMatrix::from_fn(EMBEDDING_DIM, self.dimensions(), |i, j| f64::from(self.components[j][i] / unit));
        let centred =
            DMatrix::from_fn(embeddings.len(), EMBEDDING_DIM, |i, j| f64::from(embeddings[i][j] - self.mean[j]));
        centred * whitening
    }

    /// The weights whose utilities rank paintings as similarity to `taste` does within the
    /// basis, spread `PRIOR_SPREAD` over the catalogue.
    fn prior_weights(&self, taste: &[f32]) -> DVector<f64> {
        let raw = DVector::from_iterator(
            self.dimensions(),
            self.components
                .iter()
                .map(|component| f64::from(component.iter().zip(taste).map(|(c, t)| c * t).sum::<f32>())),
        );
        // The utilities' standard deviation over the catalogue.
        let unit = f64::from(self.unit());
        let spread = raw.iter().zip(&self.scales).map(|(w, s)| (w * f64::from(*s) / unit).powi(2)).sum::<f64>().sqrt();
        if spread > 1e-12 {
            raw * (PRIOR_SPREAD / spread)
        } else {
            raw
        }
    }

    /// The 512-d unit direction that ranks paintings as the weights' utilities do, and the
    /// utility per unit of cosine to it.
    fn direction(&self, weights: &DVector<f64>) -> (Vec<f32>, f64) {
        let mut direction = vec![0.0f32; EMBEDDING_DIM];
        for (component, w) in self.components.iter().zip(weights.iter()) {
            direction.iter_mut().zip(component).for_each(|(d, c)| *d += *w as f32 * c);
        }
        let norm = direction.iter().map(|d| f64::from(*d).powi(2)).sum::<f64>().sqrt();
        (l2_normalised(&direction), norm / f64::from(self.unit()))
    }
}

/// Orthonormal columns spanning `matrix`'s (of full column rank): Cholesky QR, twice for
/// accuracy (Fukaya et al. 2014), so the work is in matrix products.
fn orthonormal(mut matrix: DMatrix<f64>) -> DMatrix<f64> {
    for _ in 0..2 {
        let mut gram = matrix.transpose() * &matrix;
        // A whisker of ridge keeps a nearly dependent probe from failing the factorisation.
        let ridge = 1e-12 * gram.trace().max(f64::MIN_POSITIVE);
        gram.set_diagonal(&(gram.diagonal().add_scalar(ridge)));
        let Some(factor) = gram.cholesky() else { return matrix };
        let upper_inverse = factor.l().transpose().try_inverse().expect("a Cholesky factor is invertible");
        matrix = &matrix * upper_inverse;
    }
    matrix
}

/// How long a process trusts the basis it loaded before looking at the catalogue again.
const BASIS_TTL: Duration = Duration::from_secs(600);
/// A stored basis is recomputed once the catalogue has grown or shrunk by this share.
const BASIS_STALE_SHARE: f64 = 0.1;

/// The basis of the catalogue's main embedding model, kept in memory for `BASIS_TTL` or until
/// the catalogue changes.
pub struct BasisCache(Cached<Basis>);

impl Default for BasisCache {
    fn default() -> Self {
        Self(Cached::new(BASIS_TTL))
    }
}

impl BasisCache {
    pub async fn get(&self, db: &PgPool) -> ServerResult<Arc<Basis>> {
        self.0.get_or_compute(|| load_or_compute(db)).await
    }
}

/// `forget` and `is_kept` are the cache's own (after a forget the next refit loads the basis
/// again, and recomputes it if the catalogue has drifted).
impl std::ops::Deref for BasisCache {
    type Target = Cached<Basis>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// The stored basis of the model most published paintings were embedded with, computed (from a
/// sample of at most `BASIS_SAMPLE` of them) and stored when missing or stale.
async fn load_or_compute(db: &PgPool) -> ServerResult<Basis> {
    let main_model: Option<(String, i64)> = sqlx::query_as(
        "SELECT embedding_model, count(*) FROM paintings WHERE published GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
    )
    .fetch_optional(db)
    .await?;
    let Some((model, count)) = main_model else { return Ok(Basis::empty()) };
    // One computation at a time for a model, across processes: the others wait, then load it.
    let mut tx = db.begin_cancel_safe().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('taste_bases:' || $1, 0))")
        .bind(&model)
        .execute(&mut *tx)
        .await?;
    #[derive(sqlx::FromRow)]
    struct Stored {
        painting_count: i32,
        dimensions: i32,
        mean: Vector,
        components: Vec<f32>,
        scales: Vec<f32>,
    }
    let stored: Option<Stored> = sqlx::query_as(
        "SELECT painting_count, dimensions, mean, components, scales FROM taste_bases WHERE embedding_model = $1",
    )
    .bind(&model)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(stored) = stored {
        let drift = (count - i64::from(stored.painting_count)).abs() as f64;
        if drift <= BASIS_STALE_SHARE * f64::from(stored.painting_count) {
            let components: Vec<Vec<f32>> = stored.components.chunks(EMBEDDING_DIM).map(<[f32]>::to_vec).collect();
            debug_assert_eq!(components.len(), stored.dimensions as usize);
            return Ok(Basis { mean: stored.mean.to_vec(), components, scales: stored.scales });
        }
    }
    let sample: Vec<Vector> = sqlx::query_scalar(
        // A hash order: a sample spread like a random one, the same for every process.
        "SELECT embedding FROM paintings WHERE published AND embedding_model = $1 ORDER BY md5(id::text) LIMIT $2",
    )
    .bind(&model)
    .bind(BASIS_SAMPLE)
    .fetch_all(&mut *tx)
    .await?;
    let started = Instant::now();
    let sample: Vec<Vec<f32>> = sample.into_iter().map(|v| v.to_vec()).collect();
    let basis = tokio::task::spawn_blocking(move || Basis::fit(&sample)).await?;
    sqlx::query(
        "INSERT INTO taste_bases (embedding_model, painting_count, dimensions, mean, components, scales)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (embedding_model) DO UPDATE SET painting_count = $2, dimensions = $3, mean = $4,
             components = $5, scales = $6, computed_at = now()",
    )
    .bind(&model)
    .bind(count as i32)
    .bind(basis.dimensions() as i32)
    .bind(Vector::from(basis.mean.clone()))
    .bind(basis.components.concat())
    .bind(&basis.scales)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(
        model,
        paintings = count,
        dimensions = basis.dimensions(),
        ms = started.elapsed().as_millis() as u64,
        "taste basis computed"
    );
    Ok(basis)
}

/// How a visitor ended up treating one painting they were shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reaction {
    pub level: u8,
    /// How much this observation counts (a purchase counts double).
    pub weight: f64,
}

pub const HIDDEN: u8 = 0;
pub const PASSED_OVER: u8 = 1;
pub const VIEWED: u8 = 2;
pub const SAVED: u8 = 3;
/// A view this long (ms) says the visitor looked, not scrolled past.
const LOOKED_MS: i64 = 3_000;

impl Reaction {
    /// The reaction after `event`, given the one before it (None: not shown yet). Hides are
    /// final; an unsave takes a save back to "passed over"; the strongest other signal stays.
    pub fn after(previous: Option<Self>, kind: EventKind, dwell_ms: Option<i64>) -> Option<Self> {
        let shown = previous.unwrap_or(Self { level: PASSED_OVER, weight: 1.0 });
        if shown.level == HIDDEN && previous.is_some() {
            return previous;
        }
        // Only a purchase weighs more than 1, and it is at the top level, so the strongest
        // weight so far is also the right one for a new level.
        let raised =
            |level: u8, weight: f64| Some(Self { level: shown.level.max(level), weight: shown.weight.max(weight) });
        match kind {
            EventKind::Hide => Some(Self { level: HIDDEN, weight: 1.0 }),
            EventKind::Purchase => raised(SAVED, 2.0),
            EventKind::Save | EventKind::Share => raised(SAVED, 1.0),
            // Unsaving takes back a save, not a purchase.
            EventKind::Unsave if shown.weight >= 2.0 => Some(shown),
            EventKind::Unsave => Some(Self { level: PASSED_OVER, weight: 1.0 }),
            EventKind::Click => raised(VIEWED, 1.0),
            EventKind::View if dwell_ms.unwrap_or(0) >= LOOKED_MS => raised(VIEWED, 1.0),
            EventKind::View | EventKind::Impression => Some(shown),
            EventKind::SessionStart
            | EventKind::SessionEnd
            | EventKind::Search
            | EventKind::StyleSelect
            | EventKind::RoomPhoto => previous,
        }
    }
}

/// A visitor's fitted utility, as the feed uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The unit direction that ranks paintings as the linear part of the utility does.
    pub taste: Vec<f32>,
    /// The linear part's utility per unit of cosine to `taste` (None: a taste with no scale).
    pub strength: Option<f64>,
    /// The weight of likeness to each liked painting given to `fit`, in its order.
    pub likeness: Vec<f64>,
}

/// How much a painting at cosine distance `distance` from a liked one is like it.
pub fn likeness(distance: f64) -> f64 {
    (-distance / LIKENESS_REACH).exp()
}

/// The utility that best explains `observations` (a painting's embedding and the visitor's
/// reaction to it) under the prior centred on `prior` (the starting taste, if any), with a
/// likeness term for each of `liked` (embeddings of paintings among the observations). None
/// when there is nothing to go on: no prior and nothing viewed or saved.
pub fn fit(
    basis: &Basis,
    prior: Option<&[f32]>,
    observations: &[(&[f32], Reaction)],
    liked: &[&[f32]],
) -> Option<Model> {
    let positive = observations.iter().any(|(_, r)| r.level >= VIEWED);
    if basis.dimensions() == 0 || (prior.is_none() && !positive) {
        return prior.map(|taste| Model {
            taste: l2_normalised(taste),
            strength: None,
            likeness: vec![0.0; liked.len()],
        });
    }
    let (k, m) = (basis.dimensions(), liked.len());
    let centre = prior.map_or_else(|| DVector::zeros(k), |taste| basis.prior_weights(taste));
    let embeddings: Vec<&[f32]> = observations.iter().map(|(embedding, _)| *embedding).collect();
    // A row per observation: its coordinates, its likeness to each liked painting, then 1 for
    // the visitor's bias. (Similarities as one matrix product: fast even in a debug build.)
    let coordinates = basis.coordinates(&embeddings);
    let observed = DMatrix::from_fn(observations.len(), EMBEDDING_DIM, |i, j| f64::from(embeddings[i][j]));
    let similarities = observed * DMatrix::from_fn(EMBEDDING_DIM, m, |i, j| f64::from(liked[j][i]));
    let design = DMatrix::from_fn(observations.len(), k + m + 1, |i, j| match j {
        j if j < k => coordinates[(i, j)],
        j if j < k + m => likeness(1.0 - similarities[(i, j - k)]),
        _ => 1.0,
    });
    let target = DVector::from_fn(k + m + 1, |j, _| if j < k { centre[j] } else { 0.0 });
    let precision = DVector::from_fn(k + m + 1, |j, _| match j {
        j if j < k => PRIOR_PRECISION,
        j if j < k + m => LIKENESS_PRECISION,
        _ => BIAS_PRECISION,
    });
    let mut theta = target.clone();
    for _ in 0..NEWTON_STEPS {
        // Gradient and negated Hessian of the log posterior.
        let utilities = &design * &theta;
        let (mut slopes, mut bends) = (DVector::zeros(observations.len()), DVector::zeros(observations.len()));
        for (i, (_, reaction)) in observations.iter().enumerate() {
            for (t, threshold) in THRESHOLDS.iter().enumerate() {
                let above = if usize::from(reaction.level) > t { 1.0 } else { 0.0 };
                let p = sigmoid(utilities[i] - threshold);
                slopes[i] += reaction.weight * (above - p);
                bends[i] += reaction.weight * p * (1.0 - p);
            }
        }
        let gradient = design.tr_mul(&slopes) - precision.component_mul(&(&theta - &target));
        let mut weighted = design.clone();
        weighted.row_iter_mut().zip(bends.iter()).for_each(|(mut row, bend)| row *= *bend);
        let curvature = design.transpose() * weighted + DMatrix::from_diagonal(&precision);
        let Some(step) = curvature.cholesky().map(|c| c.solve(&gradient)) else { break };
        theta += &step;
        if step.norm() < 1e-6 {
            break;
        }
    }
    let (taste, strength) = basis.direction(&theta.rows(0, k).into_owned());
    Some(Model { taste, strength: Some(strength), likeness: theta.rows(k, m).iter().copied().collect() })
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::infra::clip::cosine;
    use rand::{Rng, SeedableRng};

    /// Unit vectors that vary mostly along a few directions, as real embeddings do.
    fn catalogue(n: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let v: Vec<f32> =
                    (0..EMBEDDING_DIM).map(|d| rng.random_range(-1.0..1.0) / (1.0 + d as f32).powf(0.75)).collect();
                l2_normalised(&v)
            })
            .collect()
    }

    #[test]
    fn the_basis_is_orthonormal_and_ordered_by_variance() {
        let paintings = catalogue(80, 1);
        let basis = Basis::fit(&paintings);
        assert_eq!(basis.dimensions(), BASIS_DIMENSIONS);
        for (i, a) in basis.components.iter().enumerate() {
            for (j, b) in basis.components.iter().enumerate() {
                let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                assert!((dot - if i == j { 1.0 } else { 0.0 }).abs() < 1e-4, "components {i} and {j}: {dot}");
            }
        }
        assert!(basis.scales.windows(2).all(|s| s[0] >= s[1]), "largest variance first");
        assert_eq!(Basis::fit(&paintings[..10]).dimensions(), 9, "at most one fewer than the paintings");
    }

    #[test]
    fn the_leading_components_are_the_exact_ones() {
        let paintings = catalogue(300, 4);
        let basis = Basis::fit(&paintings);
        // The exact leading components: the covariance raised to the 256th power (by squaring) is
        // its top eigenvector's projector, to within (second / first eigenvalue)^256; deflate each.
        let centred = DMatrix::from_fn(300, EMBEDDING_DIM, |i, j| f64::from(paintings[i][j] - basis.mean[j]));
        let mut covariance = centred.transpose() * &centred / 299.0;
        for rank in 0..4 {
            let mut power = covariance.clone();
            for _ in 0..8 {
                power = &power * &power;
                power /= power.trace();
            }
            let column = power.column_iter().max_by(|a, b| a.norm().total_cmp(&b.norm())).expect("512 columns");
            let v = column.normalize();
            let variance = v.dot(&(&covariance * &v));
            let alignment: f64 = v.iter().zip(&basis.components[rank]).map(|(a, b)| a * f64::from(*b)).sum();
            assert!(alignment.abs() > 0.99, "component {rank}: |cos| {alignment}");
            let scale = variance.sqrt() as f32;
            assert!(
                (basis.scales[rank] - scale).abs() < 0.01 * scale,
                "scale {rank}: {} vs {scale}",
                basis.scales[rank]
            );
            covariance -= &v * v.transpose() * variance;
        }
    }

    #[test]
    fn a_basis_of_two_paintings_is_the_line_through_them() {
        let pair = catalogue(2, 9);
        assert_eq!(Basis::fit(&pair[..1]), Basis::empty(), "one painting has no spread");
        let basis = Basis::fit(&pair);
        assert_eq!(basis.dimensions(), 1);
        let gap: Vec<f32> = pair[0].iter().zip(&pair[1]).map(|(a, b)| a - b).collect();
        for (d, m) in basis.mean.iter().enumerate() {
            assert!((m - (pair[0][d] + pair[1][d]) / 2.0).abs() < 1e-6, "the mean is the midpoint");
        }
        let length = gap.iter().map(|g| g * g).sum::<f32>().sqrt();
        assert!(cosine(&basis.components[0], &gap).abs() > 0.9999 * length, "along the gap");
        // Two points each half the gap from their mean: a sample variance of gap² / 2.
        assert!((basis.scales[0] - length / 2f32.sqrt()).abs() < 1e-4 * length, "scale {}", basis.scales[0]);
    }

    /// Coordinates, prior and direction on one catalogue, its basis and its paintings' coordinates.
    fn catalogue_and_basis() -> (Vec<Vec<f32>>, Basis, DMatrix<f64>) {
        let paintings = catalogue(300, 8);
        let basis = Basis::fit(&paintings);
        let rows: Vec<&[f32]> = paintings.iter().map(Vec::as_slice).collect();
        let coordinates = basis.coordinates(&rows);
        (paintings, basis, coordinates)
    }

    /// The sample variance of `values`.
    fn variance(values: impl ExactSizeIterator<Item = f64> + Clone) -> f64 {
        let n = values.len() as f64;
        let mean = values.clone().sum::<f64>() / n;
        values.map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    }

    #[test]
    fn coordinates_share_out_the_catalogue_spread_and_the_prior_spreads_it_by_prior_spread() {
        let (paintings, basis, coordinates) = catalogue_and_basis();
        // In units of the catalogue's total spread within the basis, the variances add up to 1.
        let total: f64 = coordinates.column_iter().map(|c| variance(c.iter().copied())).sum();
        assert!((total - 1.0).abs() < 0.01, "total variance {total}");
        // The prior's utilities vary over the catalogue by PRIOR_SPREAD, and rank paintings as
        // their likeness to the starting taste does.
        let prior = &paintings[5];
        let utilities = &coordinates * basis.prior_weights(prior);
        let spread = variance(utilities.iter().copied()).sqrt();
        assert!((spread - PRIOR_SPREAD).abs() < 0.02 * PRIOR_SPREAD, "spread {spread}");
        let best = (0..paintings.len()).max_by(|a, b| utilities[*a].total_cmp(&utilities[*b])).unwrap();
        assert_eq!(best, 5, "the starting taste's own painting comes first");
    }

    #[test]
    fn the_direction_ranks_paintings_as_the_weights_do_at_the_strength_it_gives() {
        let (paintings, basis, coordinates) = catalogue_and_basis();
        let weights = DVector::from_fn(basis.dimensions(), |k, _| ((k * 7 % 11) as f64 - 5.0) / 5.0);
        let utilities = &coordinates * &weights;
        let (taste, strength) = basis.direction(&weights);
        assert!((cosine(&taste, &taste) - 1.0).abs() < 1e-5, "a unit direction");
        // Utility differences are the strength times cosine differences.
        for (a, b) in [(0, 1), (2, 3), (10, 200)] {
            let by_weights = utilities[a] - utilities[b];
            let by_direction = strength * f64::from(cosine(&taste, &paintings[a]) - cosine(&taste, &paintings[b]));
            assert!(
                (by_weights - by_direction).abs() < 1e-4 * (1.0 + by_weights.abs()),
                "{by_weights} vs {by_direction}"
            );
        }
    }

    /// The log posterior `fit` says it maximises, written out afresh: the all-threshold ordinal
    /// logistic likelihood of the weighted reactions and the three Gaussian priors. `features`
    /// holds each observation's coordinates, then its likeness to each liked painting.
    fn log_posterior(
        centre: &DVector<f64>,
        features: &[(Vec<f64>, Reaction)],
        (weights, likenesses, bias): (&[f64], &[f64], f64),
    ) -> f64 {
        let log_sigmoid = |x: f64| -(-x).exp().ln_1p();
        let parameters = weights.iter().chain(likenesses);
        let mut total = 0.0;
        for (features, reaction) in features {
            let utility = bias + features.iter().zip(parameters.clone()).map(|(f, p)| f * p).sum::<f64>();
            for (t, threshold) in THRESHOLDS.iter().enumerate() {
                let above = usize::from(reaction.level) > t;
                total += reaction.weight * log_sigmoid(if above { utility - threshold } else { threshold - utility });
            }
        }
        let prior_offsets: f64 = weights.iter().zip(centre.iter()).map(|(w, c)| (w - c).powi(2)).sum();
        let likeness_squares: f64 = likenesses.iter().map(|a| a * a).sum();
        total
            - 0.5 * PRIOR_PRECISION * prior_offsets
            - 0.5 * LIKENESS_PRECISION * likeness_squares
            - 0.5 * BIAS_PRECISION * bias * bias
    }

    /// The maximum of a concave `f` over [-20, 20], by golden-section search.
    fn concave_max(f: impl Fn(f64) -> f64) -> f64 {
        let ratio = (5f64.sqrt() - 1.0) / 2.0;
        let (mut low, mut high) = (-20.0, 20.0);
        while high - low > 1e-9 {
            let (left, right) = (high - ratio * (high - low), low + ratio * (high - low));
            if f(left) < f(right) {
                low = left;
            } else {
                high = right;
            }
        }
        f((low + high) / 2.0)
    }

    #[test]
    fn the_fit_is_the_maximum_of_the_posterior_it_describes() {
        let (paintings, basis, _) = catalogue_and_basis();
        let prior = &paintings[0];
        let reaction = |level, weight| Reaction { level, weight };
        let observations: Vec<(&[f32], Reaction)> = paintings[1..25]
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let reaction = match i % 6 {
                    0 => reaction(HIDDEN, 1.0),
                    1 | 2 => reaction(PASSED_OVER, 1.0),
                    3 => reaction(VIEWED, 1.0),
                    4 => reaction(SAVED, 1.0),
                    _ => reaction(SAVED, 2.0),
                };
                (p.as_slice(), reaction)
            })
            .collect();
        let liked: Vec<&[f32]> =
            observations.iter().filter(|(_, r)| r.level >= VIEWED).map(|(p, _)| *p).take(5).collect();
        let model = fit(&basis, Some(prior), &observations, &liked).unwrap();
        assert_eq!(model.likeness.len(), liked.len());
        // The weights behind the model: its direction's coordinates, at its strength.
        let unit = f64::from(basis.unit());
        let strength = model.strength.unwrap();
        let weights: Vec<f64> =
            basis.components.iter().map(|c| f64::from(cosine(c, &model.taste)) * strength * unit).collect();
        let centre = basis.prior_weights(prior);
        // Each observation's coordinates (in units of the catalogue's spread) and likenesses.
        let features: Vec<(Vec<f64>, Reaction)> = observations
            .iter()
            .map(|(painting, reaction)| {
                let centred: Vec<f32> = painting.iter().zip(&basis.mean).map(|(x, m)| x - m).collect();
                let coordinates = basis.components.iter().map(|c| f64::from(cosine(c, &centred)) / unit);
                let likenesses = liked.iter().map(|c| likeness(1.0 - f64::from(cosine(painting, c))));
                (coordinates.chain(likenesses).collect(), *reaction)
            })
            .collect();
        // The posterior with the bias (which the model does not keep) at its best.
        let profile = |weights: &[f64], likenesses: &[f64]| {
            concave_max(|bias| log_posterior(&centre, &features, (weights, likenesses, bias)))
        };
        // Its slope along every weight, by central differences, is flat at the fit.
        let step = 1e-4;
        let parameters = [weights.as_slice(), model.likeness.as_slice()].concat();
        for j in 0..parameters.len() {
            let at = |delta: f64| {
                let mut moved = parameters.clone();
                moved[j] += delta;
                let (w, a) = moved.split_at(weights.len());
                profile(w, a)
            };
            let slope = (at(step) - at(-step)) / (2.0 * step);
            assert!(slope.abs() < 1e-4, "parameter {j} of {}: slope {slope}", parameters.len());
        }
        // And it is not flat anywhere else: the prior's own weights are not the fit.
        let (w, a) = (centre.as_slice(), vec![0.0; liked.len()]);
        assert!(profile(w, &a) < profile(&weights, &model.likeness) - 0.1, "the reactions moved the fit");
    }

    #[test]
    fn likeness_is_one_at_the_painting_itself_and_falls_by_e_each_reach() {
        assert_eq!(likeness(0.0), 1.0);
        assert!((likeness(LIKENESS_REACH) - (-1.0f64).exp()).abs() < 1e-12);
        assert!((likeness(2.0 * LIKENESS_REACH) - (-2.0f64).exp()).abs() < 1e-12);
    }

    #[test]
    fn reactions_keep_the_strongest_signal_and_hides_are_final() {
        let mut reaction = None;
        for (kind, dwell) in
            [(EventKind::Impression, None), (EventKind::View, Some(6_000)), (EventKind::Impression, None)]
        {
            reaction = Reaction::after(reaction, kind, dwell);
        }
        assert_eq!(reaction.map(|r| r.level), Some(VIEWED));
        assert_eq!(Reaction::after(None, EventKind::View, Some(1_000)).map(|r| r.level), Some(PASSED_OVER), "a glance");
        let saved = Reaction::after(reaction, EventKind::Save, None);
        assert_eq!(saved.map(|r| r.level), Some(SAVED));
        assert_eq!(Reaction::after(saved, EventKind::Unsave, None).map(|r| r.level), Some(PASSED_OVER));
        let bought = Reaction::after(None, EventKind::Purchase, None);
        assert_eq!(bought, Some(Reaction { level: SAVED, weight: 2.0 }));
        assert_eq!(Reaction::after(bought, EventKind::Unsave, None), bought, "unsaving does not undo a purchase");
        assert_eq!(Reaction::after(bought, EventKind::Save, None), bought, "a save after a purchase keeps its weight");
        assert_eq!(Reaction::after(saved, EventKind::Purchase, None), bought, "a purchase after a save weighs as one");
        let hidden = Reaction::after(saved, EventKind::Hide, None);
        assert_eq!(Reaction::after(hidden, EventKind::Save, None), hidden, "a hidden painting stays hidden");
        assert_eq!(Reaction::after(None, EventKind::SessionStart, None), None, "not a reaction to a painting");
    }

    #[test]
    fn with_no_reactions_the_taste_is_the_prior_and_nothing_comes_from_nothing() {
        let paintings = catalogue(100, 2);
        let basis = Basis::fit(&paintings);
        let prior = &paintings[0];
        let model = fit(&basis, Some(prior), &[], &[]).unwrap();
        assert!(model.strength.is_some_and(|s| s > 0.0) && model.likeness.is_empty());
        let taste = model.taste;
        assert!(cosine(&taste, prior) > 0.5, "the prior's direction within the basis: {}", cosine(&taste, prior));
        let passed: Vec<(&[f32], Reaction)> =
            paintings[1..5].iter().map(|p| (p.as_slice(), Reaction { level: PASSED_OVER, weight: 1.0 })).collect();
        assert_eq!(fit(&basis, None, &passed, &[]), None, "no prior and nothing liked");
        let viewed = [(paintings[1].as_slice(), Reaction { level: VIEWED, weight: 1.0 })];
        assert!(fit(&basis, None, &viewed, &[]).is_some(), "no prior: a view is something to go on");
        let unfitted = fit(&Basis::empty(), Some(prior), &viewed, &[]).unwrap();
        assert_eq!((unfitted.taste, unfitted.strength), (l2_normalised(prior), None), "no basis: the prior as it is");
    }

    #[test]
    fn saves_pull_the_taste_toward_them_and_hides_push_it_away() {
        let paintings = catalogue(200, 3);
        let basis = Basis::fit(&paintings);
        let prior = &paintings[0];
        let liked = &paintings[1];
        let taste = |observations: &[(&[f32], Reaction)], prior| fit(&basis, prior, observations, &[]).unwrap().taste;
        let before = taste(&[], Some(prior));
        // What the prior likes best (after the prior itself): hiding it has something to undo.
        let disliked = paintings[1..].iter().max_by(|a, b| cosine(a, &before).total_cmp(&cosine(b, &before))).unwrap();
        let saves: Vec<(&[f32], Reaction)> = vec![(liked, Reaction { level: SAVED, weight: 1.0 }); 3];
        let after_saves = taste(&saves, Some(prior));
        assert!(cosine(&after_saves, liked) > cosine(&before, liked) + 0.1);
        let hides: Vec<(&[f32], Reaction)> = vec![(disliked, Reaction { level: HIDDEN, weight: 1.0 }); 3];
        let after_hides = taste(&hides, Some(prior));
        let (was, is) = (cosine(&before, disliked), cosine(&after_hides, disliked));
        assert!(is < was - 0.05, "hidden painting: cosine {was} before, {is} after");
        assert!(cosine(&taste(&saves, None), liked) > 0.5, "no prior: a save alone starts a taste near it");
    }

    /// The utility the feed ranks by (without popularity).
    fn utility(model: &Model, liked: &[&[f32]], painting: &[f32]) -> f64 {
        let linear = model.strength.unwrap() * f64::from(cosine(&model.taste, painting));
        let likeness: f64 =
            liked.iter().zip(&model.likeness).map(|(c, a)| a * likeness(1.0 - f64::from(cosine(painting, c)))).sum();
        linear + likeness
    }

    #[test]
    fn a_visitor_with_two_separate_interests_gets_both_through_likeness() {
        // Eight schools of 40 paintings each, close around their centres.
        let centres = catalogue(8, 5);
        let mut rng = rand::rngs::StdRng::seed_from_u64(6);
        let paintings: Vec<Vec<f32>> = (0..320)
            .map(|i| {
                let noise = catalogue(1, rng.random()).remove(0);
                l2_normalised(&centres[i % 8].iter().zip(&noise).map(|(c, n)| c + 0.15 * n).collect::<Vec<f32>>())
            })
            .collect();
        let basis = Basis::fit(&paintings);
        // Two liked paintings of schools as far apart as the catalogue has, each liked twice over.
        let a = &paintings[0];
        let b = paintings.iter().min_by(|x, y| cosine(x, a).total_cmp(&cosine(y, a))).unwrap();
        let mut observations: Vec<(&[f32], Reaction)> = vec![(a, Reaction { level: SAVED, weight: 1.0 }); 2];
        observations.extend(vec![(b.as_slice(), Reaction { level: SAVED, weight: 1.0 }); 2]);
        // Passed over: a painting of each other school.
        let school_of =
            |p: &[f32]| (0..8).max_by(|i, j| cosine(p, &centres[*i]).total_cmp(&cosine(p, &centres[*j]))).unwrap();
        let others = (0..8).filter(|school| ![school_of(a), school_of(b)].contains(school));
        observations
            .extend(others.map(|school| (paintings[school].as_slice(), Reaction { level: PASSED_OVER, weight: 1.0 })));
        let liked: Vec<&[f32]> = vec![a, b];
        let model = fit(&basis, None, &observations, &liked).unwrap();
        assert!(model.likeness.iter().all(|w| *w > 0.0), "both liked paintings count: {:?}", model.likeness);
        // The top 80 by utility (two schools' worth) are mostly from both liked schools.
        let mut ranked: Vec<&Vec<f32>> = paintings.iter().collect();
        ranked.sort_by(|x, y| utility(&model, &liked, y).total_cmp(&utility(&model, &liked, x)));
        let from = |school: usize| ranked[..80].iter().filter(|p| school_of(p) == school).count();
        let (from_a, from_b) = (from(school_of(a)), from(school_of(b)));
        assert!(from_a >= 25 && from_b >= 25, "top 80: {from_a} of a's school, {from_b} of b's");
    }
}
