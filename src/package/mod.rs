//! Kurtosis packages: `kurtosis.yml`, locators, and where each locator's files live.

mod locator;
mod manifest;

pub use locator::{Pin, Resolution, Resolver, parse_github_locator};
pub use manifest::{MANIFEST_FILE, Manifest, parse_manifest, replace_entry_span};
