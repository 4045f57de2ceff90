//! Recipes (`ExecRecipe`, `GetHttpRequestRecipe`, `PostHttpRequestRecipe`), `ReadyCondition`,
//! assertions, and the instructions that run recipes or compare values: `plan.exec`,
//! `plan.request`, `plan.wait` and `plan.verify`.

use std::fmt::{self, Display};

use allocative::Allocative;
use serde::{Serialize, Serializer};
use starlark::any::ProvidesStaticType;
use starlark::eval::Evaluator;
use starlark::starlark_simple_value;
use starlark::values::dict::{AllocDict, DictRef};
use starlark::values::list::ListRef;
use starlark::values::tuple::TupleRef;
use starlark::values::{Heap, NoSerialize, StarlarkValue, Value, ValueLike, starlark_value};

use super::super::args::{BuiltinDef, Call, Param, describe, opt, req};
use super::super::session::{Place, Session};
use super::super::values::{Origin, Unknown, is_unknown, kurtosis_type};
use super::instructions::{port_help, recipe_port, record, require_service};
use super::types::{duration_or_none, int_list};
use crate::diagnostic::{Diagnostic, Rule};
use crate::plan::{self, Instruction};

/// A recipe's fields, without the plan's `kind` tag (the Starlark type says which it is).
#[derive(Clone, Debug)]
pub(crate) struct RecipeData(pub plan::Recipe);

impl Serialize for RecipeData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut json = serde_json::to_value(&self.0).map_err(serde::ser::Error::custom)?;
        if let Some(fields) = json.as_object_mut() {
            fields.remove("kind");
        }
        json.serialize(serializer)
    }
}

kurtosis_type!(
    /// `ExecRecipe(command, extract)`.
    ExecRecipeValue, "ExecRecipe", RecipeData
);

kurtosis_type!(
    /// `GetHttpRequestRecipe(port_id, endpoint, extract, headers)`.
    GetHttpRecipeValue, "GetHttpRequestRecipe", RecipeData
);

kurtosis_type!(
    /// `PostHttpRequestRecipe(port_id, endpoint, body, content_type, extract, headers)`.
    PostHttpRecipeValue, "PostHttpRequestRecipe", RecipeData
);

pub(crate) static EXEC_RECIPE: BuiltinDef =
    BuiltinDef::global(
        "ExecRecipe",
        &[
            req("command")
                .ty("list[str]")
                .doc("The command and its arguments, run directly without a shell: write `[\"sh\", \"-c\", \"...\"]` for pipes or variables."),
            EXTRACT,
        ],
        exec_recipe,
    )
    .returns("ExecRecipe")
    .doc("A command to run in a service's container, for `plan.exec`, `plan.wait` and `ReadyCondition`. Its result has `output` (stdout and stderr together), `code` and one `extract.<key>` per extractor.");

/// What every recipe can extract from its output.
const EXTRACT: Param = opt("extract")
    .ty("dict[str, str]")
    .default("{}")
    .doc("jq queries to run on the output (parsed as JSON), by key; each result is available as `extract.<key>`.");

/// The port an HTTP recipe sends its request to.
const PORT_ID: Param = req("port_id")
    .ty("str")
    .doc("The id of a port of the service (a key of its `ServiceConfig.ports`).");

const ENDPOINT: Param = req("endpoint")
    .ty("str")
    .doc("The path and query of the request, such as `\"/health?full=1\"`.");

const HEADERS: Param = opt("headers")
    .ty("dict[str, str]")
    .default("{}")
    .doc("Headers to send with the request.");

pub(crate) static GET_HTTP_REQUEST_RECIPE: BuiltinDef = BuiltinDef::global(
    "GetHttpRequestRecipe",
    &[
        PORT_ID,
        ENDPOINT,
        EXTRACT,
        HEADERS,
    ],
    get_http_recipe,
)
.returns("GetHttpRequestRecipe")
.doc("An HTTP GET to a port of a service, for `plan.request`, `plan.wait` and `ReadyCondition`. Its result has `code`, `body` and one `extract.<key>` per extractor.");

