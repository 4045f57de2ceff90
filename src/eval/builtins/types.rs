//! Kurtosis's type constructors: `ServiceConfig`, `PortSpec` and the image specs.

use std::collections::BTreeMap;
use std::fmt::{self, Display};

use allocative::Allocative;
use serde::Serialize;
use starlark::any::ProvidesStaticType;
use starlark::eval::Evaluator;
use starlark::starlark_simple_value;
use starlark::values::list::ListRef;
use starlark::values::tuple::TupleRef;
use starlark::values::{Heap, NoSerialize, StarlarkValue, Value, ValueLike, starlark_value};

use super::super::args::{BuiltinDef, Call, describe, opt, req};
use super::super::session::{Place, Session};
use super::super::values::{
    Origin, Unknown, is_unknown, json_attr, json_attr_names, kurtosis_type,
};
use crate::diagnostic::Rule;
use crate::plan;

kurtosis_type!(
    /// `PortSpec(number, transport_protocol, application_protocol, wait, url)`.
    PortSpecValue, "PortSpec", plan::PortSpec
);

pub(crate) static PORT_SPEC: BuiltinDef = BuiltinDef::global(
    "PortSpec",
    &[
        req("number")
            .ty("int")
            .doc("The port number inside the container, 1 to 65535. Kurtosis declares it optional, but a port without a number fails, so it is required here."),
        opt("transport_protocol")
            .ty("str")
            .default("\"TCP\"")
            .doc("`\"TCP\"`, `\"UDP\"` or `\"SCTP\"`, in capitals. An empty string also means TCP."),
        opt("application_protocol")
            .ty("str")
            .default("\"\"")
            .doc("The protocol spoken over the port, such as `\"http\"` or `\"postgresql\"` (letters, digits, `+`, `.`, `-`). It becomes the scheme of the port's URL. Kurtosis's documentation says it defaults to `\"http\"`; the code leaves it empty, so the port has no URL."),
        opt("wait")
            .ty("str | None")
            .default("\"2m\"")
            .doc("How long to wait for the port to accept connections before the next instruction, as a Go duration; `None` does not wait. Kurtosis's documentation says the default is `\"15s\"`; its code uses `\"2m\"`."),
        opt("url")
            .ty("str")
            .doc("The URL other services use to reach the port; it must be a valid URI. Left out, a port with an `application_protocol` gets `<application_protocol>://<service name>:<number>`."),
    ],
    port_spec,
)
.returns("PortSpec")
.doc("A port a service listens on, for `ServiceConfig.ports` and `public_ports`. Its id is the key of that dict.");

fn port_spec<'v>(call: &Call<'v>, eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let number = call.int(session, "number", 1, 65535);
    let transport_protocol = match call.any_string(session, "transport_protocol") {
        None => "TCP".to_owned(),
        Some(protocol) if protocol.is_empty() => "TCP".to_owned(),
        Some(protocol) => match protocol.as_str() {
            "TCP" | "UDP" | "SCTP" => protocol,
            other => {
                let mut report = call.report(
                    session,
                    Rule::InvalidValue,
                    "transport_protocol",
                    format!("`transport_protocol` must be one of \"TCP\", \"UDP\", \"SCTP\", got \"{other}\""),
                );
                if ["TCP", "UDP", "SCTP"].contains(&other.to_uppercase().as_str()) {
                    report = report.help(format!(
                        "write it in capitals: \"{}\"",
                        other.to_uppercase()
                    ));
                }
                drop(report);
                "TCP".to_owned()
            }
        },
    };
    let application_protocol = call
        .any_string(session, "application_protocol")
        .unwrap_or_default();
    if !application_protocol
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    {
        call.report(
            session,
            Rule::InvalidValue,
            "application_protocol",
            format!("`application_protocol` \"{application_protocol}\" may only hold letters, digits, `+`, `.` and `-`"),
        )
        .help("use a URL scheme such as \"http\" or \"postgresql\"");
    }
    let wait = duration_or_none(call, session, "wait", call.def.default_str("wait"));
    let url = call.string(session, "url");
    if let Some(url) = &url {
        if !url.contains("{{") && !looks_like_uri(url) {
            call.report(
                session,
                Rule::InvalidValue,
                "url",
                format!("`url` \"{url}\" is not a valid URL"),
            )
            .help("write it with a scheme, e.g. \"http://my-service:8080/path\"");
        }
    }
    let Some(number) = number else {
        return Ok(eval.heap().alloc(Unknown));
    };
    Ok(eval.heap().alloc(PortSpecValue {
        data: plan::PortSpec {
            number,
            transport_protocol,
            application_protocol,
            wait,
            url,
        },
        origin: call.origin(),
    }))
}

fn looks_like_uri(url: &str) -> bool {
    match url.split_once(':') {
        Some((scheme, rest)) => {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
                && !rest.is_empty()
        }
        None => false,
    }
}

/// A Go duration string (`"2m"`, `"1h30m"`, `"500ms"`), or `None` for "disabled". `default`
/// applies when the argument is left out.
pub(crate) fn duration_or_none(
    call: &Call,
    session: &Session,
    name: &str,
    default: Option<&str>,
) -> Option<String> {
    let Some(value) = call.value(name) else {
        return default.map(str::to_owned);
    };
    if value.is_none() || is_unknown(value) {
        return None;
    }
    let text = call.any_string(session, name)?;
    match parse_go_duration(&text) {
        Ok(_) => Some(text),
        Err(_) => {
            report_bad_duration(call, session, name, &text);
            default.map(str::to_owned)
        }
    }
}

/// Reports a duration Go's `time.ParseDuration` refuses.
pub(crate) fn report_bad_duration(call: &Call, session: &Session, name: &str, text: &str) {
    call.report(
        session,
        Rule::InvalidValue,
        name,
        format!("`{name}` \"{text}\" is not a duration"),
    )
    .help("write a number with a unit, such as \"30s\", \"2m\" or \"1h30m\" (units: ns, us, ms, s, m, h)");
}

/// Nanoseconds in each unit Go's `time.ParseDuration` knows.
const DURATION_UNITS: &[(&str, i128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a duration the way Go's `time.ParseDuration` does, to nanoseconds; the error says
/// what is wrong.
pub(crate) fn parse_go_duration(text: &str) -> Result<i64, String> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body == "0" {
        return Ok(0);
    }
    if body.is_empty() {
        return Err("it is empty".to_owned());
    }
    let mut total: i128 = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let int_len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(after) => {
                let frac_len = after
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(after.len());
                after.split_at(frac_len)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(format!("a number is expected at `{rest}`"));
        }
        let unit_len = after
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!(
                "`{}` has no unit",
                &rest[..rest.len() - after.len()]
            ));
        }
        let Some(&(_, scale)) = DURATION_UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!("`{unit}` is not a unit"));
        };
        let whole: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| "it is too large".to_owned())?
        };
        let mut value = whole
            .checked_mul(scale)
            .ok_or_else(|| "it is too large".to_owned())?;
        if !frac_part.is_empty() {
            let digits = &frac_part[..frac_part.len().min(18)];
            let fraction: i128 = digits.parse().unwrap_or(0);
            value += fraction * scale / 10i128.pow(digits.len() as u32);
        }
        total += value;
        if total > i64::MAX as i128 + 1 {
            return Err("it is too large".to_owned());
        }
        rest = after;
    }
    let total = if negative { -total } else { total };
    i64::try_from(total).map_err(|_| "it is too large".to_owned())
}

