//! `artwall-bench dashboard`: how long the admin dashboard's figures take with a large shop:
//! 100k paintings, 1M activity events over 30 days, saves, hides, tastes and orders. Prints
//! figures; asserts nothing. Only in a database named *bench*: it replaces the data there.

use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use sqlx::PgPool;

use crate::server::admin::dashboard;
use crate::server::bench::feed::{ensure_synthetic_catalogue, ms, percentile, require_bench_database};
use crate::server::discovery::paintings;
use crate::server::error::ServerResult;

const VISITORS: i64 = 20_000;

pub async fn run(db: &PgPool, paintings: usize, activities: i64, requests: usize) -> ServerResult<()> {
    require_bench_database(db, "artwall-bench dashboard").await?;
    ensure_synthetic_catalogue(db, paintings).await?;
    let present: i64 = sqlx::query_scalar("SELECT count(*) FROM activities").fetch_one(db).await?;
    if present != activities {
        let started = Instant::now();
        seed_shop(db, activities).await?;
        println!(
            "seeded {activities} activity events, saves, hides, {VISITORS} tastes and orders in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }

    // What the page waits for: all figures at once (as the server function runs them).
    let utc = TimeZone::UTC;
    let mut timings = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        let (_, figures) = tokio::try_join!(paintings::catalogue_size(db), dashboard::figures(db, &utc))?;
        timings.push(started.elapsed());
        std::hint::black_box(figures);
    }
    let figures = dashboard::figures(db, &utc).await?;
    println!(
        "dashboard figures ({requests} loads): p50 {}, p95 {}, max {}",
        ms(percentile(&mut timings, 0.5)),
        ms(percentile(&mut timings, 0.95)),
        ms(*timings.iter().max().unwrap_or(&Duration::ZERO))
    );
    println!(
        "  last 7 days: {} impressions, {} saves; {} visitors with a taste; backlog {}; {} paid orders in 30 days",
        figures.funnel.impressions,
        figures.funnel.saves,
        figures.visitors_with_taste,
        figures.backlog,
        figures.orders_by_day.iter().map(|d| d.orders).sum::<i64>()
    );
    Ok(())
}

/// A month of a busy shop, generated in SQL.
async fn seed_shop(db: &PgPool, activities: i64) -> ServerResult<()> {
    for table in ["activities", "saved_paintings", "hidden_paintings", "user_preferences", "orders"] {
        sqlx::query(&format!("TRUNCATE {table} CASCADE")).execute(db).await?;
    }
    let statements = [
        // Events over 30 days, mostly impressions; the last minute's are still unprocessed.
        "INSERT INTO activities (visitor_id, painting_id, event_type, source, processed, created_at)
         SELECT md5((i % $2)::text)::uuid, r.lo + floor(random() * (r.hi - r.lo + 1))::bigint,
                CASE WHEN x < 0.60 THEN 'impression' WHEN x < 0.80 THEN 'view' WHEN x < 0.90 THEN 'click'
                     WHEN x < 0.95 THEN 'save' WHEN x < 0.98 THEN 'hide' WHEN x < 0.985 THEN 'purchase' ELSE 'share' END,
                'feed', at < now() - interval '1 minute', at
         FROM generate_series(1, $1) AS i,
              -- Referring to i makes the lateral subquery run per row, not once.
              LATERAL (SELECT random() AS x, now() - random() * interval '30 days' AS at WHERE i > 0) e,
              (SELECT min(id) AS lo, max(id) AS hi FROM paintings) r",
        "INSERT INTO saved_paintings (visitor_id, painting_id)
         SELECT md5((i % $2)::text)::uuid, r.lo + floor(power(random(), 3) * (r.hi - r.lo + 1))::bigint
         FROM generate_series(1, $1 / 20) AS i, (SELECT min(id) AS lo, max(id) AS hi FROM paintings) r
         ON CONFLICT DO NOTHING",
        "INSERT INTO hidden_paintings (visitor_id, painting_id)
         SELECT md5((i % $2)::text)::uuid, r.lo + floor(power(random(), 3) * (r.hi - r.lo + 1))::bigint
         FROM generate_series(1, $1 / 50) AS i, (SELECT min(id) AS lo, max(id) AS hi FROM paintings) r
         ON CONFLICT DO NOTHING",
        "INSERT INTO user_preferences (visitor_id, taste)
         SELECT md5(i::text)::uuid, (SELECT embedding FROM paintings WHERE id = r.lo + (i % (r.hi - r.lo + 1)))
         FROM generate_series(0, $2 - 1) AS i, (SELECT min(id) AS lo, max(id) AS hi FROM paintings) r",
        "INSERT INTO orders (id, visitor_id, painting_id, size, material, frame, amount_cents, status, expires_at, paid_at, created_at)
         SELECT 'order_bench' || i, md5((i % $2)::text)::uuid, r.lo + (i % (r.hi - r.lo + 1)), '50x60', 'paper', 'none', 24900,
                CASE WHEN i % 10 < 7 THEN 'paid' WHEN i % 10 < 9 THEN 'shipped' ELSE 'expired' END,
                at + interval '30 minutes', CASE WHEN i % 10 < 9 THEN at + interval '2 minutes' END, at
         FROM generate_series(1, $1 / 200) AS i, LATERAL (SELECT now() - random() * interval '30 days' AS at WHERE i > 0) t,
              (SELECT min(id) AS lo, max(id) AS hi FROM paintings) r",
    ];
    for statement in statements {
        sqlx::query(statement).bind(activities).bind(VISITORS).execute(db).await?;
    }
    // Fresh statistics and visibility maps, as autovacuum would leave a live database.
    for table in ["activities", "saved_paintings", "hidden_paintings", "user_preferences", "orders"] {
        sqlx::query(&format!("VACUUM ANALYZE {table}")).execute(db).await?;
    }
    Ok(())
}