pub(crate) static POST_HTTP_REQUEST_RECIPE: BuiltinDef = BuiltinDef::global(
    "PostHttpRequestRecipe",
    &[
        PORT_ID,
        ENDPOINT,
        opt("body")
            .ty("str")
            .default("\"\"")
            .doc("The request body, sent as it is: encode a dict with `json.encode` first."),
        opt("content_type")
            .ty("str")
            .default("\"application/json\"")
            .doc("The `Content-Type` header of the body."),
        EXTRACT,
        HEADERS,
    ],
    post_http_recipe,
)
.returns("PostHttpRequestRecipe")
.doc("An HTTP POST to a port of a service, for `plan.request`, `plan.wait` and `ReadyCondition`. Its result has `code`, `body` and one `extract.<key>` per extractor.");

/// `ReadyCondition(...)`: the plan's condition plus where its recipe names a port.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ReadyConditionData {
    #[serde(flatten)]
    pub condition: plan::ReadyCondition,
    #[serde(skip)]
    pub port_place: Option<Place>,
}

kurtosis_type!(
    /// `ReadyCondition(recipe, field, assertion, target_value, interval, timeout)`.
    ReadyConditionValue, "ReadyCondition", ReadyConditionData
);

pub(crate) static READY_CONDITION: BuiltinDef = BuiltinDef::global(
    "ReadyCondition",
    &[
        req("recipe")
            .ty("ExecRecipe | GetHttpRequestRecipe | PostHttpRequestRecipe")
            .doc("What to run against the new service; an HTTP recipe's `port_id` must be one of its ports."),
        FIELD,
        ASSERTION,
        TARGET_VALUE,
        INTERVAL,
        opt("timeout")
            .ty("str")
            .default("\"15m\"")
            .doc("How long to keep trying before the service counts as failed, as a Go duration. Kurtosis's documentation says 15 minutes and so does its code (unlike `plan.wait`'s 10 seconds)."),
    ],
    ready_condition,
)
.returns("ReadyCondition")
.doc("A check run after a service's container starts, until it holds, for `ServiceConfig.ready_conditions`; the service is added only once it holds.");

/// Which value of a recipe's result `plan.wait` and `ReadyCondition` test.
const FIELD: Param = req("field")
    .ty("str")
    .doc("The key of the recipe's result to test: `\"code\"`, `\"output\"` (exec), `\"body\"` (HTTP) or `\"extract.<key>\"`.");

const ASSERTION: Param = req("assertion")
    .ty("str")
    .doc("How to compare: `\"==\"`, `\"!=\"`, `\">=\"`, `\">\"`, `\"<=\"`, `\"<\"`, `\"IN\"` or `\"NOT_IN\"` (the last two with a list as `target_value`).");

const TARGET_VALUE: Param = req("target_value")
    .ty("any")
    .doc("The value to compare with; a list for `\"IN\"` and `\"NOT_IN\"`. A status code is an `int`, so `200`, not `\"200\"`.");

const INTERVAL: Param = opt("interval")
    .ty("str")
    .default("\"1s\"")
    .doc("How long to wait between tries, as a Go duration (`\"500ms\"`, `\"2s\"`).");

/// The codes a recipe run by an instruction may end with.
const SKIP_CODE_CHECK: Param = opt("skip_code_check")
    .ty("bool")
    .default("False")
    .doc("Accepts any exit or status code, leaving the check to the package.");

pub(crate) static EXEC: BuiltinDef = BuiltinDef::instruction(
    "exec",
    &[
        SERVICE_NAME,
        req("recipe")
            .ty("ExecRecipe")
            .doc("The command to run."),
        opt("acceptable_codes")
            .ty("list[int]")
            .default("[0]")
            .doc("The exit codes that count as success; any other fails the plan."),
        SKIP_CODE_CHECK,
    ],
    exec,
)
.returns("dict")
.doc("Runs a command in a service's container when the plan runs. Returns a dict of future references: `[\"output\"]`, `[\"code\"]` and `[\"extract.<key>\"]`.");

/// The service an instruction acts on.
const SERVICE_NAME: Param = req("service_name")
    .ty("str")
    .doc("The name of a service that exists at this point of the plan.");

pub(crate) static REQUEST: BuiltinDef = BuiltinDef::instruction(
    "request",
    &[
        SERVICE_NAME,
        req("recipe")
            .ty("GetHttpRequestRecipe | PostHttpRequestRecipe")
            .doc("The request to send; its `port_id` must be a port of the service."),
        opt("acceptable_codes")
            .ty("list[int]")
            .default("[200, 201, 202, 203, 204, 205, 206, 207, 208, 226]")
            .doc("The HTTP status codes that count as success (every 2xx code by default); any other fails the plan."),
        SKIP_CODE_CHECK,
    ],
    request,
)
.returns("dict")
.doc("Sends an HTTP request to a service when the plan runs. Returns a dict of future references: `[\"code\"]`, `[\"body\"]` and `[\"extract.<key>\"]`.");