/// Formats nanoseconds the way Go's `time.Duration.String` does (`1h2m3.5s`, `150ms`).
pub(crate) fn format_go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let magnitude = nanos.unsigned_abs();
    let fraction = |value: u64, digits: u32| -> String {
        let scale = 10u64.pow(digits);
        let whole = value / scale;
        let rest = value % scale;
        if rest == 0 {
            whole.to_string()
        } else {
            let rest = format!("{rest:0width$}", width = digits as usize);
            format!("{whole}.{}", rest.trim_end_matches('0'))
        }
    };
    if magnitude < 1_000 {
        return format!("{sign}{magnitude}ns");
    }
    if magnitude < 1_000_000 {
        return format!("{sign}{}\u{b5}s", fraction(magnitude, 3));
    }
    if magnitude < 1_000_000_000 {
        return format!("{sign}{}ms", fraction(magnitude, 6));
    }
    let seconds_part = magnitude % 60_000_000_000;
    let total_minutes = magnitude / 60_000_000_000;
    let seconds = format!("{}s", fraction(seconds_part, 9));
    if total_minutes == 0 {
        return format!("{sign}{seconds}");
    }
    let minutes = total_minutes % 60;
    let hours = total_minutes / 60;
    if hours == 0 {
        format!("{sign}{minutes}m{seconds}")
    } else {
        format!("{sign}{hours}h{minutes}m{seconds}")
    }
}

/// `NixBuildSpec(...)` as written.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct NixSpec {
    pub flake_location_dir: String,
    pub build_context_dir: String,
    pub image_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flake_output: Option<String>,
}

kurtosis_type!(
    /// `NixBuildSpec(flake_location_dir, build_context_dir, image_name, flake_output)`.
    NixBuildSpecValue, "NixBuildSpec", NixSpec
);

// Kurtosis's declaration (= positional) order, not the order its docs show.
pub(crate) static NIX_BUILD_SPEC: BuiltinDef = BuiltinDef::global(
    "NixBuildSpec",
    &[
        req("flake_location_dir")
            .ty("str")
            .doc("The folder holding `flake.nix`, relative to `build_context_dir`. Nix sees only this folder: a flake cannot read files beside it."),
        req("build_context_dir")
            .ty("str")
            .doc("A locator of the folder the build starts from: relative to the calling file, `/`-rooted at the package, or `github.com/...`. It must stay inside the package; Kurtosis lets `..` climb out although its documentation says it cannot."),
        req("image_name")
            .ty("str")
            .doc("The name the service's container image gets. Kurtosis never tags the loaded image with it, so a flake whose `dockerTools` `name`/`tag` differ fails later with a pull error; `starflake build` tags the image exactly so."),
        opt("flake_output")
            .ty("str")
            .doc("The flake output to build (the part after `#`). Kurtosis's documentation says it defaults to `\"default\"`; the code leaves the fragment empty, so Nix tries `packages.<system>.default`, then `defaultPackage.<system>`. An empty string is an error: leave the argument out instead."),
    ],
    nix_build_spec,
)
.returns("NixBuildSpec")
.doc("Builds the service's container image from a Nix flake and loads it into the engine, with no registry. Positional arguments bind as (flake_location_dir, build_context_dir, image_name, flake_output), not in the order Kurtosis's documentation shows: name every argument.");

fn nix_build_spec<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let positional = call.positional > 0;
    if positional {
        call.report(
            session,
            Rule::PositionalNixBuildSpec,
            "flake_location_dir",
            "`NixBuildSpec` is called with positional arguments; Kurtosis binds them as (flake_location_dir, build_context_dir, image_name, flake_output), not in the order its documentation shows",
        )
        .help("name every argument: `NixBuildSpec(image_name=..., build_context_dir=..., flake_location_dir=..., flake_output=...)`");
    }
    let flake_location_dir = call.string(session, "flake_location_dir");
    let build_context_dir = call.string(session, "build_context_dir");
    let image_name = call.string(session, "image_name");
    // `flake_output = ""` is what Kurtosis's own enclave builder writes; say why it fails.
    let flake_output = if call
        .value("flake_output")
        .is_some_and(|v| v.unpack_str() == Some(""))
    {
        call.report(
            session,
            Rule::EmptyString,
            "flake_output",
            "`flake_output` must not be an empty string: Kurtosis rejects it (its own enclave builder writes it)",
        )
        .help("leave `flake_output` out to build Nix's default output (`packages.<system>.default`, then `defaultPackage.<system>`)")
        .fix(call.removal_fix(session, "flake_output", "Remove `flake_output = \"\"`"));
        None
    } else {
        call.string(session, "flake_output")
    };
    let (Some(flake_location_dir), Some(build_context_dir), Some(image_name)) =
        (flake_location_dir, build_context_dir, image_name)
    else {
        return Ok(eval.heap().alloc(Unknown));
    };
    Ok(eval.heap().alloc(NixBuildSpecValue {
        data: NixSpec {
            flake_location_dir,
            build_context_dir,
            image_name,
            flake_output,
        },
        origin: call.origin(),
    }))
}

/// `ImageBuildSpec(...)` as written.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ImageBuildData {
    pub image_name: String,
    pub build_context_dir: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_stage: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub build_args: BTreeMap<String, String>,
}

kurtosis_type!(ImageBuildSpecValue, "ImageBuildSpec", ImageBuildData);

pub(crate) static IMAGE_BUILD_SPEC: BuiltinDef = BuiltinDef::global(
    "ImageBuildSpec",
    &[
        req("image_name")
            .ty("str")
            .doc("The tag the built image gets; the service's container runs it."),
        req("build_context_dir")
            .ty("str")
            .doc("A locator of the folder holding the Dockerfile: relative to the calling file, `/`-rooted at the package, or `github.com/...`. Kurtosis sends the Dockerfile's own folder as the build context, not this one when `build_file` is in a sub-folder."),
        opt("build_file")
            .ty("str")
            .default("\"Dockerfile\"")
            .doc("The Dockerfile's path inside `build_context_dir`."),
        opt("target_stage")
            .ty("str")
            .doc("The stage of a multi-stage Dockerfile to build (`docker build --target`); left out, the last stage."),
        opt("build_args")
            .ty("dict[str, str]")
            .doc("Values for the Dockerfile's `ARG`s (`docker build --build-arg`)."),
    ],
    image_build_spec,
)
.returns("ImageBuildSpec")
.doc("Builds the service's container image from a Dockerfile in the package, with BuildKit on the engine, instead of pulling it.");

fn image_build_spec<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let image_name = call.string(session, "image_name");
    let build_context_dir = call.string(session, "build_context_dir");
    let build_file = call.string(session, "build_file");
    let target_stage = call.string(session, "target_stage");
    let build_args = call.string_dict(session, "build_args").unwrap_or_default();
    let (Some(image_name), Some(build_context_dir)) = (image_name, build_context_dir) else {
        return Ok(eval.heap().alloc(Unknown));
    };
    Ok(eval.heap().alloc(ImageBuildSpecValue {
        data: ImageBuildData {
            image_name,
            build_context_dir,
            build_file,
            target_stage,
            build_args,
        },
        origin: call.origin(),
    }))
}

