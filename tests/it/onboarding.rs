//! Style onboarding: committed embeddings, the start-up model check, seeding and re-seeding.

use crate::common;

use artwall::server::discovery::onboarding::StyleEmbeddings;
use artwall::server::infra::clip::{cosine, l2_normalised};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use sqlx::PgPool;

const VISITOR: &str = "8a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

fn committed() -> std::path::PathBuf {
    common::repo().join("assets/style_embeddings.json")
}

#[test]
fn the_committed_file_is_what_the_loaded_model_generates() {
    let clip = common::clip();
    let generated = StyleEmbeddings::generate(&clip).unwrap();
    let committed = std::fs::read_to_string(committed()).unwrap();
    assert_eq!(generated.to_json(), committed, "re-running `artwall styles generate` gives the same file");
}

#[test]
fn embeddings_from_another_model_are_refused() {
    let error = StyleEmbeddings::load(&committed(), "clip-vit-b32-real").unwrap_err().to_string();
    assert!(error.contains("was generated with model artwall-standin") && error.contains("styles generate"), "{error}");
    assert!(StyleEmbeddings::load(&committed(), &common::clip().info().id).is_ok());
}

async fn send(app: &common::TestApp, request: Request<Body>) -> (StatusCode, String) {
    let (status, _, body) = app.send_text(request).await;
    (status, body)
}

fn choose(form: &str) -> Request<Body> {
    Request::post("/api/onboarding/choose")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, common::visitor_cookie(VISITOR))
        .body(Body::from(form.to_owned()))
        .unwrap()
}

async fn taste(db: &PgPool) -> (Vec<f32>, Vec<String>) {
    let (taste, codes): (pgvector::Vector, Vec<String>) =
        sqlx::query_as("SELECT taste, last_style_codes FROM user_preferences").fetch_one(db).await.unwrap();
    (taste.to_vec(), codes)
}

#[sqlx::test]
async fn choosing_styles_seeds_the_taste_and_choosing_again_reseeds_it(db: PgPool) {
    let app = common::TestApp::new(db.clone()).await;
    let (status, page) = send(&app, Request::get("/onboarding").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    for name in ["现代简约", "北欧", "日式", "新中式", "法式", "美式", "工业风", "奶油风", "Nordic", "Industrial"]
    {
        assert!(page.contains(name), "{name} on the page");
    }
    assert_eq!(page.matches("type=\"checkbox\"").count(), 8);

    let (status, body) = send(&app, choose("")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("请至少选择一种风格"), "{body}");
    let (status, body) = send(&app, choose("codes[0]=baroque")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Checkbox names are indexed and sparse, as the form posts them.
    let (status, body) = send(&app, choose("codes[1]=nordic&codes[4]=french")).await;
    assert!(status.is_success() || status.is_redirection(), "{status} {body}");
    let styles = &app.state.styles;
    let expected = l2_normalised(
        &styles
            .embedding("nordic")
            .unwrap()
            .iter()
            .zip(styles.embedding("french").unwrap())
            .map(|(a, b)| a + b)
            .collect::<Vec<_>>(),
    );
    let (seeded, codes) = taste(&db).await;
    assert!(cosine(&seeded, &expected) > 0.99999, "the normalised mean of the chosen styles");
    assert_eq!(codes, ["nordic", "french"]);
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM activities WHERE event_type = 'style_select' AND metadata->'styleCodes' ? 'nordic'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(logged, 1);

    let (status, _) = send(&app, choose("codes[6]=industrial")).await;
    assert!(status.is_success() || status.is_redirection());
    let (reseeded, codes) = taste(&db).await;
    assert!(cosine(&reseeded, styles.embedding("industrial").unwrap()) > 0.99999, "replaced, not averaged into");
    assert_eq!(codes, ["industrial"]);
}
