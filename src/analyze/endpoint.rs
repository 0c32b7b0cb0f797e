//! The identity every analysis names an endpoint by. It depends on nothing else in
//! `analyze`, so the inventory, the sequence tracker and the posture checks can all use it
//! without depending on each other.

/// Identity of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointKey {
    /// Normalised host (lower case, default port removed) or `address:port`.
    pub host: String,
    /// Request method as sent.
    pub method: String,
    /// Path template, e.g. `/api/v1/users/{user_id}`.
    pub template: String,
}
