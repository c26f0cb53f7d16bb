//! The JSON API's OpenAPI 3.1 document (`/api/openapi.json`), rendered by Swagger UI at
//! `/api/docs`. Schemas come from the types the API sends and takes (`ToSchema` on them); the
//! raw axum routes carry their own `#[utoipa::path]`; the server functions, whose handlers leptos
//! generates, are described in `server_functions` below. Every operation then gets the error
//! shape for the refusals it can answer, and admin operations the session cookie they need.
//!
//! `openapi::every_route_is_in_the_document_and_every_documented_route_is_a_route` keeps this and
//! the router in step.

use std::sync::LazyLock;

use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, PartialSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::error::WireError;
use crate::server::http::auth;
use crate::server::state::AppState;

pub const DOCUMENT_PATH: &str = "/api/openapi.json";
pub const DOCS_PATH: &str = "/api/docs";
/// The admin session cookie's name (`http::auth`).
const ADMIN_SESSION: &str = "adminSession";

#[derive(OpenApi)]
#[openapi(
    info(title = "ArtWall", description = "The art-print shop's JSON API. Server functions take a query string (GET) or a \
        form (POST, `application/x-www-form-urlencoded`) and answer JSON; send `Accept: application/json` to a POST so \
        that it answers instead of redirecting a browser. Visitors are a signed cookie (`artwall_visitor`) the first \
        answer sets; a write without one is refused with a 400 that sets it. Errors are `{error, message, field?}`."),
    paths(
        crate::api::discovery::routes::activity_batch, crate::api::discovery::routes::room_photo,
        crate::api::discovery::routes::room_photo_file, crate::api::shop::routes::stripe_webhook,
        crate::api::catalogue::routes::import_upload,
        crate::api::resources::choose_style, crate::api::resources::painting, crate::api::resources::upload,
        crate::api::resources::import_batch, crate::api::resources::import_batch_job, crate::api::resources::order,
        crate::api::resources::order_shipping, crate::server::http::locale::choose_locale,
        server_functions::feed, server_functions::feed_reset, server_functions::onboarding,
        server_functions::onboarding_choose, server_functions::painting, server_functions::painting_similar,
        server_functions::room, server_functions::saved, server_functions::saved_set, server_functions::search,
        server_functions::shop, server_functions::checkout, server_functions::orders, server_functions::order,
        server_functions::order_address,
        server_functions::admin_login, server_functions::admin_logout, server_functions::admin_overview,
        server_functions::admin_job, server_functions::admin_jobs, server_functions::admin_job_retry,
        server_functions::admin_job_resume, server_functions::admin_paintings, server_functions::admin_painting_publish,
        server_functions::admin_paintings_add, server_functions::admin_painting, server_functions::admin_painting_edit,
        server_functions::admin_painting_image, server_functions::admin_jobs_reembed, server_functions::admin_orders,
        server_functions::admin_order, server_functions::admin_order_advance, server_functions::admin_order_refund,
    ),
    components(schemas(WireError)),
    modifiers(&Refusals),
    tags(
        (name = "discovery", description = "The feed, paintings, search, saves, room photos"),
        (name = "shop", description = "Checkout and the visitor's orders"),
        (name = "admin", description = "The admin console's API: every operation needs an admin session"),
        (name = "webhooks", description = "Signed deliveries from Stripe"),
        (name = "language", description = "The language pages are written in"),
    )
)]
pub struct ApiDoc;

/// The error responses every operation can give, and the session admin operations need.
struct Refusals;

