//! The OpenAPI document: every route under /api is in it and everything in it is a route, with
//! exactly the methods it takes; the docs page renders it under a policy of its own.

use crate::common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// The router's paths under /api (its Debug output names every one), less the docs' own.
fn routes_under_api(router: &axum::Router) -> BTreeSet<String> {
    let described = format!("{router:?}");
    let docs = ["/api/docs", "/api/docs/", "/api/docs/{*rest}", "/api/openapi.json"];
    described
        .split('"')
        .filter(|piece| piece.starts_with("/api/") && !docs.contains(piece))
        .map(str::to_owned)
        .collect()
}

#[sqlx::test]
async fn every_route_is_in_the_document_and_every_documented_route_is_a_route(db: PgPool) {
    let app = common::TestApp::new(db).await;
    let (status, _, body) = app.send_text(get("/api/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    let document: Value = serde_json::from_str(&body).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"), "{}", document["openapi"]);
    let paths = document["paths"].as_object().unwrap();
    let documented: BTreeSet<String> = paths.keys().cloned().collect();
    let routes = routes_under_api(&app.router());
    assert!(routes.len() > 30, "the router's paths were read: {routes:?}");
    let undocumented: Vec<&String> = routes.difference(&documented).collect();
    let not_routes: Vec<&String> = documented.difference(&routes).collect();
    assert!(undocumented.is_empty(), "routes the document does not describe: {undocumented:?}");
    assert!(not_routes.is_empty(), "documented paths that are not routes: {not_routes:?}");

    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        let method = method.as_str().to_lowercase();
        assert!(paths[path].get(&method).is_some(), "{path} is documented without its method {method}");
    }
    // Each path takes exactly its documented methods: the others are 405.
    let cookie = common::visitor_cookie(uuid::Uuid::new_v4());
    for (path, item) in paths {
        let uri: String =
            path.split('/').map(|part| if part.starts_with('{') { "0" } else { part }).collect::<Vec<_>>().join("/");
        for method in ["GET", "POST"] {
            let request = Request::builder().method(method).uri(&uri).header(header::COOKIE, &cookie);
            let (status, _, _) = app.send(request.body(Body::empty()).unwrap()).await;
            let documented = item.get(method.to_lowercase()).is_some();
            assert_eq!(status == StatusCode::METHOD_NOT_ALLOWED, !documented, "{method} {uri} answered {status}");
        }
    }
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.keys().any(|status| status.starts_with('2')), "{method} {path} has no success");
            assert!(
                responses.values().all(|r| r["description"].is_string()),
                "{method} {path}: a response says nothing"
            );
            let refusal = &responses["400"]["content"]["application/json"]["schema"];
            assert_eq!(refusal["required"], serde_json::json!(["error", "message"]), "{method} {path}: {refusal}");
            let admin = path.starts_with("/api/admin/") && path != "/api/admin/login";
            assert_eq!(operation.get("security").is_some(), admin, "{method} {path}: a session exactly when admin");
            assert_eq!(responses.contains_key("401"), admin, "{method} {path}");
        }
    }
}

#[sqlx::test]
async fn the_docs_page_renders_the_document_with_scripts_of_its_own(db: PgPool) {
    let app = common::TestApp::new(db).await;
    let (status, headers, page) = app.send_text(get("/api/docs/")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-eval"), "{policy}");
    assert!(page.contains("swagger-ui-bundle.js") && !page.contains("<script>"), "{page}");
    let (status, headers, _) = app.send_text(get("/api/docs/swagger-ui-bundle.js")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().contains("javascript"));
    let (_, _, initializer) = app.send_text(get("/api/docs/swagger-initializer.js")).await;
    assert!(initializer.contains("/api/openapi.json"), "{initializer}");
}