/// `ImageSpec(...)` as written; the password is never shown.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ImageSpecData {
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip)]
    pub has_password: bool,
}

kurtosis_type!(ImageSpecValue, "ImageSpec", ImageSpecData);

pub(crate) static IMAGE_SPEC: BuiltinDef = BuiltinDef::global(
    "ImageSpec",
    &[
        req("image")
            .ty("str")
            .doc("The image reference to pull, such as `\"ghcr.io/org/app:1.2\"`."),
        opt("registry")
            .ty("str")
            .doc("The registry to log in to, such as `\"https://ghcr.io\"`; left out, Docker Hub."),
        opt("username")
            .ty("str")
            .doc("The user name for the registry; a non-empty string."),
        opt("password")
            .ty("str")
            .doc("The password or token for the registry; a non-empty string. It ends up in the plan Kurtosis stores, so pass it through package arguments rather than writing it in the package."),
    ],
    image_spec,
)
.returns("ImageSpec")
.doc("An image to pull from a private registry, with its credentials. Kurtosis's documentation sometimes calls it `ImageRegistrySpec`; the Starlark name is `ImageSpec`.");

fn image_spec<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let image = call.string(session, "image");
    let registry = call.string(session, "registry");
    let username = call.string(session, "username");
    let has_password = call.string(session, "password").is_some();
    let Some(image) = image else {
        return Ok(eval.heap().alloc(Unknown));
    };
    Ok(eval.heap().alloc(ImageSpecValue {
        data: ImageSpecData {
            image,
            registry,
            username,
            has_password,
        },
        origin: call.origin(),
    }))
}

/// Where a service's image comes from, as `ServiceConfig` received it.
#[derive(Clone, Debug)]
pub(crate) enum ImageChoice {
    Name(String, Origin),
    Nix(NixSpec, Origin),
    Dockerfile(ImageBuildData, Origin),
    Registry(ImageSpecData, Origin),
    /// A stand-in value: nothing to check.
    Unknown,
}

impl ImageChoice {
    /// The image name, and where it was written.
    pub fn name_and_argument(&self) -> Option<(&str, Place)> {
        match self {
            ImageChoice::Name(name, origin) => Some((name, origin.call.clone())),
            ImageChoice::Nix(spec, origin) => Some((&spec.image_name, origin.arg("image_name"))),
            ImageChoice::Dockerfile(spec, origin) => {
                Some((&spec.image_name, origin.arg("image_name")))
            }
            ImageChoice::Registry(spec, origin) => Some((&spec.image, origin.arg("image"))),
            ImageChoice::Unknown => None,
        }
    }

    pub fn image_name(&self) -> Option<&str> {
        self.name_and_argument().map(|(name, _)| name)
    }

    /// Reads the `image` argument of `ServiceConfig`, `run_sh` or `run_python`.
    pub fn from_argument<'v>(
        call: &Call<'v>,
        session: &Session,
        name: &str,
    ) -> Option<ImageChoice> {
        let value = call.given(name)?;
        if is_unknown(value) {
            return Some(ImageChoice::Unknown);
        }
        if value.unpack_str().is_some() {
            let text = call.string(session, name)?;
            let origin = super::super::values::Origin {
                call: call.place_of(name),
                args: Vec::new(),
            };
            return Some(ImageChoice::Name(text, origin));
        }
        if let Some(spec) = value.downcast_ref::<NixBuildSpecValue>() {
            return Some(ImageChoice::Nix(spec.data.clone(), spec.origin.clone()));
        }
        if let Some(spec) = value.downcast_ref::<ImageBuildSpecValue>() {
            return Some(ImageChoice::Dockerfile(
                spec.data.clone(),
                spec.origin.clone(),
            ));
        }
        if let Some(spec) = value.downcast_ref::<ImageSpecValue>() {
            return Some(ImageChoice::Registry(
                spec.data.clone(),
                spec.origin.clone(),
            ));
        }
        call.report(
            session,
            Rule::WrongType,
            name,
            format!(
                "`{name}` of `{}` must be an image name (a string), an ImageBuildSpec, an ImageSpec or a NixBuildSpec, got {}",
                call.def.display_name(),
                super::super::args::describe(value)
            ),
        );
        call.incomplete.set(true);
        None
    }
}

/// `ServiceConfig(...)`: the service settings plus where its image comes from.
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct ServiceConfigValue {
    #[allocative(skip)]
    pub config: plan::ServiceConfig,
    #[allocative(skip)]
    pub image: ImageChoice,
    #[allocative(skip)]
    pub origin: Origin,
    /// Where the ready condition's recipe names its port, if it is an HTTP recipe.
    #[allocative(skip)]
    pub ready_port_place: Option<Place>,
    /// (argument, port id) of ports whose PortSpec could not be read.
    #[allocative(skip)]
    pub unread_ports: Vec<(&'static str, String)>,
    /// `false` when some port could not be read: the service's ports are then not known, so
    /// nothing may be checked against them (one bad PortSpec must not cascade).
    #[allocative(skip)]
    pub ports_fully_read: bool,
}

starlark_simple_value!(ServiceConfigValue);

impl Display for ServiceConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceConfig(image={:?})", self.config.image)
    }
}

#[starlark_value(type = "ServiceConfig")]
impl<'v> StarlarkValue<'v> for ServiceConfigValue {
    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        // Kurtosis gives back the arguments as passed: `config.ports["http"]` is a PortSpec.
        let ports = match attribute {
            "ports" => &self.config.ports,
            "public_ports" => &self.config.public_ports,
            _ => return json_attr(&self.config, attribute, heap),
        };
        if ports.is_empty() {
            return None;
        }
        Some(
            heap.alloc(starlark::values::dict::AllocDict(ports.iter().map(
                |(id, spec)| {
                    (
                        id.as_str(),
                        PortSpecValue {
                            data: spec.clone(),
                            origin: self.origin.clone(),
                        },
                    )
                },
            ))),
        )
    }

    fn dir_attr(&self) -> Vec<String> {
        json_attr_names(&self.config)
    }
}

