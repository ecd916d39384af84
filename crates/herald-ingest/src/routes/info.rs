//! `GET .../info` (what the JS SDK reads at `initApp`) and `GET .../rt/lookup` (what older SDKs
//! and Swift ask for the realtime host).

use actix_web::{web, HttpResponse};
use secrecy::ExposeSecret;

use crate::state::IngestState;
use herald_http::AppContext;

pub async fn info(app: AppContext, state: web::Data<IngestState>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "rtURL": state.realtime_url,
        "appId": app.app.id,
        "apiKey": app.app.client_key().expose_secret(),
    }))
}

pub async fn lookup(_app: AppContext, state: web::Data<IngestState>) -> HttpResponse {
    HttpResponse::Ok().json(&state.realtime_url)
}
