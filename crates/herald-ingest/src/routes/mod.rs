//! The REST routes, served under both URL forms of reference §1.1: `/<app-id>/<api-key>/...`
//! and `/api/...`. The `/api` scope is registered first, so `/api/messaging/...` is never read as
//! app `api` with key `messaging`.

mod info;
mod polling;
mod publish;
mod publisher_id;
mod recording;
mod status;

use actix_web::middleware::from_fn;
use actix_web::web;

use crate::state::IngestState;
use herald_http::http_error::{method_not_allowed, route_not_found};

/// Adds every REST route, with `state` as their shared state.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<IngestState>) {
    cfg.app_data(state)
        .service(messaging_scope("/api"))
        .service(messaging_scope("/{app_id}/{api_key}"));
}

fn messaging_scope(
    prefix: &str,
) -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let resource =
        |path: &str| web::resource(path.to_string()).default_service(web::to(method_not_allowed));
    web::scope(prefix)
        .wrap(from_fn(recording::record))
        .service(resource("/info").route(web::get().to(info::info)))
        .service(resource("/rt/lookup").route(web::get().to(info::lookup)))
        .service(resource("/messaging").route(web::post().to(publish::empty_channel)))
        .service(resource("/messaging/").route(web::post().to(publish::empty_channel)))
        .service(
            resource("/messaging/{channel}")
                .route(web::post().to(publish::publish))
                .route(web::get().to(status::status))
                .route(web::delete().to(status::cancel)),
        )
        .service(
            resource("/messaging/{channel}/subscribe").route(web::post().to(polling::subscribe)),
        )
        .service(
            resource("/messaging/{channel}/{subscription_id}")
                .route(web::get().to(polling::poll))
                .route(web::post().to(publish::channel_with_slash)),
        )
        .service(
            web::resource("/messaging/{channel}/{rest:.*}")
                .route(web::post().to(publish::channel_with_slash))
                .default_service(web::to(route_not_found)),
        )
        .default_service(web::to(route_not_found))
}
