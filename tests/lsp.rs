//! The language server, driven with JSON-RPC messages as an editor sends them: in memory
//! through `Server`, and once over stdio against the real `starflake lsp`.
//!
//! The fixture packages in `tests/fixtures/lsp/` are valid on disk; tests open them with
//! edited text, which the server must prefer to the disk.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use starflake::lsp::Server;
use starflake::lsp::uri::uri_of;
use starflake::native::lsp::FsWorkspace;

fn fixture(path: &str) -> String {
    format!("{}/tests/fixtures/lsp/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn disk_text(path: &str) -> String {
    std::fs::read_to_string(fixture(path)).expect("a fixture file")
}

/// An editor's side of the conversation.
struct Client {
    server: Server,
    next_id: i64,
}

impl Client {
    /// A server initialized by a client that offers these position encodings.
    fn new(position_encodings: &[&str]) -> (Client, Value) {
        Client::of(Server::new(Box::new(FsWorkspace)), position_encodings)
    }

    /// `server`, initialized by a client that offers these position encodings.
    fn of(server: Server, position_encodings: &[&str]) -> (Client, Value) {
        let mut client = Client { server, next_id: 0 };
        let capabilities = json!({ "general": { "positionEncodings": position_encodings } });
        let result = client.request(
            "initialize",
            json!({ "processId": null, "rootUri": null, "capabilities": capabilities }),
        );
        client.notify("initialized", json!({}));
        (client, result)
    }

    fn utf16() -> Client {
        Client::new(&["utf-16"]).0
    }

    fn send(&mut self, message: Value) -> Vec<Value> {
        self.send_text(&message.to_string())
    }

    fn send_text(&mut self, text: &str) -> Vec<Value> {
        parse_all(self.server.handle(text))
    }

    /// The response to a request (its `result` or `error` object); notifications sent before it
    /// are dropped.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let replies =
            self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        response(&replies, json!(id))
    }

    fn notify(&mut self, method: &str, params: Value) -> Vec<Value> {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }))
    }

    fn open(&mut self, path: &str, text: &str) -> Vec<Value> {
        let document = json!({ "uri": uri_of(&fixture(path)), "languageId": "starlark", "version": 1, "text": text });
        self.notify("textDocument/didOpen", json!({ "textDocument": document }))
    }

    /// Replaces the whole text, as a client without incremental sync does.
    fn replace(&mut self, path: &str, version: i32, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri_of(&fixture(path)), "version": version },
                "contentChanges": [{ "text": text }],
            }),
        )
    }

    /// What the debounced re-check publishes once the transport's timer fires.
    fn settle(&mut self) -> Vec<Value> {
        assert!(
            self.server.deferred_after_ms().is_some(),
            "an edit must schedule a re-check"
        );
        let published = parse_all(self.server.run_deferred());
        assert_eq!(self.server.deferred_after_ms(), None);
        published
    }
}

fn parse_all(messages: Vec<String>) -> Vec<Value> {
    messages
        .iter()
        .map(|text| serde_json::from_str(text).expect("the server sends JSON"))
        .collect()
}

fn response(messages: &[Value], id: Value) -> Value {
    let reply = messages
        .iter()
        .find(|message| message.get("id") == Some(&id) && message.get("method").is_none())
        .unwrap_or_else(|| panic!("no response to request {id} in {messages:#?}"));
    reply
        .get("result")
        .or_else(|| reply.get("error"))
        .cloned()
        .expect("a response has a result or an error")
}

