//! `shadowtap demo`.

/// Runs `shadowtap demo`.
pub fn run(_args: &super::DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("the demo is being built")
}
