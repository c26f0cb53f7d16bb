//! Headers on every response, the CSP nonce on pages, and cross-site state changes refused.

use crate::common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use sqlx::PgPool;
use uuid::Uuid;

#[sqlx::test]
async fn pages_carry_a_csp_whose_nonce_is_on_every_inline_script(db: PgPool) {
    let app = common::TestApp::new(db).await;
    let (status, headers, html) = app.send_text(Request::get("/feed").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(csp.contains("'wasm-unsafe-eval'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let script_src = csp.split(';').map(str::trim).find(|d| d.starts_with("script-src")).expect("a script-src");
    assert!(!script_src.contains("'unsafe-inline'") && !script_src.contains("'unsafe-eval'"), "{csp}");
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce in script-src");
    assert!(nonce.len() >= 16, "{nonce}");
    // (An empty `<script></script>`, which leptos_i18n leaves in the body, runs nothing and is
    // exempt from CSP.)
    let scripts: Vec<&str> = html
        .split("<script")
        .skip(1)
        .filter(|element| !element.starts_with("></script>"))
        .map(|element| element.split('>').next().unwrap())
        .collect();
    assert!(!scripts.is_empty(), "the hydration script is there");
    for tag in scripts {
        assert!(
            tag.contains(&format!("nonce=\"{nonce}\"")) || tag.contains("src="),
            "inline script without the nonce: <script{tag}>"
        );
    }
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::REFERRER_POLICY], "strict-origin-when-cross-origin");

    // Another response gets another nonce.
    let (_, again, _) = app.send_text(Request::get("/feed").body(Body::empty()).unwrap()).await;
    assert_ne!(again[header::CONTENT_SECURITY_POLICY].to_str().unwrap(), csp);
    // JSON is never a document that could run anything.
    let (_, json, _) = app.send(Request::get("/api/feed").body(Body::empty()).unwrap()).await;
    assert!(json[header::CONTENT_SECURITY_POLICY].to_str().unwrap().starts_with("default-src 'none'"));
    assert_eq!(json[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

fn reset_feed(visitor: Uuid, extra: Option<(&str, &str)>) -> Request<Body> {
    let mut request = Request::post("/api/feed/reset").header(header::COOKIE, common::visitor_cookie(visitor));
    if let Some((name, value)) = extra {
        request = request.header(name, value);
    }
    request.body(Body::empty()).unwrap()
}

#[sqlx::test]
async fn cross_site_state_changes_are_refused(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let visitor = Uuid::new_v4();
    // A painting shown to the visitor: a successful reset would forget it.
    app.import_demo(1).await;
    sqlx::query("INSERT INTO shown_paintings (visitor_id, painting_id) SELECT $1, id FROM paintings")
        .bind(visitor)
        .execute(&db)
        .await
        .unwrap();
    let shown =
        || async { sqlx::query_scalar::<_, i64>("SELECT count(*) FROM shown_paintings").fetch_one(&db).await.unwrap() };

    for refused in
        [("sec-fetch-site", "cross-site"), ("sec-fetch-site", "same-site"), ("origin", "https://evil.example")]
    {
        let (status, _, _) = app.send(reset_feed(visitor, Some(refused))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused:?}");
        assert_eq!(shown().await, 1, "{refused:?} changed nothing");
    }
    let activity = Request::post("/api/activity")
        .header(header::COOKIE, common::visitor_cookie(visitor))
        .header("sec-fetch-site", "cross-site")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"events":[]}"#))
        .unwrap();
    assert_eq!(app.send(activity).await.0, StatusCode::FORBIDDEN);
    let login = Request::post("/api/admin/login")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("email=a%40b.c&password=whatever+long"))
        .unwrap();
    assert_eq!(app.send(login).await.0, StatusCode::FORBIDDEN);

    // Stripe's webhook is server to server and signed: judged by its signature, not its origin.
    let webhook =
        Request::post("/api/webhooks/stripe").header("sec-fetch-site", "cross-site").body(Body::from("{}")).unwrap();
    assert_eq!(app.send(webhook).await.0, StatusCode::BAD_REQUEST);

    // A state change is never reachable with GET.
    let (status, _, _) = app
        .send(
            Request::get("/api/feed/reset")
                .header(header::COOKIE, common::visitor_cookie(visitor))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(!status.is_success(), "{status}");
    assert_eq!(shown().await, 1);

    let origin = app.state.config.public_url.origin().ascii_serialization();
    for allowed in [("sec-fetch-site", "same-origin"), ("origin", origin.as_str())] {
        sqlx::query(
            "INSERT INTO shown_paintings (visitor_id, painting_id) SELECT $1, id FROM paintings ON CONFLICT DO NOTHING",
        )
        .bind(visitor)
        .execute(&db)
        .await
        .unwrap();
        let (status, _, _) = app.send(reset_feed(visitor, Some(allowed))).await;
        assert_eq!(status, StatusCode::OK, "{allowed:?}");
        assert_eq!(shown().await, 0, "{allowed:?}");
    }
}

/// A file at the site's root (the favicon) served while pages render must not take a page's
/// CSP: leptos_axum's file handler once served files under whatever reactive owner the worker
/// thread had current, took that page's pending headers, and the page went out with a CSP that
/// blocks its scripts (a page that never hydrates). Served over TCP by a multi-threaded runtime,
/// with page loads cut short as a browser does when a shopper clicks on.
#[sqlx::test]
async fn root_files_served_beside_pages_leave_every_page_its_csp(db: PgPool) {
    let site_root = tempfile::tempdir().unwrap();
    std::fs::copy("public/favicon.svg", site_root.path().join("favicon.svg")).unwrap();
    let mut app = common::TestApp::new(db).await;
    app.state.leptos_options.site_root = site_root.path().to_string_lossy().into_owned().into();
    app.import_demo(2).await;
    let id: i64 = sqlx::query_scalar("SELECT min(id) FROM paintings").fetch_one(&app.state.db).await.unwrap();
    let router = app.router();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap();
        });
    });
    let client = reqwest::Client::new();
    let mut requests = tokio::task::JoinSet::new();
    for round in 0..60 {
        for path in
            [format!("/painting/{id}"), "/favicon.svg".to_owned(), "/feed".to_owned(), "/favicon.svg".to_owned()]
        {
            let (client, url) = (client.clone(), format!("{base}{path}"));
            let cut_short = path == "/feed" && round % 2 == 0;
            requests.spawn(async move {
                let request = client.get(&url).header("accept-encoding", "br");
                if cut_short {
                    let _ =
                        tokio::time::timeout(std::time::Duration::from_millis(round as u64 % 7), request.send()).await;
                    return None;
                }
                let response = request.send().await.unwrap();
                let csp = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
                let status = response.status();
                let _ = response.bytes().await;
                Some((url, status, csp))
            });
        }
    }
    while let Some(answer) = requests.join_next().await {
        let Some((url, status, csp)) = answer.unwrap() else { continue };
        assert_eq!(status, reqwest::StatusCode::OK, "{url}");
        if url.ends_with("/favicon.svg") {
            assert!(!csp.contains("nonce-"), "the favicon took a page's CSP: {csp}");
        } else {
            assert!(csp.contains("'nonce-"), "{url} lost its CSP to another response: {csp}");
        }
    }
}
