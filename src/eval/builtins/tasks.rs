//! Tasks: `plan.run_sh` and `plan.run_python`, one-off containers whose results are future
//! references and whose `store` paths become files artifacts.

use std::collections::BTreeMap;

use starlark::eval::Evaluator;
use starlark::values::list::AllocList;
use starlark::values::structs::AllocStruct;
use starlark::values::{Value, ValueLike};

use super::super::args::{BuiltinDef, Call, Param, describe, opt, req};
use super::super::session::Session;
use super::super::values::{Origin, Unknown, is_unknown};
use super::artifacts::{add_artifact, generated_artifact_name, require_artifact};
use super::images::register_image;
use super::instructions::{is_valid_service_name, record, suggest_dns_label};
use super::types::{
    ImageChoice, StoreSpecValue, TolerationValue, duration_or_none, int_list, list_items,
    privileged_warning,
};
use crate::diagnostic::{Rule, Severity};
use crate::plan::{self, Instruction};

pub(crate) static RUN_SH: BuiltinDef = BuiltinDef::instruction(
    "run_sh",
    &[
        TASK_NAME,
        req("run")
            .ty("str")
            .doc("The shell script, run with `/bin/sh -c` in the task's container."),
        opt("image")
            .ty("str | ImageBuildSpec | NixBuildSpec | ImageSpec")
            .default("\"badouralix/curl-jq\"")
            .doc("The container image to run the script in, as `ServiceConfig.image` takes it."),
        TASK_FILES,
        TASK_STORE,
        opt("env_vars")
            .ty("dict[str, str]")
            .default("{}")
            .doc("Environment variables of the script."),
        TASK_WAIT,
        TASK_ACCEPTABLE_CODES,
        TASK_SKIP_CODE_CHECK,
        TASK_NODE_SELECTORS,
        TASK_TOLERATIONS,
        opt("privileged")
            .ty("bool")
            .default("False")
            .doc("Runs the task's container privileged (Docker only). Kurtosis refuses it unless the run opts in to privileged mode."),
        opt("host_pid_namespace")
            .ty("bool")
            .default("False")
            .doc("Shares the host's process namespace with the task (Docker only); needs the same opt-in as `privileged`."),
        opt("bind_mounts")
            .ty("dict[str, str]")
            .default("{}")
            .doc("Host paths to mount, from host path to container path. Kurtosis allows only `/var/run/docker.sock`, with the privileged opt-in."),
    ],
    run_sh,
)
.returns("struct")
.doc("Runs a shell script in a new container when the plan runs, then removes the container. Returns a struct of future references: `output`, `code` and `files_artifacts` (the names of the `store`d artifacts).");

pub(crate) static RUN_PYTHON: BuiltinDef = BuiltinDef::instruction(
    "run_python",
    &[
        TASK_NAME,
        req("run")
            .ty("str")
            .doc("The Python script's source (not a file name; read a file with `read_file`)."),
        opt("args")
            .ty("list[str]")
            .default("[]")
            .doc("Command-line arguments of the script (`sys.argv[1:]`)."),
        opt("packages")
            .ty("list[str]")
            .default("[]")
            .doc("Packages to `pip install` before the script runs, such as `\"requests==2.31.0\"`; this needs the network when the plan runs."),
        opt("image")
            .ty("str | ImageBuildSpec | NixBuildSpec | ImageSpec")
            .default("\"python:3.11-alpine\"")
            .doc("The container image to run the script in; it must have `python` (and `pip` for `packages`)."),
        TASK_FILES,
        TASK_STORE,
        TASK_WAIT,
        TASK_ACCEPTABLE_CODES,
        TASK_SKIP_CODE_CHECK,
        TASK_NODE_SELECTORS,
        TASK_TOLERATIONS,
    ],
    run_python,
)
.returns("struct")
.doc("Runs a Python script in a new container when the plan runs, then removes the container. Returns a struct of future references: `output`, `code` and `files_artifacts`.");

