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
        let every = std::time::Duration::from_secs(args.assess_every);
        // Deltas applied since the last assessment (the first round assesses what an older
        // centre left unassessed).
        let mut unassessed = true;
        let mut last_assessed: Option<std::time::Instant> = None;
        let mut last_aged: Option<std::time::Instant> = None;
        loop {
            let r = central::apply_pending(&pool, &fingerprint).await?;
            if r.applied + r.parked > 0 {
                eprintln!(
                    "shadowtap: {} delta(s) applied ({} rows), {} parked ({} with another hash key)",
                    r.applied, r.rows, r.parked, r.wrong_key
                );
            }
            unassessed |= r.applied > 0;
            let due = args.once || last_assessed.is_none_or(|t| t.elapsed() >= every);
            if args.assess_every > 0 && unassessed && due {
                let started = std::time::Instant::now();
                last_assessed = Some(started);
                match central::assess(&pool).await {
                    Ok(a) => {
                        eprintln!(
                            "shadowtap: assessed in {} ms: {} finding(s) in all, {} scanner(s) probing, {} TLS finding(s)",
                            started.elapsed().as_millis(),
                            a.findings_total,
                            a.probing_clients,
                            a.tls_findings
                        );
                        unassessed = false;
                    }
                    Err(e) if args.once => return Err(e.into()),
                    // Applying goes on; the assessment is tried again when due.
                    Err(e) => eprintln!("shadowtap: the assessment failed (tried again in {} s): {e}", args.assess_every),
                }
            }
            let age_due = args.once
                || last_aged.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(3600));
            if args.retention_days > 0 && age_due {
                last_aged = Some(std::time::Instant::now());
                match central::age_out(&pool, args.retention_days, crate::time::Timestamp::now().as_nanos()).await {
                    Ok(d) if d.iter().any(|&n| n > 0) => eprintln!(
                        "shadowtap: retention ({} days): deleted {} client row(s), {} minute row(s), {} sensitive-data sample(s), {} per-client finding(s)",
                        args.retention_days, d[0], d[1], d[2], d[3]
                    ),
                    Ok(_) => {}
                    Err(e) if args.once => return Err(e.into()),
                    Err(e) => eprintln!("shadowtap: retention failed (tried again in an hour): {e}"),
                }
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