impl Modify for Refusals {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            ADMIN_SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::ADMIN_COOKIE))),
        );
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content("application/json", utoipa::openapi::Content::new(Some(WireError::schema())))
                .build()
        };
        for (path, item) in document.paths.paths.iter_mut() {
            let admin = path.starts_with("/api/admin/");
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                let takes_json = matches!(&operation.request_body,
                    Some(RefOr::T(body)) if body.content.contains_key("application/json"));
                let responses = &mut operation.responses.responses;
                // OpenAPI requires every response to say what it is.
                for response in responses.values_mut() {
                    if let RefOr::T(response) = response {
                        if response.description.is_empty() {
                            response.description = "The answer".to_owned();
                        }
                    }
                }
                let mut refuse = |status: &str, description: &str| {
                    responses.entry(status.to_owned()).or_insert_with(|| RefOr::T(error(description)));
                };
                refuse("400", "Bad input (`invalid`, `invalidField` with the field's name), or no visitor cookie yet");
                refuse("413", "The body is larger than this route takes (`tooLarge`)");
                refuse("429", "Too many requests from this visitor or address (`rateLimited`, with `Retry-After`)");
                refuse("500", "Something failed on our side (`internal`); nothing was changed");
                refuse("503", "A service the shop needs is unavailable (`unavailable`, `paymentUnavailable`)");
                if takes_json {
                    refuse("415", "The body is not sent as `application/json`");
                    refuse("422", "The JSON does not have the documented shape");
                }
                if admin && path != "/api/admin/login" {
                    refuse("401", "No admin session, or it ended (`unauthorized`)");
                    operation
                        .security
                        .get_or_insert_with(Vec::new)
                        .push(SecurityRequirement::new(ADMIN_SESSION, Vec::<String>::new()));
                }
            }
        }
    }
}

/// `/api/openapi.json` and the Swagger UI page at `/api/docs`, with a policy that lets that
/// page run its own scripts and styles (files of its own, no inline script) and nothing else.
pub fn routes() -> Router<AppState> {
    const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
        img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; \
        frame-ancestors 'none'";
    static DOCUMENT: LazyLock<Document> = LazyLock::new(ApiDoc::openapi);
    // No validator: Swagger UI would send the document to validator.swagger.io.
    let page = SwaggerUi::new(DOCS_PATH).config(Config::from(DOCUMENT_PATH).validator_url("none"));
    Router::new().route(DOCUMENT_PATH, get(|| async { Json(&*DOCUMENT) })).merge(Router::from(page).layer(
        SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CSP)),
    ))
}

/// A string that is one of `codes` (the wire codes of a closed set).
pub(crate) fn one_of(codes: impl IntoIterator<Item = &'static str>) -> RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(codes))
        .into()
}

/// The form bodies the API takes (server functions' arguments and the raw routes' multipart
/// fields), with the names they have on the wire. Only their schemas are used: the handlers read
/// the forms themselves.
#[allow(dead_code)]
pub(crate) mod forms {
    use utoipa::openapi::schema::{Schema, Type};
    use utoipa::openapi::{ObjectBuilder, RefOr};
    use utoipa::{PartialSchema, ToSchema};

    use crate::events::{EventKind, Source};

    #[derive(ToSchema)]
    pub(crate) struct Empty {}

    #[derive(ToSchema)]
    pub(crate) struct ChooseStyles {
        /// Home style codes, at least one, as a form posts checkboxes: with indexed names
        /// (`codes[0]=nordic&codes[3]=french`), not repeated ones. JSON clients can post
        /// `{"codes": [...]}` to `/api/onboarding/style`.
        pub(crate) codes: Option<Vec<String>>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct SetSaved {
        pub(crate) painting_id: i64,
        pub(crate) saved: bool,
        /// The page the save happened on.
        pub(crate) source: BrowserSource,
    }

    /// A page the browser reports activity from (`events::Source`, those a browser may name).
    pub(crate) struct BrowserSource;

    impl PartialSchema for BrowserSource {
        fn schema() -> RefOr<Schema> {
            super::one_of(Source::ALL.into_iter().filter(|source| source.sent_by_browser()).map(Source::code))
        }
    }

    impl ToSchema for BrowserSource {}

    /// An activity event a browser may send (`events::EventKind`, those a browser may name).
    pub(crate) struct BrowserEventType;

    impl PartialSchema for BrowserEventType {
        fn schema() -> RefOr<Schema> {
            super::one_of(EventKind::ALL.into_iter().filter(|kind| kind.sent_by_browser()).map(EventKind::code))
        }
    }

    impl ToSchema for BrowserEventType {}

    /// A room photo's bytes (image/jpeg).
    pub(crate) struct Jpeg;

    impl PartialSchema for Jpeg {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new().schema_type(Type::String).content_media_type("image/jpeg").into()
        }
    }

