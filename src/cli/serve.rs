//! `shadowtap serve`: the web dashboard over an inventory, opened read-only.

use super::{ServeArgs, runtime};
use crate::store::Store;
use crate::store::pg::PgInventory;
use crate::web::{self, AppState, AuthConfig};
use std::io::BufRead;

/// Runs `shadowtap serve`.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    if args.hash_password {
        return hash_password();
    }
    let db = args
        .db
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("serve needs --db INVENTORY"))?;
    let token = match &args.auth_token_file {
        Some(path) => Some(
            web::auth::read_token_file(path, "--auth-token-file").map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    let auth = AuthConfig {
        token,
        password_hash: args.password_hash.clone().filter(|h| !h.trim().is_empty()),
        trusted_proxies: web::auth::parse_proxies(&args.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("--trusted-proxy: {e}"))?,
        cookie_secure: args.cookie_secure,
        allow_spec_upload: args.allow_spec_upload,
    };
    auth.validate().map_err(anyhow::Error::msg)?;
    runtime()?.block_on(async {
        let listener = web::bind(&args.listen, &auth)
            .await
            .map_err(anyhow::Error::msg)?;
        let state = match super::central_url(db) {
            Some(url) => {
                if auth.allow_spec_upload {
                    anyhow::bail!(
                        "--allow-spec-upload: a fleet's centre takes no spec upload (import the description on a sensor)"
                    );
                }
                let central = PgInventory::open(url).await?;
                AppState::central(central, PgInventory::label(url), auth.clone())
                    .map_err(anyhow::Error::msg)?
            }
            None => {
                let store = Store::open_read_only(db).await?;
                AppState::new(store, auth.clone()).map_err(anyhow::Error::msg)?
            }
        };
        let url = web::url_of(&listener);
        eprintln!(
            "shadowtap: dashboard of {} ({}) at {url}{}",
            super::central_url(db)
                .map(PgInventory::label)
                .unwrap_or_else(|| db.display().to_string()),
            if auth.allow_spec_upload {
                "spec uploads allowed"
            } else {
                "read-only"
            },
            if auth.enabled() {
                " (login required)"
            } else {
                ""
            }
        );
        println!("{url}");
        web::serve(listener, state, shutdown()).await?;
        eprintln!("shadowtap: dashboard stopped");
        anyhow::Ok(())
    })
}

/// Reads a password on standard input and prints its argon2 PHC string.
fn hash_password() -> anyhow::Result<()> {
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("Password (input is shown; end with Enter):");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(!password.is_empty(), "empty password");
    anyhow::ensure!(
        password.chars().count() >= 8,
        "the password is shorter than 8 characters"
    );
    let hash = crate::web::auth::hash_password(password).map_err(anyhow::Error::msg)?;
    println!("{hash}");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
