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
use starlark::values::list::AllocList;
use starlark::values::{Heap, NoSerialize, StarlarkValue, Value, ValueLike, starlark_value};

use super::super::args::{BuiltinDef, Call, Param, describe, opt, req};
use super::super::session::{Place, ServiceState, Session};
use super::super::values::{Unknown, is_unknown, json_attr_names};
use super::images::register_image;
use super::types::{PortSpecValue, ServiceConfigValue};
use crate::diagnostic::{Diagnostic, Rule, did_you_mean};
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
pub(crate) fn suggest_dns_label(text: &str, max: usize) -> String {
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

/// Appends a step to the plan, if the plan's budget has room for it.
pub(crate) fn record(
    session: &Session,
    call: &Call,
    instruction: Instruction,
) -> starlark::Result<()> {
    let step = Step {
        at: session.location(&call.place),
        description: call.description(),
        instruction,
    };
    let mut state = session.state.borrow_mut();
    let room = (crate::limits::MEMORY_BUDGET as u64).saturating_sub(state.steps_bytes);
    state.steps_bytes += super::super::budget::charge_step(&step, room)?;
    state.steps.push(step);
    Ok(())
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
    // The IP is known only when the plan runs: a reference to the step that added the service.
    let recorded = session
        .state
        .borrow()
        .services
        .get(name)
        .and_then(|service| service.ip_address.clone());
    heap.alloc(ServiceValue {
        info: ServiceInfo {
            name: name.to_owned(),
            // Kurtosis's hostname of a service is its name.
            hostname: name.to_owned(),
            ip_address: recorded.unwrap_or_else(|| session.future_reference("ip_address")),
            ports: ports.clone(),
        },
    })
}

/// Notes that the step recorded last added service `name`: its results refer to that step.
fn note_service_step(session: &Session, name: &str) {
    let reference = session.future_reference_of(session.last_step_reference_id(), "ip_address");
    if let Some(service) = session.state.borrow_mut().services.get_mut(name) {
        service.ip_address = Some(reference);
    }
}

pub(crate) static ADD_SERVICE: BuiltinDef = BuiltinDef::instruction(
    "add_service",
    &[
        req("name").ty("str").doc(SERVICE_NAME_DOC),
        req("config")
            .ty("ServiceConfig")
            .doc("How to run the service's container."),
        FORCE_UPDATE,
    ],
    add_service,
)
.returns("Service")
.doc("Starts a service's container and waits for its ports and `ready_conditions`. Returns the service, whose `hostname`, `ip_address` and port URLs are future references resolved when the plan runs.");

/// A service's name, as `add_service` and `Service` take it.
const SERVICE_NAME_DOC: &str = "The service's name: 1-63 lower-case letters, digits and `-`, starting with a letter and not ending with `-` (RFC 1035). Kurtosis checks it only after the whole Starlark has run.";

const FORCE_UPDATE: Param = opt("force_update")
    .ty("bool")
    .default("False")
    .doc("On a re-run in the same enclave, re-creates the service even if its config did not change; otherwise an unchanged service is kept as it is.");

/// The name of a service that an earlier instruction added.
const EXISTING_SERVICE: Param = req("name")
    .ty("str")
    .doc("The name of a service an earlier instruction of the plan added.");

pub(crate) static ADD_SERVICES: BuiltinDef = BuiltinDef::instruction(
    "add_services",
    &[
        req("configs")
            .ty("dict[str, ServiceConfig]")
            .doc("The services to add, by name; names follow the same rules as `plan.add_service`'s."),
        FORCE_UPDATE,
    ],
    add_services,
)
.returns("dict[str, Service]")
.doc("Starts several services at once (`kurtosis run --parallelism`, 4 by default, at a time) and returns them by name. If one fails, every one is removed.");

pub(crate) static SET_SERVICE: BuiltinDef =
    BuiltinDef::instruction(
        "set_service",
        &[
            EXISTING_SERVICE,
            req("config")
                .ty("ServiceConfig")
                .doc("The fields to override; those it sets replace the service's, the others stay. Kurtosis does not build an image given here as a `NixBuildSpec` or `ImageBuildSpec`: another instruction must build it."),
        ],
        set_service,
    )
    .returns("None")
    .doc("Overrides the config of a service an earlier instruction added, as Kurtosis's documentation suggests for changing the image of a service that an imported package adds. It changes the config Kurtosis recorded while interpreting; when the plan runs it does nothing. Kurtosis's documentation says it returns a `Service`; it returns `None`.");

pub(crate) static REMOVE_SERVICE: BuiltinDef =
    BuiltinDef::instruction("remove_service", &[EXISTING_SERVICE], remove_service)
        .returns("None")
        .doc("Stops a service and removes its container; later instructions cannot use it.");

pub(crate) static START_SERVICE: BuiltinDef =
    BuiltinDef::instruction("start_service", &[EXISTING_SERVICE], start_service)
        .returns("None")
        .doc("Starts a service that `plan.stop_service` stopped.");

pub(crate) static STOP_SERVICE: BuiltinDef =
    BuiltinDef::instruction("stop_service", &[EXISTING_SERVICE], stop_service)
        .returns("None")
        .doc(
            "Stops a service's container and keeps it, so `plan.start_service` can start it again.",
        );

pub(crate) static GET_SERVICE: BuiltinDef =
    BuiltinDef::instruction("get_service", &[EXISTING_SERVICE], get_service)
        .returns("Service")
        .doc("The service of that name, as `plan.add_service` returned it; the service must exist at this point of the plan.");

pub(crate) static GET_SERVICES: BuiltinDef =
    BuiltinDef::instruction("get_services", &[], get_services)
        .returns("list[Service]")
        .doc("Every service that exists at this point of the plan.");

pub(crate) static GET_CLUSTER_TYPE: BuiltinDef =
    BuiltinDef::instruction("get_cluster_type", &[], get_cluster_type)
        .returns("str")
        .doc("The backend the plan runs on: `\"docker\"` or `\"kubernetes\"`. It is known only when the plan runs, so a check treats it as unknown.");

pub(crate) static PRINT: BuiltinDef = BuiltinDef::instruction(
    "print",
    &[req("msg")
        .ty("any")
        .doc("What to print; any value, converted with `str()`. Future references in it are replaced by their values when the plan runs.")],
    plan_print,
)
.returns("None")
.doc("Prints a message when the plan runs, in order with the other instructions. Use it instead of the global `print`, which Kurtosis rejects.");

/// `Service(name, hostname, ip_address, ports)`: Kurtosis exposes the type's constructor too.
pub(crate) static SERVICE: BuiltinDef = BuiltinDef::global(
    "Service",
    &[
        req("name").ty("str").doc(SERVICE_NAME_DOC),
        req("hostname")
            .ty("str")
            .doc("The name other services reach it by; in a returned `Service`, a future reference."),
        req("ip_address")
            .ty("str")
            .doc("Its IP address in the enclave; in a returned `Service`, a future reference."),
        req("ports")
            .ty("dict[str, PortSpec]")
            .doc("Its ports by port id, each with its `number`, protocols and `url`."),
    ],
    service,
)
.returns("Service")
.doc("A service of the plan, as `plan.add_service` and `plan.get_service` return it. Packages rarely build one themselves.");

/// Notes a service whose config cannot be read here (a stand-in): it exists, ports unknown.
pub(crate) fn add_opaque_service(session: &Session, name: &str, name_place: &Place) {
    session
        .state
        .borrow_mut()
        .services
        .entry(name.to_owned())
        .or_insert_with(|| ServiceState {
            defined_at: name_place.clone(),
            ports: Vec::new(),
            port_specs: BTreeMap::new(),
            ports_known: false,
            ip_address: None,
        });
}

/// Reports a service name Kurtosis refuses; `false` if it is not valid.
fn check_service_name(session: &Session, name: &str, name_place: &Place) -> bool {
    if name.contains("{{kurtosis:") || is_valid_service_name(name) {
        return true;
    }
    session.report(
        Diagnostic::new(
            Rule::InvalidServiceName,
            &name_place.file,
            name_place.span,
            format!("`{name}` is not a valid service name: use lower-case letters, digits and `-`, start with a letter, at most 63 characters (RFC 1035)"),
        )
        .with_help(format!("for example \"{}\"", suggest_dns_label(name, 63))),
    );
    false
}

/// Reports a second service with the same name.
fn check_duplicate_service(session: &Session, name: &str, name_place: &Place) {
    let existing = session
        .state
        .borrow()
        .services
        .get(name)
        .map(|service| service.defined_at.clone());
    if let Some(first) = existing {
        session.report(
            Diagnostic::new(Rule::DuplicateService, &name_place.file, name_place.span, format!("a service named `{name}` already exists"))
                .with_label(first.file, first.span, "first added here")
                .with_help("give each service its own name, or use `plan.set_service` to change an existing one"),
        );
    }
}

/// Checks a new service against the plan so far and records it in the state; the config with
/// its image resolved, or `None` if the image is unusable (the service is noted anyway).
pub(crate) fn add_one_service(
    session: &Session,
    call: &Call,
    name: &str,
    name_place: &Place,
    config: &ServiceConfigValue,
) -> Option<plan::ServiceConfig> {
    check_service_name(session, name, name_place);
    check_duplicate_service(session, name, name_place);
    let port_ids = (config.config.ports.keys().map(|id| ("ports", id)))
        .chain(
            config
                .config
                .public_ports
                .keys()
                .map(|id| ("public_ports", id)),
        )
        .chain(
            config
                .unread_ports
                .iter()
                .map(|(argument, id)| (*argument, id)),
        );
    for (argument, id) in port_ids {
        if !is_valid_port_id(id) {
            let (place, _) = session.entry_place(&config.origin.arg(argument), Some(id), 0);
            session.report(
                Diagnostic::new(
                    Rule::InvalidPortId,
                    &place.file,
                    place.span,
                    format!("`{id}` is not a valid port id: use lower-case letters, digits and `-`, start with a letter, at most 15 characters (RFC 6335)"),
                )
                .with_help(format!("for example \"{}\"", suggest_dns_label(id, 15))),
            );
        }
    }
    if let Some(condition) = &config.config.ready_conditions {
        if let Some(port_id) = recipe_port(&condition.recipe) {
            if config.ports_fully_read
                && !config.config.ports.contains_key(port_id)
                && !port_id.contains("{{kurtosis:")
            {
                let place = config
                    .ready_port_place
                    .clone()
                    .unwrap_or_else(|| config.origin.arg("ready_conditions"));
                let mut diagnostic = Diagnostic::new(
                    Rule::UnknownPort,
                    &place.file,
                    place.span,
                    format!(
                        "the ready condition of `{name}` requests port `{port_id}`, which the service does not declare"
                    ),
                );
                diagnostic = port_help(diagnostic, port_id, config.config.ports.keys());
                session.report(diagnostic);
            }
        }
    }
    check_files_exist(session, &config.config.files, &config.origin.arg("files"));
    let image = register_image(session, &config.image, &call.place);
    session.state.borrow_mut().services.insert(
        name.to_owned(),
        ServiceState {
            defined_at: name_place.clone(),
            ports: (config.config.ports.keys().cloned())
                .chain(config.unread_ports.iter().map(|(_, id)| id.clone()))
                .collect(),
            port_specs: config.config.ports.clone(),
            ports_known: config.ports_fully_read,
            ip_address: None,
        },
    );
    let mut resolved = config.config.clone();
    resolved.image = image?;
    Some(resolved)
}

/// The port a recipe sends its request to (HTTP recipes only).
pub(crate) fn recipe_port(recipe: &plan::Recipe) -> Option<&str> {
    match recipe {
        plan::Recipe::Exec { .. } => None,
        plan::Recipe::GetHttp { port_id, .. } | plan::Recipe::PostHttp { port_id, .. } => {
            Some(port_id)
        }
    }
}

/// Adds "did you mean" or the list of declared ports to an unknown-port diagnostic.
pub(crate) fn port_help<'a>(
    diagnostic: Diagnostic,
    port_id: &str,
    ports: impl Iterator<Item = &'a String>,
) -> Diagnostic {
    let ports: Vec<&str> = ports.map(String::as_str).collect();
    if let Some(suggestion) = did_you_mean(port_id, ports.iter().copied()) {
        diagnostic.with_help(format!("did you mean `{suggestion}`?"))
    } else if ports.is_empty() {
        diagnostic.with_help("declare it in the service's `ports`, e.g. `ports = {\"http\": PortSpec(number = 8080)}`")
    } else {
        diagnostic.with_help(format!(
            "the service declares: {}",
            ports
                .iter()
                .map(|port| format!("`{port}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// The state of service `name` at this point, reporting it (at argument `arg`) when it does
/// not exist. `None` also when it cannot be known (a future reference, an opaque plan).
pub(crate) fn require_service(
    session: &Session,
    call: &Call,
    arg: &str,
    name: &str,
) -> Option<ServiceState> {
    if name.contains("{{kurtosis:") {
        return None;
    }
    let state = session.state.borrow();
    if let Some(service) = state.services.get(name) {
        return Some(service.clone());
    }
    if state.opaque {
        return None;
    }
    let removed = state.removed_services.get(name).cloned();
    let known: Vec<String> = state.services.keys().cloned().collect();
    let candidate = did_you_mean(name, known.iter().map(String::as_str)).and_then(|candidate| {
        state
            .services
            .get(candidate)
            .map(|s| (candidate.to_owned(), s.defined_at.clone()))
    });
    drop(state);
    let mut report = call.report(
        session,
        Rule::UnknownService,
        arg,
        format!(
            "`{}` names the service `{name}`, which does not exist at this point of the plan",
            call.def.display_name()
        ),
    );
    if let Some(place) = removed {
        report = report
            .label(&place, format!("`{name}` is removed here"))
            .help("a removed service cannot be used again; add it anew with `plan.add_service`");
    } else if let Some((candidate, place)) = candidate {
        report = report
            .label(&place, format!("`{candidate}` is added here"))
            .help(format!("did you mean `{candidate}`?"))
            .fix(session.literal_fix(&call.place_of(arg), &candidate));
    } else if known.is_empty() {
        report = report.help("no service has been added yet; add it first with `plan.add_service`");
    } else {
        let list = known
            .iter()
            .take(8)
            .map(|service| format!("`{service}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let more = if known.len() > 8 { ", ..." } else { "" };
        report = report.help(format!("the services at this point are {list}{more}"));
    }
    drop(report);
    None
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
            super::artifacts::require_artifact(session, place, name);
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
    let name_place = call.place_of("name");
    let Some(name) = name else {
        if call.given("name").is_some_and(is_unknown) {
            session.state.borrow_mut().opaque = true;
        }
        return Ok(eval.heap().alloc(Unknown));
    };
    let Some(config) = config else {
        check_service_name(session, &name, &name_place);
        check_duplicate_service(session, &name, &name_place);
        add_opaque_service(session, &name, &name_place);
        return Ok(eval.heap().alloc(Unknown));
    };
    let resolved = add_one_service(session, call, &name, &name_place, config);
    let (Some(resolved), false) = (resolved, call.incomplete.get()) else {
        return Ok(eval.heap().alloc(Unknown));
    };
    let ports_fully_read = config.ports_fully_read;
    let ports = resolved.ports.clone();
    record(
        session,
        call,
        Instruction::AddService {
            name: name.clone(),
            config: resolved,
            force_update,
        },
    )?;
    note_service_step(session, &name);
    if !ports_fully_read {
        return Ok(eval.heap().alloc(Unknown));
    }
    Ok(service_value(session, eval.heap(), &name, &ports))
}

fn add_services<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let force_update = call.bool(session, "force_update").unwrap_or(false);
    let place = call.place_of("configs");
    let Some(entries) = call.dict(
        session,
        "configs",
        "a dict of service names to ServiceConfig",
    ) else {
        if call.given("configs").is_some_and(is_unknown) {
            session.state.borrow_mut().opaque = true;
        }
        return Ok(eval.heap().alloc(Unknown));
    };
    let mut services: Vec<(String, Value<'v>)> = Vec::new();
    let mut complete = !call.incomplete.get();
    for (key, value) in entries {
        if is_unknown(key) {
            session.state.borrow_mut().opaque = true;
            complete = false;
            continue;
        }
        let Some(name) = key.unpack_str() else {
            call.report(
                session,
                Rule::WrongType,
                "configs",
                format!(
                    "the keys of `configs` must be service names (strings), got {}",
                    describe(key)
                ),
            );
            complete = false;
            continue;
        };
        if name.is_empty() {
            call.report(
                session,
                Rule::EmptyString,
                "configs",
                "a service name in `configs` is an empty string",
            );
            complete = false;
            continue;
        }
        if is_unknown(value) {
            check_service_name(session, name, &place);
            check_duplicate_service(session, name, &place);
            add_opaque_service(session, name, &place);
            complete = false;
            continue;
        }
        let Some(config) = value.downcast_ref::<ServiceConfigValue>() else {
            call.report(
                session,
                Rule::WrongType,
                "configs",
                format!(
                    "the config of service `{name}` in `configs` must be a ServiceConfig, got {}",
                    describe(value)
                ),
            );
            add_opaque_service(session, name, &place);
            complete = false;
            continue;
        };
        let Some(resolved) = add_one_service(session, call, name, &place, config) else {
            complete = false;
            continue;
        };
        let ports = resolved.ports.clone();
        if complete {
            record(
                session,
                call,
                Instruction::AddService {
                    name: name.to_owned(),
                    config: resolved,
                    force_update,
                },
            )?;
            note_service_step(session, name);
        }
        let service = if config.ports_fully_read {
            service_value(session, eval.heap(), name, &ports)
        } else {
            eval.heap().alloc(Unknown)
        };
        services.push((name.to_owned(), service));
    }
    if !complete {
        return Ok(eval.heap().alloc(Unknown));
    }
    Ok(eval.heap().alloc(AllocDict(services)))
}

fn set_service<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let name = call.string(session, "name");
    let config = call.object::<ServiceConfigValue>(session, "config", "a ServiceConfig");
    let Some(name) = name else {
        return Ok(Value::new_none());
    };
    let existing = require_service(session, call, "name", &name);
    let Some(config) = config else {
        return Ok(Value::new_none());
    };
    check_files_exist(session, &config.config.files, &config.origin.arg("files"));
    // Kurtosis does not build or pull images for `set_service`; the plan registers them so
    // whoever runs it has the image.
    let image = register_image(session, &config.image, &call.place);
    if let Some(existing) = existing {
        if !config.config.ports.is_empty() {
            let mut state = session.state.borrow_mut();
            if let Some(service) = state.services.get_mut(&name) {
                service.ports = (config.config.ports.keys().cloned())
                    .chain(config.unread_ports.iter().map(|(_, id)| id.clone()))
                    .collect();
                service.port_specs = config.config.ports.clone();
                service.ports_known = existing.ports_known && config.ports_fully_read;
            }
        }
    }
    if let (Some(image), false) = (image, call.incomplete.get()) {
        let mut resolved = config.config.clone();
        resolved.image = image;
        record(
            session,
            call,
            Instruction::SetService {
                name,
                config: resolved,
            },
        )?;
    }
    Ok(Value::new_none())
}

/// The service name argument `name`, checked to exist; `None` when unusable or unknown.
fn named_service(session: &Session, call: &Call) -> Option<(String, Option<ServiceState>)> {
    let name = call.string(session, "name")?;
    let state = require_service(session, call, "name", &name);
    Some((name, state))
}

fn remove_service<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    if let Some((name, _)) = named_service(session, call) {
        {
            let mut state = session.state.borrow_mut();
            state.services.remove(&name);
            state
                .removed_services
                .insert(name.clone(), call.place.clone());
        }
        if !call.incomplete.get() {
            record(session, call, Instruction::RemoveService { name })?;
        }
    }
    Ok(Value::new_none())
}

fn start_service<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    record_for_service(call, eval, |name| Instruction::StartService { name })
}

fn stop_service<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    record_for_service(call, eval, |name| Instruction::StopService { name })
}

/// An instruction that only names an existing service: checks the name and records the step.
fn record_for_service<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
    instruction: impl FnOnce(String) -> Instruction,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    if let Some((name, _)) = named_service(session, call) {
        if !call.incomplete.get() {
            record(session, call, instruction(name))?;
        }
    }
    Ok(Value::new_none())
}

fn get_service<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let Some((name, state)) = named_service(session, call) else {
        return Ok(eval.heap().alloc(Unknown));
    };
    let Some(state) = state.filter(|state| state.ports_known) else {
        return Ok(eval.heap().alloc(Unknown));
    };
    if call.incomplete.get() {
        return Ok(eval.heap().alloc(Unknown));
    }
    record(
        session,
        call,
        Instruction::GetService { name: name.clone() },
    )?;
    Ok(service_value(
        session,
        eval.heap(),
        &name,
        &state.port_specs,
    ))
}

fn get_services<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let (services, opaque) = {
        let state = session.state.borrow();
        let services: Vec<(String, ServiceState)> = state
            .services
            .iter()
            .map(|(name, service)| (name.clone(), service.clone()))
            .collect();
        (services, state.opaque)
    };
    if opaque || services.iter().any(|(_, service)| !service.ports_known) {
        return Ok(eval.heap().alloc(Unknown));
    }
    if !call.incomplete.get() {
        record(session, call, Instruction::GetServices)?;
    }
    let heap = eval.heap();
    let values: Vec<Value<'v>> = services
        .iter()
        .map(|(name, service)| service_value(session, heap, name, &service.port_specs))
        .collect();
    Ok(heap.alloc(AllocList(values)))
}

fn get_cluster_type<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    if !call.incomplete.get() {
        record(session, call, Instruction::GetClusterType)?;
    }
    // starflake runs packages on Docker.
    Ok(eval.heap().alloc("docker"))
}

fn service<'v>(call: &Call<'v>, eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let name = call.string(session, "name");
    let hostname = call.string(session, "hostname");
    let ip_address = call.string(session, "ip_address");
    let ports = super::types::ports(call, session, "ports").specs;
    let (Some(name), Some(hostname), Some(ip_address)) = (name, hostname, ip_address) else {
        return Ok(eval.heap().alloc(Unknown));
    };
    Ok(eval.heap().alloc(ServiceValue {
        info: ServiceInfo {
            name,
            hostname,
            ip_address,
            ports,
        },
    }))
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
        record(session, call, Instruction::Print { msg })?;
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

/// JSON of the objects defined here, for values that flow into the plan.
pub(crate) fn object_json(value: Value) -> Option<serde_json::Value> {
    value.downcast_ref::<ServiceValue>().and_then(|service| {
        let mut json = serde_json::to_value(&service.info).ok()?;
        json["ports"] = serde_json::to_value(&service.info.ports).ok()?;
        Some(json)
    })
}