pub(crate) static WAIT: BuiltinDef = BuiltinDef::instruction(
    "wait",
    &[
        SERVICE_NAME,
        req("recipe")
            .ty("ExecRecipe | GetHttpRequestRecipe | PostHttpRequestRecipe")
            .doc("What to run again and again; an HTTP recipe's `port_id` must be a port of the service."),
        FIELD,
        ASSERTION,
        TARGET_VALUE,
        INTERVAL,
        opt("timeout")
            .ty("str")
            .default("\"10s\"")
            .doc("How long to keep trying before the plan fails, as a Go duration. Only 10 seconds when left out, much less than a slow service needs to start."),
    ],
    wait,
)
.returns("dict")
.doc("Runs a recipe until its result passes the assertion, or fails the plan at the timeout. Returns the last result, like `plan.exec` or `plan.request`.");

pub(crate) static VERIFY: BuiltinDef = BuiltinDef::instruction(
    "verify",
    &[
        req("value")
            .ty("any")
            .doc("The value to test, usually a future reference such as `result[\"code\"]`."),
        ASSERTION,
        TARGET_VALUE,
    ],
    verify,
)
.returns("None")
.doc("Fails the plan when it runs if `value` does not pass the assertion; the test waits for the run, since future references are known only then.");

fn exec_recipe<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let command = call.string_list(session, "command");
    let extract = call.string_dict(session, "extract").unwrap_or_default();
    if let Some(command) = &command {
        if command.is_empty() {
            call.report(
                session,
                Rule::InvalidValue,
                "command",
                "`command` of `ExecRecipe` is empty; the exec would have nothing to run",
            )
            .help("write the command as a list, e.g. `command = [\"sh\", \"-c\", \"echo hello\"]`");
        }
    }
    let (Some(command), false) = (command, has_unknown(call, "extract")) else {
        return Ok(eval.heap().alloc(Unknown));
    };
    Ok(eval.heap().alloc(ExecRecipeValue {
        data: RecipeData(plan::Recipe::Exec { command, extract }),
        origin: call.origin(),
    }))
}

/// Whether a dict argument holds stand-ins, so its parsed form is partial.
fn has_unknown(call: &Call, name: &str) -> bool {
    call.given(name).is_some_and(|value| {
        is_unknown(value)
            || DictRef::from_value(value)
                .is_some_and(|dict| dict.iter().any(|(k, v)| is_unknown(k) || is_unknown(v)))
    })
}

fn get_http_recipe<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let port_id = call.string(session, "port_id");
    let endpoint = call.any_string(session, "endpoint");
    let extract = call.string_dict(session, "extract").unwrap_or_default();
    let headers = call.string_dict(session, "headers").unwrap_or_default();
    let (Some(port_id), Some(endpoint), false, false) = (
        port_id,
        endpoint,
        has_unknown(call, "extract"),
        has_unknown(call, "headers"),
    ) else {
        return Ok(eval.heap().alloc(Unknown));
    };
    Ok(eval.heap().alloc(GetHttpRecipeValue {
        data: RecipeData(plan::Recipe::GetHttp {
            port_id,
            endpoint,
            extract,
            headers,
        }),
        origin: call.origin(),
    }))
}

fn post_http_recipe<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let port_id = call.string(session, "port_id");
    let endpoint = call.any_string(session, "endpoint");
    let body = call.any_string(session, "body");
    let content_type = call.any_string(session, "content_type");
    let extract = call.string_dict(session, "extract").unwrap_or_default();
    let headers = call.string_dict(session, "headers").unwrap_or_default();
    let unknown = |name: &str| call.given(name).is_some_and(is_unknown);
    let (Some(port_id), Some(endpoint), false, false, false, false) = (
        port_id,
        endpoint,
        has_unknown(call, "extract"),
        has_unknown(call, "headers"),
        unknown("body"),
        unknown("content_type"),
    ) else {
        return Ok(eval.heap().alloc(Unknown));
    };
    Ok(eval.heap().alloc(PostHttpRecipeValue {
        data: RecipeData(plan::Recipe::PostHttp {
            port_id,
            endpoint,
            body: body.unwrap_or_default(),
            content_type: content_type
                .or_else(|| call.def.default_str("content_type").map(str::to_owned))
                .unwrap_or_default(),
            extract,
            headers,
        }),
        origin: call.origin(),
    }))
}

