//! SIGTERM to the real binary: it stops accepting, answers the requests it accepted, lets the
//! taste worker finish its round, and exits 0; nothing it accepted is lost.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use artwall::server::bench::synthetic;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

/// A server process, killed if the test fails before it ends it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `artwall serve` on a free port over the test's database; its log goes to `log`.
fn serve(db: &PgPool, media: &std::path::Path, log: &std::path::Path) -> (Running, String) {
    let port = common::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_artwall"))
        .arg("serve")
        .env("DATABASE_URL", common::database_url(db))
        .env("ARTWALL_MEDIA_DIR", media)
        .env("ARTWALL_COOKIE_KEYS", common::COOKIE_KEY)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        // The test's binary has no cargo-leptos hash file beside it, and needs no assets.
        .env("LEPTOS_HASH_FILES", "false")
        .env("ARTWALL_RATE_ACTIVITY_PER_MINUTE", "100000")
        .env("ARTWALL_SHUTDOWN_GRACE_SECONDS", "20")
        .env_remove("ARTWALL_STRIPE_SECRET_KEY")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    (Running(child), format!("http://127.0.0.1:{port}"))
}

async fn wait_until_ready(client: &reqwest::Client, base: &str, log: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        let log = std::fs::read_to_string(log).unwrap_or_default();
        assert!(Instant::now() < deadline, "the server did not become ready:\n{log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn terminate(server: &Running) {
    let status = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// Waits for the process to end (at most `limit`) and returns whether it exited 0.
async fn exit_status(server: &mut Running, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            return status.success();
        }
        if Instant::now() > deadline {
            panic!("the server did not stop within {limit:?} of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn count(db: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

#[sqlx::test]
async fn sigterm_answers_what_was_accepted_finishes_the_round_and_exits_0(db: PgPool) {
    let ids = synthetic::insert(&db, &synthetic::clustered(40, 4, 0.6, 7), "s").await.unwrap();
    let media = tempfile::tempdir().unwrap();
    let log = media.path().join("serve.log");
    let (mut child, base) = serve(&db, media.path(), &log);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    wait_until_ready(&client, &base, &log).await;

    // Many visitors' batches in flight, and a backlog for the taste worker, when SIGTERM comes.
    let mut batches = tokio::task::JoinSet::new();
    for n in 0..80 {
        let (client, url) = (client.clone(), format!("{base}/api/activity"));
        let events: Vec<Value> = (0..50)
            .map(|i| {
                let kind = ["impression", "save", "hide", "click"][(n + i) % 4];
                json!({"id": Uuid::new_v4(), "type": kind, "paintingId": ids[(n * 7 + i) % ids.len()], "position": i, "source": "feed"})
            })
            .collect();
        // A steady stream over about 400 ms; SIGTERM comes in the middle of it.
        batches.spawn(async move {
            tokio::time::sleep(Duration::from_millis(5 * n as u64)).await;
            client
                .post(url)
                .header("cookie", common::visitor_cookie(Uuid::new_v4()))
                .json(&json!({ "events": events }))
                .send()
                .await
        });
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    terminate(&child);
    let (mut logged, mut answered, mut refused) = (0, 0, 0);
    while let Some(answer) = batches.join_next().await {
        match answer.unwrap() {
            Ok(response) => {
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                assert!(status.is_success(), "an accepted request was answered {status}: {body}");
                logged += body["logged"].as_i64().unwrap();
                answered += 1;
            }
            // Connections the stopping server no longer accepted: nothing was stored for them.
            Err(_) => refused += 1,
        }
    }
    assert!(exit_status(&mut child, Duration::from_secs(30)).await, "{}", std::fs::read_to_string(&log).unwrap());
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(answered > 0, "some batches were answered before the shutdown ({refused} refused)");
    assert!(log_text.contains("taste worker stopped"), "{log_text}");
    assert!(log_text.lines().any(|line| line.ends_with(" stopped")), "the process said it stopped: {log_text}");
    assert_eq!(count(&db, "SELECT count(*) FROM activities").await, logged, "every event answered as logged is stored");

    // What the worker had not reached waits for the next start, which learns it all.
    let (mut again, base) = serve(&db, media.path(), &log);
    wait_until_ready(&client, &base, &log).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(&db, "SELECT count(*) FROM activities WHERE NOT processed").await > 0 {
        assert!(Instant::now() < deadline, "the restarted worker did not learn the backlog");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    terminate(&again);
    assert!(exit_status(&mut again, Duration::from_secs(30)).await, "{}", std::fs::read_to_string(&log).unwrap());
}
