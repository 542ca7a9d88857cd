//! Why an exchange got no DNS reply of ours, below DNS: a typed value (the step that
//! failed, the server, the OS error kind) that renders as one line of text for findings,
//! JSON and the screen.

use serde::Serialize;
use std::fmt;
use std::io;
use std::net::SocketAddr;

/// The socket step that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Sending or receiving a UDP datagram (or getting a socket for it).
    Udp,
    /// Connecting over TCP.
    Connect,
    /// Writing the message over TCP.
    Send,
    /// Reading the reply over TCP.
    Read,
}

/// Why an exchange (a query or an UPDATE) failed below DNS. [`fmt::Display`] gives the
/// text the findings, the JSON and the faces show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetError {
    /// The question could not be put on the wire.
    EncodeQuery { question: String, detail: String },
    /// The signed UPDATE could not be built.
    EncodeUpdate { detail: String },
    /// A socket step with `server` failed in the OS; `detail` is the OS's message.
    Io {
        step: Step,
        server: SocketAddr,
        kind: io::ErrorKind,
        detail: String,
    },
    /// The message is longer than TCP's two-octet framing allows.
    TooLong { server: SocketAddr },
    /// The answer that came over TCP does not parse.
    MalformedTcpAnswer { server: SocketAddr, detail: String },
    /// The answer that came over TCP is not the answer to the question.
    TcpAnswerMismatch { server: SocketAddr },
    /// The reply to an UPDATE does not parse.
    MalformedUpdateReply { server: SocketAddr, detail: String },
    /// The reply to an UPDATE is not the reply to it (another id, not a response).
    UpdateReplyMismatch { server: SocketAddr },
    /// Nothing listens at `server` (over TCP only, when `tcp`): a simulated world's
    /// refusal.
    Refused { server: SocketAddr, tcp: bool },
}

impl NetError {
    /// A failed socket step with `server`.
    pub fn io(step: Step, server: SocketAddr, e: &io::Error) -> Self {
        NetError::Io {
            step,
            server,
            kind: e.kind(),
            detail: e.to_string(),
        }
    }

    /// The OS's kind of error, for a failed socket step.
    pub fn kind(&self) -> Option<io::ErrorKind> {
        match self {
            NetError::Io { kind, .. } => Some(*kind),
            NetError::Refused { .. } => Some(io::ErrorKind::ConnectionRefused),
            _ => None,
        }
    }

    /// The server it concerns, when it got that far.
    pub fn server(&self) -> Option<SocketAddr> {
        match self {
            NetError::EncodeQuery { .. } | NetError::EncodeUpdate { .. } => None,
            NetError::Io { server, .. }
            | NetError::TooLong { server }
            | NetError::MalformedTcpAnswer { server, .. }
            | NetError::TcpAnswerMismatch { server }
            | NetError::MalformedUpdateReply { server, .. }
            | NetError::UpdateReplyMismatch { server }
            | NetError::Refused { server, .. } => Some(*server),
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::EncodeQuery { question, detail } => {
                write!(f, "cannot encode {question}: {detail}")
            }
            NetError::EncodeUpdate { detail } => write!(f, "cannot build the update: {detail}"),
            NetError::Io {
                step,
                server,
                detail,
                ..
            } => match step {
                Step::Udp => f.write_str(detail),
                Step::Connect => write!(f, "connect to {server} over TCP: {detail}"),
                Step::Send => write!(f, "send to {server}: {detail}"),
                Step::Read => write!(f, "read from {server}: {detail}"),
            },
            NetError::TooLong { server } => {
                write!(f, "the message to {server} is too long for TCP framing")
            }
            NetError::MalformedTcpAnswer { detail, .. } => {
                write!(f, "malformed answer over TCP: {detail}")
            }
            NetError::TcpAnswerMismatch { .. } => {
                f.write_str("TCP answer does not match the question")
            }
            NetError::MalformedUpdateReply { detail, .. } => {
                write!(f, "malformed reply: {detail}")
            }
            NetError::UpdateReplyMismatch { .. } => {
                f.write_str("the reply does not match the update (id)")
            }
            NetError::Refused { tcp: false, .. } => {
                f.write_str("connection refused (no server at this address)")
            }
            NetError::Refused { tcp: true, .. } => f.write_str("connection refused (TCP)"),
        }
    }
}

impl std::error::Error for NetError {}

/// JSON keeps the text it always had.
impl Serialize for NetError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl From<super::tcp::TcpError> for NetError {
    fn from(e: super::tcp::TcpError) -> Self {
        use super::tcp::TcpError;
        match e {
            TcpError::TooLong { server } => NetError::TooLong { server },
            TcpError::Connect { server, source } => NetError::io(Step::Connect, server, &source),
            TcpError::Send { server, source } => NetError::io(Step::Send, server, &source),
            TcpError::Read { server, source } => NetError::io(Step::Read, server, &source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::tcp::TcpError;

    fn server() -> SocketAddr {
        "127.0.0.53:53".parse().unwrap()
    }

    /// The typed error renders exactly the text the `String` it replaced carried
    /// (findings' evidence, `NETWORK (...)` in JSON and on screen, UPDATE explanations).
    #[test]
    fn renders_the_text_it_replaced() {
        let s = server();
        let refused = || io::Error::from(io::ErrorKind::ConnectionRefused);
        let eof = || io::Error::from(io::ErrorKind::UnexpectedEof);
        // TCP steps: the text of the old `TcpError`, which the string was made from.
        for old in [
            TcpError::Connect {
                server: s,
                source: refused(),
            },
            TcpError::Send {
                server: s,
                source: io::Error::from_raw_os_error(32),
            },
            TcpError::Read {
                server: s,
                source: eof(),
            },
            TcpError::TooLong { server: s },
        ] {
            let text = old.to_string();
            assert_eq!(NetError::from(old).to_string(), text);
        }
        assert_eq!(
            NetError::from(TcpError::Connect {
                server: s,
                source: io::Error::from_raw_os_error(111),
            })
            .to_string(),
            "connect to 127.0.0.53:53 over TCP: Connection refused (os error 111)"
        );
        // UDP: the OS's message alone, as before.
        let e = io::Error::from_raw_os_error(111);
        let net = NetError::io(Step::Udp, s, &e);
        assert_eq!(net.to_string(), "Connection refused (os error 111)");
        assert_eq!(net.kind(), Some(io::ErrorKind::ConnectionRefused));
        assert_eq!(net.server(), Some(s));
        for (e, old) in [
            (
                NetError::EncodeUpdate { detail: "x".into() },
                "cannot build the update: x",
            ),
            (
                NetError::MalformedUpdateReply {
                    server: s,
                    detail: "unexpected end of input reached".into(),
                },
                "malformed reply: unexpected end of input reached",
            ),
            (
                NetError::UpdateReplyMismatch { server: s },
                "the reply does not match the update (id)",
            ),
            (
                NetError::TcpAnswerMismatch { server: s },
                "TCP answer does not match the question",
            ),
            (
                NetError::Refused {
                    server: s,
                    tcp: false,
                },
                "connection refused (no server at this address)",
            ),
            (
                NetError::Refused {
                    server: s,
                    tcp: true,
                },
                "connection refused (TCP)",
            ),
        ] {
            assert_eq!(e.to_string(), old);
            assert_eq!(serde_json::to_value(&e).unwrap(), old, "JSON is the text");
        }
    }
}
