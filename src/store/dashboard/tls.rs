//! The TLS pages' one read beyond [`Store::tls_services`] and [`Store::tls_clients`]: which HTTP
//! hosts of the inventory are the same host name as an encrypted service, so a TLS service
//! links to that host's endpoints.

use super::Dashboard;
use super::{Count, counts};
use crate::store::StoreError;

impl Dashboard {
    /// The hosts of HTTP endpoints named `host` (a TLS service's host: an SNI, lower case, or a
    /// server address), with or without a port (`api.example.com`, `api.example.com:8443`,
    /// `[::1]:8080`), and how many endpoints each has; at most 20.
    pub async fn dashboard_tls_http_hosts(&self, host: &str) -> Result<Vec<Count>, StoreError> {
        Ok(counts(
            &self
                .db
                .query(
                    "SELECT host, COUNT(*) FROM endpoints
                 WHERE lower(host) = ?1 OR lower(host) = '[' || ?1 || ']'
                    OR substr(lower(host), 1, length(?1) + 1) = ?1 || ':'
                    OR substr(lower(host), 1, length(?1) + 3) = '[' || ?1 || ']:'
                 GROUP BY host ORDER BY host LIMIT 20",
                )
                .bind(host.to_lowercase())
                .fetch_all()
                .await?,
        ))
    }
}