pub(crate) static SERVICE_CONFIG: BuiltinDef = BuiltinDef::global(
    "ServiceConfig",
    &[
        req("image")
            .ty("str | ImageBuildSpec | NixBuildSpec | ImageSpec")
            .doc("The container image: a name to pull (`\"postgres:16\"`), or a spec that builds it (`ImageBuildSpec`, `NixBuildSpec`) or pulls it with credentials (`ImageSpec`). A name without a tag means `:latest`."),
        opt("ports")
            .ty("dict[str, PortSpec]")
            .doc("The ports the service listens on, by port id. A port id is 1-15 lower-case letters, digits and `-`, starting with a letter (RFC 6335); Kurtosis checks it only after the whole Starlark has run."),
        opt("public_ports")
            .ty("dict[str, PortSpec]")
            .doc("Host ports to publish the service's ports on, by the same port ids as `ports` (Docker only)."),
        opt("files")
            .ty("dict[str, str | Directory]")
            .doc("What to mount in the container, by absolute path: a files artifact's name, or a `Directory` of artifacts or of a persistent volume."),
        opt("entrypoint")
            .ty("list[str]")
            .default("[]")
            .doc("Replaces the image's `ENTRYPOINT`; empty keeps the image's."),
        opt("cmd")
            .ty("list[str]")
            .default("[]")
            .doc("Replaces the image's `CMD`; empty keeps the image's."),
        opt("env_vars")
            .ty("dict[str, str]")
            .default("{}")
            .doc("Environment variables of the container."),
        opt("private_ip_address_placeholder")
            .ty("str")
            .default("\"KURTOSIS_IP_ADDR_PLACEHOLDER\"")
            .doc("A string that Kurtosis replaces with the service's own IP address in `entrypoint`, `cmd` and `env_vars` when it starts the container."),
        opt("cpu_allocation")
            .ty("int")
            .doc("Deprecated: use `max_cpu`, which it sets when `max_cpu` is not given."),
        opt("memory_allocation")
            .ty("int")
            .doc("Deprecated: use `max_memory`, which it sets when `max_memory` is not given."),
        opt("max_cpu")
            .ty("int")
            .default("0")
            .doc("The CPU limit in millicores (1000 is one core); 0 means no limit."),
        opt("min_cpu")
            .ty("int")
            .default("0")
            .doc("The CPU the service reserves, in millicores. Kubernetes only; Docker ignores it."),
        opt("max_memory")
            .ty("int")
            .default("0")
            .doc("The memory limit in megabytes: 0 (no limit) or at least 6."),
        opt("min_memory")
            .ty("int")
            .default("0")
            .doc("The memory the service reserves, in megabytes. Kubernetes only; Docker ignores it."),
        opt("ready_conditions")
            .ty("ReadyCondition")
            .doc("A check that Kurtosis repeats after starting the container until it holds; the instruction fails if it never does. Despite the plural name it is one `ReadyCondition`, not a list."),
        opt("labels")
            .ty("dict[str, str]")
            .default("{}")
            .doc("Labels on the container. Keys are lower-case letters, digits, `-`, `.` and `_`; keys and values at most 63 characters, as Docker and Kubernetes both accept."),
        opt("user")
            .ty("User")
            .doc("The user and group the container runs as; left out, the image's `USER`."),
        opt("tolerations")
            .ty("list[Toleration]")
            .default("[]")
            .doc("Kubernetes taints the pod tolerates. Kubernetes only; Docker ignores them."),
        opt("node_selectors")
            .ty("dict[str, str]")
            .default("{}")
            .doc("Node labels the pod must be scheduled on. Kubernetes only; Docker ignores them."),
        opt("files_to_be_moved")
            .ty("dict[str, str]")
            .default("{}")
            .doc("Files to move inside the container after the mounts, from path to path; an internal argument Kurtosis uses for its own images."),
        opt("tini_enabled")
            .ty("bool")
            .default("True")
            .doc("Runs an init process (Docker's `--init`) as PID 1, which reaps zombie processes."),
        opt("tty_enabled")
            .ty("bool")
            .default("False")
            .doc("Gives the container a terminal (Docker's `--tty`)."),
        opt("devices")
            .ty("list[str]")
            .default("[]")
            .doc("Host device paths to pass into the container, such as `\"/dev/fuse\"` (Docker only)."),
        opt("publish_udp")
            .ty("bool")
            .default("False")
            .doc("Also publishes the UDP side of the service's ports on the host (Docker only)."),
        opt("capabilities")
            .ty("list[str]")
            .default("[]")
            .doc("Linux capabilities to add, such as `\"NET_ADMIN\"` (Docker only)."),
        opt("gpu")
            .ty("GpuConfig")
            .doc("GPUs to give the container."),
        opt("privileged")
            .ty("bool")
            .default("False")
            .doc("Runs the container privileged (Docker only). Kurtosis refuses it unless the run opts in to privileged mode."),
        opt("host_pid_namespace")
            .ty("bool")
            .default("False")
            .doc("Shares the host's process namespace with the container (Docker only). Kurtosis refuses it unless the run opts in to privileged mode."),
        opt("bind_mounts")
            .ty("dict[str, str]")
            .default("{}")
            .doc("Host paths to mount, from host path to container path. Kurtosis allows only `/var/run/docker.sock`, and only when the run opts in to privileged mode."),
    ],
    service_config,
)
.returns("ServiceConfig")
.doc("How to run a service's container: its image, ports, files, command, environment and resources. `plan.add_service` and `plan.add_services` take it.");

/// A `ports`-style argument (port id → PortSpec), as far as it could be read.
#[derive(Default)]
pub(crate) struct PortsArg {
    pub specs: BTreeMap<String, plan::PortSpec>,
    /// Port ids whose PortSpec could not be read: an error was reported there already, or it
    /// is a stand-in. The ports exist; only their specs are unknown.
    pub unread: Vec<String>,
    /// `false` when the dict itself, or one of its keys, could not be read.
    pub keys_known: bool,
}

impl PortsArg {
    pub fn fully_read(&self) -> bool {
        self.keys_known && self.unread.is_empty()
    }
}

/// Reads a `ports`-style dict of port id → PortSpec.
pub(crate) fn ports<'v>(call: &Call<'v>, session: &Session, name: &str) -> PortsArg {
    let entries = call.dict(session, name, "a dict of port ids to PortSpec");
    let mut ports = PortsArg {
        keys_known: entries.is_some() || call.given(name).is_none(),
        ..PortsArg::default()
    };
    for (key, value) in entries.unwrap_or_default() {
        if is_unknown(key) {
            ports.keys_known = false;
            continue;
        }
        let Some(id) = key.unpack_str() else {
            ports.keys_known = false;
            call.report(
                session,
                Rule::WrongType,
                name,
                format!(
                    "the keys of `{name}` must be port ids (strings), got {}",
                    super::super::args::describe(key)
                ),
            );
            continue;
        };
        if is_unknown(value) {
            ports.unread.push(id.to_owned());
            continue;
        }
        match value.downcast_ref::<PortSpecValue>() {
            Some(spec) => {
                ports.specs.insert(id.to_owned(), spec.data.clone());
            }
            None => {
                ports.unread.push(id.to_owned());
                call.report(
                    session,
                    Rule::WrongType,
                    name,
                    format!(
                        "port `{id}` in `{name}` must be a PortSpec, got {}",
                        super::super::args::describe(value)
                    ),
                )
                .help(format!("write `\"{id}\": PortSpec(number=...)`"));
            }
        }
    }
    ports
}

