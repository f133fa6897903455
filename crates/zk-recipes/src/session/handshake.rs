//! Opening a connection: TCP connect to one host, send the `ConnectRequest`, read the
//! `ConnectResponse`, all within one deadline.

use super::frames::FrameReader;
use crate::connect_string::HostAddr;
use crate::error::Error;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use zk_proto::{ConnectRequest, ConnectResponse, Decode, ErrorCode, Reader};

/// A connection whose handshake completed.
#[derive(Debug)]
pub(crate) struct Handshaken {
    pub stream: TcpStream,
    /// Holds any bytes read past the `ConnectResponse`.
    pub reader: FrameReader,
    pub response: ConnectResponse,
}

/// Connects to `host` and exchanges the handshake, failing with `ConnectionLoss` if it takes
/// longer than `timeout`.
pub(crate) async fn connect(
    host: &HostAddr,
    request: &ConnectRequest,
    timeout: Duration,
    max_frame_len: usize,
) -> Result<Handshaken, Error> {
    match tokio::time::timeout(timeout, exchange(host, request, max_frame_len)).await {
        Ok(result) => result,
        Err(_) => Err(Error::Keeper(ErrorCode::ConnectionLoss)),
    }
}

async fn exchange(
    host: &HostAddr,
    request: &ConnectRequest,
    max_frame_len: usize,
) -> Result<Handshaken, Error> {
    let loss = |_| Error::Keeper(ErrorCode::ConnectionLoss);
    let mut stream = TcpStream::connect((host.host.as_str(), host.port))
        .await
        .map_err(loss)?;
    // Requests are small and latency matters more than packet count.
    stream.set_nodelay(true).map_err(loss)?;
    let mut frame = Vec::new();
    zk_proto::write_frame(&mut frame, request);
    stream.write_all(&frame).await.map_err(loss)?;
    let mut reader = FrameReader::new(max_frame_len);
    let payload = reader.next_frame(&mut stream).await?;
    let mut record = Reader::new(&payload);
    let response = ConnectResponse::decode(&mut record)?;
    record.finish()?;
    Ok(Handshaken {
        stream,
        reader,
        response,
    })
}

/// Whether a `ConnectResponse` says the session is gone: the server answers an expired (or
/// unknown, or wrong-password) session with a zero timeout and session id.
pub(crate) fn is_expired(response: &ConnectResponse) -> bool {
    response.time_out <= 0 || !response.is_accepted()
}
