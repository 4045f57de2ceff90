//! TEMPORARY placeholder while the flake analysis is written (replaced by the real module).
use crate::diagnostic::Diagnostic;
use crate::text::Span;
pub struct FlakeCheck<'a> {
    pub flake_file: &'a str,
    pub flake_text: &'a str,
    pub has_lock_file: bool,
    pub flake_output: Option<&'a str>,
    pub system: &'a str,
    pub image_name: &'a str,
    pub origin: Option<(&'a str, Span)>,
}
pub fn check_flake(_check: &FlakeCheck) -> Vec<Diagnostic> {
    Vec::new()
}