fn service_config<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let image = ImageChoice::from_argument(call, session, "image");
    let private_ports = ports(call, session, "ports");
    let public_ports = ports(call, session, "public_ports");
    let ports_fully_read = private_ports.fully_read() && public_ports.fully_read();
    let unread_ports = (private_ports.unread.into_iter().map(|id| ("ports", id)))
        .chain(
            public_ports
                .unread
                .into_iter()
                .map(|id| ("public_ports", id)),
        )
        .collect();
    let mut config = plan::ServiceConfig {
        image: image
            .as_ref()
            .and_then(ImageChoice::image_name)
            .unwrap_or_default()
            .to_owned(),
        ports: private_ports.specs,
        public_ports: public_ports.specs,
        files: super::instructions::files_mounts(call, session, "files"),
        entrypoint: call.string_list(session, "entrypoint").unwrap_or_default(),
        cmd: call.string_list(session, "cmd").unwrap_or_default(),
        env_vars: call.string_dict(session, "env_vars").unwrap_or_default(),
        private_ip_address_placeholder: call.string(session, "private_ip_address_placeholder"),
        max_cpu: call.int(session, "max_cpu", 0, i64::MAX),
        min_cpu: call.int(session, "min_cpu", 0, i64::MAX),
        max_memory: call.int(session, "max_memory", 0, i64::MAX),
        min_memory: call.int(session, "min_memory", 0, i64::MAX),
        labels: call.string_dict(session, "labels").unwrap_or_default(),
        node_selectors: call
            .string_dict(session, "node_selectors")
            .unwrap_or_default(),
        files_to_be_moved: call
            .string_dict(session, "files_to_be_moved")
            .unwrap_or_default(),
        tini_enabled: call.bool(session, "tini_enabled"),
        tty_enabled: call.bool(session, "tty_enabled"),
        devices: call.string_list(session, "devices").unwrap_or_default(),
        publish_udp: call.bool(session, "publish_udp"),
        capabilities: call
            .string_list(session, "capabilities")
            .unwrap_or_default(),
        privileged: call.bool(session, "privileged"),
        host_pid_namespace: call.bool(session, "host_pid_namespace"),
        bind_mounts: call.string_dict(session, "bind_mounts").unwrap_or_default(),
        ..Default::default()
    };
    if let Some(memory) = config.max_memory {
        if memory != 0 && memory < 6 {
            call.report(session, Rule::OutOfRange, "max_memory", format!("`max_memory` is in megabytes and must be 0 (no limit) or at least 6, got {memory}"));
        }
    }
    for (deprecated, replacement) in [
        ("cpu_allocation", "max_cpu"),
        ("memory_allocation", "max_memory"),
    ] {
        if let Some(value) = call.int(session, deprecated, 0, i64::MAX) {
            call.report(
                session,
                Rule::DeprecatedArgument,
                deprecated,
                format!("`{deprecated}` is deprecated in Kurtosis"),
            )
            .help(format!("use `{replacement}` instead"));
            match replacement {
                "max_cpu" if config.max_cpu.is_none() => config.max_cpu = Some(value),
                "max_memory" if config.max_memory.is_none() => config.max_memory = Some(value),
                _ => {}
            }
        }
    }
    let ready_port_place = service_config_extras(call, session, &mut config);
    let Some(image) = image else {
        return Ok(eval.heap().alloc(Unknown));
    };
    Ok(eval.heap().alloc(ServiceConfigValue {
        config,
        image,
        origin: call.origin(),
        ready_port_place,
        unread_ports,
        ports_fully_read,
    }))
}

/// JSON of any Kurtosis object, for values that flow into the plan.
pub(crate) fn object_json(value: Value) -> Option<serde_json::Value> {
    if let Some(port) = value.downcast_ref::<PortSpecValue>() {
        return serde_json::to_value(&port.data).ok();
    }
    if let Some(config) = value.downcast_ref::<ServiceConfigValue>() {
        return serde_json::to_value(&config.config).ok();
    }
    if let Some(spec) = value.downcast_ref::<NixBuildSpecValue>() {
        return serde_json::to_value(&spec.data).ok();
    }
    if let Some(spec) = value.downcast_ref::<ImageBuildSpecValue>() {
        return serde_json::to_value(&spec.data).ok();
    }
    if let Some(spec) = value.downcast_ref::<ImageSpecValue>() {
        return serde_json::to_value(&spec.data).ok();
    }
    if let Some(user) = value.downcast_ref::<UserValue>() {
        return serde_json::to_value(&user.data).ok();
    }
    if let Some(toleration) = value.downcast_ref::<TolerationValue>() {
        return serde_json::to_value(&toleration.data).ok();
    }
    if let Some(directory) = value.downcast_ref::<DirectoryValue>() {
        return serde_json::to_value(&directory.data).ok();
    }
    if let Some(gpu) = value.downcast_ref::<GpuConfigValue>() {
        return serde_json::to_value(&gpu.data).ok();
    }
    if let Some(store) = value.downcast_ref::<StoreSpecValue>() {
        return serde_json::to_value(&store.data).ok();
    }
    super::recipes::object_json(value).or_else(|| super::instructions::object_json(value))
}

/// The mount a `Directory(...)` value describes.
pub(crate) fn directory_mount(value: Value) -> Option<plan::FilesMount> {
    value
        .downcast_ref::<DirectoryValue>()
        .map(|directory| plan::FilesMount::Directory {
            artifact_names: directory.data.artifact_names.clone().unwrap_or_default(),
            persistent_key: directory.data.persistent_key.clone(),
            size: directory.data.size,
        })
}

/// The items of a list (or tuple) argument, or `None` (reported) when it is something else.
pub(crate) fn list_items<'v>(
    call: &Call<'v>,
    session: &Session,
    name: &str,
    expected: &str,
) -> Option<Vec<Value<'v>>> {
    let value = call.given(name).filter(|value| !is_unknown(*value))?;
    if let Some(list) = ListRef::from_value(value) {
        return Some(list.content().to_vec());
    }
    if let Some(tuple) = TupleRef::from_value(value) {
        return Some(tuple.content().to_vec());
    }
    call.report(
        session,
        Rule::WrongType,
        name,
        format!(
            "`{name}` of `{}` must be {expected}, got {}",
            call.def.display_name(),
            describe(value)
        ),
    );
    if call
        .def
        .params
        .iter()
        .any(|param| param.name == name && param.required)
    {
        call.incomplete.set(true);
    }
    None
}

/// A list of integers (`acceptable_codes`).
pub(crate) fn int_list(call: &Call, session: &Session, name: &str) -> Option<Vec<i64>> {
    let items = list_items(call, session, name, "a list of integers")?;
    let mut numbers = Vec::with_capacity(items.len());
    for item in items {
        if is_unknown(item) {
            return None;
        }
        match item.unpack_i32() {
            Some(number) => numbers.push(i64::from(number)),
            None => {
                call.report(
                    session,
                    Rule::WrongType,
                    name,
                    format!(
                        "`{name}` of `{}` must hold only integers, but holds {}",
                        call.def.display_name(),
                        describe(item)
                    ),
                );
                return None;
            }
        }
    }
    Some(numbers)
}

kurtosis_type!(
    /// `User(uid, gid)`.
    UserValue, "User", plan::User
);

pub(crate) static USER: BuiltinDef = BuiltinDef::global(
    "User",
    &[
        req("uid")
            .ty("int")
            .doc("The user id the container runs as; 0 or more."),
        opt("gid")
            .ty("int")
            .doc("The group id the container runs as; 0 or more. Left out, the user's primary group in the image."),
    ],
    user,
)
.returns("User")
.doc("The user and group a service's container runs as, for `ServiceConfig.user`.");

fn user<'v>(call: &Call<'v>, eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let uid = call.int(session, "uid", 0, i64::MAX);
    let gid = call.int(session, "gid", 0, i64::MAX);
    let Some(uid) = uid else {
        return Ok(eval.heap().alloc(Unknown));
    };
    Ok(eval.heap().alloc(UserValue {
        data: plan::User { uid, gid },
        origin: call.origin(),
    }))
}

