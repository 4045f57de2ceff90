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
