//! A small HTTP/1.1 client for `request`, `wait` and ready conditions: one request per
//! connection (`Connection: close`), bodies by length, chunked or until EOF.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Responses larger than this are cut (the rest is not read).
const MAX_BODY: usize = 16 * 1024 * 1024;

pub struct Response {
    pub code: u16,
    pub body: String,
}

pub struct Request<'a> {
    pub method: &'a str,
    pub address: SocketAddr,
    /// The `Host` header: the service name and port, as inside the enclave.
    pub host: String,
    pub endpoint: &'a str,
    pub headers: &'a BTreeMap<String, String>,
    pub body: Option<(&'a str, &'a str)>,
}

pub async fn send(request: &Request<'_>, timeout: Duration) -> Result<Response, String> {
    tokio::time::timeout(timeout, exchange(request))
        .await
        .map_err(|_| format!("no answer within {} s", timeout.as_secs_f64()))?
}

async fn exchange(request: &Request<'_>) -> Result<Response, String> {
    let mut stream = TcpStream::connect(request.address)
        .await
        .map_err(|error| format!("cannot connect to {}: {error}", request.address))?;
    let endpoint = if request.endpoint.starts_with('/') {
        request.endpoint.to_owned()
    } else {
        format!("/{}", request.endpoint)
    };
    let mut head = format!(
        "{} {endpoint} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: starflake\r\nAccept: */*\r\n",
        request.method, request.host
    );
    for (name, value) in request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some((content_type, body)) = request.body {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    if let Some((_, body)) = request.body {
        head.push_str(body);
    }
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|error| format!("cannot send the request: {error}"))?;
    let mut raw = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) => break,
            Ok(count) => {
                raw.extend_from_slice(&buffer[..count]);
                if raw.len() > MAX_BODY {
                    break;
                }
            }
            // A reset after a complete answer still counts.
            Err(_) if !raw.is_empty() => break,
            Err(error) => return Err(format!("cannot read the answer: {error}")),
        }
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> Result<Response, String> {
    let end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| {
            if raw.is_empty() {
                "the connection closed without an answer".to_owned()
            } else {
                "the answer is not HTTP".to_owned()
            }
        })?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|_| status.starts_with("HTTP/"))
        .ok_or_else(|| format!("the answer is not HTTP: `{status}`"))?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim();
            if name == "content-length" {
                length = value.parse::<usize>().ok();
            } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let rest = &raw[end + 4..];
    let body = if chunked {
        dechunk(rest)
    } else {
        match length {
            Some(length) => rest[..length.min(rest.len())].to_vec(),
            None => rest.to_vec(),
        }
    };
    Ok(Response {
        code,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(line_end) = rest.windows(2).position(|window| window == b"\r\n") {
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        let end = (start + size).min(rest.len());
        body.extend_from_slice(&rest[start..end]);
        rest = rest.get(end + 2..).unwrap_or_default();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_answers() {
        let plain = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!((plain.code, plain.body.as_str()), (200, "hello"));
        let chunked = parse(
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((chunked.code, chunked.body.as_str()), (404, "abcde"));
        let until_eof = parse(b"HTTP/1.0 200 OK\r\n\r\nall of it").unwrap();
        assert_eq!(until_eof.body, "all of it");
        assert!(parse(b"").is_err());
    }
}