/// `Toleration(...)` as written.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct TolerationData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toleration_seconds: Option<i64>,
}

kurtosis_type!(
    /// `Toleration(key, operator, value, effect, toleration_seconds)` (Kubernetes only).
    TolerationValue, "Toleration", TolerationData
);

pub(crate) static TOLERATION: BuiltinDef = BuiltinDef::global(
    "Toleration",
    &[
        opt("key")
            .ty("str")
            .doc("The taint key the toleration matches. Required unless `operator` is `\"Exists\"`, which with no key tolerates every taint."),
        opt("operator")
            .ty("str")
            .default("\"Equal\"")
            .doc("`\"Equal\"` (the taint's value must equal `value`) or `\"Exists\"` (any value; then `value` must be left out)."),
        opt("value")
            .ty("str")
            .doc("The taint value to match with the `\"Equal\"` operator."),
        opt("effect")
            .ty("str")
            .doc("The taint effect to match: `\"NoSchedule\"`, `\"PreferNoSchedule\"` or `\"NoExecute\"`; left out, every effect."),
        opt("toleration_seconds")
            .ty("int")
            .doc("With `\"NoExecute\"`, how long the pod stays on a node after the taint appears; left out, forever."),
    ],
    toleration,
)
.returns("Toleration")
.doc("A Kubernetes toleration, for `ServiceConfig.tolerations` and the tasks' `tolerations`. Kubernetes only: Docker ignores it.");

const TOLERATION_OPERATORS: &[&str] = &["Exists", "Equal"];
const TOLERATION_EFFECTS: &[&str] = &["NoSchedule", "NoExecute", "PreferNoSchedule"];

/// Reports a string argument that is not one of `allowed`; returns it when it is.
pub(crate) fn one_of(
    call: &Call,
    session: &Session,
    name: &str,
    allowed: &[&str],
) -> Option<String> {
    let text = call.any_string(session, name)?;
    if allowed.contains(&text.as_str()) {
        return Some(text);
    }
    let list = allowed
        .iter()
        .map(|value| format!("\"{value}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut report = call.report(
        session,
        Rule::InvalidValue,
        name,
        format!(
            "`{name}` of `{}` must be one of {list}, got \"{text}\"",
            call.def.display_name()
        ),
    );
    if let Some(fixed) = allowed
        .iter()
        .find(|value| value.eq_ignore_ascii_case(&text))
    {
        report = report.help(format!("the values are case-sensitive: \"{fixed}\""));
    }
    drop(report);
    None
}

fn toleration<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let key = call.string(session, "key");
    let operator = one_of(call, session, "operator", TOLERATION_OPERATORS);
    let value = call.any_string(session, "value");
    let effect = one_of(call, session, "effect", TOLERATION_EFFECTS);
    let toleration_seconds = call.int(session, "toleration_seconds", i64::MIN, i64::MAX);
    let exists = operator.as_deref() == Some("Exists");
    let key_given = call.given("key").is_some();
    let operator_unknown = call.given("operator").is_some_and(is_unknown);
    if !key_given && !exists && !operator_unknown {
        call.report(
            session,
            Rule::MissingArgument,
            if call.given("operator").is_some() { "operator" } else { "key" },
            "a `Toleration` needs a `key`, unless its `operator` is \"Exists\" (which matches every key)",
        )
        .help("add `key = \"...\"`, or set `operator = \"Exists\"` to tolerate every taint");
    }
    if exists && value.as_deref().is_some_and(|value| !value.is_empty()) {
        call.report(
            session,
            Rule::ConflictingArguments,
            "value",
            "a `Toleration` with `operator = \"Exists\"` cannot have a `value`",
        )
        .help("remove `value`, or use `operator = \"Equal\"` to match the value");
    }
    Ok(eval.heap().alloc(TolerationValue {
        data: TolerationData {
            key,
            operator,
            value,
            effect,
            toleration_seconds,
        },
        origin: call.origin(),
    }))
}

/// `Directory(...)` as written.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct DirectoryData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_names: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
}

kurtosis_type!(
    /// `Directory(artifact_names, persistent_key, size)`: what a path in `files` mounts.
    DirectoryValue, "Directory", DirectoryData
);

pub(crate) static DIRECTORY: BuiltinDef = BuiltinDef::global(
    "Directory",
    &[
        opt("artifact_names")
            .ty("list[str]")
            .doc("Files artifacts to mount together in one folder, by name. Give this or `persistent_key`, not both."),
        opt("persistent_key")
            .ty("str")
            .doc("Mounts a persistent volume with this key, kept across re-runs in the same enclave: 1-63 lower-case letters, digits and `-`, starting with a letter. Give this or `artifact_names`, not both."),
        opt("size")
            .ty("int")
            .doc("The size of a persistent volume in megabytes, at least 1. Kubernetes only: Docker volumes grow as needed."),
    ],
    directory,
)
.returns("Directory")
.doc("A folder to mount with `ServiceConfig.files`: files artifacts merged together, or a persistent volume.");

/// RFC 1035 label, as Kurtosis requires of persistent keys (and service names).
pub(crate) fn is_rfc1035_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && (bytes[bytes.len() - 1].is_ascii_lowercase() || bytes[bytes.len() - 1].is_ascii_digit())
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn directory<'v>(call: &Call<'v>, eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let mut artifact_names = None;
    if let Some(items) = list_items(
        call,
        session,
        "artifact_names",
        "a list of files artifact names",
    ) {
        let mut names = Vec::new();
        let mut usable = true;
        for item in items {
            if is_unknown(item) {
                usable = false;
                continue;
            }
            match item.unpack_str() {
                Some("") => {
                    call.report(
                        session,
                        Rule::EmptyString,
                        "artifact_names",
                        "`artifact_names` of `Directory` must not hold an empty string",
                    );
                    usable = false;
                }
                Some(name) => names.push(name.to_owned()),
                None => {
                    call.report(
                        session,
                        Rule::WrongType,
                        "artifact_names",
                        format!(
                            "`artifact_names` of `Directory` must hold only files artifact names (strings), but holds {}",
                            describe(item)
                        ),
                    );
                    usable = false;
                }
            }
        }
        if usable {
            artifact_names = Some(names);
        }
    }
    let persistent_key = call.string(session, "persistent_key");
    if let Some(key) = &persistent_key {
        if !key.contains("{{kurtosis:") && !is_rfc1035_label(key) {
            call.report(
                session,
                Rule::InvalidValue,
                "persistent_key",
                format!("`{key}` is not a valid persistent key: use lower-case letters, digits and `-`, start with a letter, at most 63 characters (RFC 1035)"),
            )
            .help(format!("for example \"{}\"", super::instructions::suggest_dns_label(key, 63)));
        }
    }
    let size = call.int(session, "size", 1, i64::MAX);
    let artifacts_given = call.given("artifact_names").is_some();
    let key_given = call.given("persistent_key").is_some();
    if artifacts_given == key_given {
        let message = if artifacts_given {
            "a `Directory` takes either `artifact_names` or `persistent_key`, not both"
        } else {
            "a `Directory` needs `artifact_names` (files artifacts to mount) or `persistent_key` (a persistent volume)"
        };
        call.report(
            session,
            if artifacts_given { Rule::ConflictingArguments } else { Rule::MissingArgument },
            if artifacts_given { "persistent_key" } else { "artifact_names" },
            message,
        )
        .help("use `Directory(artifact_names = [...])` to mount files artifacts, or `Directory(persistent_key = \"...\")` for a persistent folder");
        return Ok(eval.heap().alloc(Unknown));
    }
    if call.given("artifact_names").is_some_and(is_unknown)
        || call.given("persistent_key").is_some_and(is_unknown)
    {
        return Ok(eval.heap().alloc(Unknown));
    }
    if artifacts_given && artifact_names.is_none() || key_given && persistent_key.is_none() {
        return Ok(eval.heap().alloc(Unknown));
    }
    Ok(eval.heap().alloc(DirectoryValue {
        data: DirectoryData {
            artifact_names,
            persistent_key,
            size,
        },
        origin: call.origin(),
    }))
}