/// The diagnostics published for `path` among `messages`; `None` when none were published.
fn published(messages: &[Value], path: &str) -> Option<Vec<Value>> {
    let uri = uri_of(&fixture(path));
    messages
        .iter()
        .rfind(|message| {
            message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri.as_str()
        })
        .map(|message| {
            message["params"]["diagnostics"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
}

fn codes(diagnostics: &[Value]) -> Vec<&str> {
    diagnostics
        .iter()
        .map(|diagnostic| diagnostic["code"].as_str().unwrap_or_default())
        .collect()
}

fn range(line: u32, start: usize, end: usize) -> Value {
    json!({ "start": { "line": line, "character": start }, "end": { "line": line, "character": end } })
}

// ---------------------------------------------------------------- lifecycle

#[test]
fn initialize_takes_utf8_when_offered_and_utf16_otherwise() {
    let (_, result) = Client::new(&["utf-32", "utf-8", "utf-16"]);
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-8");
    assert_eq!(result["serverInfo"]["name"], "starflake");
    let (_, result) = Client::new(&["utf-16"]);
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-16");
    let (_, result) = Client::new(&[]);
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-16");
    assert_eq!(
        result["capabilities"]["codeActionProvider"]["codeActionKinds"],
        json!(["quickfix"])
    );
}

#[test]
fn shutdown_then_exit_ends_with_0_and_exit_alone_with_1() {
    let mut client = Client::utf16();
    assert_eq!(client.request("shutdown", Value::Null), Value::Null);
    let refused = client.request("textDocument/codeAction", json!({}));
    assert_eq!(refused["code"], -32600);
    assert_eq!(client.server.exit_code(), None);
    client.notify("exit", Value::Null);
    assert_eq!(client.server.exit_code(), Some(0));

    let mut client = Client::utf16();
    client.notify("exit", Value::Null);
    assert_eq!(client.server.exit_code(), Some(1));
}

// ---------------------------------------------------------------- diagnostics

/// `main.star` with `web` misspelt after an emoji on the same line.
fn main_with_misspelt_name() -> (String, u32, String) {
    let text = disk_text("app/main.star").replace("web.ip_address", "wbe.ip_address");
    let (line_number, line) = text
        .lines()
        .enumerate()
        .find(|(_, line)| line.contains("🚀"))
        .expect("a line with an emoji");
    (text.clone(), line_number as u32, line.to_owned())
}

#[test]
fn columns_after_an_emoji_count_utf16_units_or_utf8_bytes_as_negotiated() {
    let (text, line_number, line) = main_with_misspelt_name();
    let byte_column = line.find("wbe").unwrap();
    let utf16_column = line[..byte_column].encode_utf16().count();
    // 🚀 is 4 bytes and 2 UTF-16 units.
    assert_eq!(byte_column - utf16_column, 2);

    for (encoding, column) in [("utf-16", utf16_column), ("utf-8", byte_column)] {
        let (mut client, _) = Client::new(&[encoding]);
        let messages = client.open("app/main.star", &text);
        let diagnostics = published(&messages, "app/main.star").expect("main.star is published");
        assert_eq!(codes(&diagnostics), ["SF002"], "{encoding}");
        assert_eq!(
            diagnostics[0]["range"],
            range(line_number, column, column + 3),
            "{encoding}"
        );
    }
}

#[test]
fn a_diagnostic_names_its_rule_source_and_documentation() {
    let (text, _, _) = main_with_misspelt_name();
    let mut client = Client::utf16();
    let messages = client.open("app/main.star", &text);
    let diagnostic = &published(&messages, "app/main.star").unwrap()[0];
    assert_eq!(diagnostic["source"], "starflake");
    assert_eq!(diagnostic["severity"], 1);
    assert!(
        diagnostic["codeDescription"]["href"]
            .as_str()
            .unwrap()
            .ends_with("docs/rules.md#sf002"),
        "{diagnostic:#}"
    );
    assert_eq!(
        diagnostic["message"],
        "Variable `wbe` not found, did you mean `web`?"
    );
}

#[test]
fn a_file_that_is_not_open_gets_its_diagnostics_and_the_open_one_an_empty_list() {
    let mut client = Client::utf16();
    let messages = client.open(
        "broken-module/main.star",
        &disk_text("broken-module/main.star"),
    );
    assert_eq!(
        published(&messages, "broken-module/main.star"),
        Some(vec![])
    );
    let util = published(&messages, "broken-module/lib/util.star").expect("util.star is published");
    assert_eq!(codes(&util), ["SF002"]);
    assert_eq!(util[0]["range"], range(1, 7, 21));
}

#[test]
fn fixing_a_problem_clears_it_after_the_debounced_re_check() {
    let mut client = Client::utf16();
    client.open(
        "broken-module/main.star",
        &disk_text("broken-module/main.star"),
    );
    let messages = client.open(
        "broken-module/lib/util.star",
        &disk_text("broken-module/lib/util.star"),
    );
    assert_eq!(
        published(&messages, "broken-module/lib/util.star").map(|d| d.len()),
        Some(1)
    );

    // An edit is checked only when the transport's timer fires.
    let fixed = disk_text("broken-module/lib/util.star").replace("undefined_port", "8080");
    assert_eq!(
        client.replace("broken-module/lib/util.star", 2, &fixed),
        Vec::<Value>::new()
    );
    let messages = client.settle();
    assert_eq!(
        published(&messages, "broken-module/lib/util.star"),
        Some(vec![])
    );
    let version = messages[0]["params"]["version"].clone();
    assert_eq!(version, 2);
}

#[test]
fn an_incremental_change_edits_the_buffer_at_its_utf16_range() {
    let mut client = Client::utf16();
    let text = disk_text("app/main.star");
    client.open("app/main.star", &text);
    let (line_number, line) = text
        .lines()
        .enumerate()
        .find(|(_, line)| line.contains("🚀"))
        .unwrap();
    let at = line[..line.find("web.ip").unwrap()].encode_utf16().count();
    // Replace `e` of `web` by `b`: `wbb`.
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri_of(&fixture("app/main.star")), "version": 2 },
            "contentChanges": [{ "range": range(line_number as u32, at + 1, at + 2), "text": "b" }],
        }),
    );
    let diagnostics = published(&client.settle(), "app/main.star").unwrap();
    assert_eq!(
        diagnostics[0]["message"],
        "Variable `wbb` not found, did you mean `web`?"
    );
    assert_eq!(
        diagnostics[0]["range"],
        range(line_number as u32, at, at + 3)
    );
}