    impl ToSchema for Jpeg {}

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct Checkout {
        pub(crate) painting_id: i64,
        pub(crate) size: crate::pricing::PrintSize,
        pub(crate) material: crate::pricing::Material,
        pub(crate) frame: crate::pricing::Frame,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct OrderAddress {
        pub(crate) order_id: String,
        pub(crate) name: String,
        pub(crate) phone: String,
        /// May keep line breaks; no other control characters.
        pub(crate) address: String,
    }

    #[derive(ToSchema)]
    pub(crate) struct Login {
        pub(crate) email: String,
        pub(crate) password: String,
        /// Where to go after signing in (a local path).
        pub(crate) next: Option<String>,
    }

    #[derive(ToSchema)]
    pub(crate) struct JobId {
        pub(crate) id: String,
    }

    #[derive(ToSchema)]
    pub(crate) struct Publish {
        pub(crate) id: i64,
        pub(crate) published: bool,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct PaintingFields {
        pub(crate) id: i64,
        pub(crate) title: String,
        pub(crate) title_en: String,
        pub(crate) artist: String,
        pub(crate) artist_en: String,
        pub(crate) year: String,
        pub(crate) style: String,
        /// Comma-separated.
        pub(crate) tags: String,
        pub(crate) source: String,
        pub(crate) source_url: String,
        pub(crate) license: String,
    }

    /// A new painting: an image file or URL (one is required) and its metadata, checked as the
    /// admin form's (a title and an artist are required).
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct NewPainting {
        /// The image file (JPEG, PNG or WebP); wins over `imageUrl`.
        #[schema(format = Binary, content_media_type = "application/octet-stream")]
        pub(crate) image: Option<String>,
        pub(crate) image_url: Option<String>,
        pub(crate) title: Option<String>,
        pub(crate) title_en: Option<String>,
        pub(crate) artist: Option<String>,
        pub(crate) artist_en: Option<String>,
        pub(crate) year: Option<String>,
        pub(crate) style: Option<String>,
        /// Comma-separated.
        pub(crate) tags: Option<String>,
        pub(crate) source: Option<String>,
        pub(crate) source_url: Option<String>,
        pub(crate) license: Option<String>,
    }

    /// A painting's new image: a file or a URL (one is required).
    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct NewImage {
        pub(crate) id: i64,
        #[schema(format = Binary, content_media_type = "application/octet-stream")]
        pub(crate) image: Option<String>,
        pub(crate) image_url: Option<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct Advance {
        pub(crate) order_id: String,
        /// The status to move to (one the order's status allows).
        pub(crate) to: crate::order_status::OrderStatus,
        pub(crate) tracking: Option<String>,
    }

    #[derive(ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct Refund {
        pub(crate) order_id: String,
        /// Empty for the whole remaining amount.
        pub(crate) amount_cents: Option<String>,
    }

    #[derive(ToSchema)]
    pub(crate) struct PhotoUpload {
        /// The photo (JPEG, PNG or WebP).
        #[schema(format = Binary, content_media_type = "application/octet-stream")]
        pub(crate) photo: String,
        /// A local page to go back to (browser forms).
        pub(crate) next: Option<String>,
    }

    #[derive(ToSchema)]
    pub(crate) struct ImportUpload {
        /// Pasted CSV (the demo catalogue's columns) or JSON (`{"paintings": [...]}`).
        pub(crate) paintings: Option<String>,
        /// The same as an uploaded `.csv` or `.json` file.
        #[schema(format = Binary, content_media_type = "application/octet-stream")]
        pub(crate) file: Option<String>,
    }
}

/// The server functions (`src/api/`), one description each: leptos generates their handlers, so
/// these functions exist only to carry them (utoipa describes functions).
#[allow(dead_code)]
mod server_functions {
    use super::forms::*;
    use crate::types::*;

    const FORM: &str = "application/x-www-form-urlencoded";

    /// A page of the visitor's feed: their nearest unseen paintings and some exploration.
    #[utoipa::path(get, path = "/api/feed", tag = "discovery",
        params(("cursor" = Option<String>, Query, description = "`nextCursor` of the page before"),
               ("limit" = Option<i64>, Query, description = "1 to 48; 12 by default")),
        responses((status = 200, body = FeedPage)))]
    fn feed() {}

