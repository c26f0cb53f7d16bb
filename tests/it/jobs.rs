//! Admin import jobs against a real local HTTP server: downloads, failures with reasons,
//! retries, idempotency, resuming after a restart, and the SSRF refusals of the fetcher.

use crate::common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use artwall::server::catalogue::import_jobs;
use artwall::server::infra::fetch::{FetchError, Fetcher};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use jiff::tz::TimeZone;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// Serves demo images as /img/{n}.jpg; /missing.jpg is a 404 and /text.jpg is text with an
/// image content type, until `fixed` is set. Counts requests per path.
#[derive(Clone, Default)]
struct ImageServer {
    fixed: Arc<AtomicBool>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl ImageServer {
    async fn start(&self) -> String {
        let app = axum::Router::new()
            .route("/img/{n}", get(image))
            .route("/missing.jpg", get(missing))
            .route("/text.jpg", get(text))
            .route("/hop/{n}", get(|Path(n): Path<u32>| async move { Redirect::temporary(&format!("/hop/{}", n + 1)) }))
            .route("/endless.jpg", get(endless))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        tokio::spawn(std::future::IntoFuture::into_future(axum::serve(listener, app)));
        base
    }

    fn count(&self, path: &str) {
        *self.hits.lock().unwrap().entry(path.to_owned()).or_default() += 1;
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

fn demo_image(n: usize) -> Vec<u8> {
    let dir = common::shared_paintings().join("images");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    std::fs::read(&files[n]).unwrap()
}

async fn image(State(server): State<ImageServer>, Path(name): Path<String>) -> Response {
    server.count(&format!("/img/{name}"));
    let n: usize = name.trim_end_matches(".jpg").parse().unwrap();
    ([(header::CONTENT_TYPE, "image/jpeg")], demo_image(n)).into_response()
}

async fn missing(State(server): State<ImageServer>) -> Response {
    server.count("/missing.jpg");
    if server.fixed.load(Ordering::SeqCst) {
        ([(header::CONTENT_TYPE, "image/jpeg")], demo_image(10)).into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

async fn text(State(server): State<ImageServer>) -> Response {
    server.count("/text.jpg");
    if server.fixed.load(Ordering::SeqCst) {
        ([(header::CONTENT_TYPE, "image/jpeg")], demo_image(11)).into_response()
    } else {
        ([(header::CONTENT_TYPE, "image/jpeg")], "<html>this is not a picture</html>").into_response()
    }
}

/// A JPEG header, then zeros for ever, with no Content-Length.
async fn endless() -> Response {
    let head = futures::stream::once(async {
        Ok::<_, std::io::Error>(bytes::Bytes::from_static(&[
            0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1,
        ]))
    });
    let zeros = futures::stream::repeat_with(|| Ok(bytes::Bytes::from(vec![0u8; 64 * 1024])));
    Body::from_stream(futures::StreamExt::chain(head, zeros)).into_response()
}

fn painting(n: usize, base: &str, path: &str) -> serde_json::Value {
    json!({ "id": format!("test:{n}"), "title": format!("Test painting {n}"), "artist": "Test Artist", "year": 1900, "imageUrl": format!("{base}{path}") })
}

async fn submit(app: &common::TestApp, cookie: &str, paintings: &[serde_json::Value]) -> Uuid {
    let body = json!({ "paintings": paintings }).to_string();
    let boundary = "XjobsX";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"paintings\"\r\n\r\n{body}\r\n--{boundary}--\r\n"
    );
    let request = Request::post("/api/admin/jobs/import")
        .header(header::COOKIE, cookie)
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(form))
        .unwrap();
    let (status, _, answer) = app.send_text(request).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    answer["jobId"].as_str().unwrap().parse().unwrap()
}

/// A running image server and its base URL, the app allowed to fetch from it (loopback), and an
/// admin's session cookie.
async fn with_images(db: &PgPool) -> (ImageServer, String, common::TestApp, String) {
    let server = ImageServer::default();
    let base = server.start().await;
    let app = common::TestApp::with_config(db.clone(), |c| c.fetch_allow_private = true).await;
    let (_, cookie) = common::admin_session(db).await;
    (server, base, app, cookie)
}

async fn published(db: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM paintings WHERE published").fetch_one(db).await.unwrap()
}

#[sqlx::test]
async fn an_import_job_adds_paintings_reports_failures_and_retries_them(db: PgPool) {
    let (server, base, app, cookie) = with_images(&db).await;
    let mut list: Vec<_> = (0..4).map(|n| painting(n, &base, &format!("/img/{n}.jpg"))).collect();
    list.push(painting(4, &base, "/missing.jpg"));
    list.push(painting(5, &base, "/text.jpg"));

    let id = submit(&app, &cookie, &list).await;
    let queued = import_jobs::view(&db, id, &TimeZone::UTC).await.unwrap();
    assert_eq!((queued.status.as_str(), queued.total, queued.processed), ("queued", 6, 0));
    let runner = app.state.job_runner();
    assert!(runner.run_next().await.unwrap());
    assert!(!runner.run_next().await.unwrap(), "nothing left to do");

    let done = import_jobs::view(&db, id, &TimeZone::UTC).await.unwrap();
    assert_eq!((done.status.as_str(), done.processed, done.failed), ("completed", 6, 2));
    let reasons: Vec<_> = done.failures.iter().map(|f| (f.position, f.reason.as_str())).collect();
    assert_eq!(reasons, [(4, "the server answered HTTP 404"), (5, "not an image (JPEG, PNG or WebP)")]);
    assert_eq!(published(&db).await, 4);
    // The reasons are kept typed: an admin reading in Chinese gets them in Chinese.
    let request = Request::get(format!("/api/admin/job?id={id}"))
        .header(header::COOKIE, &cookie)
        .header(header::ACCEPT_LANGUAGE, "zh-CN")
        .body(Body::empty())
        .unwrap();
    let (status, _, answer) = app.send_text(request).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let reasons: Vec<&str> =
        answer["failures"].as_array().unwrap().iter().map(|failure| failure["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["服务器返回 HTTP 404", "不是图片（JPEG、PNG 或 WebP）"], "{answer}");

    // The server is fixed; retrying fetches only the two that failed.
    server.fixed.store(true, Ordering::SeqCst);
    let request = Request::post("/api/admin/job/retry")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("id={id}")))
        .unwrap();
    let (status, _, answer) = app.send_text(request).await;
    assert_eq!((status, answer.as_str()), (StatusCode::OK, "2"));
    assert!(runner.run_next().await.unwrap());
    let retried = import_jobs::view(&db, id, &TimeZone::UTC).await.unwrap();
    assert_eq!((retried.status.as_str(), retried.processed, retried.failed), ("completed", 6, 0));
    assert_eq!(published(&db).await, 6);
    assert_eq!(server.hits("/img/0.jpg"), 1);

    // The same list again adds nothing and downloads nothing.
    let again = submit(&app, &cookie, &list).await;
    assert!(runner.run_next().await.unwrap());
    let view = import_jobs::view(&db, again, &TimeZone::UTC).await.unwrap();
    assert_eq!((view.processed, view.failed), (6, 0));
    assert_eq!(published(&db).await, 6);
    assert_eq!(server.hits("/img/0.jpg"), 1, "already in the catalogue: not downloaded again");
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'job.%'").fetch_one(&db).await.unwrap();
    assert_eq!(audited, 3, "two jobs created, one retry");
}

#[sqlx::test]
async fn a_job_interrupted_by_a_restart_resumes_where_it_stopped(db: PgPool) {
    let (server, base, app, cookie) = with_images(&db).await;
    let list: Vec<_> = (0..3).map(|n| painting(n, &base, &format!("/img/{n}.jpg"))).collect();
    let id = submit(&app, &cookie, &list).await;

    // What a server that died mid-job leaves behind: running, the first item done, and a
    // heartbeat that stopped a while ago.
    sqlx::query("UPDATE batch_jobs SET status = 'running', runner = 'jobs-dead', started_at = now() - interval '5 minutes', heartbeat_at = now() - interval '2 minutes' WHERE id = $1")
        .bind(id)
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("UPDATE batch_job_items SET status = 'done', outcome = 'added' WHERE job_id = $1 AND position = 0")
        .bind(id)
        .execute(&db)
        .await
        .unwrap();

    // A job with a fresh heartbeat belongs to a live runner and is left alone.
    let live = submit(&app, &cookie, &list[..1]).await;
    sqlx::query("UPDATE batch_jobs SET status = 'running', runner = 'jobs-alive', heartbeat_at = now() WHERE id = $1")
        .bind(live)
        .execute(&db)
        .await
        .unwrap();

    let runner = app.state.job_runner();
    assert!(runner.run_next().await.unwrap());
    let resumed = import_jobs::view(&db, id, &TimeZone::UTC).await.unwrap();
    assert_eq!((resumed.status.as_str(), resumed.processed, resumed.failed, resumed.resumes), ("completed", 3, 0, 1));
    assert_eq!(server.hits("/img/0.jpg"), 0, "the finished item is not redone");
    assert_eq!((server.hits("/img/1.jpg"), server.hits("/img/2.jpg")), (1, 1));
    assert!(!runner.run_next().await.unwrap());
    assert_eq!(import_jobs::view(&db, live, &TimeZone::UTC).await.unwrap().status, "running");
}

#[sqlx::test]
async fn a_shutdown_mid_job_finishes_the_chunk_in_hand_and_puts_the_job_back_in_the_queue(db: PgPool) {
    let (server, base, app, cookie) = with_images(&db).await;
    let list: Vec<_> = (0..17).map(|n| painting(n, &base, &format!("/img/{n}.jpg"))).collect();
    let id = submit(&app, &cookie, &list).await;

    let runner = app.state.job_runner();
    let shutdown = runner.shutdown.clone();
    let working = tokio::spawn(async move { runner.run_next().await });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while import_jobs::view(&db, id, &TimeZone::UTC).await.unwrap().processed == 0 {
        assert!(std::time::Instant::now() < deadline, "the first chunk was never finished");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    assert!(working.await.unwrap().unwrap(), "the runner had a job");

    let paused = import_jobs::view(&db, id, &TimeZone::UTC).await.unwrap();
    assert_eq!(paused.status, "queued", "back in the queue for the next start, not left running");
    assert_eq!(paused.resumes, 1, "a cut-off job counts as resumed");
    assert_eq!(paused.rate_per_minute, None, "no rate while it waits in the queue");
    assert!(paused.processed > 0 && paused.processed < 17, "stopped between chunks: {}", paused.processed);
    assert_eq!(published(&db).await, paused.processed, "every item done has its painting, and only those");
    let orphans: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM batch_job_items WHERE job_id = $1 AND (status = 'done') <> (painting_id IS NOT NULL)",
    )
    .bind(id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(orphans, 0);

    // The next start picks it up at once and does only what is left.
    assert!(app.state.job_runner().run_next().await.unwrap());
    let done = import_jobs::view(&db, id, &TimeZone::UTC).await.unwrap();
    assert_eq!((done.status.as_str(), done.processed, done.failed, done.resumes), ("completed", 17, 0, 1));
    assert_eq!(published(&db).await, 17);
    assert!((0..17).all(|n| server.hits(&format!("/img/{n}.jpg")) == 1), "nothing was fetched twice");
}

#[tokio::test]
async fn the_fetcher_refuses_what_could_reach_inside_or_never_end() {
    let server = ImageServer::default();
    let base = server.start().await;
    let port = base.rsplit(':').next().unwrap();
    let strict = Fetcher::new(1024 * 1024, Duration::from_secs(10), false);
    assert!(matches!(strict.image(&format!("{base}/img/0.jpg")).await, Err(FetchError::PrivateAddress(_))));
    // A name is checked after DNS: localhost resolves to loopback and is refused too.
    assert!(matches!(
        strict.image(&format!("http://localhost:{port}/img/0.jpg")).await,
        Err(FetchError::PrivateAddress(_))
    ));
    assert_eq!(
        strict.image("http://169.254.169.254/latest/meta-data/").await,
        Err(FetchError::PrivateAddress("169.254.169.254".into()))
    );
    assert_eq!(strict.image("file:///etc/passwd").await, Err(FetchError::Scheme));
    assert_eq!(strict.image("gopher://example.com/").await, Err(FetchError::Scheme));
    assert_eq!(server.hits("/img/0.jpg"), 0, "nothing refused was ever requested");

    let loopback = Fetcher::new(1024 * 1024, Duration::from_secs(10), true);
    assert!(loopback.image(&format!("{base}/img/0.jpg")).await.is_ok());
    assert_eq!(loopback.image(&format!("{base}/hop/0")).await, Err(FetchError::TooManyRedirects));
    // No Content-Length and no end: stopped at the limit while streaming.
    let endless = tokio::time::timeout(Duration::from_secs(5), loopback.image(&format!("{base}/endless.jpg"))).await;
    assert_eq!(endless.expect("stops at the limit, not at the end"), Err(FetchError::TooLarge(1024 * 1024)));
    assert_eq!(loopback.image(&format!("{base}/text.jpg")).await, Err(FetchError::NotAnImage));
}

#[sqlx::test]
async fn job_endpoints_need_an_admin_session(db: PgPool) {
    let app = common::TestApp::new(db).await;
    let id = Uuid::new_v4();
    for (method, uri, body) in [
        ("GET", "/api/admin/jobs".to_owned(), String::new()),
        ("GET", format!("/api/admin/job?id={id}"), String::new()),
        ("POST", "/api/admin/job/retry".into(), format!("id={id}")),
        ("POST", "/api/admin/job/resume".into(), format!("id={id}")),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(&uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, common::visitor_cookie(Uuid::new_v4()))
            .body(Body::from(body))
            .unwrap();
        assert_eq!(app.send(request).await.0, StatusCode::UNAUTHORIZED, "{method} {uri}");
    }
    let request = Request::post("/api/admin/jobs/import")
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
        .body(Body::from(
            "--x\r\nContent-Disposition: form-data; name=\"paintings\"\r\n\r\n{\"paintings\":[]}\r\n--x--\r\n",
        ))
        .unwrap();
    assert_eq!(app.send(request).await.0, StatusCode::UNAUTHORIZED);
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM batch_jobs").fetch_one(&app.state.db).await.unwrap();
    assert_eq!(jobs, 0);
}

#[sqlx::test]
async fn a_refused_list_sends_the_form_back_with_a_code_and_a_client_a_message_in_its_language(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let (_, cookie) = common::admin_session(&db).await;
    let import = |text: &str, headers: &[(header::HeaderName, &str)]| {
        let form = format!("--x\r\nContent-Disposition: form-data; name=\"paintings\"\r\n\r\n{text}\r\n--x--\r\n");
        headers
            .iter()
            .fold(Request::post("/api/admin/jobs/import"), |request, (name, value)| request.header(name, *value))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
            .body(Body::from(form))
            .unwrap()
    };
    let too_many = json!({ "paintings": (0..=import_jobs::MAX_ITEMS).map(|n| painting(n, "https://example.org/", "p.jpg")).collect::<Vec<_>>() });
    for (text, code) in [(" ", "empty"), ("{\"paintings\": []}", "empty"), ("{not json", "unreadable")]
        .into_iter()
        .map(|(text, code)| (text.to_owned(), code))
        .chain([(too_many.to_string(), "too_many")])
    {
        let (status, headers, _) = app.send_text(import(&text, &[])).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{code}");
        assert_eq!(headers[header::LOCATION], format!("/admin/import?error={code}"));
    }
    let json = (header::ACCEPT, "application/json");
    let (status, _, answer) = app.send_text(import("{\"paintings\": []}", std::slice::from_ref(&json))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer.contains("列表中没有画作"), "{answer}");
    let (_, _, answer) = app.send_text(import("{\"paintings\": []}", &[json, (header::ACCEPT_LANGUAGE, "en")])).await;
    assert!(answer.contains("the list has no paintings"), "{answer}");
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM batch_jobs").fetch_one(&db).await.unwrap();
    assert_eq!(jobs, 0, "nothing queued");
}