/// A recipe value: its plan form and where it was written.
pub(crate) fn recipe_of(value: Value) -> Option<(plan::Recipe, Origin)> {
    if let Some(recipe) = value.downcast_ref::<ExecRecipeValue>() {
        return Some((recipe.data.0.clone(), recipe.origin.clone()));
    }
    if let Some(recipe) = value.downcast_ref::<GetHttpRecipeValue>() {
        return Some((recipe.data.0.clone(), recipe.origin.clone()));
    }
    if let Some(recipe) = value.downcast_ref::<PostHttpRecipeValue>() {
        return Some((recipe.data.0.clone(), recipe.origin.clone()));
    }
    None
}

/// Which recipes an argument accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Accepts {
    Any,
    Exec,
    Http,
}

/// Reads a recipe argument; reports a value of the wrong kind.
fn recipe_argument(
    call: &Call,
    session: &Session,
    name: &str,
    accepts: Accepts,
) -> Option<(plan::Recipe, Origin)> {
    let value = call.given(name).filter(|value| !is_unknown(*value))?;
    let found = recipe_of(value);
    let fits = match (&found, accepts) {
        (None, _) => false,
        (Some(_), Accepts::Any) => true,
        (Some((plan::Recipe::Exec { .. }, _)), Accepts::Exec) => true,
        (Some((plan::Recipe::Exec { .. }, _)), Accepts::Http) => false,
        (Some(_), Accepts::Exec) => false,
        (Some(_), Accepts::Http) => true,
    };
    if fits {
        return found;
    }
    let expected = match accepts {
        Accepts::Any => "an ExecRecipe, a GetHttpRequestRecipe or a PostHttpRequestRecipe",
        Accepts::Exec => "an ExecRecipe",
        Accepts::Http => "a GetHttpRequestRecipe or a PostHttpRequestRecipe",
    };
    let mut report = call.report(
        session,
        Rule::WrongType,
        name,
        format!(
            "`{name}` of `{}` must be {expected}, got {}",
            call.def.display_name(),
            describe(value)
        ),
    );
    report = match (accepts, &found) {
        (Accepts::Exec, Some(_)) => report.help("HTTP recipes run with `plan.request`"),
        (Accepts::Http, Some(_)) => report.help("an ExecRecipe runs with `plan.exec`"),
        _ => report,
    };
    drop(report);
    call.incomplete.set(true);
    None
}

/// The assertions `plan.wait`, `plan.verify` and `ReadyCondition` take.
pub(crate) const ASSERTIONS: &[&str] = &["==", "!=", ">=", ">", "<=", "<", "IN", "NOT_IN"];

/// What an unknown assertion was probably meant to be.
pub(crate) fn suggest_assertion(written: &str) -> Option<&'static str> {
    let normalized = written.trim().to_ascii_uppercase().replace([' ', '-'], "_");
    match normalized.as_str() {
        "=" | "EQ" | "EQUALS" | "EQUAL" | "===" => Some("=="),
        "<>" | "NE" | "NEQ" | "NOT_EQUAL" | "!==" => Some("!="),
        "GE" | "GTE" | "=>" => Some(">="),
        "LE" | "LTE" | "=<" => Some("<="),
        "GT" => Some(">"),
        "LT" => Some("<"),
        "IN" => Some("IN"),
        "NOT_IN" | "NOTIN" | "!IN" => Some("NOT_IN"),
        _ => ASSERTIONS
            .iter()
            .copied()
            .find(|assertion| assertion.trim() == written.trim()),
    }
}

