//! Kurtosis's predeclared names: type constructors, helpers and `plan.*` instructions.

mod artifacts;
mod helpers;
mod images;
mod instructions;
mod modules;
mod recipes;
mod tasks;
mod types;

use starlark::environment::GlobalsBuilder;
use starlark::values::Value;

use super::args::BuiltinDef;
use super::values::Builtin;

/// Global builtins, in the order Kurtosis lists them.
static GLOBALS: &[&BuiltinDef] = &[
    &helpers::IMPORT_MODULE,
    &helpers::READ_FILE,
    &helpers::PRINT,
    &instructions::SERVICE,
    &types::DIRECTORY,
    &recipes::EXEC_RECIPE,
    &recipes::GET_HTTP_REQUEST_RECIPE,
    &recipes::POST_HTTP_REQUEST_RECIPE,
    &types::PORT_SPEC,
    &types::STORE_SPEC,
    &types::SERVICE_CONFIG,
    &recipes::READY_CONDITION,
    &types::IMAGE_BUILD_SPEC,
    &types::NIX_BUILD_SPEC,
    &types::IMAGE_SPEC,
    &types::USER,
    &types::TOLERATION,
    &types::GPU_CONFIG,
];

/// The `plan.*` instructions, in the order Kurtosis registers them.
pub(crate) static INSTRUCTIONS: &[&BuiltinDef] = &[
    &instructions::ADD_SERVICE,
    &instructions::ADD_SERVICES,
    &instructions::GET_SERVICE,
    &instructions::GET_SERVICES,
    &instructions::SET_SERVICE,
    &artifacts::GET_FILES_ARTIFACT,
    &recipes::VERIFY,
    &recipes::EXEC,
    &instructions::PRINT,
    &instructions::REMOVE_SERVICE,
    &artifacts::RENDER_TEMPLATES,
    &recipes::REQUEST,
    &instructions::START_SERVICE,
    &tasks::RUN_PYTHON,
    &tasks::RUN_SH,
    &instructions::STOP_SERVICE,
    &artifacts::STORE_SERVICE_FILES,
    &artifacts::UPLOAD_FILES,
    &recipes::WAIT,
    &instructions::GET_CLUSTER_TYPE,
];

pub const GLOBAL_NAMES: &[&str] = &[
    "import_module",
    "read_file",
    "print",
    "Service",
    "Directory",
    "ExecRecipe",
    "GetHttpRequestRecipe",
    "PostHttpRequestRecipe",
    "PortSpec",
    "StoreSpec",
    "ServiceConfig",
    "ReadyCondition",
    "ImageBuildSpec",
    "NixBuildSpec",
    "ImageSpec",
    "User",
    "Toleration",
    "GpuConfig",
];

pub const INSTRUCTION_NAMES: &[&str] = &[
    "add_service",
    "add_services",
    "get_service",
    "get_services",
    "set_service",
    "get_files_artifact",
    "verify",
    "exec",
    "print",
    "remove_service",
    "render_templates",
    "request",
    "start_service",
    "run_python",
    "run_sh",
    "stop_service",
    "store_service_files",
    "upload_files",
    "wait",
    "get_cluster_type",
];

pub(crate) use helpers::IMPORT_MODULE;
pub(crate) use modules::MODULE_DOCS;

/// Every global builtin, in the order Kurtosis lists them.
pub(crate) fn globals() -> &'static [&'static BuiltinDef] {
    GLOBALS
}

pub(crate) fn instruction(name: &str) -> Option<&'static BuiltinDef> {
    INSTRUCTIONS.iter().copied().find(|def| def.name == name)
}

pub(crate) fn register(builder: &mut GlobalsBuilder) {
    for &def in GLOBALS {
        builder.set(def.name, Builtin { def });
    }
    modules::register(builder);
}