    /// Forgets what the feed has shown, so that it starts over (the taste stays).
    #[utoipa::path(post, path = "/api/feed/reset", tag = "discovery", request_body(content = inline(Empty), content_type = FORM),
        responses((status = 200, body = ())))]
    fn feed_reset() {}

    /// The home styles to choose from, and the visitor's last choice.
    #[utoipa::path(get, path = "/api/onboarding", tag = "discovery", responses((status = 200, body = Onboarding)))]
    fn onboarding() {}

    /// Seeds the visitor's taste from the chosen home styles (at least one).
    #[utoipa::path(post, path = "/api/onboarding/choose", tag = "discovery",
        request_body(content = inline(ChooseStyles), content_type = FORM), responses((status = 200, body = ())))]
    fn onboarding_choose() {}

    /// One painting with its print options.
    #[utoipa::path(get, path = "/api/painting", tag = "discovery", params(("id" = i64, Query)),
        responses((status = 200, body = PaintingDetail), (status = 404, body = crate::error::WireError)))]
    fn painting() {}

    /// Paintings most like this one, nearest first.
    #[utoipa::path(get, path = "/api/painting/similar", tag = "discovery", params(("id" = i64, Query)),
        responses((status = 200, body = Vec<ScoredCard>), (status = 404, body = crate::error::WireError)))]
    fn painting_similar() {}

    /// The visitor's room photo, if any, for "see it on your wall".
    #[utoipa::path(get, path = "/api/room", tag = "discovery", responses((status = 200, body = RoomState)))]
    fn room() {}

    /// The visitor's saved paintings, newest first.
    #[utoipa::path(get, path = "/api/saved", tag = "discovery", responses((status = 200, body = SavedList)))]
    fn saved() {}

    /// Saves or unsaves a painting; answers the new state.
    #[utoipa::path(post, path = "/api/saved/set", tag = "discovery",
        request_body(content = inline(SetSaved), content_type = FORM),
        responses((status = 200, body = bool), (status = 404, body = crate::error::WireError)))]
    fn saved_set() {}

    /// Paintings matching a text, by meaning (the model's text embedding).
    #[utoipa::path(get, path = "/api/search", tag = "discovery", params(("q" = String, Query)),
        responses((status = 200, body = SearchResults)))]
    fn search() {}

    /// Whether payments are test payments.
    #[utoipa::path(get, path = "/api/shop", tag = "shop", responses((status = 200, body = ShopInfo)))]
    fn shop() {}

    /// Prices the print, opens (or reuses) the order and answers the Stripe Checkout URL.
    #[utoipa::path(post, path = "/api/checkout", tag = "shop", request_body(content = inline(Checkout), content_type = FORM),
        responses((status = 200, body = String, content_type = "application/json", description = "The Checkout page's URL"),
                  (status = 404, body = crate::error::WireError)))]
    fn checkout() {}

    /// The visitor's orders, newest first.
    #[utoipa::path(get, path = "/api/orders", tag = "shop", responses((status = 200, body = Vec<OrderView>)))]
    fn orders() {}

    /// One of the visitor's orders with its timeline (anyone else's is "not found").
    #[utoipa::path(get, path = "/api/order", tag = "shop", params(("id" = String, Query)),
        responses((status = 200, body = OrderView), (status = 404, body = crate::error::WireError)))]
    fn order() {}

    /// Changes where an order ships, while it is not yet shipped.
    #[utoipa::path(post, path = "/api/order/address", tag = "shop",
        request_body(content = inline(OrderAddress), content_type = FORM),
        responses((status = 200, body = ()), (status = 404, body = crate::error::WireError)))]
    fn order_address() {}

    /// Signs an admin in (sets the session cookie).
    #[utoipa::path(post, path = "/api/admin/login", tag = "admin", request_body(content = inline(Login), content_type = FORM),
        responses((status = 200, body = ())))]
    fn admin_login() {}

    /// Signs the admin out.
    #[utoipa::path(post, path = "/api/admin/logout", tag = "admin", request_body(content = inline(Empty), content_type = FORM),
        responses((status = 200, body = ())))]
    fn admin_logout() {}

    /// The dashboard's figures and the model in use.
    #[utoipa::path(get, path = "/api/admin/overview", tag = "admin", responses((status = 200, body = AdminOverview)))]
    fn admin_overview() {}

    /// One job with its failures.
    #[utoipa::path(get, path = "/api/admin/job", tag = "admin", params(("id" = String, Query)),
        responses((status = 200, body = JobView), (status = 404, body = crate::error::WireError)))]
    fn admin_job() {}

    /// The latest jobs.
    #[utoipa::path(get, path = "/api/admin/jobs", tag = "admin", responses((status = 200, body = Vec<JobView>)))]
    fn admin_jobs() {}

    /// Queues a job's failed items again; answers how many.
    #[utoipa::path(post, path = "/api/admin/job/retry", tag = "admin", request_body(content = inline(JobId), content_type = FORM),
        responses((status = 200, body = i64), (status = 404, body = crate::error::WireError, description = "No such job, order or painting")))]
    fn admin_job_retry() {}

    /// Resumes an interrupted job.
    #[utoipa::path(post, path = "/api/admin/job/resume", tag = "admin", request_body(content = inline(JobId), content_type = FORM),
        responses((status = 200, body = ()), (status = 404, body = crate::error::WireError, description = "No such job, order or painting")))]
    fn admin_job_resume() {}

    /// The catalogue, searched and paged.
    #[utoipa::path(get, path = "/api/admin/paintings", tag = "admin",
        params(("query" = Option<String>, Query), ("page" = Option<i64>, Query)),
        responses((status = 200, body = AdminPaintings)))]
    fn admin_paintings() {}

    /// Publishes or withdraws a painting.
    #[utoipa::path(post, path = "/api/admin/painting/publish", tag = "admin",
        request_body(content = inline(Publish), content_type = FORM), responses((status = 200, body = ()), (status = 404, body = crate::error::WireError, description = "No such job, order or painting")))]
    fn admin_painting_publish() {}

    /// Adds one painting from an uploaded image (embedded at once).
    #[utoipa::path(post, path = "/api/admin/paintings/add", tag = "admin",
        request_body(content = inline(NewPainting), content_type = "multipart/form-data"),
        responses((status = 200, body = AddedPainting)))]
    fn admin_paintings_add() {}

    /// One painting's edit form.
    #[utoipa::path(get, path = "/api/admin/painting", tag = "admin", params(("id" = i64, Query)),
        responses((status = 200, body = PaintingEdit), (status = 404, body = crate::error::WireError)))]
    fn admin_painting() {}

    /// Saves a painting's fields.
    #[utoipa::path(post, path = "/api/admin/painting/edit", tag = "admin",
        request_body(content = inline(PaintingFields), content_type = FORM), responses((status = 200, body = ()), (status = 404, body = crate::error::WireError, description = "No such job, order or painting")))]
    fn admin_painting_edit() {}

    /// Replaces a painting's image (and its embedding).
    #[utoipa::path(post, path = "/api/admin/painting/image", tag = "admin",
        request_body(content = inline(NewImage), content_type = "multipart/form-data"),
        responses((status = 200, body = PaintingEdit), (status = 404, body = crate::error::WireError, description = "No such job, order or painting")))]
    fn admin_painting_image() {}

    /// Queues a job that embeds every painting again with the current model; answers its id.
    #[utoipa::path(post, path = "/api/admin/jobs/reembed", tag = "admin", request_body(content = inline(Empty), content_type = FORM),
        responses((status = 200, body = String, content_type = "application/json", description = "The job's id")))]
    fn admin_jobs_reembed() {}

    /// Orders, by status.
    #[utoipa::path(get, path = "/api/admin/orders", tag = "admin",
        params(("status" = Option<crate::order_status::OrderStatus>, Query)),
        responses((status = 200, body = AdminOrders)))]
    fn admin_orders() {}

    /// One order with its timeline.
    #[utoipa::path(get, path = "/api/admin/order", tag = "admin", params(("id" = String, Query)),
        responses((status = 200, body = OrderView), (status = 404, body = crate::error::WireError)))]
    fn admin_order() {}

    /// Moves an order on (processing, shipped with a tracking number, delivered, completed).
    #[utoipa::path(post, path = "/api/admin/order/advance", tag = "admin",
        request_body(content = inline(Advance), content_type = FORM), responses((status = 200, body = ()), (status = 404, body = crate::error::WireError, description = "No such job, order or painting")))]
    fn admin_order_advance() {}

    /// Refunds an order through Stripe, in whole or in part; answers the amount refunded.
    #[utoipa::path(post, path = "/api/admin/order/refund", tag = "admin",
        request_body(content = inline(Refund), content_type = FORM), responses((status = 200, body = i64), (status = 404, body = crate::error::WireError, description = "No such job, order or painting")))]
    fn admin_order_refund() {}
}
