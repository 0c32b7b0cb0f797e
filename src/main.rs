//! The `shadowtap` binary: parses the command line and hands over to [`shadowtap::cli`].

use clap::Parser;

/// Heap profiling build (`--features dhat-heap`): every allocation is recorded, and the profile
/// is written to `dhat-heap.json` when `main` returns (the daemon returns on SIGTERM).
#[cfg(feature = "dhat-heap")]
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() -> std::process::ExitCode {
    #[cfg(feature = "dhat-heap")]
    let _profiler = dhat::Profiler::new_heap();
    let cli = shadowtap::cli::Cli::parse();
    if cli.command.prints_for_pipes() {
        // Rust ignores SIGPIPE, so `shadowtap spec diff | head -1` would panic in `println!`
        // once `head` is gone. Commands that only print end the Unix way instead: quietly,
        // killed by SIGPIPE. The daemon, the dashboard and `log` (which finishes its
        // `--stats` after a closed pipe, then ends the same way) keep ignoring it.
        //
        // SAFETY: set once at start, before any thread exists and before anything else
        // installs a handler; SIG_DFL is a plain disposition, not a handler of ours.
        let _ = unsafe {
            nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGPIPE,
                nix::sys::signal::SigHandler::SigDfl,
            )
        };
    }
    // Log events (the daemon's): the journal under systemd, logfmt on stderr otherwise;
    // filtered by SHADOWTAP_LOG. What commands print for their user is not logging.
    shadowtap::logging::init();
    match shadowtap::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // Output to a reader that went away (a pipe closed early): nothing to say, and the
        // same end as the commands that die of SIGPIPE.
        Err(e) if shadowtap::cli::is_broken_pipe(&e) => end_by_sigpipe(),
        Err(e) => {
            eprintln!("shadowtap: {}", shadowtap::cli::error_text(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Ends the process as one killed by SIGPIPE (shell status 141), quietly: how every command
/// ends when the reader of its output went away, like `cat` and `grep` (`log` after its
/// `--stats`; the printing commands die of the signal itself).
fn end_by_sigpipe() -> std::process::ExitCode {
    use nix::sys::signal::{SigHandler, Signal, raise, signal};
    // SAFETY: SIG_DFL is a plain disposition, not a handler of ours; the process ends here.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
    let _ = raise(Signal::SIGPIPE);
    std::process::ExitCode::from(141)
}