#[test]
fn closing_the_last_file_of_a_package_clears_what_it_published() {
    let mut client = Client::utf16();
    client.open(
        "broken-module/main.star",
        &disk_text("broken-module/main.star"),
    );
    let messages = client.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri_of(&fixture("broken-module/main.star")) } }),
    );
    assert_eq!(
        published(&messages, "broken-module/lib/util.star"),
        Some(vec![])
    );
    assert_eq!(client.server.deferred_after_ms(), None);
}

#[test]
fn packages_of_one_workspace_are_checked_apart() {
    let mut client = Client::utf16();
    let (text, _, _) = main_with_misspelt_name();
    client.open("app/main.star", &text);
    let messages = client.open(
        "broken-module/main.star",
        &disk_text("broken-module/main.star"),
    );
    // Opening the second package checks only that one.
    assert!(published(&messages, "app/main.star").is_none());
    assert!(published(&messages, "broken-module/lib/util.star").is_some());
}

// ---------------------------------------------------------------- flakes

#[test]
fn a_missing_flake_output_is_an_error_at_the_star_argument_with_the_flake_as_related_information() {
    let mut client = Client::utf16();
    client.open("app/main.star", &disk_text("app/main.star"));
    let text = disk_text("app/lib/services.star").replace("\"server-image\"", "\"serverImage\"");
    let messages = client.open("app/lib/services.star", &text);
    let diagnostics = published(&messages, "app/lib/services.star").unwrap();
    assert_eq!(codes(&diagnostics), ["SF502"]);
    let line = text
        .lines()
        .position(|line| line.contains("serverImage"))
        .unwrap() as u32;
    let column = text.lines().nth(line as usize).unwrap().find('"').unwrap();
    assert_eq!(diagnostics[0]["range"], range(line, column, column + 13));
    let related = &diagnostics[0]["relatedInformation"][0];
    assert_eq!(
        related["location"]["uri"],
        uri_of(&fixture("app/nix/web/flake.nix"))
    );
    // `packages.${system}` on line 5 of the flake.
    assert_eq!(related["location"]["range"], range(4, 15, 24));
    assert_eq!(published(&messages, "app/nix/web/flake.nix"), None);
}