/// Reads and checks an `assertion` argument.
fn assertion(call: &Call, session: &Session, name: &str) -> Option<String> {
    let text = call.any_string(session, name)?;
    if ASSERTIONS.contains(&text.as_str()) {
        return Some(text);
    }
    let list = ASSERTIONS
        .iter()
        .map(|assertion| format!("\"{assertion}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut report = call.report(
        session,
        Rule::InvalidValue,
        name,
        format!("`{text}` is not an assertion; use one of {list}"),
    );
    if let Some(suggestion) = suggest_assertion(&text) {
        report = report.help(format!("write \"{suggestion}\""));
    }
    drop(report);
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

/// `IN` and `NOT_IN` compare against a collection.
fn check_target(call: &Call, session: &Session, assertion: &str, target: Value) {
    if !matches!(assertion, "IN" | "NOT_IN") || is_unknown(target) {
        return;
    }
    let iterable = ListRef::from_value(target).is_some()
        || TupleRef::from_value(target).is_some()
        || DictRef::from_value(target).is_some();
    if !iterable {
        call.report(
            session,
            Rule::WrongType,
            "target_value",
            format!(
                "the assertion `{assertion}` needs a list, tuple or dict as `target_value`, got {}",
                describe(target)
            ),
        )
        .help(format!(
            "write e.g. `target_value = [{}]`",
            target.to_repr()
        ));
    }
}

/// The keys of a recipe's result: what `field` may name and what the result dict holds.
pub(crate) fn result_keys(recipe: &plan::Recipe) -> Vec<String> {
    let (base, extract): (&[&str], _) = match recipe {
        plan::Recipe::Exec { extract, .. } => (&["code", "output"], extract),
        plan::Recipe::GetHttp { extract, .. } | plan::Recipe::PostHttp { extract, .. } => {
            (&["body", "code"], extract)
        }
    };
    base.iter()
        .map(|key| (*key).to_owned())
        .chain(extract.keys().map(|key| format!("extract.{key}")))
        .collect()
}

/// Reports a `field` the recipe's result does not have.
fn check_field(call: &Call, session: &Session, field: &str, recipe: &plan::Recipe) {
    let keys = result_keys(recipe);
    if keys.iter().any(|key| key == field) || field.contains("{{kurtosis:") {
        return;
    }
    let list = keys
        .iter()
        .map(|key| format!("\"{key}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut report = call.report(
        session,
        Rule::InvalidValue,
        "field",
        format!("the recipe's result has no field \"{field}\"; it has {list}"),
    );
    if let Some(key) = keys
        .iter()
        .find(|key| key.strip_prefix("extract.") == Some(field))
    {
        report = report.help(format!(
            "extracted values are named with their prefix: \"{key}\""
        ));
    } else if let Some(suggestion) =
        crate::diagnostic::did_you_mean(field, keys.iter().map(String::as_str))
    {
        report = report.help(format!("did you mean \"{suggestion}\"?"));
    } else if !keys.iter().any(|key| key.starts_with("extract.")) {
        report = report.help("to wait on a value inside the output, add `extract = {\"name\": \"<jq query>\"}` to the recipe and use \"extract.name\"");
    }
    drop(report);
}

/// The result of running a recipe: a dict of future references, as Kurtosis returns; they
/// refer to the step recorded last when `recorded`.
pub(crate) fn recipe_result<'v>(
    session: &Session,
    heap: Heap<'v>,
    recipe: &plan::Recipe,
    recorded: bool,
) -> Value<'v> {
    let id = if recorded {
        session.last_step_reference_id()
    } else {
        session.future_reference_id()
    };
    let entries: Vec<(String, String)> = result_keys(recipe)
        .into_iter()
        .map(|key| {
            let reference = session.future_reference_of(id, &key);
            (key, reference)
        })
        .collect();
    heap.alloc(AllocDict(entries))
}

/// What `ReadyCondition` and `plan.wait` poll for, and how often and how long.
struct PollArgs {
    field: Option<String>,
    assertion: Option<String>,
    target_value: Option<serde_json::Value>,
    interval: String,
    timeout: String,
}

/// Reads and checks the polling arguments; `recipe` is the recipe polled, when it is known.
fn poll_args(call: &Call, session: &Session, recipe: Option<&plan::Recipe>) -> PollArgs {
    let field = call.string(session, "field");
    let assertion = assertion(call, session, "assertion");
    if let (Some(assertion), Some(target)) = (&assertion, call.given("target_value")) {
        check_target(call, session, assertion, target);
    }
    if let (Some(recipe), Some(field)) = (recipe, &field) {
        check_field(call, session, field, recipe);
    }
    // `None` means the default here, unlike for a port's or a task's `wait`.
    let [interval, timeout] = ["interval", "timeout"].map(|name| {
        let default = call.def.default_str(name);
        duration_or_none(call, session, name, default)
            .or_else(|| default.map(str::to_owned))
            .unwrap_or_default()
    });
    PollArgs {
        field,
        assertion,
        target_value: call.json(session, "target_value"),
        interval,
        timeout,
    }
}

fn ready_condition<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let recipe = recipe_argument(call, session, "recipe", Accepts::Any);
    let PollArgs {
        field,
        assertion,
        target_value,
        interval,
        timeout,
    } = poll_args(call, session, recipe.as_ref().map(|(recipe, _)| recipe));
    let (Some((recipe, origin)), Some(field), Some(assertion), Some(target_value)) =
        (recipe, field, assertion, target_value)
    else {
        return Ok(eval.heap().alloc(Unknown));
    };
    let port_place = recipe_port(&recipe).map(|_| origin.arg("port_id"));
    Ok(eval.heap().alloc(ReadyConditionValue {
        data: ReadyConditionData {
            condition: plan::ReadyCondition {
                recipe,
                field,
                assertion,
                target_value,
                interval,
                timeout,
            },
            port_place,
        },
        origin: call.origin(),
    }))
}

