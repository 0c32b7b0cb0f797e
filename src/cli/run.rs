//! `shadowtap run`: the sensor daemon. Flags are laid over the configuration file; the daemon
//! itself is [`crate::sensor`].

use super::RunArgs;
use crate::config::Config;
use crate::sensor::{self, Settings};

/// The configuration file with the flags laid over it (a flag wins over the file).
pub fn effective_config(args: &RunArgs) -> Result<Config, String> {
    let mut c = match &args.config {
        Some(p) => Config::load(p).map_err(|e| e.to_string())?,
        None => Config::default(),
    };
    fn set<T: Clone>(dst: &mut Option<T>, v: &Option<T>) {
        if v.is_some() {
            dst.clone_from(v);
        }
    }
    if !args.interfaces.is_empty() {
        c.capture.interfaces = Some(args.interfaces.clone());
    }
    for f in &args.follow {
        // `FORMAT:PATH` when what precedes the first colon names a format.
        let (format, path) = match f.split_once(':') {
            Some((name, path))
                if name == "auto" || crate::source::Format::from_name(name).is_some() =>
            {
                (Some(name.to_string()), path)
            }
            _ => (None, f.as_str()),
        };
        c.follow.push(crate::config::FollowLog {
            path: path.into(),
            format,
            host: args.follow_host.clone(),
            from_start: false,
        });
    }
    set(&mut c.capture.bpf, &args.bpf);
    set(&mut c.capture.snaplen, &args.snaplen);
    if args.promisc {
        c.capture.promisc = Some(true);
    }
    set(&mut c.capture.buffer_size, &args.buffer_size);
    set(&mut c.capture.workers, &args.workers);
    set(&mut c.capture.queue_depth, &args.queue_depth);
    set(&mut c.capture.shard, &args.shard);
    set(&mut c.store.db, &args.db);
    set(&mut c.store.flush_interval, &args.flush_interval);
    set(&mut c.store.assess_interval, &args.assess_interval);
    set(&mut c.store.max_endpoints, &args.max_endpoints);
    set(
        &mut c.store.max_clients_per_endpoint,
        &args.max_clients_per_endpoint,
    );
    set(&mut c.web.listen, &args.listen);
    set(&mut c.web.auth_token_file, &args.auth_token_file);
    set(&mut c.web.password_hash, &args.password_hash);
    if !args.trusted_proxies.is_empty() {
        c.web.trusted_proxies = Some(args.trusted_proxies.clone());
    }
    if args.cookie_secure {
        c.web.cookie_secure = Some(true);
    }
    if args.allow_spec_upload {
        c.web.allow_spec_upload = Some(true);
    }
    set(&mut c.alerts.webhook_url, &args.webhook_url);
    set(&mut c.alerts.webhook_token_file, &args.webhook_token_file);
    set(&mut c.alerts.webhook_ca_file, &args.webhook_ca_file);
    set(&mut c.alerts.webhook_timeout, &args.webhook_timeout);
    set(&mut c.alerts.min_severity, &args.alert_min_severity);
    if args.no_alert_new_endpoints {
        c.alerts.new_endpoints = Some(false);
    }
    if args.no_alert_shadow_zombie {
        c.alerts.shadow_zombie = Some(false);
    }
    if args.no_alert_new_tls_fingerprints {
        c.alerts.new_tls_fingerprints = Some(false);
    }
    set(&mut c.alerts.rate_per_minute, &args.alert_rate);
    set(&mut c.alerts.burst, &args.alert_burst);
    set(&mut c.alerts.sensor_name, &args.sensor_name);
    set(&mut c.retention.detail_days, &args.retention_days);
    set(&mut c.retention.max_db_size, &args.max_db_size);
    set(&mut c.retention.interval, &args.retention_interval);
    let l = &mut c.limits;
    set(&mut l.memory_budget, &args.memory_budget);
    set(&mut l.max_flows, &args.max_flows);
    set(&mut l.flow_timeout, &args.flow_timeout);
    set(&mut l.max_hosts, &args.max_hosts);
    set(
        &mut l.max_endpoints_per_flush,
        &args.max_endpoints_per_flush,
    );
    set(&mut l.max_buffered_per_dir, &args.max_buffered_per_dir);
    set(&mut l.max_reassembly_memory, &args.max_reassembly_memory);
    set(&mut l.max_head_bytes, &args.max_head_bytes);
    set(&mut l.max_headers, &args.max_headers);
    set(&mut l.body_sample, &args.body_sample);
    set(&mut l.max_http_memory, &args.max_http_memory);
    set(
        &mut l.max_fragmented_datagrams,
        &args.max_fragmented_datagrams,
    );
    set(&mut c.tls.keylog, &args.keylog);
    c.grpc
        .descriptors
        .extend(args.proto_descriptor.iter().cloned());
    Ok(c)
}

