//! One TCP connection between two servers: a handshake (each side sends [`PeerFrame::Hello`]
//! first), a reader task that hands every frame to a callback, and a writer task fed by a
//! channel, so an actor never waits on a socket. Closing a link aborts its reader and
//! drops its writer, which closes the socket; nothing sent on a closed link is delivered.

use super::frame::{self, FrameError, PeerFrame, HEADER_BYTES};
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zk_proto::ServerId;

/// How long a peer may take to say hello.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long connecting to a peer may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The pause after a failed accept (say, out of file descriptors), so that a lasting
/// failure does not spin.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);

/// A frame read from link `link`, or the error that ended it; sent to the actor that owns
/// the link.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub struct LinkFrame {
    pub link: u64,
    pub frame: Result<PeerFrame, LinkError>,
}

/// Why a link failed or ended.
#[derive(Debug, Error)]
pub enum LinkError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("bad frame: {0}")]
    Frame(#[from] FrameError),
    #[error("the peer did not start with a hello")]
    NoHello,
    #[error("timed out")]
    Timeout,
    #[error("closed by the peer")]
    Closed,
}

/// Who is at the other end of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remote {
    pub id: ServerId,
    pub era: u64,
}

/// An open link, owned by an actor.
#[derive(Debug)]
pub struct Link {
    pub id: u64,
    pub remote: Remote,
    sender: mpsc::UnboundedSender<Vec<u8>>,
    reader: JoinHandle<()>,
}

impl Link {
    /// Queues `frame`; false when the link is closed or the frame cannot be encoded.
    pub fn send(&self, frame: &PeerFrame) -> bool {
        match frame::encode(frame) {
            Ok(bytes) => self.send_encoded(bytes),
            Err(error) => {
                tracing::error!(%error, "cannot encode a peer frame");
                false
            }
        }
    }

    /// Queues a frame already encoded with [`frame::encode`] (one encoding for every
    /// learner a proposal goes to); false when the link is closed.
    pub fn send_encoded(&self, bytes: Vec<u8>) -> bool {
        self.sender.send(bytes).is_ok()
    }
}

/// The payload buffer reserved before any of it arrived.
const INITIAL_PAYLOAD_CAPACITY: usize = 64 * 1024;

/// How many bytes of queued frames one write may carry.
const WRITE_COALESCE_BYTES: usize = 256 * 1024;

impl Drop for Link {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Connects to `address` and exchanges hellos.
pub async fn connect(address: &str, hello: PeerFrame) -> Result<(TcpStream, Remote), LinkError> {
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address))
        .await
        .map_err(|_| LinkError::Timeout)??;
    handshake(stream, hello).await
}

/// Sends our hello and reads the peer's.
pub async fn handshake(
    mut stream: TcpStream,
    hello: PeerFrame,
) -> Result<(TcpStream, Remote), LinkError> {
    stream.set_nodelay(true)?;
    stream.write_all(&frame::encode(&hello)?).await?;
    let first = tokio::time::timeout(HANDSHAKE_TIMEOUT, read_frame(&mut stream))
        .await
        .map_err(|_| LinkError::Timeout)??;
    match first {
        PeerFrame::Hello { from, era } => Ok((stream, Remote { id: from, era })),
        _ => Err(LinkError::NoHello),
    }
}

/// Accepts connections on `listener` for as long as the server runs, handing each to
/// `on_stream`.
pub fn spawn_accept_loop<F>(listener: TcpListener, port: &'static str, on_stream: F)
where
    F: Fn(TcpStream) + 'static,
{
    tokio::task::spawn_local(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => on_stream(stream),
                Err(error) => {
                    tracing::warn!(port, %error, "accepting a peer connection failed");
                    tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                }
            }
        }
    });
}

/// Starts the reader and writer tasks of an established connection; every frame read, and
/// finally the error that ended the link, goes to `owner` as a [`LinkFrame`].
pub fn start<A>(id: u64, remote: Remote, stream: TcpStream, owner: actix::Addr<A>) -> Link
where
    A: actix::Actor<Context = actix::Context<A>> + actix::Handler<LinkFrame>,
{
    use tracing::Instrument;
    let span = tracing::info_span!("peer", id = %remote.id, link = id);
    let (reader, writer) = stream.into_split();
    let (sender, outbound) = mpsc::unbounded_channel();
    tokio::task::spawn_local(write_loop(writer, outbound).instrument(span.clone()));
    let on_frame = move |link, frame| owner.do_send(LinkFrame { link, frame });
    let reader = tokio::task::spawn_local(read_loop(id, reader, on_frame).instrument(span));
    Link {
        id,
        remote,
        sender,
        reader,
    }
}

/// Writes queued frames, all that are waiting in one system call (up to
/// [`WRITE_COALESCE_BYTES`]): under load a leader sends several proposals and commits per
/// learner between two wake-ups.
async fn write_loop(mut writer: OwnedWriteHalf, mut outbound: mpsc::UnboundedReceiver<Vec<u8>>) {
    while let Some(mut batch) = outbound.recv().await {
        while batch.len() < WRITE_COALESCE_BYTES {
            match outbound.try_recv() {
                Ok(more) => batch.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        if writer.write_all(&batch).await.is_err() {
            return;
        }
    }
    let _ = writer.shutdown().await;
}

async fn read_loop<F>(id: u64, mut reader: OwnedReadHalf, on_frame: F)
where
    F: Fn(u64, Result<PeerFrame, LinkError>),
{
    loop {
        let result = read_frame(&mut reader).await;
        let failed = result.is_err();
        on_frame(id, result);
        if failed {
            return;
        }
    }
}

/// Reads one frame: the header first, so that a bad version or length is refused before
/// any payload is buffered.
pub async fn read_frame<R: AsyncReadExt + Unpin>(reader: &mut R) -> Result<PeerFrame, LinkError> {
    let mut header = [0u8; HEADER_BYTES];
    match reader.read_exact(&mut header).await {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(LinkError::Closed)
        }
        Err(error) => return Err(error.into()),
    }
    let header = frame::decode_header(&header)?;
    // The buffer grows as bytes arrive: a length alone (a SNAP may announce hundreds of
    // MiB) reserves no memory.
    let mut payload = Vec::with_capacity(header.length.min(INITIAL_PAYLOAD_CAPACITY));
    let read = (&mut *reader)
        .take(header.length as u64)
        .read_to_end(&mut payload)
        .await?;
    if read < header.length {
        return Err(LinkError::Closed);
    }
    Ok(frame::decode_payload(header, &payload)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_read_whole_and_a_short_one_is_a_closed_link() {
        let frame = PeerFrame::SyncDone { id: 3 };
        let bytes = frame::encode(&frame).unwrap();
        assert_eq!(read_frame(&mut bytes.as_slice()).await.unwrap(), frame);
        let cut = &bytes[..bytes.len() - 1];
        assert!(matches!(
            read_frame(&mut &cut[..]).await,
            Err(LinkError::Closed)
        ));
        assert!(matches!(
            read_frame(&mut &[][..]).await,
            Err(LinkError::Closed)
        ));
    }

    #[tokio::test]
    async fn a_large_frame_that_never_comes_is_a_closed_link() {
        // A header announcing 512 MiB, then the connection ends.
        let mut header = Vec::new();
        header.extend_from_slice(&frame::PEER_PROTOCOL_VERSION.to_be_bytes());
        header.extend_from_slice(&(512u32 << 20).to_be_bytes());
        header.extend_from_slice(&0u32.to_be_bytes());
        assert!(matches!(
            read_frame(&mut header.as_slice()).await,
            Err(LinkError::Closed)
        ));
    }
}
