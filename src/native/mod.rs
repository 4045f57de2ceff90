//! Native-only code: the file system, the command line, and (later) Nix and Docker.

pub mod cli;
mod fs_source;

pub use fs_source::FsSource;
