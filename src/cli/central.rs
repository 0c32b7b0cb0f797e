//! `shadowtap central`: the fleet's centre (docs/fleet.md), applying shipped deltas.

use super::{CentralArgs, runtime};
use crate::fleet::{central, wire};

/// Runs `central`.
pub fn run(args: &CentralArgs) -> anyhow::Result<()> {
    let key = crate::store::read_key_file(&args.key_file)?;
    let fingerprint = wire::key_fingerprint(&key);
    runtime()?.block_on(async {
        let pool = central::open(&args.db).await?;
        eprintln!("shadowtap: central inventory ready; hash key fingerprint {fingerprint}");
        loop {
            let r = central::apply_pending(&pool, &fingerprint).await?;
            if r.applied + r.parked > 0 {
                eprintln!(
                    "shadowtap: {} delta(s) applied ({} rows), {} parked ({} with another hash key)",
                    r.applied, r.rows, r.parked, r.wrong_key
                );
            }
            if args.once {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(args.every.max(1))) => {}
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        pool.close().await;
        anyhow::Ok(())
    })
}