#[test]
fn a_flake_built_only_for_macos_is_an_error_at_the_star_argument() {
    let mut client = Client::utf16();
    client.open("app/main.star", &disk_text("app/main.star"));
    let text = disk_text("app/lib/services.star")
        .replace("/nix/web", "/nix/mac")
        .replace("\"server-image\"", "\"image\"");
    let messages = client.open("app/lib/services.star", &text);
    let diagnostics = published(&messages, "app/lib/services.star").unwrap();
    assert_eq!(codes(&diagnostics), ["SF503"]);
    let line = text
        .lines()
        .position(|line| line.contains("flake_output"))
        .unwrap() as u32;
    assert_eq!(diagnostics[0]["range"]["start"]["line"], line);
    let related = &diagnostics[0]["relatedInformation"][0]["location"];
    assert_eq!(related["uri"], uri_of(&fixture("app/nix/mac/flake.nix")));
}

// ---------------------------------------------------------------- quick fixes

fn code_actions(client: &mut Client, path: &str, at: Value, diagnostics: &[Value]) -> Value {
    client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": uri_of(&fixture(path)) },
            "range": at,
            "context": { "diagnostics": diagnostics },
        }),
    )
}

#[test]
fn a_quick_fix_renames_a_misspelt_name_at_its_utf16_range() {
    let (text, line_number, line) = main_with_misspelt_name();
    let mut client = Client::utf16();
    let diagnostics = published(&client.open("app/main.star", &text), "app/main.star").unwrap();
    let actions = code_actions(
        &mut client,
        "app/main.star",
        diagnostics[0]["range"].clone(),
        &diagnostics,
    );
    let column = line[..line.find("wbe").unwrap()].encode_utf16().count();
    assert_eq!(
        actions,
        json!([{
            "title": "Change `wbe` to `web`",
            "kind": "quickfix",
            "diagnostics": [diagnostics[0]],
            "edit": { "changes": { uri_of(&fixture("app/main.star")): [
                { "range": range(line_number, column, column + 3), "newText": "web" }
            ] } },
            "isPreferred": true,
        }])
    );
    // Nowhere near the diagnostic: nothing to offer.
    assert_eq!(
        code_actions(&mut client, "app/main.star", range(0, 0, 0), &[]),
        json!([])
    );
}

#[test]
fn a_quick_fix_replaces_a_misspelt_flake_output_with_the_one_the_flake_defines() {
    let mut client = Client::utf16();
    client.open("app/main.star", &disk_text("app/main.star"));
    let text = disk_text("app/lib/services.star").replace("\"server-image\"", "\"serverImage\"");
    let diagnostics = published(
        &client.open("app/lib/services.star", &text),
        "app/lib/services.star",
    )
    .unwrap();
    let actions = code_actions(
        &mut client,
        "app/lib/services.star",
        diagnostics[0]["range"].clone(),
        &diagnostics,
    );
    let edit = &actions[0]["edit"]["changes"][uri_of(&fixture("app/lib/services.star"))][0];
    assert_eq!(edit["newText"], "\"server-image\"");
    assert_eq!(edit["range"], diagnostics[0]["range"]);
}

#[test]
fn a_quick_fix_removes_an_empty_flake_output() {
    let mut client = Client::utf16();
    client.open("app/main.star", &disk_text("app/main.star"));
    let text = disk_text("app/lib/services.star").replace("\"server-image\"", "\"\"");
    let diagnostics = published(
        &client.open("app/lib/services.star", &text),
        "app/lib/services.star",
    )
    .unwrap();
    // Without `flake_output` Nix builds the default output, which this flake lacks: SF502 too.
    assert_eq!(codes(&diagnostics), ["SF204", "SF502"]);
    let actions = code_actions(
        &mut client,
        "app/lib/services.star",
        diagnostics[0]["range"].clone(),
        &diagnostics[..1],
    );
    let edit = &actions[0]["edit"]["changes"][uri_of(&fixture("app/lib/services.star"))][0];
    assert_eq!(edit["newText"], "");
    // From the end of the argument before it to the end of `flake_output = ""`.
    let lines: Vec<&str> = text.lines().collect();
    let output_line = lines
        .iter()
        .position(|line| line.contains("flake_output"))
        .unwrap();
    assert_eq!(
        edit["range"],
        json!({
            "start": { "line": output_line - 1, "character": lines[output_line - 1].find(',').unwrap() },
            "end": { "line": output_line, "character": lines[output_line].find(',').unwrap() },
        })
    );
}

