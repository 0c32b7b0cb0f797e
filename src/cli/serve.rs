//! `shadowtap serve`.

/// Runs `shadowtap serve`.
pub fn run(_args: &super::ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!("the dashboard is being built")
}