/// The first parameter of both tasks: a script given by position binds here, not to `run`.
const TASK_NAME: Param = opt("name")
    .ty("str")
    .doc("The name of the task's container; left out, Kurtosis makes one up. It comes first, so `plan.run_sh(\"echo hi\")` sets the name, not the script: always name `run`.");

const TASK_FILES: Param = opt("files")
    .ty("dict[str, str]")
    .default("{}")
    .doc("Files artifacts to mount in the task's container, by absolute path.");

const TASK_STORE: Param = opt("store")
    .ty("list[str | StoreSpec]")
    .default("[]")
    .doc("Paths in the container to keep as files artifacts when the task ends: a path (the artifact gets a made-up name) or a `StoreSpec` to name it.");

const TASK_WAIT: Param = opt("wait").ty("str | None").default("\"180s\"").doc(
    "How long the task may run before the plan fails, as a Go duration; `None` waits forever.",
);

const TASK_ACCEPTABLE_CODES: Param = opt("acceptable_codes")
    .ty("list[int]")
    .default("[0]")
    .doc("The exit codes that count as success; any other fails the plan.");

const TASK_SKIP_CODE_CHECK: Param = opt("skip_code_check")
    .ty("bool")
    .default("False")
    .doc("Accepts any exit code, leaving the check to the package.");

const TASK_NODE_SELECTORS: Param = opt("node_selectors")
    .ty("dict[str, str]")
    .default("{}")
    .doc("Node labels the task's pod must be scheduled on. Kubernetes only; Docker ignores them.");

const TASK_TOLERATIONS: Param = opt("tolerations")
    .ty("list[Toleration]")
    .default("[]")
    .doc("Kubernetes taints the task's pod tolerates. Kubernetes only; Docker ignores them.");

/// What both tasks take besides their own arguments.
struct TaskCommon {
    image: Option<String>,
    files: BTreeMap<String, plan::FilesMount>,
    store: Vec<plan::StoreSpec>,
    wait: Option<String>,
    /// `files` holds stand-ins: the step cannot be recorded.
    files_opaque: bool,
    /// `store` holds stand-ins: the returned artifact names are unknown.
    store_opaque: bool,
}

/// Reads the task's `files`: mount path → files artifact name (tasks take no `Directory`).
fn task_files(call: &Call, session: &Session) -> (BTreeMap<String, plan::FilesMount>, bool) {
    let mut files = BTreeMap::new();
    let mut opaque = false;
    let place = call.place_of("files");
    for (key, value) in call
        .dict(session, "files", "a dict of paths to files artifact names")
        .unwrap_or_default()
    {
        if is_unknown(key) || is_unknown(value) {
            opaque = true;
            continue;
        }
        match (key.unpack_str(), value.unpack_str()) {
            (Some(path), Some(artifact)) => {
                require_artifact(session, &place, artifact);
                files.insert(
                    path.to_owned(),
                    plan::FilesMount::Artifact(artifact.to_owned()),
                );
            }
            (None, _) => {
                call.report(
                    session,
                    Rule::WrongType,
                    "files",
                    format!(
                        "the keys of `files` must be paths (strings), got {}",
                        describe(key)
                    ),
                );
            }
            (Some(path), None) => {
                let mut report = call.report(
                    session,
                    Rule::WrongType,
                    "files",
                    format!(
                        "`{path}` in the `files` of `{}` must be a files artifact name (a string), got {}",
                        call.def.display_name(),
                        describe(value)
                    ),
                );
                if value.get_type() == "Directory" {
                    report = report.help("tasks mount files artifacts by name only; a `Directory` works only in `ServiceConfig`");
                }
                drop(report);
            }
        }
    }
    (files, opaque)
}