/// `GpuConfig(...)` as written.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct GpuData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<serde_json::Value>,
}

kurtosis_type!(
    /// `GpuConfig(count, device_ids, shm_size, ulimits, driver)`.
    GpuConfigValue, "GpuConfig", GpuData
);

pub(crate) static GPU_CONFIG: BuiltinDef = BuiltinDef::global(
    "GpuConfig",
    &[
        opt("count")
            .ty("int")
            .doc("How many GPUs to give the container; -1 means all of them."),
        opt("device_ids")
            .ty("list[str]")
            .doc("The ids of the GPUs to give the container, instead of a `count`."),
        opt("shm_size")
            .ty("int")
            .doc("The size of `/dev/shm` in megabytes, which GPU workloads often need larger than Docker's 64 MB."),
        opt("ulimits")
            .ty("dict[str, int]")
            .doc("Resource limits by name, such as `{\"memlock\": -1, \"stack\": 67108864}`; -1 means unlimited."),
        opt("driver")
            .ty("str | dict[str, str]")
            .default("\"nvidia\"")
            .doc("The GPU vendor: a string such as `\"amd\"` (the Kubernetes resource becomes `amd.com/gpu`), or a dict with `\"docker\"` and `\"kubernetes\"` keys to name each separately."),
    ],
    gpu_config,
)
.returns("GpuConfig")
.doc("GPUs to give a service's container, for `ServiceConfig.gpu`.");

fn gpu_config<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let count = call.int(session, "count", i64::from(i32::MIN), i64::MAX);
    let device_ids = call.string_list(session, "device_ids");
    let shm_size = call.int(session, "shm_size", 0, i64::MAX);
    let mut ulimits = BTreeMap::new();
    for (key, value) in call
        .dict(session, "ulimits", "a dict of limit names to integers")
        .unwrap_or_default()
    {
        if is_unknown(key) || is_unknown(value) {
            continue;
        }
        match (key.unpack_str(), value.unpack_i32()) {
            (Some(key), Some(limit)) => {
                ulimits.insert(key.to_owned(), i64::from(limit));
            }
            _ => {
                let culprit = if key.unpack_str().is_none() {
                    key
                } else {
                    value
                };
                call.report(
                    session,
                    Rule::WrongType,
                    "ulimits",
                    format!(
                        "`ulimits` of `GpuConfig` must map limit names to integers, but holds {}",
                        describe(culprit)
                    ),
                )
                .help("write e.g. `ulimits = {\"memlock\": -1, \"nofile\": 65536}`");
            }
        }
    }
    let mut driver = None;
    if let Some(value) = call.given("driver").filter(|value| !is_unknown(*value)) {
        if let Some(text) = value.unpack_str() {
            if text.is_empty() {
                call.report(
                    session,
                    Rule::EmptyString,
                    "driver",
                    "`driver` of `GpuConfig` must not be an empty string",
                )
                .help("leave `driver` out for \"nvidia\"");
            } else {
                driver = Some(serde_json::Value::String(text.to_owned()));
            }
        } else if let Some(dict) = starlark::values::dict::DictRef::from_value(value) {
            let mut map = serde_json::Map::new();
            for (key, item) in dict.iter() {
                let key_text = key.unpack_str().unwrap_or_default();
                if !["docker", "kubernetes"].contains(&key_text) {
                    continue;
                }
                match item.unpack_str() {
                    Some(text) if !text.is_empty() => {
                        map.insert(key_text.to_owned(), text.to_owned().into());
                    }
                    _ if is_unknown(item) => {}
                    _ => {
                        call.report(
                            session,
                            Rule::WrongType,
                            "driver",
                            format!("`driver[\"{key_text}\"]` of `GpuConfig` must be a non-empty string, got {}", describe(item)),
                        );
                    }
                }
            }
            driver = Some(serde_json::Value::Object(map));
        } else {
            call.report(
                session,
                Rule::WrongType,
                "driver",
                format!(
                    "`driver` of `GpuConfig` must be a string or a dict with \"docker\"/\"kubernetes\" keys, got {}",
                    describe(value)
                ),
            );
        }
    }
    Ok(eval.heap().alloc(GpuConfigValue {
        data: GpuData {
            count,
            device_ids,
            shm_size,
            ulimits,
            driver,
        },
        origin: call.origin(),
    }))
}

/// `StoreSpec(...)` as written.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct StoreSpecData {
    pub src: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

kurtosis_type!(
    /// `StoreSpec(src, name)`: a path a task stores as a files artifact.
    StoreSpecValue, "StoreSpec", StoreSpecData
);

pub(crate) static STORE_SPEC: BuiltinDef =
    BuiltinDef::global(
    "StoreSpec",
    &[
        req("src")
            .ty("str")
            .doc("The path in the task's container to keep when the task ends; a glob such as `\"/out/*.json\"` works."),
        opt("name")
            .ty("str")
            .doc("The name of the files artifact it becomes; left out, Kurtosis makes up a unique name."),
    ],
    store_spec,
)
.returns("StoreSpec")
.doc("A path a task's container keeps as a files artifact, for the `store` argument of `plan.run_sh` and `plan.run_python`.");

fn store_spec<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let src = call.string(session, "src");
    let name = call.string(session, "name");
    let Some(src) = src else {
        return Ok(eval.heap().alloc(Unknown));
    };
    if call.given("name").is_some_and(is_unknown) {
        return Ok(eval.heap().alloc(Unknown));
    }
    Ok(eval.heap().alloc(StoreSpecValue {
        data: StoreSpecData { src, name },
        origin: call.origin(),
    }))
}

/// Why a service label key is refused (Kurtosis checks it as a Docker and a Kubernetes key,
/// behind its own prefix), or `None`.
pub(crate) fn label_key_problem(key: &str) -> Option<String> {
    if key.trim().is_empty() {
        return Some("a label key must not be empty".to_owned());
    }
    if let Some(bad) = key
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(*c)))
    {
        return Some(format!(
            "label key `{key}` holds `{bad}`: only lower-case letters, digits, `-`, `.` and `_` are allowed"
        ));
    }
    if key.len() > 63 {
        return Some(format!(
            "label key `{key}` is {} characters long; at most 63 are allowed",
            key.len()
        ));
    }
    let first = key.as_bytes()[0];
    let last = key.as_bytes()[key.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Some(format!(
            "label key `{key}` must start and end with a letter or a digit"
        ));
    }
    None
}

