//! JSON-RPC 2.0 framing of LSP messages: what came in, and the text of what goes out.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub(crate) enum Incoming {
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
    /// A reply to a request of ours.
    Response,
}

/// JSON-RPC and LSP error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    ParseError = -32700,
    InvalidRequest = -32600,
    MethodNotFound = -32601,
    InvalidParams = -32602,
    ServerNotInitialized = -32002,
}

#[derive(Debug)]
pub(crate) struct ResponseError {
    code: ErrorCode,
    message: String,
}

impl ResponseError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ResponseError {
            code,
            message: message.into(),
        }
    }
}

/// Reads one message; what is not a JSON-RPC message is an error to send back with a null id.
pub(crate) fn parse(text: &str) -> Result<Incoming, ResponseError> {
    let value: Value = serde_json::from_str(text).map_err(|error| {
        ResponseError::new(
            ErrorCode::ParseError,
            format!("the message is not JSON: {error}"),
        )
    })?;
    let Value::Object(mut object) = value else {
        return Err(ResponseError::new(
            ErrorCode::InvalidRequest,
            "a message must be a JSON object",
        ));
    };
    let params = object.remove("params").unwrap_or(Value::Null);
    let id = object.remove("id");
    if let Some(id) = &id {
        if !(id.is_string() || id.is_i64() || id.is_u64()) {
            return Err(ResponseError::new(
                ErrorCode::InvalidRequest,
                "a request id must be a string or an integer",
            ));
        }
    }
    match (object.remove("method"), id) {
        (Some(Value::String(method)), Some(id)) => Ok(Incoming::Request { id, method, params }),
        (Some(Value::String(method)), None) => Ok(Incoming::Notification { method, params }),
        (None, Some(_)) => Ok(Incoming::Response),
        _ => Err(ResponseError::new(
            ErrorCode::InvalidRequest,
            "a message needs a string `method`, or an `id` when it is a response",
        )),
    }
}

/// The parameters of a method as its lsp-types type.
pub(crate) fn params<P: DeserializeOwned>(params: Value) -> Result<P, ResponseError> {
    serde_json::from_value(params)
        .map_err(|error| ResponseError::new(ErrorCode::InvalidParams, error.to_string()))
}

pub(crate) fn to_value(result: impl Serialize) -> Result<Value, ResponseError> {
    serde_json::to_value(result).map_err(|error| {
        ResponseError::new(
            ErrorCode::InvalidRequest,
            format!("cannot encode the result: {error}"),
        )
    })
}

pub(crate) fn response(id: Value, result: Result<Value, ResponseError>) -> String {
    match result {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err(error) => json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": { "code": error.code as i32, "message": error.message },
        }),
    }
    .to_string()
}

pub(crate) fn notification(method: &str, params: impl Serialize) -> String {
    json!({ "jsonrpc": "2.0", "method": method, "params": params }).to_string()
}
