//! Legacy polling subscriptions (reference §4.1): `POST .../messaging/<channel>/subscribe` and
//! `GET .../messaging/<channel>/<subscriptionId>`, both needing the subscribe permission on the
//! channel.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpRequest, HttpResponse};
use herald_auth::Operation;
use herald_core::{ApiError, ChannelName, ErrorKind, Selector, SubscriptionId};
use serde_json::Value;

use crate::body::{read_json, EmptyBody};
use crate::state::IngestState;
use herald_http::path::path_param;
use herald_http::AppContext;
use herald_http::HttpError;

pub async fn subscribe(
    req: HttpRequest,
    app: AppContext,
    payload: web::Payload,
    state: web::Data<IngestState>,
) -> Result<HttpResponse, HttpError> {
    let channel = ChannelName::parse(&path_param(&req, "channel"))?;
    app.authorize(Operation::Subscribe, channel.as_str())?;
    let body = read_json(&req, payload, state.body_limit, EmptyBody::AsEmptyObject).await?;
    let Value::Object(body) = body else {
        return Err(ApiError::of(ErrorKind::BodyNotAnObject).into());
    };
    let selector = match body.get("selector") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(text)) => Some(Selector::parse(text).map_err(ApiError::from)?),
        Some(_) => {
            return Err(ApiError::new(ErrorKind::InvalidField, "selector must be a string").into())
        }
    };
    let id = state
        .backends
        .inboxes
        .subscribe(&app.app.id, &channel, selector.as_ref())
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "subscriptionId": id.to_string() })))
}

pub async fn poll(
    req: HttpRequest,
    app: AppContext,
    state: web::Data<IngestState>,
) -> Result<HttpResponse, HttpError> {
    let channel = ChannelName::parse(&path_param(&req, "channel"))?;
    // Asked at every poll, not only at subscribe: a reloaded permission, or a poll with another
    // user's token, decides from the next poll on. Asked before the subscription is looked up, so
    // a refused caller learns nothing of it.
    app.authorize(Operation::Subscribe, channel.as_str())?;
    let unknown = || {
        ApiError::new(
            ErrorKind::UnknownSubscription,
            "the subscription does not exist or has expired: subscribe again",
        )
    };
    let id = SubscriptionId::parse(&path_param(&req, "subscription_id")).ok_or_else(unknown)?;
    let messages = state
        .backends
        .inboxes
        .poll(&app.app.id, &channel, id)
        .await?
        .ok_or_else(unknown)?;
    // The messages are stored already rendered: join them without parsing them again.
    let mut body = String::with_capacity(16 + messages.iter().map(|m| m.len() + 1).sum::<usize>());
    body.push_str("{\"messages\":[");
    body.push_str(&messages.join(","));
    body.push_str("]}");
    Ok(HttpResponse::Ok()
        .insert_header(ContentType::json())
        .body(body))
}