/// Runs `shadowtap run`.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let config = effective_config(args).map_err(anyhow::Error::msg)?;
    let mut settings = Settings::from_config(&config).map_err(anyhow::Error::msg)?;
    settings.ready_file = args.ready_file.clone();
    settings.central = args.central.clone();
    settings.sensor = args.sensor.clone();
    // SIGHUP: the file is read again, the same flags laid over it.
    let again = args.clone();
    let reload: sensor::Reloader =
        Box::new(move || Settings::from_config(&effective_config(&again)?));
    sensor::run(settings, reload)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn flags_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[capture]\ninterfaces = [\"eth1\"]\nworkers = 3\n[store]\ndb = \"a.db\"\nflush_interval = \"30s\"\n[alerts]\nmin_severity = \"medium\"\n",
        )
        .unwrap();
        let cli = super::super::Cli::try_parse_from([
            "shadowtap",
            "run",
            "--config",
            path.to_str().unwrap(),
            "-i",
            "lo",
            "-i",
            "eth2",
            "--flush-interval",
            "2s",
            "--buffer-size",
            "8MiB",
            "--listen",
            "off",
        ])
        .unwrap();
        let super::super::Command::Run(args) = cli.command else {
            panic!("not run");
        };
        let s = Settings::from_config(&effective_config(&args).unwrap()).unwrap();
        assert_eq!(s.interfaces, vec!["lo", "eth2"]);
        assert_eq!(s.workers, 3);
        assert_eq!(s.flush_interval, std::time::Duration::from_secs(2));
        assert_eq!(s.buffer_size, 8 << 20);
        assert_eq!(s.db, std::path::PathBuf::from("a.db"));
        assert_eq!(s.listen, None);
        assert_eq!(
            s.alerts.min_severity,
            Some(crate::analyze::posture::Severity::Medium)
        );
    }

    #[test]
    fn dashboard_hardening_options_from_the_file_and_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[capture]\ninterfaces = [\"lo\"]\n[store]\ndb = \"a.db\"\n[web]\ntrusted_proxies = [\"10.0.0.1\", \"fd00::/8\"]\ncookie_secure = true\n",
        )
        .unwrap();
        let parse = |extra: &[&str]| {
            let mut argv = vec!["shadowtap", "run", "--config", path.to_str().unwrap()];
            argv.extend_from_slice(extra);
            let cli = super::super::Cli::try_parse_from(argv).unwrap();
            let super::super::Command::Run(args) = cli.command else {
                panic!("not run");
            };
            Settings::from_config(&effective_config(&args).unwrap())
        };
        let s = parse(&[]).unwrap();
        assert_eq!(s.auth.trusted_proxies.len(), 2);
        assert!(s.auth.cookie_secure);
        assert!(!s.auth.allow_spec_upload, "uploads are off by default");
        let s = parse(&["--trusted-proxy", "192.0.2.1", "--allow-spec-upload"]).unwrap();
        assert_eq!(
            s.auth.trusted_proxies,
            crate::web::auth::parse_proxies(&["192.0.2.1"]).unwrap()
        );
        assert!(s.auth.allow_spec_upload);
        let err = parse(&["--trusted-proxy", "proxy.example"]).unwrap_err();
        assert!(
            err.contains("trusted_proxies") && err.contains("proxy.example"),
            "{err}"
        );
    }
}
