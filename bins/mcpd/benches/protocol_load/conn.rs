//! One keep-alive HTTP/1.1 connection to `mcpd`, spoken by hand on a non-blocking
//! socket. A general-purpose client (hyper's, or `wrk` with a Lua check) spends more CPU
//! per request than `mcpd` does, on the same machine; this one writes a prepared request
//! with a fresh id and reads one `Content-Length` reply into a reused buffer, so the
//! figures describe the server rather than the load generator.
//!
//! Every reply is still checked in full: the first one on a connection is parsed as
//! JSON-RPC (a result, not an error, with the request's id), and every later one must be
//! byte-for-byte the same apart from its id.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::client::{Era, LEGACY, MODERN, Scenario};

/// A reply's status and where its body lies in the receive buffer.
struct Reply {
    status: u16,
    session: Option<String>,
    body: std::ops::Range<usize>,
    len: usize,
}

pub(crate) struct Conn {
    pub(crate) stream: mio::net::TcpStream,
    scenario: Scenario,
    /// The request head up to and including `Content-Length: `.
    head: Vec<u8>,
    out: Vec<u8>,
    written: usize,
    /// Received bytes: `buf[..filled]`; the buffer is allocated once and grows only
    /// for a reply larger than it.
    buf: Vec<u8>,
    filled: usize,
    id: u64,
    /// When the request in flight was started.
    pub(crate) started: Instant,
    /// What every reply carries after its id, learnt from the first checked reply.
    reference: Option<Vec<u8>>,
}