/// The fields of a Kurtosis object as JSON, for values that end up in the plan.
pub(crate) fn object_json(value: Value) -> Option<serde_json::Value> {
    types::object_json(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{CheckOptions, check};
    use crate::diagnostic::Rule;
    use crate::plan::Instruction;
    use crate::source::MemorySource;

    /// Checks a package of one `main.star` (plus `static/hello.txt`).
    fn run(main: &str) -> crate::check::CheckResult {
        let source = MemorySource::new()
            .with("kurtosis.yml", "name: github.com/test/pkg\n")
            .with("static/hello.txt", "hello\n")
            .with("main.star", main);
        check(&source, &CheckOptions::default())
    }

    fn rules(result: &crate::check::CheckResult) -> Vec<Rule> {
        result.diagnostics.iter().map(|d| d.rule).collect()
    }

    #[test]
    fn the_whole_surface_evaluates_cleanly() {
        let result = run(r#"
def run(plan, args):
    hello = plan.upload_files(src = "./static/hello.txt", name = "hello")
    cfg = plan.render_templates(config = {"c.json": struct(template = "{{ .X }}", data = {"X": 1})})
    web = plan.add_service(name = "web", config = ServiceConfig(
        image = "nginx",
        ports = {"http": PortSpec(number = 80, application_protocol = "http")},
        files = {"/a": hello, "/b": Directory(artifact_names = [cfg]), "/c": Directory(persistent_key = "data")},
        ready_conditions = ReadyCondition(recipe = GetHttpRequestRecipe(port_id = "http", endpoint = "/"), field = "code", assertion = "==", target_value = 200),
        user = User(uid = 1000, gid = 1000),
        tolerations = [Toleration(operator = "Exists")],
        gpu = GpuConfig(count = 1),
        labels = {"app": "web"},
    ))
    more = plan.add_services(configs = {"db": ServiceConfig(image = "postgres", ports = {"pg": PortSpec(5432)})})
    r = plan.exec(service_name = "db", recipe = ExecRecipe(command = ["ls"], extract = {"n": ".n"}))
    plan.verify(value = r["extract.n"], assertion = "NOT_IN", target_value = ["x"])
    plan.request(service_name = "web", recipe = PostHttpRequestRecipe(port_id = "http", endpoint = "/"))
    plan.wait(service_name = "web", recipe = GetHttpRequestRecipe(port_id = "http", endpoint = "/"), field = "body", assertion = "!=", target_value = "")
    stored = plan.store_service_files(service_name = "web", src = "/etc")
    plan.get_files_artifact(name = stored)
    t = plan.run_sh(run = "ls", files = {"/s": stored}, store = [StoreSpec(src = "/out", name = "out")])
    p = plan.run_python(run = "print(1)", store = ["/x"], wait = None)
    plan.set_service(name = "db", config = ServiceConfig(image = "postgres:16"))
    plan.stop_service(name = "db")
    plan.start_service(name = "db")
    plan.remove_service(name = "db")
    plan.print(plan.get_service(name = "web").ports["http"].url)
    plan.print(len(plan.get_services()))
    plan.print(plan.get_cluster_type())
    plan.print(json.indent(json.encode({"d": str(time.parse_duration("90s"))})))
    when = time.parse_time("2024-05-06T07:08:09+02:00") + time.hour
    plan.print(when.format("2006-01-02 15:04") + " " + str(time.from_timestamp(86400)) + " " + str(time.time(year = 2024, month = 13, day = 1).year))
    return struct(web = web, out = t.files_artifacts, code = p.code, db = more["db"].name)
"#);
        assert_eq!(result.diagnostics, vec![], "{:#?}", result.diagnostics);
        let kinds: Vec<String> = result
            .plan
            .steps
            .iter()
            .map(|step| {
                serde_json::to_value(&step.instruction).unwrap()["instruction"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "upload_files",
                "render_templates",
                "add_service",
                "add_service",
                "exec",
                "verify",
                "request",
                "wait",
                "store_service_files",
                "get_files_artifact",
                "run_sh",
                "run_python",
                "set_service",
                "stop_service",
                "start_service",
                "remove_service",
                "get_service",
                "print",
                "get_services",
                "print",
                "get_cluster_type",
                "print",
                "print",
                "print",
            ]
        );
        let Instruction::Print { msg } = &result.plan.steps[17].instruction else {
            panic!("a print");
        };
        assert_eq!(msg, "http://web:80");
        let Instruction::Print { msg } = &result.plan.steps[22].instruction else {
            panic!("a print");
        };
        assert_eq!(msg, "{\n\t\"d\": \"1m30s\"\n}");
        let Instruction::Print { msg } = &result.plan.steps[23].instruction else {
            panic!("a print");
        };
        assert_eq!(msg, "2024-05-06 06:08 1970-01-02 00:00:00 +0000 UTC 2025");
        let output = result.plan.output.as_ref().unwrap();
        assert_eq!(output["out"], serde_json::json!(["out"]));
        assert_eq!(output["db"], "db");
    }

    #[test]
    fn plan_state_is_checked() {
        let result = run(r#"
def run(plan):
    plan.add_service(name = "web", config = ServiceConfig(image = "nginx", ports = {"http": PortSpec(80)}))
    plan.exec(service_name = "wbe", recipe = ExecRecipe(command = ["ls"]))
    plan.request(service_name = "web", recipe = GetHttpRequestRecipe(port_id = "grpc", endpoint = "/"))
    plan.upload_files(src = "./static", name = "a")
    plan.upload_files(src = "./static/hello.txt", name = "a")
    plan.upload_files(src = "./missing")
    plan.get_files_artifact(name = "b")
    plan.remove_service(name = "web")
    plan.stop_service(name = "web")
"#);
        assert_eq!(
            rules(&result),
            [
                Rule::UnknownService,
                Rule::UnknownPort,
                Rule::DuplicateArtifact,
                Rule::FileNotFound,
                Rule::UnknownArtifact,
                Rule::UnknownService,
            ]
        );
    }

    #[test]
    fn objects_are_validated() {
        let result = run(r#"
def run(plan):
    ReadyCondition(recipe = ExecRecipe(command = ["ls"]), field = "code", assertion = "=", target_value = 0, timeout = "1 m")
    User(uid = -1)
    Toleration(value = "v")
    Directory(artifact_names = ["a"], persistent_key = "k")
    Directory(persistent_key = "Bad_Key")
    ServiceConfig(image = "x", labels = {"Bad": "v"})
    time.now()
"#);
        assert_eq!(
            rules(&result),
            [
                Rule::InvalidValue,
                Rule::InvalidValue,
                Rule::OutOfRange,
                Rule::MissingArgument,
                Rule::ConflictingArguments,
                Rule::InvalidValue,
                Rule::InvalidLabel,
                Rule::DialectViolation,
            ]
        );
    }

    #[test]
    fn stand_ins_never_cause_false_errors() {
        let result = run(r#"
remote = import_module("github.com/other/pkg/lib.star")

def run(plan):
    plan.add_service(name = "x", config = remote.config())
    plan.request(service_name = "x", recipe = GetHttpRequestRecipe(port_id = "any", endpoint = "/"))
    d = {remote.key: 1}
    if type(remote.value) != "list":
        fail("want a list, got " + type(remote.value))
    remote.launch(plan)
    plan.exec(service_name = "made-remotely", recipe = ExecRecipe(command = ["ls"]))
    plan.run_sh(run = "ls", files = {"/f": "remote-artifact"})
    a, b = remote.pair()
"#);
        assert!(!result.has_errors(), "{:#?}", result.diagnostics);
        // The unpacking of a stand-in stops evaluation, reported as a possible artefact.
        assert!(
            result
                .diagnostics
                .iter()
                .any(|d| d.rule == Rule::EvaluationError)
        );
    }

    #[test]
    fn name_lists_match_the_tables() {
        let globals: Vec<&str> = GLOBALS.iter().map(|def| def.name).collect();
        let instructions: Vec<&str> = INSTRUCTIONS.iter().map(|def| def.name).collect();
        assert_eq!(globals, GLOBAL_NAMES);
        assert_eq!(instructions, INSTRUCTION_NAMES);
    }
}
