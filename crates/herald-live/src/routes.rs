//! The live routes, under both URL forms like the REST API:
//! `GET .../messaging/<channel>/sse?selector=...` (Server-Sent Events) and
//! `GET .../messaging/ws` (WebSocket). They are full-path resources registered before the REST
//! scopes, so the REST routes with a `{channel}/{subscriptionId}` shape never shadow them.

use actix_web::web;

use crate::connection::LiveState;
use crate::{sse, ws};

/// Adds the live routes, with `state` as their shared state. Called from the `App` factory,
/// which actix runs once per worker thread: each worker gets its own fan-out handle here.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<LiveState>) {
    cfg.app_data(web::Data::new(state.hub.worker_fanout()));
    cfg.app_data(state);
    for prefix in ["/api", "/{app_id}/{api_key}"] {
        cfg.service(
            web::resource(format!("{prefix}/messaging/ws")).route(web::get().to(ws::connect)),
        )
        .service(
            web::resource(format!("{prefix}/messaging/{{channel}}/sse"))
                .route(web::get().to(sse::subscribe)),
        );
    }
}
