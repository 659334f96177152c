//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and the
//! types' `ToSchema` derives — the same types the handlers serialise, so it cannot drift.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{decisions, evaluate, outcomes, policy_packs, sessions, system};

/// The document served at `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "cavra",
        description = "The runtime authority for AI coding agents: evaluate actions against policy packs, \
                       record every decision durably, read sessions and decisions back.",
        license(name = "Apache-2.0")
    ),
    paths(
        decisions::create, decisions::list, decisions::get,
        evaluate::evaluate,
        outcomes::record, outcomes::get,
        sessions::list, sessions::get, sessions::put,
        policy_packs::list, policy_packs::get,
        system::health, system::version, system::metrics, system::openapi,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&BearerAuth),
    tags(
        (name = "decisions", description = "Evaluate actions and read decision records"),
        (name = "sessions", description = "Agent sessions and their timelines"),
        (name = "policy packs", description = "Loaded packs and their effective rules"),
        (name = "system", description = "Health, version, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` scheme the paths refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token from `cavra token create --role R`"))
                    .build(),
            ),
        );
    }
}
