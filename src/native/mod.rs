//! Native-only code: the file system, the command line, and (later) Nix and Docker.

pub mod build;
pub mod cli;
pub mod deps;
pub mod docker;
pub mod docker_host;
mod fs_source;
pub mod lsp;
pub mod nix;
pub mod push;
pub mod run;

pub use fs_source::FsSource;

/// Stops a check `timeout` after this call, by the monotonic clock.
pub(crate) fn interrupt_after(timeout: std::time::Duration) -> Box<dyn Fn() -> bool> {
    let deadline = std::time::Instant::now() + timeout;
    Box::new(move || std::time::Instant::now() > deadline)
}