/// Why a service label value is refused (Kubernetes's label value rules), or `None`.
pub(crate) fn label_value_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    if value.len() > 63 {
        return Some(format!(
            "label value `{value}` is {} characters long; at most 63 are allowed",
            value.len()
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._".contains(*c)))
    {
        return Some(format!(
            "label value `{value}` holds `{}`: only letters, digits, `-`, `.` and `_` are allowed",
            bad.escape_default()
        ));
    }
    let first = value.as_bytes()[0];
    let last = value.as_bytes()[value.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Some(format!(
            "label value `{value}` must start and end with a letter or a digit"
        ));
    }
    None
}

/// Host paths Kurtosis lets `bind_mounts` use.
const ALLOWED_BIND_MOUNTS: &[&str] = &["/var/run/docker.sock"];

/// The `ServiceConfig` arguments that take Kurtosis objects, and the checks across arguments.
/// Returns where the ready condition's recipe names its port.
fn service_config_extras(
    call: &Call,
    session: &Session,
    config: &mut plan::ServiceConfig,
) -> Option<Place> {
    let mut ready_port_place = None;
    if let Some(ready) = call
        .given("ready_conditions")
        .filter(|value| !is_unknown(*value))
    {
        match ready.downcast_ref::<super::recipes::ReadyConditionValue>() {
            Some(condition) => {
                config.ready_conditions = Some(condition.data.condition.clone());
                ready_port_place = condition.data.port_place.clone();
            }
            None => {
                call.report(
                    session,
                    Rule::WrongType,
                    "ready_conditions",
                    format!(
                        "`ready_conditions` of `ServiceConfig` must be a ReadyCondition, got {}",
                        describe(ready)
                    ),
                )
                .help("write `ready_conditions = ReadyCondition(recipe = ..., field = ..., assertion = ..., target_value = ...)`");
            }
        }
    }
    if let Some(user) = call.object::<UserValue>(session, "user", "a User") {
        config.user = Some(user.data.clone());
    }
    for item in list_items(call, session, "tolerations", "a list of Toleration").unwrap_or_default()
    {
        if is_unknown(item) {
            continue;
        }
        match item.downcast_ref::<TolerationValue>() {
            Some(toleration) => config
                .tolerations
                .push(serde_json::to_value(&toleration.data).unwrap_or_default()),
            None => {
                call.report(
                    session,
                    Rule::WrongType,
                    "tolerations",
                    format!(
                        "`tolerations` of `ServiceConfig` must hold only Toleration objects, but holds {}",
                        describe(item)
                    ),
                );
            }
        }
    }
    if let Some(gpu) = call.object::<GpuConfigValue>(session, "gpu", "a GpuConfig") {
        config.gpu = serde_json::to_value(&gpu.data).ok();
    }
    for (key, value) in &config.labels {
        if key.contains("{{kurtosis:") {
            continue;
        }
        let (key_place, value_place) = session.entry_place(&call.place_of("labels"), Some(key), 0);
        if let Some(problem) = label_key_problem(key) {
            call.report_at(session, Rule::InvalidLabel, &key_place, problem)
                .help("Kurtosis stores labels as Docker and Kubernetes labels; keys may use `a-z`, `0-9`, `-`, `.`, `_`, at most 63 characters");
        }
        if value.contains("{{kurtosis:") {
            continue;
        }
        if let Some(problem) = label_value_problem(value) {
            call.report_at(session, Rule::InvalidLabel, &value_place, problem)
                .help("label values may use letters, digits, `-`, `.`, `_`, at most 63 characters, starting and ending with a letter or digit");
        }
    }
    for host_path in config.bind_mounts.keys() {
        if !ALLOWED_BIND_MOUNTS.contains(&host_path.as_str()) {
            call.report(
                session,
                Rule::InvalidValue,
                "bind_mounts",
                format!("`bind_mounts` may not mount the host path `{host_path}`: Kurtosis allows only {}", ALLOWED_BIND_MOUNTS.join(", ")),
            );
        }
    }
    privileged_warning(
        call,
        session,
        &["privileged", "host_pid_namespace", "bind_mounts"],
    );
    ready_port_place
}

/// Warns that privileged settings need the run's opt-in.
pub(crate) fn privileged_warning(call: &Call, session: &Session, names: &[&str]) {
    for &name in names {
        let Some(value) = call.given(name).filter(|value| !is_unknown(*value)) else {
            continue;
        };
        let requested = match value.unpack_bool() {
            Some(flag) => flag,
            None => starlark::values::dict::DictRef::from_value(value)
                .is_some_and(|dict| !dict.is_empty()),
        };
        if requested {
            call.report(
                session,
                Rule::PrivilegedNotAllowed,
                name,
                format!("`{name}` works only when the run opts in to privileged mode, and only on Docker"),
            )
            .help("run with `kurtosis run --privileged`, or set `allow-privileged-mode: true` in kurtosis-config.yml");
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("2m"), Ok(120_000_000_000));
        assert_eq!(parse_go_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_go_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_go_duration(".5ms"), Ok(500_000));
        assert_eq!(parse_go_duration("-3us"), Ok(-3_000));
        assert_eq!(parse_go_duration("+10\u{b5}s"), Ok(10_000));
        assert_eq!(parse_go_duration("300ms2ns"), Ok(300_000_002));
        for bad in [
            "",
            "5",
            "1 s",
            "s",
            "1d",
            "ten seconds",
            ".s",
            "1.2.3s",
            "-",
        ] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse_go_duration("9999999999999h").is_err());
    }

    #[test]
    fn durations_format_like_go() {
        assert_eq!(format_go_duration(0), "0s");
        assert_eq!(format_go_duration(1), "1ns");
        assert_eq!(format_go_duration(1_500), "1.5\u{b5}s");
        assert_eq!(format_go_duration(150_000_000), "150ms");
        assert_eq!(format_go_duration(1_500_000_000), "1.5s");
        assert_eq!(format_go_duration(90_000_000_000), "1m30s");
        assert_eq!(format_go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(format_go_duration(-5_400_000_000_000), "-1h30m0s");
    }

    #[test]
    fn label_rules_follow_docker_and_kubernetes() {
        for good in ["app", "tier.front_end", "a-b", "x1", "0"] {
            assert_eq!(label_key_problem(good), None, "{good}");
        }
        for bad in [
            "",
            "  ",
            "App",
            "a/b",
            "-a",
            "a.",
            "with space",
            &"k".repeat(64),
        ] {
            assert!(
                label_key_problem(bad).is_some(),
                "{bad:?} should be refused"
            );
        }
        for good in ["", "v", "Value-1.2_x", &"v".repeat(63)] {
            assert_eq!(label_value_problem(good), None, "{good}");
        }
        for bad in [
            "bad value",
            "a!",
            "-a",
            "a_",
            "line\nbreak",
            &"v".repeat(64),
        ] {
            assert!(
                label_value_problem(bad).is_some(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn persistent_keys_are_rfc1035_labels() {
        assert!(is_rfc1035_label("data-vol"));
        assert!(is_rfc1035_label("a1"));
        assert!(!is_rfc1035_label("1a"));
        assert!(!is_rfc1035_label("Data"));
        assert!(!is_rfc1035_label("a-"));
        assert!(!is_rfc1035_label(&"a".repeat(64)));
    }
}
