//! Plain words for each finding kind: a title, what it means, and what to do about it.

/// Words about one finding kind.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Explanation {
    /// A short title.
    pub title: &'static str,
    /// What it means, for someone who is not an API security specialist.
    pub meaning: &'static str,
    /// What to do.
    pub action: &'static str,
}

/// The explanation of a kind; a generic one for kinds this build does not know.
pub fn explain(kind: &str) -> Explanation {
    let (title, meaning, action) = match kind {
        "jwt_alg_none_accepted" => (
            "Unsigned tokens accepted",
            "The endpoint answered with success to a JSON Web Token whose algorithm is `none`, i.e. a token without a signature. Anyone can write such a token with any user id or role in it.",
            "Reject tokens whose algorithm is not on an explicit allow-list (e.g. only RS256 or HS256) before reading their claims.",
        ),
        "jwt_weak_secret" => (
            "Token signing secret is guessable",
            "A JSON Web Token seen on the wire is signed with a secret found in a list of common secrets. Whoever guesses it can sign tokens of their own.",
            "Rotate the signing key to a long random secret (or an asymmetric key) and invalidate the tokens issued with the old one.",
        ),
        "unauthenticated_sensitive_data" => (
            "Personal or secret data served without credentials",
            "A request that carried no credentials at all got a successful response containing sensitive data (emails, phone numbers, tokens, keys ...).",
            "Require authentication on this endpoint, or remove the sensitive fields from what it returns to anonymous callers.",
        ),
        "jwt_expired_accepted" => (
            "Expired tokens accepted",
            "The endpoint answered with success to a JSON Web Token whose `exp` time had passed. Stolen or leaked tokens keep working after they should have died.",
            "Check the `exp` claim (with a small clock skew) on every request.",
        ),
        "credentials_in_url" => (
            "Credentials in the URL",
            "An API key, password or token travels in the query string, or a user name and password in the URL's user information (`user:password@host`). URLs are written to web server and proxy logs, browser history and `Referer` headers, where the credential leaks.",
            "Move the credential into a header (e.g. `Authorization` or `X-API-Key`) and rotate the keys that were sent this way.",
        ),
        "unauthenticated_endpoint" => (
            "Endpoint works without credentials",
            "Requests without any credentials were answered with success on an endpoint that the spec or its neighbours say should be protected.",
            "Add authentication to the endpoint, or document it as public if that is intended.",
        ),
        "auth_inconsistent" => (
            "Inconsistent authentication",
            "The same endpoint accepted requests with different authentication styles, or both with and without credentials. One of the paths is probably weaker than intended.",
            "Decide which scheme the endpoint requires and reject the others.",
        ),
        "cors_wildcard_credentials" => (
            "CORS open to any site with credentials",
            "Responses allow any origin (or reflect the caller's origin) while allowing credentials, so any web page a user visits can call the API as that user.",
            "Allow only known origins in `Access-Control-Allow-Origin` when credentials are allowed.",
        ),
        "sensitive_data_in_url" => (
            "Sensitive data in the URL",
            "Personal data (emails, phone numbers, card numbers ...) travels in the path or query string, which ends up in logs and browser history.",
            "Send such values in the request body of a POST instead.",
        ),
        "shadow_api" => (
            "Shadow API",
            "The endpoint is served and used but is not in the imported API description. Nobody reviews, documents or tests what is not known to exist.",
            "Document it in the spec (and review it), or remove it from the server.",
        ),
        "uncovered_host" => (
            "Host no API description covers",
            "The host serves endpoints, but the servers of the imported API descriptions name other hosts. Its endpoints are not judged against those descriptions (they would all look like shadow APIs); they are listed as not covered.",
            "Import this host's API description, or map the host to a described server (`--map-host OBSERVED=SERVER` or `[spec.hosts]`) if it is the same API under an internal name.",
        ),
        "undeclared_route" => (
            "Served, declared in no scanned code",
            "The endpoint answers on a host whose source code was scanned, but no route in that code declares it. Something else serves it: a gateway or proxy rule, a rewrite, another service. It is a shadow API in the strict sense: whoever reviews the code never sees it.",
            "Find what answers it (the gateway's or proxy's configuration), and either move it into reviewed code or switch it off.",
        ),
        "unobserved_route" => (
            "Declared in code, never observed",
            "A route of the scanned code that no traffic, log or HAR file has shown. It is dead or unexposed code, or a route nobody has called yet; either way it is attack surface that no monitoring covers.",
            "Remove the route if it is dead; if it is meant to be used, make sure it is reachable only where intended and watched.",
        ),
        "declared_auth_not_enforced" => (
            "Declared authentication not enforced",
            "The code attaches authentication to this route (a middleware, dependency, decorator or annotation), yet the endpoint answered 2xx to requests that carried no credentials. The check lets a missing credential through (an optional header, a fallback to anonymous) or does not run where the code suggests.",
            "Make the check reject requests without credentials, and test the route without them.",
        ),
        "auth_outside_code" => (
            "Authentication only outside the code",
            "The route declares no authentication in the code, but requests without credentials were refused and those with credentials answered: the check lives elsewhere (a gateway, a proxy, a global middleware). Zero Trust: the route is open to anyone who reaches the service without passing through that component.",
            "Check the credentials in the service as well, or make sure nothing can reach the service except through the component that checks them.",
        ),
        "zombie_api" => (
            "Zombie API",
            "The endpoint is marked deprecated in the API description but still receives traffic. Old versions tend to miss the fixes of their successors.",
            "Move the remaining clients to the successor and switch the old route off.",
        ),
        "basic_auth_cleartext" => (
            "Passwords sent in clear text",
            "HTTP Basic credentials (a user name and password, only base64-encoded) were sent over unencrypted HTTP. Anyone on the network path can read them.",
            "Serve the API over TLS only, and change the passwords that were sent this way.",
        ),
        "verbose_errors" => (
            "Verbose error messages",
            "Error responses contain stack traces, SQL or internal paths, which help an attacker map the system.",
            "Return generic error messages to clients and log the details on the server.",
        ),
        "no_rate_limiting" => (
            "No rate limiting",
            "Many requests from one client in a short time were all answered without any sign of throttling (no 429 status, no rate-limit headers).",
            "Limit requests per client on this endpoint, especially on login and search endpoints.",
        ),
        "enumeration" => (
            "Identifiers walked one after another",
            "One caller requested many different values of the same path parameter in a short time, often consecutive numbers. That is how data is scraped through broken object-level authorization: if the API does not check that each object belongs to the caller, every record can be read this way.",
            "Check on the server that the caller may see each object it asks for; use unguessable identifiers; limit how many distinct objects one caller can read per minute.",
        ),
        "novel_transition" => (
            "A step in the flow nobody took before",
            "After a learning period, a caller went from one endpoint to another in an order the baseline never saw (for example checkout right after viewing a product, without the cart). Skipped steps are how business-logic flaws are exploited.",
            "Check that the server enforces the order of the flow (state checked on each step), and look at what this caller did around it.",
        ),
        "rate_anomaly" => (
            "Request rate far above normal",
            "A caller's peak request rate was far above both its own earlier rate and what the other callers of this host do (median and median absolute deviation, not a fixed threshold): automation, scraping or credential stuffing.",
            "Find out who the caller is; rate-limit per credential and per address.",
        ),
        "fingerprint_change" => (
            "A credential used by another client",
            "The same credential (token, API key, session or user) was presented by a client with a different fingerprint (User-Agent, Accept-Language) or from several addresses at once: it may be stolen or shared.",
            "Revoke the credential if its use is not expected; bind sessions to clients (short-lived tokens, refresh with proof of possession).",
        ),
        "jwt_no_expiry" => (
            "Tokens that never expire",
            "A JSON Web Token without an `exp` claim was accepted: if it is ever stolen it works forever.",
            "Issue tokens with a short lifetime and reject tokens without `exp`.",
        ),
        "jwt_long_lived" => (
            "Long-lived tokens",
            "Accepted JSON Web Tokens stay valid for a very long time, so a stolen token stays useful for that long.",
            "Shorten token lifetimes (minutes to hours) and use refresh tokens.",
        ),
        "tls_legacy_version" => (
            "Deprecated TLS versions",
            "The service negotiated SSL 3.0, TLS 1.0 or TLS 1.1, deprecated by RFC 8996: weak handshake hashes, no AEAD cipher suites, known downgrade and padding attacks.",
            "Accept TLS 1.2 and 1.3 only; find the clients that still need the old versions in the TLS section.",
        ),
        "tls_weak_cipher" => (
            "Weak cipher suites",
            "The service chose NULL, EXPORT, anonymous, RC4, DES/3DES or CBC-with-SHA-1 cipher suites: traffic can be read or forged by an attacker on the path.",
            "Offer ECDHE with AES-GCM or ChaCha20-Poly1305 only.",
        ),
        "tls_certificate_expired" => (
            "Expired or not-yet-valid certificate",
            "The service presented a certificate outside its validity period: clients that verify refuse it, clients that connect anyway do not verify at all.",
            "Renew the certificate and automate renewal; check the clients that kept connecting.",
        ),
        "tls_name_mismatch" => (
            "Certificate not for this name",
            "The certificate's names do not cover the name the client asked for (SNI): verifying clients refuse it, the others accept any certificate, an impostor's included.",
            "Serve a certificate whose subject alternative names cover every name the service is reached by.",
        ),
        "tls_self_signed" => (
            "Self-signed certificate",
            "Several clients accept a self-signed certificate: they either skip verification (and would accept an impostor) or pin it.",
            "Issue the certificate from a CA the clients trust (an internal CA will do).",
        ),
        "tls_no_sni" => (
            "TLS without a server name",
            "Clients connected without SNI: the certificate cannot be checked against a name, and name-based routing and policies do not apply.",
            "Configure clients with the service's name, not its address.",
        ),
        "tls_new_client_fingerprint" => (
            "A client stack new to this service",
            "A TLS client fingerprint (JA4) first appeared after the service's usual set of clients was learnt: a new tool, library or agent is calling it.",
            "Find out who runs the new client (its address is in the evidence); expected deployments make it known, unexpected ones are worth a look.",
        ),
        "cleartext_and_tls" => (
            "Credentials in clear to a TLS host",
            "The host speaks TLS, yet takes credentials over cleartext HTTP too: anyone on the path reads them.",
            "Redirect HTTP to HTTPS before any credential is sent, and set HSTS.",
        ),
        "graphql_introspection" => (
            "GraphQL introspection enabled",
            "The GraphQL server hands its whole schema to whoever asks: every type, field and argument, including those the clients never use.",
            "Turn introspection off outside development (or restrict it to authenticated operators).",
        ),
        "graphql_alias_abuse" => (
            "GraphQL alias or batch abuse",
            "One request asked for the same field many times under different aliases, or carried a batch of many operations: many lookups in one HTTP request, past per-request rate limits. It is how GraphQL APIs are enumerated and passwords brute-forced.",
            "Limit aliases, batch sizes and query cost per request; rate-limit by resolved operations, not by HTTP requests.",
        ),
        "graphql_deep_query" => (
            "Deeply nested GraphQL query",
            "A query nested more than 10 levels deep: each level multiplies the server's work, a cheap way to exhaust it.",
            "Limit query depth and cost on the server.",
        ),
        "grpc_reflection_exposed" => (
            "gRPC server reflection exposed",
            "The gRPC server answers the reflection service (grpc.reflection.v1 or v1alpha ServerReflection): whoever reaches it can list every service and download the full protobuf schema of every method, including the ones its clients never call.",
            "Turn reflection off in production, or serve it only to operators (authenticated, on an internal port).",
        ),
        _ => (
            "Finding",
            "shadowtap noticed something about how this endpoint is used; the details below say what.",
            "Review the evidence below.",
        ),
    };
    Explanation {
        title,
        meaning,
        action,
    }
}

/// Rank of a severity, most severe first.
pub fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        "info" => 4,
        _ => 5,
    }
}
