//! Kurtosis's type constructors: `ServiceConfig`, `PortSpec` and the image specs.

use std::collections::BTreeMap;
use std::fmt::{self, Display};

use allocative::Allocative;
use serde::Serialize;
use starlark::any::ProvidesStaticType;
use starlark::eval::Evaluator;
use starlark::starlark_simple_value;
use starlark::values::{Heap, NoSerialize, StarlarkValue, Value, ValueLike, starlark_value};

use super::super::args::{BuiltinDef, Call, opt, req};
use super::super::session::Session;
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
        req("number"),
        opt("transport_protocol"),
        opt("application_protocol"),
        opt("wait"),
        opt("url"),
    ],
    port_spec,
);

/// Kurtosis's default: wait up to two minutes for the port (its docs say 15s; the code says 2m).
pub(crate) const DEFAULT_PORT_WAIT: &str = "2m";

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
    let wait = duration_or_none(call, session, "wait", Some(DEFAULT_PORT_WAIT));
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
    if is_go_duration(&text) {
        Some(text)
    } else {
        call.report(
            session,
            Rule::InvalidValue,
            name,
            format!("`{name}` \"{text}\" is not a duration"),
        )
        .help("write a number with a unit, such as \"30s\", \"2m\" or \"1h30m\" (units: ns, us, ms, s, m, h)");
        default.map(str::to_owned)
    }
}

/// Go's `time.ParseDuration` syntax.
pub(crate) fn is_go_duration(text: &str) -> bool {
    let text = text.strip_prefix(['+', '-']).unwrap_or(text);
    if text == "0" {
        return true;
    }
    if text.is_empty() {
        return false;
    }
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return false;
        }
        rest = &rest[number_len..];
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .into_iter()
            .filter(|unit| rest.starts_with(unit))
            .max_by_key(|unit| unit.len());
        match unit {
            Some(unit) => rest = &rest[unit.len()..],
            None => return false,
        }
    }
    true
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
        req("flake_location_dir"),
        req("build_context_dir"),
        req("image_name"),
        opt("flake_output"),
    ],
    nix_build_spec,
);

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
    if let Some(name) = &image_name {
        check_image_name(call, session, "image_name", name);
    }
    let flake_output = call.string(session, "flake_output");
    if call
        .value("flake_output")
        .is_some_and(|v| v.unpack_str() == Some(""))
    {
        // Already reported as an empty string; say why it matters here.
        call.report(
            session,
            Rule::EmptyString,
            "flake_output",
            "an empty `flake_output` is rejected by Kurtosis (its own enclave builder writes it); leave it out for Nix's default output",
        )
        .help("remove `flake_output=\"\"` to build `packages.<system>.default`");
    }
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
        req("image_name"),
        req("build_context_dir"),
        opt("build_file"),
        opt("target_stage"),
        opt("build_args"),
    ],
    image_build_spec,
);

fn image_build_spec<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let image_name = call.string(session, "image_name");
    if let Some(name) = &image_name {
        check_image_name(call, session, "image_name", name);
    }
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
        req("image"),
        opt("registry"),
        opt("username"),
        opt("password"),
    ],
    image_spec,
);

fn image_spec<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let image = call.string(session, "image");
    if let Some(name) = &image {
        check_image_name(call, session, "image", name);
    }
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

/// Reports an image name that Docker would refuse.
pub(crate) fn check_image_name(call: &Call, session: &Session, arg: &str, name: &str) {
    if name.contains("{{kurtosis:") {
        return;
    }
    if let Err(problem) = crate::imageref::parse(name) {
        let mut report = call.report(
            session,
            Rule::InvalidImageName,
            arg,
            format!("`{name}` is not a valid image name: {problem}"),
        );
        let lower = name.to_lowercase();
        if lower != name && crate::imageref::parse(&lower).is_ok() {
            report = report.help(format!("Docker image names are lower-case: \"{lower}\""));
        } else {
            report = report.help(
                "an image name looks like `name`, `org/name:tag` or `registry:5000/org/name:tag`",
            );
        }
        drop(report);
    }
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
    pub fn image_name(&self) -> Option<&str> {
        match self {
            ImageChoice::Name(name, _) => Some(name),
            ImageChoice::Nix(spec, _) => Some(&spec.image_name),
            ImageChoice::Dockerfile(spec, _) => Some(&spec.image_name),
            ImageChoice::Registry(spec, _) => Some(&spec.image),
            ImageChoice::Unknown => None,
        }
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
            check_image_name(call, session, name, &text);
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
        json_attr(&self.config, attribute, heap)
    }

    fn dir_attr(&self) -> Vec<String> {
        json_attr_names(&self.config)
    }
}

pub(crate) static SERVICE_CONFIG: BuiltinDef = BuiltinDef::global(
    "ServiceConfig",
    &[
        req("image"),
        opt("ports"),
        opt("public_ports"),
        opt("files"),
        opt("entrypoint"),
        opt("cmd"),
        opt("env_vars"),
        opt("private_ip_address_placeholder"),
        opt("cpu_allocation"),
        opt("memory_allocation"),
        opt("max_cpu"),
        opt("min_cpu"),
        opt("max_memory"),
        opt("min_memory"),
        opt("ready_conditions"),
        opt("labels"),
        opt("user"),
        opt("tolerations"),
        opt("node_selectors"),
        opt("files_to_be_moved"),
        opt("tini_enabled"),
        opt("tty_enabled"),
        opt("devices"),
        opt("publish_udp"),
        opt("capabilities"),
        opt("gpu"),
        opt("privileged"),
        opt("host_pid_namespace"),
        opt("bind_mounts"),
    ],
    service_config,
);

/// Reads a `ports`-style dict of port id → PortSpec.
pub(crate) fn ports<'v>(
    call: &Call<'v>,
    session: &Session,
    name: &str,
) -> BTreeMap<String, plan::PortSpec> {
    let mut ports = BTreeMap::new();
    for (key, value) in call
        .dict(session, name, "a dict of port ids to PortSpec")
        .unwrap_or_default()
    {
        if is_unknown(key) || is_unknown(value) {
            continue;
        }
        let Some(id) = key.unpack_str() else {
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
        match value.downcast_ref::<PortSpecValue>() {
            Some(spec) => {
                ports.insert(id.to_owned(), spec.data.clone());
            }
            None => {
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
    let mut config = plan::ServiceConfig {
        image: image
            .as_ref()
            .and_then(ImageChoice::image_name)
            .unwrap_or_default()
            .to_owned(),
        ports: ports(call, session, "ports"),
        public_ports: ports(call, session, "public_ports"),
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
    super::instructions::service_config_extras(call, session, &mut config);
    let Some(image) = image else {
        return Ok(eval.heap().alloc(Unknown));
    };
    Ok(eval.heap().alloc(ServiceConfigValue {
        config,
        image,
        origin: call.origin(),
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
    super::instructions::object_json(value)
}

/// The mount a `Directory(...)` value describes.
pub(crate) fn directory_mount(_value: Value) -> Option<plan::FilesMount> {
    None
}
