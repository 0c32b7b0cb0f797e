//! `shadowtap export`.
/// Runs `shadowtap export`.
pub fn run(_args: &super::ExportArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
