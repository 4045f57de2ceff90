//! regex's API, as far as starflake's dependency graph uses it, backed by regex-lite.
//!
//! Used through `[patch.crates-io]` in the top Cargo.toml. regex-lite mirrors regex's API but
//! has no Unicode tables and one small engine: about 300 KB less in the gzipped wasm module.
pub use regex_lite::*;
