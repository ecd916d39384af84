//! The live routes, under both URL forms like the REST API:
//! `GET .../messaging/<channel>/sse?selector=...` (Server-Sent Events) and
//! `GET .../messaging/ws` (WebSocket). They are full-path resources registered before the REST
//! scopes, so the REST routes with a `{channel}/{subscriptionId}` shape never shadow them.

use actix_web::{web, HttpRequest};
use herald_core::{ApiError, ErrorKind, Selector};
use std::sync::Arc;
use std::time::Duration;

use crate::hub::{Hub, SubscribeError};
use crate::sink::SinkShared;
use crate::{sse, ws};

/// What the live handlers share.
pub struct LiveState {
    pub hub: Arc<Hub>,
    pub keep_alive: Duration,
}

/// Adds the live routes, with `state` as their shared state.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<LiveState>) {
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

/// The selector a client passed, if any: blank means none.
pub(crate) fn parse_selector(text: Option<&str>) -> Result<Option<Selector>, ApiError> {
    match text {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => Ok(Some(Selector::parse(text)?)),
    }
}

/// The query parameter `name`, percent-decoded; a query that does not decode is the client's
/// mistake.
pub(crate) fn query_param(req: &HttpRequest, name: &str) -> Result<Option<String>, ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|_| ApiError::new(ErrorKind::InvalidField, "the query string does not decode"))?;
    Ok(pairs
        .into_inner()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v))
}

impl From<SubscribeError> for ApiError {
    fn from(err: SubscribeError) -> Self {
        match err {
            SubscribeError::DuplicateId => ApiError::new(
                ErrorKind::InvalidField,
                "a subscription with this id is open on the connection",
            ),
            SubscribeError::Closed => ApiError::of(ErrorKind::Internal),
            SubscribeError::Unavailable(err) => {
                tracing::warn!(error = %err, "cannot bind a channel on the live bus");
                ApiError::of(ErrorKind::QueueUnavailable)
            }
        }
    }
}

/// Ends a connection's subscriptions when its transport lets go of it, however it ends.
pub(crate) struct Connection {
    pub hub: Arc<Hub>,
    pub sink: Arc<SinkShared>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        let (hub, sink) = (self.hub.clone(), self.sink.clone());
        tokio::spawn(async move { hub.disconnect(&sink).await });
    }
}
