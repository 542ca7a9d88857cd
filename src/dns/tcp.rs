//! DNS over TCP: one message out, one message back, each behind its two-octet length
//! (RFC 1035 4.2.2). The caller bounds the time.

use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Which step of one TCP exchange failed, naming the server.
#[derive(Debug, thiserror::Error)]
pub enum TcpError {
    #[error("the message to {server} is too long for TCP framing")]
    TooLong { server: SocketAddr },
    #[error("connect to {server} over TCP: {source}")]
    Connect {
        server: SocketAddr,
        source: io::Error,
    },
    #[error("send to {server}: {source}")]
    Send {
        server: SocketAddr,
        source: io::Error,
    },
    #[error("read from {server}: {source}")]
    Read {
        server: SocketAddr,
        source: io::Error,
    },
}

/// Sends `wire` to `server` over a new TCP connection and reads one framed reply. Errors say
/// which step failed and name the server.
pub async fn exchange(server: SocketAddr, wire: &[u8]) -> Result<Vec<u8>, TcpError> {
    let len = u16::try_from(wire.len()).map_err(|_| TcpError::TooLong { server })?;
    let mut s = TcpStream::connect(server)
        .await
        .map_err(|source| TcpError::Connect { server, source })?;
    let mut out = Vec::with_capacity(wire.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(wire);
    s.write_all(&out)
        .await
        .map_err(|source| TcpError::Send { server, source })?;
    let read = |source| TcpError::Read { server, source };
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await.map_err(read)?;
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).await.map_err(read)?;
    Ok(buf)
}
