//! The gateway's own routes: health, readiness, metrics, OpenAPI documents and Swagger UI.

use std::sync::Arc;

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use serde_json::json;
use signup_core::{store::Store, Metrics};
use utoipa_swagger_ui::{SwaggerUi, Url};

/// A flavour's OpenAPI document and where it is served (`/openapi/<flavour>.json`).
#[derive(Clone)]
pub(crate) struct OpenApiDoc {
    pub(crate) flavour: &'static str,
    pub(crate) path: &'static str,
    pub(crate) document: utoipa::openapi::OpenApi,
}

#[derive(Clone)]
pub(crate) struct OpsState {
    store: Store,
    metrics: Metrics,
    openapi: Arc<Vec<OpenApiDoc>>,
}

impl OpsState {
    pub(crate) fn new(store: Store, metrics: Metrics, openapi: Vec<OpenApiDoc>) -> Self {
        Self {
            store,
            metrics,
            openapi: Arc::new(openapi),
        }
    }
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig, state: OpsState) {
    let urls: Vec<(Url<'static>, utoipa::openapi::OpenApi)> = state
        .openapi
        .iter()
        .map(|d| (Url::new(d.flavour, d.path), d.document.clone()))
        .collect();
    cfg.app_data(web::Data::new(state))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/docs", web::get().to(docs_redirect))
        .service(SwaggerUi::new("/docs/{_:.*}").urls(urls));
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
        .finish()
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready when the database answers and every migration is applied.
async fn readyz(state: web::Data<OpsState>) -> HttpResponse {
    let database = state.store.ping().await;
    let migrations = match &database {
        Ok(()) => state.store.migrations_applied().await.unwrap_or(false),
        Err(_) => false,
    };
    let ready = database.is_ok() && migrations;
    if let Err(error) = &database {
        tracing::warn!(error = %format!("{error:#}"), "Readiness check: database unreachable");
    }
    HttpResponse::build(if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    })
    .json(json!({
        "status": if ready { "ready" } else { "unavailable" },
        "database": if database.is_ok() { "ok" } else { "unreachable" },
        "migrations": if migrations { "applied" } else { "pending" },
        "backend": state.store.backend().name(),
    }))
}

async fn metrics(state: web::Data<OpsState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

pub(crate) async fn not_found(req: HttpRequest) -> HttpResponse {
    HttpResponse::NotFound().json(json!({ "error": "Not Found", "path": req.path() }))
}