/// Reads `store`: StoreSpec objects or plain paths; each becomes a files artifact.
fn task_store(call: &Call, session: &Session) -> (Vec<plan::StoreSpec>, bool) {
    let mut store: Vec<plan::StoreSpec> = Vec::new();
    let mut opaque = false;
    let place = call.place_of("store");
    for item in
        list_items(call, session, "store", "a list of StoreSpec or paths").unwrap_or_default()
    {
        if is_unknown(item) {
            opaque = true;
            continue;
        }
        let (src, name) = if let Some(spec) = item.downcast_ref::<StoreSpecValue>() {
            (spec.data.src.clone(), spec.data.name.clone())
        } else if let Some(src) = item.unpack_str() {
            (src.to_owned(), None)
        } else {
            call.report(
                session,
                Rule::WrongType,
                "store",
                format!(
                    "`store` of `{}` must hold StoreSpec objects or paths (strings), but holds {}",
                    call.def.display_name(),
                    describe(item)
                ),
            );
            continue;
        };
        if store.iter().any(|spec| spec.src == src) {
            call.report(
                session,
                Rule::InvalidValue,
                "store",
                format!(
                    "`store` names the path `{src}` twice; Kurtosis requires each stored path once"
                ),
            )
            .help("store the path once, or store its parent folder");
            continue;
        }
        let name = name.unwrap_or_else(|| generated_artifact_name(session));
        add_artifact(session, &name, &place, false);
        store.push(plan::StoreSpec { src, name });
    }
    (store, opaque)
}

/// Docker's container names are `<task name>--<32-hex uuid>`, at most 256 characters.
const MAX_DOCKER_TASK_NAME: usize = 256 - 2 - 32;

fn task_common(call: &Call, session: &Session) -> TaskCommon {
    // `plan.run_sh("echo hi")` binds the script to `name`: the missing `run` is reported, and
    // the script is not checked as a task name.
    let script_as_name = call.value("run").is_none() && call.positional > 0;
    if let Some(name) = call.string(session, "name").filter(|_| !script_as_name) {
        if !name.contains("{{kurtosis:") && !is_valid_service_name(&name) {
            // Kurtosis checks service names in `add_service` only: a task's name goes straight
            // to the backend, where Docker takes any container name of `[a-zA-Z0-9-._]` (so
            // `deploy_contracts` runs) and Kubernetes wants an RFC 1035 label.
            let docker_accepts = name.len() <= MAX_DOCKER_TASK_NAME
                && name
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"-._".contains(&byte));
            if docker_accepts {
                call.report(
                    session,
                    Rule::InvalidServiceName,
                    "name",
                    format!("`{name}` is not an RFC 1035 name: Kurtosis runs this task on Docker, which accepts it, but not on Kubernetes, which needs lower-case letters, digits and `-`, starting with a letter, at most 63 characters"),
                )
                .severity(Severity::Warning)
                .help(format!("for example \"{}\"", suggest_dns_label(&name, 63)));
            } else {
                call.report(
                    session,
                    Rule::InvalidServiceName,
                    "name",
                    format!("`{name}` is not a valid task name: a task runs as a container, so use letters, digits, `-`, `.` and `_` (Docker), or better lower-case letters, digits and `-`, starting with a letter, at most 63 characters (RFC 1035)"),
                )
                .help(format!("for example \"{}\"", suggest_dns_label(&name, 63)));
            }
        }
    }
    let choice = match call.given("image") {
        None => call.def.default_str("image").map(|image| {
            ImageChoice::Name(
                image.to_owned(),
                Origin {
                    call: call.place.clone(),
                    args: Vec::new(),
                },
            )
        }),
        Some(_) => ImageChoice::from_argument(call, session, "image"),
    };
    let (files, files_opaque) = task_files(call, session);
    let (store, store_opaque) = task_store(call, session);
    let wait = duration_or_none(call, session, "wait", call.def.default_str("wait"));
    let _ = int_list(call, session, "acceptable_codes");
    let _ = call.bool(session, "skip_code_check");
    let _ = call.string_dict(session, "node_selectors");
    for item in list_items(call, session, "tolerations", "a list of Toleration").unwrap_or_default()
    {
        if !is_unknown(item) && item.downcast_ref::<TolerationValue>().is_none() {
            call.report(
                session,
                Rule::WrongType,
                "tolerations",
                format!(
                    "`tolerations` of `{}` must hold only Toleration objects, but holds {}",
                    call.def.display_name(),
                    describe(item)
                ),
            );
        }
    }
    let image = choice
        .as_ref()
        .and_then(|choice| register_image(session, choice, &call.place));
    TaskCommon {
        image,
        files,
        store,
        wait,
        files_opaque,
        store_opaque,
    }
}

