//! The `plan.*` instructions: each records a step of the plan and checks it against the
//! services and files artifacts that exist at that point, as Kurtosis's validation does.

use std::collections::BTreeMap;
use std::fmt::{self, Display};

use allocative::Allocative;
use serde::Serialize;
use starlark::any::ProvidesStaticType;
use starlark::eval::Evaluator;
use starlark::starlark_simple_value;
use starlark::values::dict::AllocDict;
use starlark::values::{Heap, NoSerialize, StarlarkValue, Value, ValueLike, starlark_value};

use super::super::args::{BuiltinDef, Call, opt, req};
use super::super::session::{Place, ServiceState, Session};
use super::super::values::{Unknown, is_unknown, json_attr_names};
use super::images::register_image;
use super::types::{PortSpecValue, ServiceConfigValue};
use crate::diagnostic::Rule;
use crate::plan::{self, Instruction, Step};

/// RFC 1035 label, as Kurtosis requires of service names.
pub(crate) fn is_valid_service_name(name: &str) -> bool {
    is_dns_label(name, 63)
}

/// RFC 6335 port name, as Kurtosis requires of port ids.
pub(crate) fn is_valid_port_id(id: &str) -> bool {
    is_dns_label(id, 15)
}

fn is_dns_label(text: &str, max: usize) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= max
        && bytes[0].is_ascii_lowercase()
        && (bytes[bytes.len() - 1].is_ascii_lowercase() || bytes[bytes.len() - 1].is_ascii_digit())
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A name that passes the RFC 1035 rules, to suggest in help texts.
fn suggest_dns_label(text: &str, max: usize) -> String {
    let mut label: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    label = label
        .trim_matches(|c: char| c == '-' || c.is_ascii_digit())
        .to_owned();
    label.truncate(max);
    let label = label.trim_end_matches('-').to_owned();
    if label.is_empty() {
        "service".to_owned()
    } else {
        label
    }
}

/// Appends a step to the plan.
pub(crate) fn record(session: &Session, call: &Call, instruction: Instruction) {
    let at = session.location(&call.place);
    session.state.borrow_mut().steps.push(Step {
        at,
        description: call.description(),
        instruction,
    });
}

/// The service returned by `add_service` / `get_service`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ServiceInfo {
    pub name: String,
    pub hostname: String,
    pub ip_address: String,
    #[serde(skip)]
    pub ports: BTreeMap<String, plan::PortSpec>,
}

#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub(crate) struct ServiceValue {
    #[allocative(skip)]
    pub info: ServiceInfo,
}

starlark_simple_value!(ServiceValue);

impl Display for ServiceValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Service(name={:?}, hostname={:?})",
            self.info.name, self.info.hostname
        )
    }
}

#[starlark_value(type = "Service")]
impl<'v> StarlarkValue<'v> for ServiceValue {
    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        match attribute {
            "name" => Some(heap.alloc(self.info.name.as_str())),
            "hostname" => Some(heap.alloc(self.info.hostname.as_str())),
            "ip_address" => Some(heap.alloc(self.info.ip_address.as_str())),
            "ports" => Some(
                heap.alloc(AllocDict(self.info.ports.iter().map(|(id, spec)| {
                    let mut spec = spec.clone();
                    if spec.url.is_none() && !spec.application_protocol.is_empty() {
                        spec.url = Some(format!(
                            "{}://{}:{}",
                            spec.application_protocol, self.info.name, spec.number
                        ));
                    }
                    (
                        id.as_str(),
                        PortSpecValue {
                            data: spec,
                            origin: Default::default(),
                        },
                    )
                }))),
            ),
            _ => None,
        }
    }

    fn dir_attr(&self) -> Vec<String> {
        let mut names = json_attr_names(&self.info);
        names.push("ports".to_owned());
        names
    }
}

pub(crate) fn service_value<'v>(
    session: &Session,
    heap: Heap<'v>,
    name: &str,
    ports: &BTreeMap<String, plan::PortSpec>,
) -> Value<'v> {
    heap.alloc(ServiceValue {
        info: ServiceInfo {
            name: name.to_owned(),
            // Kurtosis gives the service name as hostname; the IP is known only when it runs.
            hostname: name.to_owned(),
            ip_address: session.future_reference("ip_address"),
            ports: ports.clone(),
        },
    })
}

pub(crate) static ADD_SERVICE: BuiltinDef = BuiltinDef::instruction(
    "add_service",
    &[req("name"), req("config"), opt("force_update")],
    add_service,
);

pub(crate) static PRINT: BuiltinDef = BuiltinDef::instruction("print", &[req("msg")], plan_print);