// ---------------------------------------------------------------- hostile messages

#[test]
fn hostile_messages_get_json_rpc_errors_and_the_server_goes_on() {
    let mut client = Client {
        server: Server::new(Box::new(FsWorkspace)),
        next_id: 0,
    };
    let error_code = |messages: Vec<Value>| messages[0]["error"]["code"].clone();
    // Before `initialize`, requests are refused.
    assert_eq!(
        client.request("textDocument/codeAction", json!({}))["code"],
        -32002
    );
    client.request("initialize", json!({ "capabilities": {} }));

    assert_eq!(error_code(client.send_text("{ not json")), -32700);
    assert_eq!(client.send_text("{ not json")[0]["id"], Value::Null);
    assert_eq!(error_code(client.send_text("[1, 2]")), -32600);
    assert_eq!(error_code(client.send_text("\"text\"")), -32600);
    assert_eq!(
        error_code(client.send(json!({ "jsonrpc": "2.0", "id": [1], "method": "x" }))),
        -32600
    );
    assert_eq!(
        error_code(client.send(json!({ "jsonrpc": "2.0", "id": 7, "method": 12 }))),
        -32600
    );
    assert_eq!(
        client.request("textDocument/unknownThing", json!({}))["code"],
        -32601
    );
    assert_eq!(
        client.request("initialize", json!({ "capabilities": {} }))["code"],
        -32600
    );
    assert_eq!(
        client.request("textDocument/codeAction", json!({ "range": 3 }))["code"],
        -32602
    );

    // Notifications are never answered, whatever they hold.
    for notification in [
        json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": { "textDocument": 1 } }),
        json!({ "jsonrpc": "2.0", "method": "textDocument/didChange", "params": null }),
        json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": { "textDocument": {
            "uri": "untitled:Untitled-1", "languageId": "starlark", "version": 1, "text": "x = (" } } }),
        json!({ "jsonrpc": "2.0", "method": "$/unknown" }),
        json!({ "jsonrpc": "2.0", "id": 99, "result": null }),
    ] {
        assert_eq!(client.send(notification), Vec::<Value>::new());
    }
    // A file that is not open, and one that is outside every package.
    assert_eq!(
        client.replace("app/missing.star", 2, "x"),
        Vec::<Value>::new()
    );
    assert_eq!(
        code_actions(&mut client, "app/missing.star", range(0, 0, 0), &[]),
        json!([])
    );

    // Ranges past the end of the text and backwards are clamped, not trusted.
    let text = disk_text("app/main.star");
    client.open("app/main.star", &text);
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri_of(&fixture("app/main.star")), "version": 2 },
            "contentChanges": [
                { "range": { "start": { "line": 999, "character": 5 }, "end": { "line": 999, "character": 0 } }, "text": "\n# appended\n" },
                { "range": { "start": { "line": 0, "character": 400 }, "end": { "line": 0, "character": 2 } }, "text": "" },
            ],
        }),
    );
    let diagnostics = published(&client.settle(), "app/main.star");
    // Every published range still lies inside the text.
    for diagnostic in diagnostics.unwrap_or_default() {
        assert!(diagnostic["range"]["end"]["line"].as_u64().unwrap() < 100);
    }
    assert_eq!(client.request("shutdown", Value::Null), Value::Null);
}

// ---------------------------------------------------------------- over stdio

/// Writes one framed message.
fn write_message(stdin: &mut impl Write, message: &Value) {
    let text = message.to_string();
    write!(stdin, "Content-Length: {}\r\n\r\n{text}", text.len()).unwrap();
    stdin.flush().unwrap();
}