impl Conn {
    /// Connects (blocking), opens a session for the legacy era, and hands back a
    /// non-blocking connection whose ids start at `first_id`.
    pub(crate) fn open(
        addr: SocketAddr,
        scenario: Scenario,
        first_id: u64,
    ) -> Result<Self, String> {
        let stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connect: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("nodelay: {e}"))?;
        let mut head = format!(
            "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\n"
        );
        // Setup runs blocking on `stream`; the event loop uses a second handle to the same
        // socket, made non-blocking at the end.
        let mut conn = Self {
            stream: mio::net::TcpStream::from_std(stream.try_clone().map_err(|e| e.to_string())?),
            scenario,
            head: Vec::new(),
            out: Vec::with_capacity(512),
            written: 0,
            buf: vec![0; 128 * 1024],
            filled: 0,
            id: first_id,
            started: Instant::now(),
            reference: None,
        };
        match scenario.era {
            Era::Modern => {
                head.push_str(&format!(
                    "MCP-Protocol-Version: {MODERN}\r\nMcp-Method: {}\r\n",
                    scenario.method
                ));
                conn.head = format!("{head}Content-Length: ").into_bytes();
            }
            Era::Legacy => {
                conn.head = format!("{head}Content-Length: ").into_bytes();
                let init = format!(
                    r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{LEGACY}","capabilities":{{}},"clientInfo":{{"name":"protocol_load","version":"1"}}}}}}"#
                );
                let reply = conn.blocking_round_trip(&stream, init.as_bytes())?;
                if reply.status != 200 {
                    return Err(format!(
                        "initialize: HTTP {}: {}",
                        reply.status,
                        conn.text(&reply)
                    ));
                }
                let session = reply
                    .session
                    .ok_or("initialize: no Mcp-Session-Id header")?;
                head.push_str(&format!(
                    "Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: {LEGACY}\r\n"
                ));
                conn.head = format!("{head}Content-Length: ").into_bytes();
                let initialized = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
                let reply = conn.blocking_round_trip(&stream, initialized)?;
                if reply.status != 202 {
                    return Err(format!("notifications/initialized: HTTP {}", reply.status));
                }
            }
        }
        conn.filled = 0;
        stream
            .set_nonblocking(true)
            .map_err(|e| format!("nonblocking: {e}"))?;
        Ok(conn)
    }

    fn text(&self, reply: &Reply) -> String {
        let body = &self.buf[reply.body.clone()];
        String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
    }

    /// Sends one request and reads its reply on the still-blocking socket (setup only).
    fn blocking_round_trip(
        &mut self,
        mut stream: &std::net::TcpStream,
        body: &[u8],
    ) -> Result<Reply, String> {
        self.filled = 0;
        self.encode(body);
        stream
            .write_all(&self.out)
            .map_err(|e| format!("send: {e}"))?;
        let mut chunk = [0_u8; 16 * 1024];
        loop {
            if let Some(reply) = self.parse()? {
                return Ok(reply);
            }
            let n = stream
                .read(&mut chunk)
                .map_err(|e| format!("receive: {e}"))?;
            if n == 0 {
                return Err("connection closed during setup".into());
            }
            self.room(n);
            self.buf[self.filled..self.filled + n].copy_from_slice(&chunk[..n]);
            self.filled += n;
        }
    }

    fn encode(&mut self, body: &[u8]) {
        self.out.clear();
        self.out.extend_from_slice(&self.head);
        self.out
            .extend_from_slice(body.len().to_string().as_bytes());
        self.out.extend_from_slice(b"\r\n\r\n");
        self.out.extend_from_slice(body);
        self.written = 0;
    }

    /// Starts the next request (a new id) and writes as much of it as the socket takes.
    pub(crate) fn send_next(&mut self) -> Result<(), String> {
        self.id += 1;
        let body = body_for(self.scenario, self.id);
        self.encode(body.as_bytes());
        self.started = Instant::now();
        self.flush()
    }

    /// Writes what is left of the request in flight.
    pub(crate) fn flush(&mut self) -> Result<(), String> {
        while self.written < self.out.len() {
            match self.stream.write(&self.out[self.written..]) {
                Ok(0) => return Err("send: connection closed".into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("send: {e}")),
            }
        }
        Ok(())
    }

    /// Reads whatever has arrived; `Some(Ok(()))` once the reply to the request in flight
    /// is complete and correct, `None` while it is still incomplete.
    pub(crate) fn receive(&mut self) -> Result<Option<Result<(), String>>, String> {
        loop {
            self.room(16 * 1024);
            match self.stream.read(&mut self.buf[self.filled..]) {
                Ok(0) => return Err("receive: connection closed".into()),
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("receive: {e}")),
            }
        }
        let Some(reply) = self.parse()? else {
            return Ok(None);
        };
        let verdict = self.check(&reply);
        self.buf.copy_within(reply.len..self.filled, 0);
        self.filled -= reply.len;
        Ok(Some(verdict))
    }

    /// Makes sure at least `bytes` are free after the received data.
    fn room(&mut self, bytes: usize) {
        if self.buf.len() - self.filled < bytes {
            self.buf.resize(self.buf.len() * 2 + bytes, 0);
        }
    }

    /// A complete reply at the front of the buffer, if there is one.
    fn parse(&self) -> Result<Option<Reply>, String> {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(&self.buf[..self.filled]) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(format!("reply is not HTTP/1.1: {e}")),
        };
        let header = |name: &str| {
            response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).into_owned())
        };
        let length: usize = header("content-length")
            .ok_or("reply has no Content-Length")?
            .trim()
            .parse()
            .map_err(|e| format!("bad Content-Length: {e}"))?;
        if self.filled < head_len + length {
            return Ok(None);
        }
        Ok(Some(Reply {
            status: response.code.unwrap_or(0),
            session: header("mcp-session-id"),
            body: head_len..head_len + length,
            len: head_len + length,
        }))
    }

    /// HTTP 200 and a JSON-RPC result with the request's id; every reply after the
    /// first must equal it apart from the id.
    fn check(&mut self, reply: &Reply) -> Result<(), String> {
        if reply.status != 200 {
            return Err(format!("HTTP {}: {}", reply.status, self.text(reply)));
        }
        let body = &self.buf[reply.body.clone()];
        let prefix = format!(r#"{{"jsonrpc":"2.0","id":{},"result":"#, self.id);
        let rest = body.strip_prefix(prefix.as_bytes());
        match (&self.reference, rest) {
            (Some(reference), Some(rest)) if rest == reference.as_slice() => Ok(()),
            (Some(_), _) => Err(format!(
                "reply differs from the first one: {}",
                self.text(reply)
            )),
            (None, _) => {
                full_check(body, self.id)?;
                self.reference = rest.map(<[u8]>::to_vec);
                Ok(())
            }
        }
    }
}

#[derive(Deserialize)]
struct RpcReply {
    id: Option<i64>,
    result: Option<IgnoredAny>,
    error: Option<serde_json::Value>,
}

/// Parses a reply as JSON-RPC: a result, not an error, with the request's id.
fn full_check(body: &[u8], id: u64) -> Result<(), String> {
    let reply: RpcReply =
        serde_json::from_slice(body).map_err(|e| format!("reply is not JSON-RPC: {e}"))?;
    if let Some(error) = reply.error {
        return Err(format!("JSON-RPC error: {error}"));
    }
    if reply.result.is_none() {
        return Err("reply has no result".into());
    }
    if reply.id != i64::try_from(id).ok() {
        return Err(format!("reply id {:?} is not {id}", reply.id));
    }
    Ok(())
}

fn body_for(scenario: Scenario, id: u64) -> String {
    let mut body = format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"{}""#,
        scenario.method
    );
    if scenario.era == Era::Modern {
        body.push_str(&format!(
            r#","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"{MODERN}","io.modelcontextprotocol/clientCapabilities":{{}}}}}}"#
        ));
    }
    body.push('}');
    body
}
