//! Synthetic catalogues for tests and benchmarks: clustered unit vectors (paintings come in
//! schools and palettes, not as uniform noise), with placeholder images.
//!
//! Within a cluster, paintings vary mostly along a few directions, as real image embeddings do:
//! the noise's standard deviation falls off as a power of the dimension's rank, so 95% of a
//! cluster's variance lies in about 40 of the 512 dimensions. (Our demo catalogue is even more
//! concentrated: 95% in 7.) Equal noise in every dimension would make all members of a cluster
//! nearly equidistant, which is uniform noise again and no index's real workload.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;

use crate::server::error::ServerResult;
use crate::server::infra::clip::{l2_normalised, EMBEDDING_DIM};

pub struct Clustered {
    pub centres: Vec<Vec<f32>>,
    /// (cluster, embedding) per painting, in insertion order.
    pub paintings: Vec<(usize, Vec<f32>)>,
}

/// How fast the noise's standard deviation falls with the dimension's rank.
const SPECTRUM_EXPONENT: f32 = 0.75;

/// `n` embeddings around `clusters` random centres; `spread` sets how loose the clusters are.
pub fn clustered(n: usize, clusters: usize, spread: f32, seed: u64) -> Clustered {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut random_vector =
        |scales: &[f32]| scales.iter().map(|scale| rng.random_range(-1.0..1.0) * scale).collect::<Vec<f32>>();
    let centres: Vec<Vec<f32>> = (0..clusters).map(|_| l2_normalised(&random_vector(&[1.0; EMBEDDING_DIM]))).collect();
    // Per-dimension noise scales: a power law, with the energy that equal noise of
    // `spread * 1.7 / sqrt(dim)` in every dimension would have.
    let falloff: Vec<f32> = (1..=EMBEDDING_DIM).map(|rank| (rank as f32).powf(-SPECTRUM_EXPONENT)).collect();
    let energy = falloff.iter().map(|s| s * s).sum::<f32>().sqrt();
    let scales: Vec<f32> = falloff.iter().map(|s| s / energy * spread * 1.7).collect();
    let paintings = (0..n)
        .map(|i| {
            let cluster = i % clusters;
            let noise = random_vector(&scales);
            let v: Vec<f32> = centres[cluster].iter().zip(&noise).map(|(c, e)| c + e).collect();
            (cluster, l2_normalised(&v))
        })
        .collect();
    Clustered { centres, paintings }
}

/// `n` paintings like `base` (at least two): each a random base painting plus `noise` times a
/// draw from N(0, Σ), Σ the base's covariance, normalised. The "cluster" is the base painting.
/// A draw is Σ_i z_i (x_i - mean) / sqrt(m - 1) with z_i ~ N(0, 1): its covariance is Σ exactly.
pub fn demo_like(base: &[Vec<f32>], n: usize, noise: f32, seed: u64) -> Clustered {
    let mut rng = StdRng::seed_from_u64(seed);
    let m = base.len();
    let mut mean = vec![0.0f32; EMBEDDING_DIM];
    base.iter().for_each(|v| mean.iter_mut().zip(v).for_each(|(a, x)| *a += x / m as f32));
    let scale = noise / ((m - 1) as f32).sqrt();
    let paintings = (0..n)
        .map(|_| {
            let origin = rng.random_range(0..m);
            let mut v = base[origin].clone();
            for x in base {
                let z: f32 = rng.sample(rand_distr::StandardNormal);
                v.iter_mut().zip(x).zip(&mean).for_each(|((out, x), mu)| *out += scale * z * (x - mu));
            }
            (origin, l2_normalised(&v))
        })
        .collect();
    Clustered { centres: base.to_vec(), paintings }
}

/// Inserts the paintings (style = "cluster-N"), in chunks; returns their ids in order.
pub async fn insert(db: &PgPool, catalogue: &Clustered, key_prefix: &str) -> ServerResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(catalogue.paintings.len());
    for (chunk_index, chunk) in catalogue.paintings.chunks(2000).enumerate() {
        let keys: Vec<String> = (0..chunk.len()).map(|i| format!("{key_prefix}:{}", chunk_index * 2000 + i)).collect();
        let styles: Vec<String> = chunk.iter().map(|(cluster, _)| format!("cluster-{cluster}")).collect();
        let vectors: Vec<String> = chunk.iter().map(|(_, v)| vector_literal(v)).collect();
        let chunk_ids: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO paintings (source_key, title, artist, style, image_url, image_hd_url, thumb_width, thumb_height,
                                    hd_width, hd_height, aspect_ratio, embedding, embedding_model)
             SELECT k, 'Synthetic ' || k, 'Generator', s, '/media/synthetic.jpg', '/media/synthetic-hd.jpg', 600, 450,
                    1200, 900, 1.3333, v::vector, 'synthetic'
             FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(k, s, v, n)
             ORDER BY n
             RETURNING id",
        )
        .bind(&keys)
        .bind(&styles)
        .bind(&vectors)
        .fetch_all(db)
        .await?;
        // Identity values follow insertion order, which follows `n`.
        let mut chunk_ids = chunk_ids;
        chunk_ids.sort_unstable();
        ids.extend(chunk_ids);
    }
    sqlx::query("ANALYZE paintings").execute(db).await?;
    Ok(ids)
}

/// pgvector's text form, so vectors can travel in a text[] parameter.
fn vector_literal(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(f32::to_string).collect();
    format!("[{}]", parts.join(","))
}