/// Reports a request to a port the service does not declare.
fn check_recipe_port(
    session: &Session,
    call: &Call,
    service_name: &str,
    recipe: &plan::Recipe,
    origin: &Origin,
) {
    let Some(port_id) = recipe_port(recipe) else {
        return;
    };
    if port_id.contains("{{kurtosis:") {
        return;
    }
    let Some(service) = session.state.borrow().services.get(service_name).cloned() else {
        return;
    };
    if !service.ports_known || service.ports.iter().any(|port| port == port_id) {
        return;
    }
    let place = if origin.call.file.is_empty() {
        call.place_of("recipe")
    } else {
        origin.arg("port_id")
    };
    let mut diagnostic = Diagnostic::new(
        Rule::UnknownPort,
        &place.file,
        place.span,
        format!(
            "`{}` sends the recipe to port `{port_id}` of `{service_name}`, which declares no such port",
            call.def.display_name()
        ),
    )
    .with_label(
        service.defined_at.file.clone(),
        service.defined_at.span,
        format!("`{service_name}` is added here"),
    );
    diagnostic = port_help(diagnostic, port_id, service.ports.iter());
    session.report(diagnostic);
}

/// The service an instruction targets, checked to exist.
fn target_service(session: &Session, call: &Call) -> Option<String> {
    let name = call.string(session, "service_name")?;
    require_service(session, call, "service_name", &name);
    Some(name)
}

fn exec<'v>(call: &Call<'v>, eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<Value<'v>> {
    send_recipe(
        call,
        eval,
        Accepts::Exec,
        |service_name, recipe, acceptable_codes, skip_code_check| Instruction::Exec {
            service_name,
            recipe,
            acceptable_codes,
            skip_code_check,
        },
    )
}

fn request<'v>(call: &Call<'v>, eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<Value<'v>> {
    send_recipe(
        call,
        eval,
        Accepts::Http,
        |service_name, recipe, acceptable_codes, skip_code_check| Instruction::Request {
            service_name,
            recipe,
            acceptable_codes,
            skip_code_check,
        },
    )
}

/// `plan.exec` and `plan.request`: one recipe sent to a service, with acceptable codes.
fn send_recipe<'v>(
    call: &Call<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
    accepts: Accepts,
    instruction: impl FnOnce(String, plan::Recipe, Option<Vec<i64>>, bool) -> Instruction,
) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let service_name = target_service(session, call);
    let recipe = recipe_argument(call, session, "recipe", accepts);
    let acceptable_codes = int_list(call, session, "acceptable_codes");
    let skip_code_check = call.bool(session, "skip_code_check").unwrap_or(false);
    let (Some(service_name), Some((recipe, origin))) = (service_name, recipe) else {
        return Ok(eval.heap().alloc(Unknown));
    };
    check_recipe_port(session, call, &service_name, &recipe, &origin);
    let recorded = !call.incomplete.get();
    if recorded {
        let step = instruction(
            service_name,
            recipe.clone(),
            acceptable_codes,
            skip_code_check,
        );
        record(session, call, step)?;
    }
    Ok(recipe_result(session, eval.heap(), &recipe, recorded))
}

