//! The admin dashboard's figures: one query each (indexes in the dashboard migration), run
//! at the same time on separate connections, so the page waits for the slowest, not the sum.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use sqlx::PgPool;

use crate::labels::in_language;
use crate::server::error::ServerResult;
use crate::server::http::locale::reader_locale;
use crate::server::shop::orders;
use crate::types::{DashboardFigures, DayFigures, Funnel, LocalTime, RankedPainting};

/// Times are shown in `zone`.
pub async fn figures(db: &PgPool, zone: &TimeZone) -> ServerResult<DashboardFigures> {
    let (
        orders_by_day,
        status_counts,
        funnel,
        top_saved,
        top_hidden,
        visitors_with_taste,
        (backlog, backlog_oldest_seconds),
        worker_last_run,
    ) = tokio::try_join!(
        orders_by_day(db, zone),
        orders::status_counts(db),
        funnel(db),
        top(db, "saved_paintings"),
        top(db, "hidden_paintings"),
        visitors_with_taste(db),
        backlog(db),
        worker_last_run(db),
    )?;
    Ok(DashboardFigures {
        orders_by_day,
        status_counts,
        funnel,
        top_saved,
        top_hidden,
        visitors_with_taste,
        backlog,
        backlog_oldest_seconds,
        worker_last_run: worker_last_run.map(|at| LocalTime::new(at, zone)),
    })
}

/// The last 30 days as the reader lives them: each day from its midnight to the next in `zone`
/// (23 or 25 hours where the clocks change), not in the database's zone.
async fn orders_by_day(db: &PgPool, zone: &TimeZone) -> ServerResult<Vec<DayFigures>> {
    // Days around today are far inside jiff's range (years -9999 to 9999).
    const NEAR_TODAY: &str = "a day near today is in range";
    let today = Timestamp::now().to_zoned(zone.clone()).date();
    let start_of = |day: Date| day.to_zoned(zone.clone()).expect(NEAR_TODAY).timestamp().as_second();
    let (mut labels, mut starts, mut ends) = (Vec::new(), Vec::new(), Vec::new());
    for back in (0..30).rev() {
        let day = today.checked_sub(back.days()).expect(NEAR_TODAY);
        labels.push(day.to_string());
        starts.push(start_of(day));
        ends.push(start_of(day.tomorrow().expect(NEAR_TODAY)));
    }
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT d.day, count(o.id), coalesce(sum(o.amount_cents - o.refunded_cents), 0)::int8
         FROM unnest($1::text[], $2::int8[], $3::int8[]) AS d(day, starts, ends)
         LEFT JOIN orders o ON o.paid_at IS NOT NULL AND o.paid_at >= to_timestamp(d.starts) AND o.paid_at < to_timestamp(d.ends)
         GROUP BY d.day, d.starts ORDER BY d.starts",
    )
    .bind(labels)
    .bind(starts)
    .bind(ends)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(day, orders, revenue_cents)| DayFigures { day, orders, revenue_cents }).collect())
}

async fn funnel(db: &PgPool) -> ServerResult<Funnel> {
    let (impressions, clicks, saves, purchases, hides): (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE event_type = 'impression'), count(*) FILTER (WHERE event_type = 'click'),
                count(*) FILTER (WHERE event_type = 'save'), count(*) FILTER (WHERE event_type = 'purchase'),
                count(*) FILTER (WHERE event_type = 'hide')
         FROM activities WHERE created_at > now() - interval '7 days'",
    )
    .fetch_one(db)
    .await?;
    Ok(Funnel { impressions, clicks, saves, purchases, hides })
}

/// The ten paintings most often in `table` (saved or hidden), most first.
async fn top(db: &PgPool, table: &'static str) -> ServerResult<Vec<RankedPainting>> {
    let rows: Vec<(i64, String, Option<String>, i64)> = sqlx::query_as(&format!(
        "SELECT p.id, p.title, p.title_en, t.n
         FROM (SELECT painting_id, count(*) AS n FROM {table} GROUP BY painting_id ORDER BY n DESC, painting_id LIMIT 10) t
         JOIN paintings p ON p.id = t.painting_id ORDER BY t.n DESC, p.id"
    ))
    .fetch_all(db)
    .await?;
    let locale = reader_locale();
    Ok(rows
        .into_iter()
        .map(|(id, title, title_en, count)| RankedPainting {
            id,
            title: in_language(locale, &title, title_en.as_deref()).to_owned(),
            count,
        })
        .collect())
}

async fn visitors_with_taste(db: &PgPool) -> ServerResult<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM user_preferences WHERE taste IS NOT NULL").fetch_one(db).await?)
}

/// Activity events not learned yet, and how long the oldest has waited, in seconds.
pub(crate) async fn backlog(db: &PgPool) -> ServerResult<(i64, Option<i64>)> {
    Ok(sqlx::query_as(
        "SELECT count(*), extract(epoch FROM now() - min(created_at))::int8 FROM activities WHERE NOT processed",
    )
    .fetch_one(db)
    .await?)
}

async fn worker_last_run(db: &PgPool) -> ServerResult<Option<time::OffsetDateTime>> {
    Ok(sqlx::query_scalar("SELECT max(last_run) FROM worker_heartbeats").fetch_one(db).await?)
}
