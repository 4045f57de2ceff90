//! `file:` URIs to the absolute, `/`-separated paths of [`WorkspaceFiles`], and back.
//!
//! Paths look like `/home/u/pkg/main.star`, or `c:/Users/u/pkg/main.star` on Windows (drive
//! letter in lower case, as VS Code writes it), or `//server/share/pkg` for a UNC path.
//!
//! [`WorkspaceFiles`]: super::WorkspaceFiles

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// What a path component may keep unencoded: RFC 3986's unreserved characters and `/`.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The path a `file:` URI names; `None` for another scheme or a path that is not UTF-8.
pub fn path_of(uri: &str) -> Option<String> {
    let scheme_end = uri.find(':')?;
    if !uri[..scheme_end].eq_ignore_ascii_case("file") {
        return None;
    }
    let rest = uri[scheme_end + 1..].split(['?', '#']).next()?;
    let (authority, path) = match rest.strip_prefix("//") {
        Some(after) => after.split_at(after.find('/').unwrap_or(after.len())),
        None => ("", rest),
    };
    let path = percent_decode_str(path)
        .decode_utf8()
        .ok()?
        .replace('\\', "/");
    if !authority.is_empty() && !authority.eq_ignore_ascii_case("localhost") {
        return Some(format!("//{authority}{path}"));
    }
    Some(match drive_path(&path) {
        Some((drive, after)) => format!("{}:{after}", drive.to_ascii_lowercase()),
        None => path,
    })
}

/// The `file:` URI of an absolute path.
pub fn uri_of(path: &str) -> String {
    let (prefix, path) = match path.strip_prefix("//") {
        Some(unc) => {
            let (host, rest) = unc.split_at(unc.find('/').unwrap_or(unc.len()));
            (format!("file://{host}"), rest.to_owned())
        }
        None => match drive_path(&format!("/{path}")) {
            // VS Code writes the colon of a drive letter encoded: `file:///c%3A/x`.
            Some((drive, after)) => (
                "file:///".to_owned() + &drive.to_string(),
                format!(":{after}"),
            ),
            None => ("file://".to_owned(), path.to_owned()),
        },
    };
    format!("{prefix}{}", utf8_percent_encode(&path, PATH_SEGMENT))
}

/// `/c:/x` → (`c`, `/x`).
fn drive_path(path: &str) -> Option<(char, &str)> {
    let bytes = path.as_bytes();
    let is_drive = bytes.len() >= 3
        && bytes[0] == b'/'
        && bytes[1].is_ascii_alphabetic()
        && bytes[2] == b':'
        && bytes.get(3).is_none_or(|&next| next == b'/');
    is_drive.then(|| (bytes[1] as char, &path[3..]))
}

/// Whether `path` is absolute in the workspace's sense (`/x`, `c:/x`, `//server/x`).
pub fn is_absolute(path: &str) -> bool {
    path.starts_with('/') || drive_path(&format!("/{path}")).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_paths_round_trip_with_percent_encoding() {
        let uri = "file:///home/u/my%20pkg/m%C3%A9tier%23.star";
        assert_eq!(path_of(uri).as_deref(), Some("/home/u/my pkg/métier#.star"));
        assert_eq!(uri_of("/home/u/my pkg/métier#.star"), uri);
    }

    #[test]
    fn windows_drive_letters_are_lower_case_with_an_encoded_colon() {
        assert_eq!(
            path_of("file:///C:/Users/u/main.star").as_deref(),
            Some("c:/Users/u/main.star")
        );
        assert_eq!(
            path_of("file:///c%3A/Users/u/main.star").as_deref(),
            Some("c:/Users/u/main.star")
        );
        assert_eq!(
            uri_of("c:/Users/u/main.star"),
            "file:///c%3A/Users/u/main.star"
        );
        assert!(is_absolute("c:/x") && is_absolute("/x") && !is_absolute("x/c:"));
    }

    #[test]
    fn unc_paths_keep_their_host() {
        assert_eq!(
            path_of("file://server/share/main.star").as_deref(),
            Some("//server/share/main.star")
        );
        assert_eq!(
            uri_of("//server/share/main.star"),
            "file://server/share/main.star"
        );
        assert_eq!(
            path_of("file://localhost/x.star").as_deref(),
            Some("/x.star")
        );
    }

    #[test]
    fn other_schemes_are_not_paths() {
        assert_eq!(path_of("untitled:Untitled-1"), None);
        assert_eq!(path_of("not a uri"), None);
    }
}