/// Reads one framed message.
fn read_message(stdout: &mut impl BufRead) -> Value {
    let mut length = 0;
    loop {
        let mut header = String::new();
        assert!(
            stdout.read_line(&mut header).unwrap() > 0,
            "the server closed stdout"
        );
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some(value) = header.strip_prefix("Content-Length: ") {
            length = value.parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    stdout.read_exact(&mut body).unwrap();
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn starflake_lsp_serves_over_stdio_survives_garbage_and_exits_cleanly() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_starflake"))
        .args(["lsp", "--stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starflake lsp starts");
    let mut stdin = server.stdin.take().unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());

    write_message(
        &mut stdin,
        &json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": { "capabilities": {} } }),
    );
    let initialized = read_message(&mut stdout);
    assert_eq!(
        initialized["result"]["capabilities"]["positionEncoding"],
        "utf-16"
    );

    // A payload that is not JSON is answered, and the server reads on.
    stdin.write_all(b"Content-Length: 5\r\n\r\n{ no ").unwrap();
    assert_eq!(read_message(&mut stdout)["error"]["code"], -32700);

    let main = fixture("broken-module/main.star");
    write_message(
        &mut stdin,
        &json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": { "textDocument": {
        "uri": uri_of(&main), "languageId": "starlark", "version": 1, "text": disk_text("broken-module/main.star") } } }),
    );
    let mut seen = Vec::new();
    while seen.len() < 2 {
        seen.push(read_message(&mut stdout));
    }
    assert_eq!(published(&seen, "broken-module/main.star"), Some(vec![]));
    assert_eq!(
        codes(&published(&seen, "broken-module/lib/util.star").unwrap()),
        ["SF002"]
    );

    // Once main.star no longer imports util.star, util.star's problem is cleared after the
    // debounce.
    let fixed = disk_text("broken-module/main.star").replace(
        "import_module(\"/lib/util.star\")",
        "struct(NAME = \"web\")",
    );
    write_message(
        &mut stdin,
        &json!({ "jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": { "uri": uri_of(&main), "version": 2 }, "contentChanges": [{ "text": fixed }] } }),
    );
    let changed = read_message(&mut stdout);
    assert_eq!(
        published(&[changed], "broken-module/lib/util.star"),
        Some(vec![])
    );

    write_message(
        &mut stdin,
        &json!({ "jsonrpc": "2.0", "id": 2, "method": "shutdown" }),
    );
    assert_eq!(read_message(&mut stdout)["id"], 2);
    write_message(&mut stdin, &json!({ "jsonrpc": "2.0", "method": "exit" }));
    let status = server.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

// ---------------------------------------------------------------- editor features

/// The position of the `nth` occurrence of `needle` in `text` (plus `shift` characters), in
/// UTF-16 units.
fn position_of(text: &str, needle: &str, shift: usize) -> Value {
    let offset = text.find(needle).expect("the needle is in the text") + shift;
    let line = text[..offset].matches('\n').count();
    let line_start = text[..offset].rfind('\n').map_or(0, |newline| newline + 1);
    json!({ "line": line, "character": text[line_start..offset].encode_utf16().count() })
}

fn at(path: &str, position: Value) -> Value {
    json!({ "textDocument": { "uri": uri_of(&fixture(path)) }, "position": position })
}

#[test]
fn hover_documents_the_builtin_under_the_cursor_with_its_range() {
    let mut client = Client::utf16();
    let text = disk_text("app/main.star");
    client.open("app/main.star", &text);
    let hover = client.request(
        "textDocument/hover",
        at("app/main.star", position_of(&text, "ServiceConfig", 3)),
    );
    assert_eq!(hover["contents"]["kind"], "markdown");
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("ServiceConfig"),
        "{hover:#}"
    );
    let start = position_of(&text, "ServiceConfig", 0);
    assert_eq!(hover["range"]["start"], start);
    // Nothing to say on a blank line.
    assert_eq!(
        client.request(
            "textDocument/hover",
            at("app/main.star", json!({ "line": 1, "character": 0 }))
        ),
        Value::Null
    );
}

