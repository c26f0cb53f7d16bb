//! The dashboard's figures from known data, and the dashboard endpoint behind the admin guard.

use crate::common;

use artwall::order_status::OrderStatus;
use artwall::server::admin::dashboard;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use sqlx::PgPool;
use uuid::Uuid;

async fn seed(app: &common::TestApp) -> Vec<i64> {
    app.import_demo(3).await;
    sqlx::query_scalar("SELECT id FROM paintings ORDER BY id").fetch_all(&app.state.db).await.unwrap()
}

#[sqlx::test]
async fn every_figure_counts_what_is_there(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let ids = seed(&app).await;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let run = |sql: &'static str| {
        let db = db.clone();
        let ids = ids.clone();
        async move { sqlx::query(sql).bind(&ids).bind(a).bind(b).execute(&db).await.unwrap() }
    };
    // Orders: two paid today (one partly refunded), one paid 40 days ago, one expired.
    run("INSERT INTO orders (id, visitor_id, painting_id, size, material, frame, amount_cents, status, expires_at, paid_at, refunded_cents, created_at) VALUES
         ('order_a', $2, $1[1], '50x60', 'paper', 'none', 24900, 'paid', now(), now(), 0, now()),
         ('order_b', $2, $1[2], '50x60', 'paper', 'none', 24900, 'shipped', now(), now(), 5000, now()),
         ('order_c', $3, $1[1], '50x60', 'paper', 'none', 24900, 'completed', now(), now() - interval '40 days', 0, now() - interval '40 days'),
         ('order_d', $3, $1[3], '50x60', 'paper', 'none', 24900, 'expired', now(), NULL, 0, now())").await;
    // Activity: this week 10 impressions, 2 clicks, 1 save, 1 hide, 1 purchase; older ones not counted;
    // three events still waiting for the worker.
    run("INSERT INTO activities (visitor_id, painting_id, event_type, processed, created_at)
         SELECT $2, $1[1], t, true, now() - interval '1 day'
         FROM unnest(array_fill('impression'::text, ARRAY[10]) || ARRAY['click', 'click', 'save', 'hide', 'purchase']) AS t").await;
    run("INSERT INTO activities (visitor_id, painting_id, event_type, processed, created_at) SELECT $2, $1[1], 'impression', true, now() - interval '10 days' FROM generate_series(1, 5)").await;
    run("INSERT INTO activities (visitor_id, painting_id, event_type, processed, created_at) SELECT $3, $1[2], 'view', false, now() - interval '90 seconds' FROM generate_series(1, 3)").await;
    run("INSERT INTO saved_paintings (visitor_id, painting_id) VALUES ($2, $1[2]), ($3, $1[2]), ($2, $1[1])").await;
    run("INSERT INTO hidden_paintings (visitor_id, painting_id) VALUES ($3, $1[3])").await;
    run("INSERT INTO user_preferences (visitor_id, taste) SELECT $2, embedding FROM paintings WHERE id = $1[1]").await;
    run("INSERT INTO user_preferences (visitor_id) VALUES ($3)").await;
    run("INSERT INTO worker_heartbeats (worker, last_run) VALUES ('taste-1', now())").await;

    let figures = dashboard::figures(&db, &jiff::tz::TimeZone::UTC).await.unwrap();
    assert_eq!(figures.orders_by_day.len(), 30);
    let today = figures.orders_by_day.last().unwrap();
    assert_eq!((today.orders, today.revenue_cents), (2, 24900 + 19900));
    assert_eq!(
        figures.orders_by_day.iter().map(|d| d.orders).sum::<i64>(),
        2,
        "the order paid 40 days ago is outside the chart"
    );
    let count = |s: OrderStatus| figures.status_counts.iter().find(|(status, _)| *status == s).unwrap().1;
    assert_eq!(
        (
            count(OrderStatus::Paid),
            count(OrderStatus::Shipped),
            count(OrderStatus::Expired),
            count(OrderStatus::Pending)
        ),
        (1, 1, 1, 0)
    );
    let f = &figures.funnel;
    assert_eq!((f.impressions, f.clicks, f.saves, f.hides, f.purchases), (10, 2, 1, 1, 1));
    assert_eq!((f.save_rate(), f.hide_rate()), (Some(0.1), Some(0.1)));
    assert_eq!(figures.top_saved.iter().map(|p| (p.id, p.count)).collect::<Vec<_>>(), [(ids[1], 2), (ids[0], 1)]);
    assert_eq!(figures.top_hidden.iter().map(|p| (p.id, p.count)).collect::<Vec<_>>(), [(ids[2], 1)]);
    // Titles in the reader's language.
    sqlx::query("UPDATE paintings SET title = '睡莲', title_en = 'Water Lilies' WHERE id = $1")
        .bind(ids[1])
        .execute(&db)
        .await
        .unwrap();
    let (_, cookie) = common::admin_session(&db).await;
    for (language, title) in [("zh-CN", "睡莲"), ("en", "Water Lilies")] {
        let request = Request::get("/api/admin/overview")
            .header(header::COOKIE, &cookie)
            .header(header::ACCEPT_LANGUAGE, language)
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = app.send_text(request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let overview: artwall::types::AdminOverview = serde_json::from_str(&body).unwrap();
        assert_eq!(overview.figures.top_saved[0].title, title, "{language}");
    }
    assert_eq!(figures.visitors_with_taste, 1);
    assert_eq!(figures.backlog, 3);
    assert!((85..=120).contains(&figures.backlog_oldest_seconds.unwrap()), "{:?}", figures.backlog_oldest_seconds);
    assert!(figures.worker_last_run.is_some());
}

#[sqlx::test]
async fn orders_count_on_the_day_they_were_paid_where_the_admin_lives(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let ids = seed(&app).await;
    // 25 hours apart: the moment falls on a different date in each, whenever the test runs.
    let paid = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(30);
    sqlx::query("INSERT INTO orders (id, visitor_id, painting_id, size, material, frame, amount_cents, status, expires_at, paid_at) VALUES ('order_z', $1, $2, '50x60', 'paper', 'none', 24900, 'paid', now(), to_timestamp($3))")
        .bind(Uuid::new_v4())
        .bind(ids[0])
        .bind(paid.as_second())
        .execute(&db)
        .await
        .unwrap();
    for zone in ["Pacific/Kiritimati", "Pacific/Pago_Pago"] {
        let zone = jiff::tz::TimeZone::get(zone).unwrap();
        let today = || jiff::Timestamp::now().to_zoned(zone.clone()).date().to_string();
        let before = today();
        let figures = dashboard::figures(&db, &zone).await.unwrap();
        let days: Vec<&str> = figures.orders_by_day.iter().map(|d| d.day.as_str()).collect();
        assert_eq!(days.len(), 30);
        assert!([before, today()].contains(&days[29].to_owned()), "ends today where the admin is: {days:?}");
        let paid_on = paid.to_zoned(zone.clone()).date().to_string();
        let counted: Vec<(&str, i64)> =
            figures.orders_by_day.iter().filter(|d| d.orders > 0).map(|d| (d.day.as_str(), d.orders)).collect();
        assert_eq!(counted, [(paid_on.as_str(), 1)], "{zone:?}");
    }
}

#[sqlx::test]
async fn the_dashboard_needs_an_admin_and_shows_the_figures(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let (status, _, _) = app.send(Request::get("/api/admin/overview").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, cookie) = common::admin_session(&db).await;
    let (status, _, body) = app
        .send_text(Request::get("/api/admin/overview").header(header::COOKIE, &cookie).body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let overview: artwall::types::AdminOverview = serde_json::from_str(&body).unwrap();
    assert_eq!((overview.catalogue_size, overview.figures.backlog, overview.figures.orders_by_day.len()), (0, 0, 30));
    // The page itself renders the chart and the funnel on the server.
    let (status, _, html) =
        app.send_text(Request::get("/admin").header(header::COOKIE, &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("<rect").count(), 30, "one bar a day");
    assert!(html.contains("信息流健康度") && html.contains("已有品味的访客"), "in the page's language (Chinese)");
}
