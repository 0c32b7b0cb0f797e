//! The `shadowtap` binary: parses the command line and hands over to [`shadowtap::cli`].

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = shadowtap::cli::Cli::parse();
    match shadowtap::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shadowtap: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
