//! A server's role in its ensemble, from the `srvr` four-letter word (`Mode: leader`, ...).
//!
//! Both servers answer `srvr` in plain text and close the connection; a member that is
//! electing a leader (or otherwise not serving) answers with a sentence and no `Mode:`
//! line, which is reported as [`ServerMode::NotServing`].

use crate::error::LoadError;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most of a `srvr` answer read: the real one is a few hundred bytes.
const ANSWER_LEN_MAX: u64 = 64 * 1024;

/// What `srvr` says a server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMode {
    /// `Mode: leader`.
    Leader,
    /// `Mode: follower`.
    Follower,
    /// `Mode: observer`.
    Observer,
    /// `Mode: standalone`.
    Standalone,
    /// Another `Mode:` value (for example `read-only`).
    Other(String),
    /// An answer without a `Mode:` line: the server is not serving (electing a leader).
    NotServing,
}

impl ServerMode {
    /// The mode in a `srvr` answer.
    pub fn parse(answer: &str) -> ServerMode {
        let Some(mode) = answer
            .lines()
            .find_map(|line| line.strip_prefix("Mode:"))
            .map(str::trim)
        else {
            return ServerMode::NotServing;
        };
        match mode {
            "leader" => ServerMode::Leader,
            "follower" => ServerMode::Follower,
            "observer" => ServerMode::Observer,
            "standalone" => ServerMode::Standalone,
            other => ServerMode::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ServerMode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            ServerMode::Leader => "leader",
            ServerMode::Follower => "follower",
            ServerMode::Observer => "observer",
            ServerMode::Standalone => "standalone",
            ServerMode::Other(mode) => mode,
            ServerMode::NotServing => "not-serving",
        })
    }
}

/// Sends `word` (four ASCII letters) to `addr` and reads the answer until the server closes
/// the connection, all within `limit`.
pub async fn ask(addr: SocketAddr, word: &str, limit: Duration) -> Result<String, LoadError> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|source| LoadError::Connect { addr, source })?;
        stream.write_all(word.as_bytes()).await?;
        let mut answer = Vec::new();
        (&mut stream)
            .take(ANSWER_LEN_MAX)
            .read_to_end(&mut answer)
            .await?;
        Ok(String::from_utf8_lossy(&answer).into_owned())
    };
    tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| LoadError::ConnectTimeout { addr, limit })?
}

/// The mode `addr` reports, within `limit`.
pub async fn server_mode(addr: SocketAddr, limit: Duration) -> Result<ServerMode, LoadError> {
    Ok(ServerMode::parse(&ask(addr, "srvr", limit).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_read_from_the_mode_line() {
        let answer = "Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.1/3\nZxid: 0x10000002e\n\
                      Mode: follower\nNode count: 5\n";
        assert_eq!(ServerMode::parse(answer), ServerMode::Follower);
        assert_eq!(ServerMode::parse("Mode: leader\n"), ServerMode::Leader);
        assert_eq!(
            ServerMode::parse("Mode: read-only\n"),
            ServerMode::Other("read-only".into())
        );
        assert_eq!(
            ServerMode::parse("This ZooKeeper instance is not currently serving requests\n"),
            ServerMode::NotServing
        );
        assert_eq!(ServerMode::Leader.to_string(), "leader");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn answer_is_read_until_the_server_closes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut word = [0; 4];
            socket.read_exact(&mut word).await.unwrap();
            assert_eq!(&word, b"srvr");
            socket.write_all(b"Mode: standalone\n").await.unwrap();
        });
        let mode = server_mode(addr, Duration::from_secs(5)).await.unwrap();
        assert_eq!(mode, ServerMode::Standalone);
        server.await.unwrap();
    }
}