/// Checks a new service against the plan so far and records it; `None` if it is unusable.
pub(crate) fn add_one_service(
    session: &Session,
    call: &Call,
    name: &str,
    name_place: &Place,
    config: &ServiceConfigValue,
) -> Option<plan::ServiceConfig> {
    if !is_valid_service_name(name) {
        session.report(
            crate::diagnostic::Diagnostic::new(
                Rule::InvalidServiceName,
                &name_place.file,
                name_place.span,
                format!("`{name}` is not a valid service name: use lower-case letters, digits and `-`, start with a letter, at most 63 characters (RFC 1035)"),
            )
            .with_help(format!("for example \"{}\"", suggest_dns_label(name, 63))),
        );
    }
    let existing = session
        .state
        .borrow()
        .services
        .get(name)
        .map(|service| service.defined_at.clone());
    if let Some(first) = existing {
        session.report(
            crate::diagnostic::Diagnostic::new(Rule::DuplicateService, &name_place.file, name_place.span, format!("a service named `{name}` already exists"))
                .with_label(first.file, first.span, "first added here")
                .with_help("give each service its own name, or use `plan.set_service` to change an existing one"),
        );
    }
    for (id, _) in config
        .config
        .ports
        .iter()
        .chain(&config.config.public_ports)
    {
        if !is_valid_port_id(id) {
            let place = config.origin.arg("ports");
            session.report(
                crate::diagnostic::Diagnostic::new(
                    Rule::InvalidPortId,
                    &place.file,
                    place.span,
                    format!("`{id}` is not a valid port id: use lower-case letters, digits and `-`, start with a letter, at most 15 characters (RFC 6335)"),
                )
                .with_help(format!("for example \"{}\"", suggest_dns_label(id, 15))),
            );
        }
    }
    check_files_exist(session, &config.config.files, &config.origin.arg("files"));
    let image = register_image(session, &config.image, &call.place)?;
    let mut resolved = config.config.clone();
    resolved.image = image;
    session.state.borrow_mut().services.insert(
        name.to_owned(),
        ServiceState {
            defined_at: name_place.clone(),
            ports: resolved.ports.keys().cloned().collect(),
        },
    );
    Some(resolved)
}

/// Reports files artifacts used in `files` that no earlier instruction created.
pub(crate) fn check_files_exist(
    session: &Session,
    files: &BTreeMap<String, plan::FilesMount>,
    place: &Place,
) {
    for mount in files.values() {
        let names: Vec<&String> = match mount {
            plan::FilesMount::Artifact(name) => vec![name],
            plan::FilesMount::Directory { artifact_names, .. } => artifact_names.iter().collect(),
        };
        for name in names {
            if name.contains("{{kurtosis:") || session.state.borrow().artifacts.contains_key(name) {
                continue;
            }
            let known: Vec<String> = session.state.borrow().artifacts.keys().cloned().collect();
            let mut diagnostic = crate::diagnostic::Diagnostic::new(
                Rule::UnknownArtifact,
                &place.file,
                place.span,
                format!("no files artifact named `{name}` exists at this point of the plan"),
            );
            diagnostic = match crate::diagnostic::did_you_mean(name, known.iter().map(String::as_str)) {
                Some(suggestion) => diagnostic.with_help(format!("did you mean `{suggestion}`?")),
                None => diagnostic.with_help("create it first with `plan.upload_files`, `plan.render_templates` or `plan.store_service_files`, and use the name it returns"),
            };
            session.report(diagnostic);
        }
    }
}

fn add_service<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let name = call.string(session, "name");
    let config = call.object::<ServiceConfigValue>(session, "config", "a ServiceConfig");
    let force_update = call.bool(session, "force_update").unwrap_or(false);
    let (Some(name), Some(config)) = (name, config) else {
        return Ok(eval.heap().alloc(Unknown));
    };
    if call.incomplete.get() {
        return Ok(eval.heap().alloc(Unknown));
    }
    let name_place = call.place_of("name");
    let Some(resolved) = add_one_service(session, call, &name, &name_place, config) else {
        return Ok(eval.heap().alloc(Unknown));
    };
    let ports = resolved.ports.clone();
    record(
        session,
        call,
        Instruction::AddService {
            name: name.clone(),
            config: resolved,
            force_update,
        },
    );
    Ok(service_value(session, eval.heap(), &name, &ports))
}

fn plan_print<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let Some(value) = call.value("msg") else {
        return Ok(Value::new_none());
    };
    let msg = match value.unpack_str() {
        Some(text) => text.to_owned(),
        None if is_unknown(value) => "<unknown>".to_owned(),
        None => value.to_str(),
    };
    if !call.incomplete.get() {
        record(session, call, Instruction::Print { msg });
    }
    Ok(Value::new_none())
}

/// Reads a `files` dict: mount path → artifact name or `Directory`.
pub(crate) fn files_mounts<'v>(
    call: &Call<'v>,
    session: &Session,
    name: &str,
) -> BTreeMap<String, plan::FilesMount> {
    let mut mounts = BTreeMap::new();
    for (key, value) in call
        .dict(
            session,
            name,
            "a dict of paths to files artifact names or Directory",
        )
        .unwrap_or_default()
    {
        if is_unknown(key) || is_unknown(value) {
            continue;
        }
        let Some(path) = key.unpack_str() else {
            call.report(
                session,
                Rule::WrongType,
                name,
                format!(
                    "the keys of `{name}` must be paths (strings), got {}",
                    super::super::args::describe(key)
                ),
            );
            continue;
        };
        if let Some(artifact) = value.unpack_str() {
            mounts.insert(
                path.to_owned(),
                plan::FilesMount::Artifact(artifact.to_owned()),
            );
        } else if let Some(directory) = super::types::directory_mount(value) {
            mounts.insert(path.to_owned(), directory);
        } else {
            call.report(
                session,
                Rule::WrongType,
                name,
                format!(
                    "`{path}` in `{name}` must be a files artifact name or a Directory, got {}",
                    super::super::args::describe(value)
                ),
            );
        }
    }
    mounts
}

/// The `ServiceConfig` arguments that take Kurtosis objects.
pub(crate) fn service_config_extras(
    call: &Call,
    session: &Session,
    config: &mut plan::ServiceConfig,
) {
    let _ = (call, session, config);
}

/// JSON of the objects defined here, for values that flow into the plan.
pub(crate) fn object_json(value: Value) -> Option<serde_json::Value> {
    value.downcast_ref::<ServiceValue>().and_then(|service| {
        let mut json = serde_json::to_value(&service.info).ok()?;
        json["ports"] = serde_json::to_value(&service.info.ports).ok()?;
        Some(json)
    })
}