/// `struct(code = ..., output = ..., files_artifacts = [...])`, as Kurtosis returns; the
/// references are to the step recorded last when `recorded`.
fn task_result<'v>(
    session: &Session,
    eval: &Evaluator<'v, '_, '_>,
    store: &[plan::StoreSpec],
    recorded: bool,
) -> Value<'v> {
    let heap = eval.heap();
    let id = if recorded {
        session.last_step_reference_id()
    } else {
        session.future_reference_id()
    };
    let names: Vec<Value<'v>> = store
        .iter()
        .map(|spec| heap.alloc(spec.name.as_str()))
        .collect();
    heap.alloc(AllocStruct([
        ("code", heap.alloc(session.future_reference_of(id, "code"))),
        (
            "output",
            heap.alloc(session.future_reference_of(id, "output")),
        ),
        ("files_artifacts", heap.alloc(AllocList(names))),
    ]))
}

fn run_sh<'v>(call: &Call<'v>, eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let run = call.any_string(session, "run");
    let common = task_common(call, session);
    let env_vars = call.string_dict(session, "env_vars").unwrap_or_default();
    let _ = call.bool(session, "privileged");
    let _ = call.bool(session, "host_pid_namespace");
    let bind_mounts = call.string_dict(session, "bind_mounts").unwrap_or_default();
    for host_path in bind_mounts.keys() {
        if host_path != "/var/run/docker.sock" {
            call.report(
                session,
                Rule::InvalidValue,
                "bind_mounts",
                format!("`bind_mounts` may not mount the host path `{host_path}`: Kurtosis allows only /var/run/docker.sock"),
            );
        }
    }
    privileged_warning(
        call,
        session,
        &["privileged", "host_pid_namespace", "bind_mounts"],
    );
    if common.store_opaque {
        return Ok(eval.heap().alloc(Unknown));
    }
    let (Some(run), Some(image), false, false) = (
        run,
        common.image,
        common.files_opaque,
        call.incomplete.get(),
    ) else {
        return Ok(task_result(session, eval, &common.store, false));
    };
    record(
        session,
        call,
        Instruction::RunSh {
            run,
            image,
            files: common.files,
            store: common.store.clone(),
            env_vars,
            wait: common.wait,
        },
    )?;
    Ok(task_result(session, eval, &common.store, true))
}

fn run_python<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let run = call.any_string(session, "run");
    let args = call.string_list(session, "args");
    let packages = call.string_list(session, "packages");
    let common = task_common(call, session);
    if common.store_opaque {
        return Ok(eval.heap().alloc(Unknown));
    }
    let unknown_list = |name: &str| call.given(name).is_some_and(is_unknown);
    let (Some(run), Some(image), false, false, false, false) = (
        run,
        common.image,
        common.files_opaque,
        unknown_list("args"),
        unknown_list("packages"),
        call.incomplete.get(),
    ) else {
        return Ok(task_result(session, eval, &common.store, false));
    };
    record(
        session,
        call,
        Instruction::RunPython {
            run,
            image,
            args: args.unwrap_or_default(),
            packages: packages.unwrap_or_default(),
            files: common.files,
            store: common.store.clone(),
            wait: common.wait,
        },
    )?;
    Ok(task_result(session, eval, &common.store, true))
}