fn wait<'v>(call: &Call<'v>, eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let service_name = target_service(session, call);
    let recipe = recipe_argument(call, session, "recipe", Accepts::Any);
    let PollArgs {
        field,
        assertion,
        target_value,
        interval,
        timeout,
    } = poll_args(call, session, recipe.as_ref().map(|(recipe, _)| recipe));
    let (Some(service_name), Some((recipe, origin))) = (service_name, recipe) else {
        return Ok(eval.heap().alloc(Unknown));
    };
    check_recipe_port(session, call, &service_name, &recipe, &origin);
    let mut recorded = false;
    if let (Some(field), Some(assertion), Some(target_value), false) =
        (field, assertion, target_value, call.incomplete.get())
    {
        record(
            session,
            call,
            Instruction::Wait {
                service_name: Some(service_name),
                recipe: recipe.clone(),
                field,
                assertion,
                target_value,
                interval,
                timeout,
            },
        )?;
        recorded = true;
    }
    Ok(recipe_result(session, eval.heap(), &recipe, recorded))
}

fn verify<'v>(call: &Call<'v>, eval: &mut Evaluator<'v, '_, '_>) -> starlark::Result<Value<'v>> {
    let session = Session::of(eval);
    let value = call.given("value").filter(|value| !is_unknown(*value));
    if let Some(value) = value {
        if value.unpack_str().is_none() {
            call.report(
                session,
                Rule::WrongType,
                "value",
                format!(
                    "`value` of `plan.verify` must be a string (usually a future reference such as `result[\"code\"]`), got {}",
                    describe(value)
                ),
            )
            .help(format!(
                "Kurtosis compares the value as a string; write `str({})`, or compare plain values in Starlark with `if`/`fail()`",
                value.to_repr()
            ));
        }
    }
    let assertion = assertion(call, session, "assertion");
    let target = call.given("target_value");
    if let (Some(assertion), Some(target)) = (&assertion, target) {
        check_target(call, session, assertion, target);
    }
    let json_value = call.json(session, "value");
    let target_value = call.json(session, "target_value");
    if let (Some(value), Some(assertion), Some(target_value), false) =
        (json_value, assertion, target_value, call.incomplete.get())
    {
        record(
            session,
            call,
            Instruction::Verify {
                value,
                assertion,
                target_value,
            },
        )?;
    }
    Ok(Value::new_none())
}

/// JSON of the objects defined here, for values that flow into the plan.
pub(crate) fn object_json(value: Value) -> Option<serde_json::Value> {
    if let Some((recipe, _)) = recipe_of(value) {
        return serde_json::to_value(RecipeData(recipe)).ok();
    }
    value
        .downcast_ref::<ReadyConditionValue>()
        .and_then(|condition| serde_json::to_value(&condition.data).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn assertions_and_suggestions() {
        for assertion in ASSERTIONS {
            assert_eq!(suggest_assertion(assertion), Some(*assertion));
        }
        assert_eq!(suggest_assertion("="), Some("=="));
        assert_eq!(suggest_assertion("in"), Some("IN"));
        assert_eq!(suggest_assertion("not in"), Some("NOT_IN"));
        assert_eq!(suggest_assertion("NOTIN"), Some("NOT_IN"));
        assert_eq!(suggest_assertion("eq"), Some("=="));
        assert_eq!(suggest_assertion("~="), None);
    }

    #[test]
    fn result_keys_follow_kurtosis() {
        let exec = plan::Recipe::Exec {
            command: vec!["true".into()],
            extract: BTreeMap::from([("x".to_owned(), ".x".to_owned())]),
        };
        assert_eq!(result_keys(&exec), ["code", "output", "extract.x"]);
        let get = plan::Recipe::GetHttp {
            port_id: "http".into(),
            endpoint: "/".into(),
            extract: BTreeMap::new(),
            headers: BTreeMap::new(),
        };
        assert_eq!(result_keys(&get), ["body", "code"]);
    }

    #[test]
    fn recipe_fields_hide_the_kind() {
        let json = serde_json::to_value(RecipeData(plan::Recipe::Exec {
            command: vec!["ls".into()],
            extract: BTreeMap::new(),
        }))
        .unwrap();
        assert_eq!(json, serde_json::json!({"command": ["ls"]}));
    }
}
