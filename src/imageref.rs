//! Docker image references (`[registry[:port]/]path[:tag][@digest]`), checked the way
//! Docker's `distribution/reference` grammar does.

/// The parts of an image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// Everything before the tag: registry and path.
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

impl ImageRef<'_> {
    /// The tag Docker uses: the given one, or `latest`.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.unwrap_or("latest")
    }
}

pub fn parse(reference: &str) -> Result<ImageRef<'_>, String> {
    if reference.is_empty() {
        return Err("it is empty".into());
    }
    if reference.len() > 255 {
        return Err("it is longer than 255 characters".into());
    }
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => {
            let valid = digest.split_once(':').is_some_and(|(algorithm, hex)| {
                !algorithm.is_empty()
                    && algorithm
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-_".contains(c))
                    && hex.len() >= 32
                    && hex.chars().all(|c| c.is_ascii_hexdigit())
            });
            if !valid {
                return Err(format!(
                    "`@{digest}` is not a digest like `sha256:<64 hex digits>`"
                ));
            }
            (rest, Some(digest))
        }
        None => (reference, None),
    };
    // A tag is the part after the last ':' if no '/' follows it (else it is a registry port).
    let (repository, tag) = match rest.rfind(':') {
        Some(colon) if !rest[colon..].contains('/') => (&rest[..colon], Some(&rest[colon + 1..])),
        _ => (rest, None),
    };
    if let Some(tag) = tag {
        let valid = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !valid {
            return Err(format!(
                "the tag `{tag}` may only hold letters, digits, `_`, `.` and `-` (up to 128, not starting with `.` or `-`)"
            ));
        }
    }
    let mut components: Vec<&str> = repository.split('/').collect();
    if components.len() > 1 && is_domain(components[0]) {
        components.remove(0);
    }
    for component in components {
        if component.is_empty() {
            return Err(
                "it has an empty path component (`//` or a leading or trailing `/`)".into(),
            );
        }
        if component.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(format!(
                "`{component}` has upper-case letters; repository names must be lower-case"
            ));
        }
        if !is_path_component(component) {
            return Err(format!(
                "`{component}` may only hold lower-case letters and digits, separated by `.`, `_`, `__` or dashes"
            ));
        }
    }
    Ok(ImageRef {
        repository,
        tag,
        digest,
    })
}

/// A registry host: has a `.` or a `:port`, or is `localhost`.
fn is_domain(component: &str) -> bool {
    component == "localhost" || component.contains('.') || component.contains(':')
}

fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        // A separator: `.`, `_`, `__` or one or more `-`.
        let start = i;
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += if bytes.get(i + 1) == Some(&b'_') {
                    2
                } else {
                    1
                }
            }
            b'-' => {
                while i < bytes.len() && bytes[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || i >= bytes.len() || !alnum(bytes[i]) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_docker_accepts() {
        for name in [
            "app",
            "org/app:v1.2",
            "localhost:5000/org/app",
            "registry.example.com/a/b/c:latest",
            "my_app__x-y",
            "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn refuses_what_docker_refuses() {
        for name in [
            "",
            "App",
            "org//app",
            "app:",
            "app:-x",
            "-app",
            "app-",
            "a...b",
            "app@sha256:xyz",
            "org/app/",
        ] {
            assert!(parse(name).is_err(), "{name}");
        }
    }

    #[test]
    fn splits_tag_but_not_port() {
        let image = parse("localhost:5000/app").unwrap();
        assert_eq!((image.repository, image.tag), ("localhost:5000/app", None));
        let image = parse("localhost:5000/app:v2").unwrap();
        assert_eq!(
            (image.repository, image.tag),
            ("localhost:5000/app", Some("v2"))
        );
    }
}
