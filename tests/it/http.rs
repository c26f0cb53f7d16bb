//! The HTTP surface, driven through the real router (`Router::oneshot`) over a test database.

use crate::common;

use artwall::server::http::auth::{self, AdminEmail};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use sqlx::PgPool;

async fn send(app: &common::TestApp, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    app.send_text(request).await
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

async fn with_paintings(db: PgPool, n: usize) -> common::TestApp {
    let app = common::TestApp::new(db).await;
    let dir = tempfile::tempdir().unwrap();
    let rows = artwall::server::catalogue::import::read_rows(&common::demo_csv(dir.path(), n)).unwrap();
    let report = artwall::server::catalogue::import::import_rows(
        &app.state.catalogue(),
        rows,
        dir.path(),
        &indicatif::ProgressBar::hidden(),
    )
    .await
    .unwrap();
    assert_eq!(report.added, n);
    app
}

#[sqlx::test]
async fn feed_is_server_rendered_and_sets_a_private_visitor_cookie(db: PgPool) {
    let app = with_paintings(db, 14).await;
    let (status, headers, body) = send(&app, get("/feed")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.matches("class=\"card\"").count(), 12, "the first page is in the HTML");
    assert!(body.contains("loading=\"lazy\""));
    let cookie = headers.get(header::SET_COOKIE).expect("visitor cookie").to_str().unwrap();
    assert!(cookie.starts_with("artwall_visitor="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http in tests");

    // A returning visitor keeps their id (no new cookie) and the next page continues the feed.
    let visitor = cookie.split(';').next().unwrap().to_owned();
    let request = Request::get("/api/feed?cursor=12").header(header::COOKIE, &visitor).body(Body::empty()).unwrap();
    let (status, headers, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers.get(header::SET_COOKIE).is_none());
    let page: artwall::types::FeedPage = serde_json::from_str(&body).unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(!page.has_more);
}

#[sqlx::test]
async fn bad_feed_cursor_is_a_clear_400(db: PgPool) {
    let app = common::TestApp::new(db).await;
    let (status, _, body) = send(&app, get("/api/feed?cursor=banana")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("无效的浏览位置"), "in Chinese unless asked otherwise: {body}");
    let (status, _, body) = send(&app, get_with("/api/feed?cursor=banana", &[("accept-language", "en-US,en")])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("invalid feed cursor"), "{body}");
    let (status, _, body) = send(&app, get_with("/api/feed?limit=0", &[("cookie", "artwall_locale=en")])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("limit must be between 1 and"), "{body}");
    // The fixed refusals too.
    let (status, _, body) = send(&app, get("/api/paintings/987654")).await;
    assert_eq!((status, body.contains("未找到")), (StatusCode::NOT_FOUND, true), "{body}");
    let (_, _, body) = send(&app, get_with("/api/paintings/987654", &[("accept-language", "en")])).await;
    assert!(body.contains("Not found."), "{body}");
}

#[sqlx::test]
async fn painting_page_shows_hd_image_and_unknown_ids_are_real_404s(db: PgPool) {
    let app = with_paintings(db.clone(), 1).await;
    let (id, hd): (i64, String) =
        sqlx::query_as("SELECT id, image_hd_url FROM paintings").fetch_one(&db).await.unwrap();
    let (status, _, body) = send(&app, get(&format!("/painting/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(&hd), "HD image in the page");
    assert!(body.contains("Helena Tromper Du Bois"));

    for missing in ["/painting/999999", "/painting/not-a-number", "/no/such/page"] {
        let (status, _, body) = send(&app, get(missing)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        assert!(body.contains("找不到该内容"), "{missing}: friendly page");
    }
    // Any method: an unknown path is not found, not "method not allowed".
    let post = Request::post("/api/no-such-endpoint")
        .header(header::COOKIE, common::visitor_cookie(uuid::Uuid::new_v4()))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, post).await.0, StatusCode::NOT_FOUND);
    let (status, headers, _) = send(&app, get(&hd)).await;
    assert_eq!(status, StatusCode::OK, "media served");
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
}

/// The `lang` of a page's `<html>` element.
fn html_lang(page: &str) -> &str {
    let html = &page[page.find("<html").expect("a page")..];
    let html = &html[..html.find('>').unwrap()];
    html.split(" lang=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default()
}

fn get_with(uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    headers
        .iter()
        .fold(Request::get(uri), |request, (name, value)| request.header(*name, *value))
        .body(Body::empty())
        .unwrap()
}

/// The header's language switch, from a browser that has been on a page (so holds a visitor cookie).
fn choose_locale(form: &str) -> Request<Body> {
    Request::post("/api/locale")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, common::visitor_cookie(uuid::Uuid::new_v4()))
        .body(Body::from(form.to_owned()))
        .unwrap()
}

#[sqlx::test]
async fn pages_speak_the_chosen_language_then_the_browsers_then_chinese(db: PgPool) {
    let app = with_paintings(db.clone(), 1).await;
    let chinese = |body: &str| html_lang(body) == "zh-CN" && body.contains("为你生活的墙面挑选画作");
    let english = |body: &str| html_lang(body) == "en" && body.contains("Paintings for the walls you live with");

    let (_, _, body) = send(&app, get("/")).await;
    assert!(chinese(&body), "nothing asked: Chinese");
    let (_, _, body) = send(&app, get_with("/", &[("accept-language", "en-GB,en;q=0.9")])).await;
    assert!(english(&body), "the browser asks for English");
    let (_, _, body) =
        send(&app, get_with("/", &[("accept-language", "en"), ("cookie", "artwall_locale=zh-CN")])).await;
    assert!(chinese(&body), "a choice outranks the browser");

    // The switcher remembers the choice for a year and goes back to the page it was on.
    let id: i64 = sqlx::query_scalar("SELECT id FROM paintings").fetch_one(&db).await.unwrap();
    let (status, headers, body) =
        send(&app, choose_locale(&format!("locale=en&next=%2Fpainting%2F{id}%3Fx%3D1"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(headers[header::LOCATION], format!("/painting/{id}?x=1"));
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("artwall_locale=en;") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert!(cookie.contains("Path=/") && cookie.contains("Max-Age=31536000"), "{cookie}");
    let (_, _, body) = send(
        &app,
        get_with(&format!("/painting/{id}"), &[("accept-language", "zh-CN"), ("cookie", "artwall_locale=en")]),
    )
    .await;
    assert_eq!(html_lang(&body), "en");
    assert!(body.contains("Buy this print") && body.contains("Helena Tromper Du Bois"), "the page and its painting");
    assert!(body.contains("Flemish Baroque"), "its style as imported");
    let (_, _, body) = send(&app, get_with(&format!("/painting/{id}"), &[("accept-language", "zh-CN")])).await;
    assert!(body.contains("佛兰德巴洛克") && !body.contains("Flemish Baroque"), "its style in Chinese");

    // Anywhere but a local path goes home; a language we do not speak is a clear 400.
    for next in
        ["https%3A%2F%2Fevil.example%2F", "%2F%2Fevil.example", "%2F%5Cevil.example", "%2Fsearch%3Fq%3D%E7%9D%A1", ""]
    {
        let (status, headers, _) = send(&app, choose_locale(&format!("locale=zh-CN&next={next}"))).await;
        assert_eq!((status, &headers[header::LOCATION]), (StatusCode::SEE_OTHER, &"/".parse().unwrap()), "{next}");
    }
    let (status, headers, body) = send(&app, choose_locale("locale=fr&next=%2F")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("不支持的语言") && !headers.contains_key(header::SET_COOKIE), "{body}");
    let (status, _, body) = send(&app, choose_locale("next=%2F")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no language at all: {body}");
    assert!(body.contains("无法读取请求") && body.contains("missing field `locale`"), "{body}");
    let mut api = choose_locale("locale=zh-CN");
    api.headers_mut().insert(header::ACCEPT, "application/json".parse().unwrap());
    let (status, headers, body) = send(&app, api).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, r#"{"locale":"zh-CN"}"#), "an API client gets an answer");
    assert!(headers[header::SET_COOKIE].to_str().unwrap().starts_with("artwall_locale=zh-CN;"));
    // Another site cannot switch a visitor's language behind their back.
    let mut cross_site = choose_locale("locale=en&next=%2F");
    cross_site.headers_mut().insert("sec-fetch-site", "cross-site".parse().unwrap());
    let (status, headers, _) = send(&app, cross_site).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!headers.contains_key(header::SET_COOKIE));
}

#[sqlx::test]
async fn times_show_in_the_zone_the_browser_reports_and_china_time_otherwise(db: PgPool) {
    let app = with_paintings(db.clone(), 1).await;
    let painting: i64 = sqlx::query_scalar("SELECT id FROM paintings").fetch_one(&db).await.unwrap();
    let shopper = uuid::Uuid::new_v4();
    common::paid_order(&db, "order_zoned", shopper, painting).await;
    sqlx::query("UPDATE orders SET created_at = '2026-11-29 13:05:42+00' WHERE id = 'order_zoned'")
        .execute(&db)
        .await
        .unwrap();
    let order_in = |zone: Option<&str>, language: &str| {
        let cookie = match zone {
            Some(zone) => format!("{}; artwall_tz={zone}", common::visitor_cookie(shopper)),
            None => common::visitor_cookie(shopper),
        };
        get_with("/api/orders/order_zoned", &[("cookie", &cookie), ("accept-language", language)])
    };
    for (zone, at) in [
        (None, "2026-11-29T21:05:42+08:00"),
        (Some("Asia/Kolkata"), "2026-11-29T18:35:42+05:30"),
        (Some("Asia/Calcutta"), "2026-11-29T18:35:42+05:30"),
        (Some("America/Los_Angeles"), "2026-11-29T05:05:42-08:00"),
        (Some("Mars/Olympus_Mons"), "2026-11-29T21:05:42+08:00"),
    ] {
        let (status, _, body) = send(&app, order_in(zone, "en")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let order: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(order["createdAt"], at, "{zone:?}");
    }
    // The orders page writes the date for its reader: their language, their day.
    let orders_page = |zone: &str, language: &str| {
        let cookie = format!("{}; artwall_tz={zone}", common::visitor_cookie(shopper));
        get_with("/orders", &[("cookie", &cookie), ("accept-language", language)])
    };
    let (_, _, body) = send(&app, orders_page("Asia/Shanghai", "zh-CN")).await;
    assert!(body.contains("2026年11月29日"), "{body}");
    let (_, _, body) = send(&app, orders_page("Pacific/Kiritimati", "en")).await;
    assert!(body.contains("30 Nov 2026") && !body.contains("UTC"), "{body}");
}

#[sqlx::test]
async fn an_order_timeline_reads_in_its_readers_language(db: PgPool) {
    use artwall::server::infra::db::BeginCancelSafe;
    use artwall::server::shop::order_notes::OrderNote;
    use artwall::server::shop::orders::{self, Actor};
    let app = with_paintings(db.clone(), 1).await;
    let painting: i64 = sqlx::query_scalar("SELECT id FROM paintings").fetch_one(&db).await.unwrap();
    let shopper = uuid::Uuid::new_v4();
    common::paid_order(&db, "order_noted", shopper, painting).await;
    let mut tx = db.begin_cancel_safe().await.unwrap();
    let partial = OrderNote::PartialRefund { refunded: 5_000, amount: 24_900 };
    orders::note(&mut tx, "order_noted", Actor::Stripe, &partial, false).await.unwrap();
    // Typed, but meant for the staff only.
    let too_much = OrderNote::RefundDoesNotFit { reported: Some(30_000), currency: Some("cny".into()), amount: 24_900 };
    orders::note(&mut tx, "order_noted", Actor::Stripe, &too_much, true).await.unwrap();
    tx.commit().await.unwrap();
    // Rows from before notes were typed, and one of a kind a newer version wrote mid-deploy.
    for note in [
        "order placed",
        "payment completed (checkout.session.completed)",
        "moved to processing by an admin",
        "shipped with tracking number SF123",
        "completed automatically 7 days after delivery",
        "amount mismatch on payment_intent.succeeded: Stripe reports 100 usd, the order is ¥249.00; not marked paid",
    ] {
        sqlx::query("INSERT INTO order_events (order_id, from_status, to_status, actor, note) VALUES ('order_noted', 'paid', 'paid', 'stripe', $1)")
            .bind(note)
            .execute(&db)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO order_events (order_id, from_status, to_status, actor, note, detail) VALUES ('order_noted', 'paid', 'paid', 'stripe', 'a newer note', '{\"kind\": \"from_the_future\"}')")
        .execute(&db)
        .await
        .unwrap();
    // The migration that typed the notes types the old rows it recognises (it may run again).
    sqlx::raw_sql(include_str!("../../migrations/20261202000001_order_event_details.sql")).execute(&db).await.unwrap();

    let (_, admin) = common::admin_session(&db).await;
    let shoppers = common::visitor_cookie(shopper);
    let notes = |uri: &'static str, cookie: String, language: &'static str| {
        let app = &app;
        async move {
            let (status, _, body) =
                send(app, get_with(uri, &[("cookie", &cookie), ("accept-language", language)])).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let order: serde_json::Value = serde_json::from_str(&body).unwrap();
            let timeline = order["timeline"].as_array().unwrap().iter();
            timeline.filter_map(|entry| entry["note"].as_str().map(str::to_owned)).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        notes("/api/orders/order_noted", shoppers.clone(), "zh-CN").await,
        [
            "部分退款：累计已退 ¥50.00，订单金额 ¥249.00",
            "已下单",
            "付款完成",
            "管理员已将订单改为“印制中”",
            "已发货，运单号 SF123",
            "送达 7 天后自动完成"
        ],
        "the shopper's, in Chinese: no note meant for the staff"
    );
    assert_eq!(
        notes("/api/orders/order_noted", shoppers.clone(), "en").await[..3],
        ["partial refund: ¥50.00 of ¥249.00 refunded in total", "order placed", "payment completed"]
    );
    let staff = notes("/api/admin/order?id=order_noted", admin, "en").await;
    assert_eq!(staff[..2], [partial.in_english(), too_much.in_english()], "the staff's typed notes, every one");
    assert_eq!(
        staff[7..],
        [
            "amount mismatch on payment_intent.succeeded: Stripe reports 100 usd, the order is ¥249.00; not marked paid",
            "a newer note"
        ],
        "the staff's: the old text as written, and a kind this version does not know as its English text"
    );
    // The shopper's page says it in their language too.
    let (_, _, body) =
        send(&app, get_with("/order/order_noted", &[("cookie", &shoppers), ("accept-language", "zh-CN")])).await;
    assert!(body.contains("部分退款：累计已退 ¥50.00") && !body.contains("amount mismatch"), "{body}");
}

#[sqlx::test]
async fn admin_pages_redirect_and_admin_functions_refuse_without_a_session(db: PgPool) {
    let app = common::TestApp::new(db).await;
    let (status, headers, _) = send(&app, get("/admin")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/admin/login?next=%2Fadmin");
    let (status, _, _) = send(&app, get("/admin/login")).await;
    assert_eq!(status, StatusCode::OK);

    let (status, _, body) = send(&app, get("/api/admin/overview")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(!body.to_lowercase().contains("sql"), "no internals leak: {body}");

    let forged = Request::get("/api/admin/overview")
        .header(header::COOKIE, "artwall_admin=deadbeef")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, forged).await.0, StatusCode::UNAUTHORIZED);

    // Every admin page and admin server function (orders and jobs have their own tests too).
    for page in [
        "/admin/import",
        "/admin/jobs/00000000-0000-0000-0000-000000000000",
        "/admin/paintings",
        "/admin/paintings/new",
        "/admin/paintings/1",
        "/admin/orders",
    ] {
        let (status, headers, _) = send(&app, get(page)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
        assert!(headers[header::LOCATION].to_str().unwrap().starts_with("/admin/login?next="), "{page}");
    }
    let multipart = "multipart/form-data; boundary=x";
    let empty_form = "--x\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n1\r\n--x--\r\n";
    for (method, uri, content_type, body) in [
        ("GET", "/api/admin/paintings", "", ""),
        ("GET", "/api/admin/painting?id=1", "", ""),
        ("POST", "/api/admin/painting/publish", "application/x-www-form-urlencoded", "id=1&published=false"),
        (
            "POST",
            "/api/admin/painting/edit",
            "application/x-www-form-urlencoded",
            "id=1&title=t&titleEn=&artist=a&artistEn=&year=&style=&tags=&source=&sourceUrl=&license=",
        ),
        ("POST", "/api/admin/painting/image", multipart, empty_form),
        ("POST", "/api/admin/paintings/add", multipart, empty_form),
        ("POST", "/api/admin/jobs/reembed", "", ""),
        ("GET", "/api/admin/jobs", "", ""),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::COOKIE, "artwall_visitor=00000000-0000-4000-8000-000000000000")
            .body(Body::from(body))
            .unwrap();
        let (status, _, answer) = send(&app, request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {answer}");
    }
}

fn login_request(email: &str, password: &str) -> Request<Body> {
    Request::post("/api/admin/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(format!("email={email}&password={password}")))
        .unwrap()
}

#[sqlx::test]
async fn admin_login_session_and_logout(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let hash = auth::hash_password("a long enough password").unwrap();
    auth::upsert_admin(&db, &AdminEmail::parse("ada@example.com").unwrap(), &hash).await.unwrap();

    let (status, _, body) = send(&app, login_request("ada@example.com", "wrong password!")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("邮箱或密码错误"), "{body}");
    let (status, _, _) = send(&app, login_request("nobody@example.com", "a long enough password")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown accounts look the same");

    let (status, headers, body) = send(&app, login_request("ADA@example.com", "a long enough password")).await;
    assert!(status.is_success() || status.is_redirection(), "{status} {body}");
    let cookie = headers.get(header::SET_COOKIE).expect("session cookie").to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();

    let authed = |uri: &str| Request::get(uri).header(header::COOKIE, &session).body(Body::empty()).unwrap();
    let (status, _, body) = send(&app, authed("/api/admin/overview")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let overview: artwall::types::AdminOverview = serde_json::from_str(&body).unwrap();
    assert_eq!(overview.admin_email, "ada@example.com");
    assert!(!overview.model_is_clip, "tests run the stand-in");
    assert_eq!(send(&app, authed("/admin")).await.0, StatusCode::OK);

    let logout = Request::post("/api/admin/logout")
        .header(header::COOKIE, &session)
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .unwrap();
    assert!(send(&app, logout).await.0.is_success());
    assert_eq!(
        send(&app, authed("/api/admin/overview")).await.0,
        StatusCode::UNAUTHORIZED,
        "logout revokes the session server-side"
    );
}

#[sqlx::test]
async fn a_login_link_with_control_characters_in_next_signs_in_to_the_console(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let hash = auth::hash_password("a long enough password").unwrap();
    auth::upsert_admin(&db, &AdminEmail::parse("ada@example.com").unwrap(), &hash).await.unwrap();
    for next in ["/admin%0D%0ASet-Cookie:+x=1", "/admin%09/evil.example"] {
        let request = Request::post("/api/admin/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("email=ada@example.com&password=a+long+enough+password&next={next}")))
            .unwrap();
        let (status, headers, body) = send(&app, request).await;
        assert!(status.is_success() || status.is_redirection(), "{next}: {status} {body}");
        assert_eq!(headers[header::LOCATION], "/admin", "{next}");
    }
}

#[sqlx::test]
async fn the_first_run_prints_a_one_time_admin_password_that_signs_in(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let first_run = |bootstrap: Option<(&str, &str)>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_artwall"));
        command.args(["admin", "first-run"]).env("DATABASE_URL", common::database_url(&db));
        for inherited in
            ["ARTWALL_FIRST_ADMIN_EMAIL", "ARTWALL_PUBLIC_URL", "ARTWALL_ADMIN_EMAIL", "ARTWALL_ADMIN_PASSWORD_HASH"]
        {
            command.env_remove(inherited);
        }
        if let Some((email, hash)) = bootstrap {
            command.env("ARTWALL_ADMIN_EMAIL", email).env("ARTWALL_ADMIN_PASSWORD_HASH", hash);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    // A deployment with a configured bootstrap admin gets no generated one.
    let bootstrap = auth::hash_password("a long enough password").unwrap();
    let printed = first_run(Some(("ops@example.com", &bootstrap)));
    assert!(printed.contains("ops@example.com") && !printed.contains("password:"), "{printed}");
    let (admins,): (i64,) = sqlx::query_as("SELECT count(*) FROM admin_users").fetch_one(&db).await.unwrap();
    assert_eq!(admins, 0, "first-run leaves the bootstrap admin to `serve`");

    let printed = first_run(None);
    let line = |name: &str| printed.lines().find_map(|l| l.trim().strip_prefix(name)).map(|v| v.trim().to_owned());
    assert_eq!(line("email:").as_deref(), Some("admin@artwall.test"), "{printed}");
    let password = line("password:").unwrap_or_else(|| panic!("no password in {printed}"));
    assert!(printed.contains("http://127.0.0.1:3000/admin/login"), "{printed}");
    let (stored,): (String,) = sqlx::query_as("SELECT password_hash FROM admin_users").fetch_one(&db).await.unwrap();
    assert!(stored.starts_with("$argon2id$"), "only the hash is stored: {stored}");
    let (status, headers, body) = send(&app, login_request("admin@artwall.test", &password)).await;
    assert!(status.is_success() || status.is_redirection(), "{status} {body}");
    assert!(
        headers.get_all(header::SET_COOKIE).iter().any(|c| c.to_str().unwrap().starts_with("artwall_admin=")),
        "{headers:?}"
    );

    // Later runs create nobody and print no password.
    let again = first_run(None);
    assert!(again.contains("/admin/login") && !again.contains("password:"), "{again}");
    let (admins,): (i64,) = sqlx::query_as("SELECT count(*) FROM admin_users").fetch_one(&db).await.unwrap();
    assert_eq!(admins, 1);
}

#[sqlx::test]
async fn a_new_password_signs_the_admin_out_everywhere_and_the_same_one_does_not(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let email = AdminEmail::parse("ada@example.com").unwrap();
    let hash = auth::hash_password("a long enough password").unwrap();
    auth::upsert_admin(&db, &email, &hash).await.unwrap();
    let session = |headers: &axum::http::HeaderMap| {
        headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned()
    };
    let overview =
        |cookie: &str| Request::get("/api/admin/overview").header(header::COOKIE, cookie).body(Body::empty()).unwrap();

    let (_, headers, _) = send(&app, login_request("ada@example.com", "a long enough password")).await;
    let cookie = session(&headers);
    // The bootstrap admin's hash is set again at every start: sessions survive that.
    auth::upsert_admin(&db, &email, &hash).await.unwrap();
    assert_eq!(send(&app, overview(&cookie)).await.0, StatusCode::OK);

    auth::upsert_admin(&db, &email, &auth::hash_password("another long password").unwrap()).await.unwrap();
    assert_eq!(
        send(&app, overview(&cookie)).await.0,
        StatusCode::UNAUTHORIZED,
        "a reset password revokes the sessions"
    );
    let (_, headers, _) = send(&app, login_request("ada@example.com", "another long password")).await;
    assert_eq!(send(&app, overview(&session(&headers))).await.0, StatusCode::OK);
}

#[sqlx::test]
async fn health_and_readiness(db: PgPool) {
    let app = common::TestApp::new(db).await;
    assert_eq!(send(&app, get("/healthz")).await.0, StatusCode::OK);
    assert_eq!(send(&app, get("/livez")).await.0, StatusCode::OK);
    let (status, _, body) = send(&app, get("/readyz")).await;
    assert_eq!(status, StatusCode::OK);
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready, serde_json::json!({ "ready": true, "database": true }), "ready or not, and no model id");
}

#[sqlx::test]
async fn browsers_are_told_https_only_when_the_shop_is_public_over_https(db: PgPool) {
    let plain = common::TestApp::new(db.clone()).await;
    assert!(
        send(&plain, get("/healthz")).await.1.get(header::STRICT_TRANSPORT_SECURITY).is_none(),
        "not over plain http"
    );
    let https = common::TestApp::with_config(db, |c| c.public_url = "https://shop.example/".parse().unwrap()).await;
    let (_, headers, _) = send(&https, get("/healthz")).await;
    assert_eq!(headers[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000");
}

/// A site folder as cargo-leptos leaves it: hashed names, and for release builds `.gz`/`.br`
/// copies beside them.
fn built_site(dir: &std::path::Path) -> (Vec<u8>, Vec<u8>) {
    use std::io::Write;
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    // Compressible, like real WASM and JS, and big enough that compression is worth it.
    let wasm: Vec<u8> = (0..200_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
    let js = "export function hydrate() { /* ... */ }\n".repeat(2_000).into_bytes();
    std::fs::write(pkg.join("artwall.wasmHASH.wasm"), &wasm).unwrap();
    std::fs::write(pkg.join("artwall.jsHASH.js"), &js).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&js).unwrap();
    std::fs::write(pkg.join("artwall.jsHASH.js.gz"), gz.finish().unwrap()).unwrap();
    (wasm, js)
}

fn decoded(encoding: Option<&str>, body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    match encoding {
        Some("br") => brotli_decompressor::Decompressor::new(body, 4096).read_to_end(&mut out).unwrap(),
        Some("gzip") => flate2::read::GzDecoder::new(body).read_to_end(&mut out).unwrap(),
        None => return body.to_vec(),
        Some(other) => panic!("unexpected content-encoding {other}"),
    };
    out
}

#[sqlx::test]
async fn built_assets_go_out_compressed_and_immutable_and_pages_are_not_cached(db: PgPool) {
    let app = common::TestApp::new(db).await;
    let site = tempfile::tempdir().unwrap();
    let (wasm, js) = built_site(site.path());
    // No page is rendered through this router: Leptos reads hash.txt beside the binary for pages.
    let options = leptos::prelude::LeptosOptions::builder()
        .output_name("artwall")
        .site_root(site.path().to_str().unwrap())
        .hash_files(true)
        .build();
    let assets_router = artwall::server::startup::router(artwall::server::state::AppState {
        leptos_options: options,
        ..app.state.clone()
    });
    let fetch_from = |router: axum::Router, uri: &str, accept: Option<&str>| {
        let mut request = Request::get(uri);
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT_ENCODING, accept);
        }
        let request = request.body(Body::empty()).unwrap();
        async move {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let response = router.oneshot(request).await.unwrap();
            let (parts, body) = response.into_parts();
            (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
        }
    };
    let fetch = |uri: &str, accept: Option<&str>| fetch_from(assets_router.clone(), uri, accept);
    let encoding =
        |headers: &axum::http::HeaderMap| headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap().to_owned());

    // Compressed on the fly (a debug build has no precompressed copies), brotli preferred.
    let (status, headers, body) = fetch("/pkg/artwall.wasmHASH.wasm", Some("gzip, deflate, br")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(encoding(&headers).as_deref(), Some("br"));
    assert!(body.len() < wasm.len() / 4, "{} of {} bytes", body.len(), wasm.len());
    assert_eq!(decoded(Some("br"), &body), wasm);
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert!(
        headers.get_all(header::VARY).iter().any(|v| v.to_str().unwrap().contains("accept-encoding")),
        "{headers:?}"
    );
    assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
    assert!(headers.get(header::SET_COOKIE).is_none(), "a shared, cached response carries no visitor cookie");

    // The release build's precompressed copy is served as it is.
    let (status, headers, body) = fetch("/pkg/artwall.jsHASH.js", Some("gzip")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(encoding(&headers).as_deref(), Some("gzip"));
    assert_eq!(body, std::fs::read(site.path().join("pkg/artwall.jsHASH.js.gz")).unwrap());
    assert_eq!(decoded(Some("gzip"), &body), js);
    assert!(
        headers.get_all(header::VARY).iter().any(|v| v.to_str().unwrap().contains("accept-encoding")),
        "{headers:?}"
    );
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");

    // A client that accepts no encoding gets the file itself.
    let (_, headers, body) = fetch("/pkg/artwall.jsHASH.js", None).await;
    assert_eq!(encoding(&headers), None);
    assert_eq!(body, js);

    // A missing file is a 404 that nothing caches for a year.
    let (status, headers, _) = fetch("/pkg/artwall.gone.wasm", Some("br")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_ne!(
        headers.get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap()),
        Some("public, max-age=31536000, immutable")
    );

    // Pages are compressed too, and never cached without revalidation.
    let (status, headers, body) = fetch_from(app.router(), "/", Some("br")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-cache");
    assert_eq!(encoding(&headers).as_deref(), Some("br"));
    let vary: Vec<&str> = headers.get_all(header::VARY).iter().map(|v| v.to_str().unwrap()).collect();
    assert!(vary.iter().any(|v| v.contains("accept-language") && v.contains("cookie")), "its language: {vary:?}");
    assert!(String::from_utf8(decoded(Some("br"), &body)).unwrap().contains("为你生活的墙面挑选画作"));
    // Pages with a shopper's own orders are not even kept on disk.
    let (_, headers, _) = fetch_from(app.router(), "/orders", None).await;
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}

#[sqlx::test]
async fn every_page_says_no_card_is_charged_while_payments_are_in_test_mode(db: PgPool) {
    const NOTICE: &str = "测试支付：不会从任何银行卡扣款。";
    let with_key = |key: Option<&'static str>| {
        let db = db.clone();
        async move { common::TestApp::with_config(db, |config| config.stripe_secret_key = key.map(str::to_owned)).await }
    };
    let test_mode = with_key(Some("sk_test_artwall_local")).await;
    for page in ["/", "/onboarding", "/search", "/orders", "/admin/login"] {
        let (status, _, body) = send(&test_mode, get(page)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(body.contains(NOTICE), "{page} has no test-payments notice");
    }
    let (_, _, body) = send(&test_mode, get("/api/shop")).await;
    assert_eq!(body, r#"{"testPayments":true}"#);

    for key in [Some("sk_live_artwall"), None] {
        let app = with_key(key).await;
        let (_, _, body) = send(&app, get("/")).await;
        assert!(body.contains("为你生活的墙面挑选画作") && !body.contains(NOTICE), "{key:?}");
        let (_, _, body) = send(&app, get("/api/shop")).await;
        assert_eq!(body, r#"{"testPayments":false}"#, "{key:?}");
    }
}

#[sqlx::test]
async fn arguments_that_do_not_decode_are_400s_not_500s(db: PgPool) {
    let app = common::TestApp::new(db).await;
    let (status, _, body) = send(&app, get("/api/painting?id=abc")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("无法读取请求"), "Chinese, the shop's default: {body}");
    let (status, _, body) = send(&app, get_with("/api/painting?id=abc", &[("accept-language", "en")])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("the request could not be read"), "{body}");
    let checkout = Request::post("/api/checkout")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from("paintingId=abc&size=30x40&material=paper&frame=none"))
        .unwrap();
    let (status, _, body) = send(&app, checkout).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // A function that runs and fails keeps its own status.
    let (status, _, _) = send(&app, get("/api/painting?id=987654321")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn an_admin_session_ends_when_idle_and_when_the_password_is_reset(db: PgPool) {
    let app = common::TestApp::with_config(db.clone(), |c| c.admin_idle_minutes = 30).await;
    let email = AdminEmail::parse("ada@example.com").unwrap();
    auth::upsert_admin(&db, &email, &auth::hash_password("a long enough password").unwrap()).await.unwrap();
    let sign_in = || async {
        let (_, headers, _) = send(&app, login_request("ada@example.com", "a long enough password")).await;
        headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned()
    };
    let overview = |session: String| {
        let app = &app;
        async move {
            let request =
                Request::get("/api/admin/overview").header(header::COOKIE, session).body(Body::empty()).unwrap();
            send(app, request).await.0
        }
    };

    // Used within the idle time, it lives on (each use starts the wait again); unused, it ends.
    let session = sign_in().await;
    sqlx::query("UPDATE admin_sessions SET last_seen_at = now() - interval '29 minutes'").execute(&db).await.unwrap();
    assert_eq!(overview(session.clone()).await, StatusCode::OK);
    sqlx::query("UPDATE admin_sessions SET last_seen_at = now() - interval '31 minutes'").execute(&db).await.unwrap();
    assert_eq!(overview(session).await, StatusCode::UNAUTHORIZED, "idle for 31 minutes");

    // A new password signs the admin out everywhere; setting the same one again does not.
    let session = sign_in().await;
    let same = sqlx::query_scalar::<_, String>("SELECT password_hash FROM admin_users").fetch_one(&db).await.unwrap();
    auth::upsert_admin(&db, &email, &same).await.unwrap();
    assert_eq!(overview(session.clone()).await, StatusCode::OK);
    auth::upsert_admin(&db, &email, &auth::hash_password("another long password").unwrap()).await.unwrap();
    assert_eq!(overview(session).await, StatusCode::UNAUTHORIZED, "signed out by the reset");
}

/// Every field name in a JSON object, at any depth, with where it was found.
fn json_keys(value: &serde_json::Value, at: &str, keys: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(fields) => {
            for (key, inner) in fields {
                keys.push(format!("{at}: {key}"));
                json_keys(inner, at, keys);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| json_keys(item, at, keys)),
        _ => {}
    }
}

#[sqlx::test]
async fn every_json_answer_names_its_fields_in_camel_case(db: PgPool) {
    let app = with_paintings(db.clone(), 3).await;
    let id: i64 = sqlx::query_scalar("SELECT min(id) FROM paintings").fetch_one(&db).await.unwrap();
    let shopper = uuid::Uuid::new_v4();
    let visitor = common::visitor_cookie(shopper);
    let (admin_user, admin) = common::admin_session(&db).await;
    // An order with a timeline and a job, so that their views are read too.
    common::paid_order(&db, "order_seen", shopper, id).await;
    sqlx::query("INSERT INTO order_events (order_id, from_status, to_status, actor, actor_id, note) VALUES ('order_seen', 'pending', 'paid', 'stripe', NULL, 'paid')")
        .execute(&db)
        .await
        .unwrap();
    let job = artwall::server::catalogue::import_jobs::create_reembed(&db, &admin_user).await.unwrap();
    let shopper_answers = [
        "/api/order?id=order_seen".to_owned(),
        "/api/shop".to_owned(),
        "/api/feed".to_owned(),
        "/api/onboarding".to_owned(),
        format!("/api/painting?id={id}"),
        format!("/api/painting/similar?id={id}"),
        "/api/saved".to_owned(),
        "/api/search?q=blue".to_owned(),
        "/api/room".to_owned(),
        "/api/orders".to_owned(),
        // Errors are answers too.
        "/api/painting?id=abc".to_owned(),
        "/api/painting?id=999999".to_owned(),
        "/api/admin/overview".to_owned(),
    ];
    let admin_answers = [
        "/api/admin/overview".to_owned(),
        "/api/admin/jobs".to_owned(),
        format!("/api/admin/job?id={job}"),
        "/api/admin/paintings".to_owned(),
        "/api/admin/orders".to_owned(),
        "/api/admin/order?id=order_seen".to_owned(),
    ];
    let mut keys = Vec::new();
    let answers =
        shopper_answers.iter().map(|uri| (uri, &visitor)).chain(admin_answers.iter().map(|uri| (uri, &admin)));
    for (uri, cookie) in answers {
        let (status, _, body) =
            send(&app, Request::get(uri).header(header::COOKIE, cookie).body(Body::empty()).unwrap()).await;
        let json: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{uri} answered {status} without JSON ({e}): {body}"));
        json_keys(&json, uri, &mut keys);
    }
    for nested in ["timeline", "actorId", "failures", "etaSeconds", "refundedCents"] {
        assert!(keys.iter().any(|key| key.ends_with(&format!(": {nested}"))), "no {nested} was read: {keys:?}");
    }
    let not_camel: Vec<&String> = keys
        .iter()
        .filter(|key| {
            let name = key.rsplit(": ").next().unwrap();
            name.contains('_') || name.starts_with(|c: char| c.is_ascii_uppercase())
        })
        .collect();
    assert!(not_camel.is_empty(), "fields not in camelCase: {not_camel:?}");
}

/// Log lines written into a buffer the test reads.
#[derive(Clone, Default)]
struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[sqlx::test]
async fn every_request_has_an_id_on_its_answer_and_on_its_log_lines(db: PgPool) {
    use artwall::server::infra::logs::{self, LogFormat};
    let app = common::TestApp::new(db).await;
    let id_of = |headers: &axum::http::HeaderMap| headers["x-request-id"].to_str().unwrap().to_owned();
    let with_id = |uri: &str, id: &str| Request::get(uri).header("x-request-id", id).body(Body::empty()).unwrap();

    let (_, headers, _) = send(&app, get("/livez")).await;
    uuid::Uuid::parse_str(&id_of(&headers)).expect("a request without an id gets a UUID");
    let (_, headers, _) = send(&app, get("/api/feed")).await;
    uuid::Uuid::parse_str(&id_of(&headers)).expect("server functions answer with one too");
    assert_eq!(
        id_of(&send(&app, with_id("/livez", "client-req_1.2")).await.1),
        "client-req_1.2",
        "a sensible id is kept"
    );
    for forged in ["two words", "quote\"", &"x".repeat(65)] {
        let kept = id_of(&send(&app, with_id("/livez", forged)).await.1);
        assert!(uuid::Uuid::parse_str(&kept).is_ok(), "{forged:?} was replaced, not kept: {kept}");
    }

    // A refused webhook logs a warning; in JSON, that line names the request's id and route.
    let captured = CapturedLogs::default();
    let writer = captured.clone();
    let _logging = tracing::subscriber::set_default(logs::subscriber(LogFormat::Json, move || writer.clone()));
    let webhook = Request::post("/api/webhooks/stripe")
        .header("x-request-id", "webhook-42")
        .header("stripe-signature", "t=1,v1=00")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(send(&app, webhook).await.0, StatusCode::BAD_REQUEST);
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let refused = lines
        .iter()
        .find(|line| line["fields"]["message"] == "stripe webhook refused")
        .unwrap_or_else(|| panic!("the refusal was logged: {text}"));
    assert_eq!(refused["level"], "WARN");
    assert_eq!(refused["span"]["id"], "webhook-42", "{refused}");
    assert_eq!(refused["span"]["route"], "/api/webhooks/stripe", "{refused}");
}