#[test]
fn completion_after_plan_dot_offers_instructions_replacing_the_typed_word() {
    let mut client = Client::utf16();
    let text = disk_text("app/main.star").replace("    plan.add_service(", "    plan.add_s(");
    client.open("app/main.star", &text);
    let items = client.request(
        "textDocument/completion",
        at("app/main.star", position_of(&text, "plan.add_s(", 10)),
    );
    let item = items
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["label"] == "add_service")
        .unwrap_or_else(|| panic!("add_service is offered: {items:#}"));
    assert_eq!(item["kind"], 2, "a method");
    let edit = &item["textEdit"];
    assert_eq!(edit["newText"], "add_service");
    assert_eq!(edit["range"]["start"], position_of(&text, "plan.add_s(", 5));
    assert_eq!(edit["range"]["end"], position_of(&text, "plan.add_s(", 10));
}

#[test]
fn signature_help_marks_the_argument_being_written() {
    let mut client = Client::utf16();
    let text = disk_text("app/lib/services.star");
    client.open("app/lib/services.star", &text);
    let help = client.request(
        "textDocument/signatureHelp",
        at(
            "app/lib/services.star",
            position_of(&text, "number = 8080", 0),
        ),
    );
    let signature = &help["signatures"][0];
    let label = signature["label"].as_str().unwrap();
    assert!(label.starts_with("PortSpec("), "{label}");
    let active = help["activeParameter"].as_u64().unwrap() as usize;
    let [start, end] = [0, 1].map(|end| {
        signature["parameters"][active]["label"][end]
            .as_u64()
            .unwrap() as usize
    });
    assert!(label[start..end].starts_with("number"), "{label}");
}

#[test]
fn definition_follows_a_locator_to_its_file_and_a_member_to_its_def() {
    let mut client = Client::utf16();
    let text = disk_text("app/main.star");
    client.open("app/main.star", &text);
    let services = uri_of(&fixture("app/lib/services.star"));
    let locator = client.request(
        "textDocument/definition",
        at("app/main.star", position_of(&text, "/lib/services.star", 3)),
    );
    assert_eq!(locator[0]["uri"], services);
    let member = client.request(
        "textDocument/definition",
        at("app/main.star", position_of(&text, "add_web", 2)),
    );
    assert_eq!(member[0]["uri"], services);
    assert_eq!(member[0]["range"]["start"]["line"], 0);
}

#[test]
fn document_symbols_list_functions_and_the_services_they_add() {
    let mut client = Client::utf16();
    client.open("app/main.star", &disk_text("app/main.star"));
    client.open("app/lib/services.star", &disk_text("app/lib/services.star"));
    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri_of(&fixture("app/lib/services.star")) } }),
    );
    assert_eq!(symbols[0]["name"], "add_web");
    assert_eq!(symbols[0]["kind"], 12, "a function");
    assert_eq!(symbols[0]["selectionRange"], range(0, 4, 11));
    assert_eq!(symbols[0]["children"][0]["name"], "web");
}

#[test]
fn dependencies_resolve_from_the_packages_folder_the_server_is_given() {
    let package = format!(
        "{}/tests/fixtures/check/valid-pinned-dependency",
        env!("CARGO_MANIFEST_DIR")
    );
    let main = format!("{package}/main.star");
    let text = std::fs::read_to_string(&main).unwrap();
    let open = |server: Server| {
        let (mut client, _) = Client::of(server, &["utf-16"]);
        let document =
            json!({ "uri": uri_of(&main), "languageId": "starlark", "version": 1, "text": text });
        let messages = client.notify("textDocument/didOpen", json!({ "textDocument": document }));
        let published = messages
            .iter()
            .find(|message| message["params"]["uri"] == json!(uri_of(&main)))
            .expect("main.star is published");
        published["params"]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|diagnostic| diagnostic["code"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    // Without a packages folder the pinned and the unpinned dependency are unavailable...
    assert_eq!(open(Server::new(Box::new(FsWorkspace))), ["SF008", "SF008"]);
    // ... with one, both resolve, the pinned one at its ref.
    let with_packages =
        Server::new(Box::new(FsWorkspace)).with_packages_dir(format!("{package}/packages"));
    assert_eq!(open(with_packages), Vec::<String>::new());
}
