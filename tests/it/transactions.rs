//! Transactions when the request that began one is cancelled (the shopper left, a timeout fired).

use std::future::{poll_fn, Future};
use std::task::Poll;
use std::time::Duration;

use artwall::server::infra::db::BeginCancelSafe;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::common;

/// Cancelled after the server has run its `BEGIN` but before the answer was read, a transaction
/// must not stay open on the pooled connection: whoever uses that connection next would write
/// into it, unseen by everyone else and holding its locks.
#[sqlx::test]
async fn a_begin_cancelled_in_flight_leaves_the_next_writes_committed(db: PgPool) {
    // One connection, so every attempt reuses the one the cancelled BEGIN went to.
    let options: PgConnectOptions = common::database_url(&db).parse().unwrap();
    let one = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options.application_name("cancelled-begin"))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE notes (attempt int)").execute(&one).await.unwrap();
    for attempt in 0..5 {
        let mut begin = Box::pin(one.begin_cancel_safe());
        // Poll the caller's future only until the server is inside the transaction; dropping
        // it then cancels it where an unsafe BEGIN has not yet counted its transaction.
        for _ in 0..200 {
            if poll_fn(|cx| Poll::Ready(begin.as_mut().poll(cx).is_ready())).await {
                break; // begun: dropping the transaction rolls it back
            }
            let begun: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT FROM pg_stat_activity
                                 WHERE application_name = 'cancelled-begin' AND state = 'idle in transaction')",
            )
            .fetch_one(&db)
            .await
            .unwrap();
            if begun {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(begin);

        sqlx::query("INSERT INTO notes VALUES ($1)").bind(attempt).execute(&one).await.unwrap_or_else(|error| {
            panic!("attempt {attempt}: the connection is unusable after a cancelled BEGIN: {error}")
        });
        let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM notes WHERE attempt = $1")
            .bind(attempt)
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(seen, 1, "attempt {attempt}: a write after a cancelled BEGIN was not committed");
    }
}
