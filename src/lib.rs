//! starflake: validate, preview, build and deploy Kurtosis-style Starlark packages whose
//! service images come from Nix flakes.
//!
//! The core (everything but [`native`] and the wasm boundary) is pure and synchronous: it
//! reads package files through [`source::SourceProvider`] and never touches the file system,
//! the clock, processes or the network, so the same code runs natively and in WebAssembly.

pub mod builtins;
pub mod check;
pub mod diagnostic;
mod eval;
pub mod files;
pub mod flake;
pub mod ide;
pub mod imageref;
pub mod limits;
pub mod lsp;
pub mod package;
pub mod plan;
#[cfg(any(target_arch = "wasm32", test))]
mod pretty_json;
pub mod source;
pub mod text;

#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
pub mod native;

#[cfg(target_arch = "wasm32")]
mod wasm;

pub use check::{ArgsInput, CheckOptions, CheckResult, check, check_with};
pub use eval::CheckCache;
pub use eval::{GLOBAL_NAMES, INSTRUCTION_NAMES};
pub use limits::MAX_TICKS;
