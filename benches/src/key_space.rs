//! The znodes a load run works on: `ROOT/key-0 .. ROOT/key-(N-1)` for reads and `setData`,
//! and `ROOT/seq` as the parent of sequential creates; and the setup step that creates them.

use crate::connection::{write_request_frame, Connection, Reply, RequestPlan, SessionSettings};
use crate::error::LoadError;
use crate::op_mix::Operation;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::ops::Range;
use tokio::time::Instant;
use zk_proto::{Acl, CreateMode, CreateRequest, ErrorCode, RequestBody, Xid};

/// The names of a run's znodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpace {
    root: String,
    keys: u64,
}

impl KeySpace {
    /// `keys` keys under `root`, an absolute path of a node that is not `/`.
    pub fn new(root: &str, keys: u64) -> Result<KeySpace, LoadError> {
        let valid = root.starts_with('/') && root.len() > 1 && !root.ends_with('/');
        if !valid || root.contains("//") {
            return Err(LoadError::BadArgument(format!(
                "--root {root:?} is not an absolute znode path below /"
            )));
        }
        if keys == 0 {
            return Err(LoadError::BadArgument("--keys must be at least 1".into()));
        }
        Ok(KeySpace {
            root: root.to_owned(),
            keys,
        })
    }

    /// The parent of every znode of the run.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// How many keys there are.
    pub fn keys(&self) -> u64 {
        self.keys
    }

    /// The path of every key without its number.
    pub fn key_prefix(&self) -> String {
        format!("{}/key-", self.root)
    }

    /// The path of key `index`.
    pub fn key_path(&self, index: u64) -> String {
        let mut path = self.key_prefix();
        let prefix_len = path.len();
        set_key_index(&mut path, prefix_len, index);
        path
    }

    /// The parent of the sequential znodes.
    pub fn sequence_parent(&self) -> String {
        format!("{}/seq", self.root)
    }

    /// The path sequential creates ask for; the server appends a 10-digit counter.
    pub fn sequence_prefix(&self) -> String {
        format!("{}/seq/n-", self.root)
    }
}

/// Rewrites the number after the first `prefix_len` bytes of `path` in place, so a reused
/// request record names another key without allocating.
pub fn set_key_index(path: &mut String, prefix_len: usize, index: u64) {
    path.truncate(prefix_len);
    write!(path, "{index}").expect("writing to a String cannot fail");
}

/// How long creating the key space took.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SetupReport {
    /// Znodes created (the keys, the root and the sequence parent).
    pub znodes: u64,
    /// Wall-clock time of the whole setup.
    pub seconds: f64,
}

/// How the setup spreads its creates.
#[derive(Debug, Clone, Copy)]
pub struct SetupSettings {
    /// Sessions creating keys in parallel.
    pub sessions: usize,
    /// Creates in flight per session.
    pub in_flight: usize,
}

/// Creates the root, the sequence parent and every key with `data`. Fails if the root
/// exists: a run never writes into a tree it did not make unless told to reuse it.
pub async fn create_key_space(
    space: &KeySpace,
    data: &[u8],
    session: SessionSettings,
    setup: SetupSettings,
) -> Result<SetupReport, LoadError> {
    let started = Instant::now();
    let mut connection = Connection::open(session).await?;
    for (path, what) in [
        (space.root().to_owned(), "the root"),
        (space.sequence_parent(), "the sequence parent"),
    ] {
        let response = connection
            .call(RequestBody::Create(CreateRequest {
                path: path.clone(),
                data: None,
                acl: Acl::open_unsafe(),
                flags: CreateMode::Persistent.flag(),
            }))
            .await?;
        if let Err(code) = response.header.result() {
            let hint = if code == Some(ErrorCode::NodeExists) {
                " (pass --reuse-keys to use an existing key space, or another --root)"
            } else {
                ""
            };
            return Err(LoadError::Setup(format!(
                "creating {what} {path}: error {}{hint}",
                response.header.err
            )));
        }
    }
    connection.close().await;

    let sessions = setup
        .sessions
        .max(1)
        .min(usize::try_from(space.keys()).unwrap_or(usize::MAX));
    let mut tasks = tokio::task::JoinSet::new();
    for part in split_range(0..space.keys(), sessions) {
        let mut plan = CreateKeys::new(space, data, part);
        let in_flight = setup.in_flight.max(1);
        tasks.spawn(async move {
            let mut connection = Connection::open(session).await?;
            connection
                .run_pipelined(&mut plan, in_flight)
                .await
                .map_err(|failure| failure.error)?;
            connection.close().await;
            Ok::<(), LoadError>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|error| LoadError::Setup(format!("setup task failed: {error}")))??;
    }
    Ok(SetupReport {
        znodes: space.keys() + 2,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Splits `range` into `parts` consecutive ranges whose lengths differ by at most one.
pub fn split_range(range: Range<u64>, parts: usize) -> Vec<Range<u64>> {
    let parts = parts.max(1) as u64;
    let length = range.end.saturating_sub(range.start);
    let (base, extra) = (length / parts, length % parts);
    let mut start = range.start;
    (0..parts)
        .map(|part| {
            let end = start + base + u64::from(part < extra);
            let piece = start..end;
            start = end;
            piece
        })
        .filter(|piece| !piece.is_empty())
        .collect()
}

/// Creates the keys of one index range, in order.
struct CreateKeys {
    request: CreateRequest,
    prefix_len: usize,
    indexes: Range<u64>,
}

impl CreateKeys {
    fn new(space: &KeySpace, data: &[u8], indexes: Range<u64>) -> Self {
        let path = space.key_prefix();
        CreateKeys {
            prefix_len: path.len(),
            request: CreateRequest {
                path,
                data: Some(data.to_vec()),
                acl: Acl::open_unsafe(),
                flags: CreateMode::Persistent.flag(),
            },
            indexes,
        }
    }
}

impl RequestPlan for CreateKeys {
    fn next_request(&mut self, xid: Xid, _: Instant, out: &mut Vec<u8>) -> Option<Operation> {
        let index = self.indexes.next()?;
        set_key_index(&mut self.request.path, self.prefix_len, index);
        // The key is created as a plain persistent node; `Operation` only selects the opcode.
        write_request_frame(out, xid, Operation::CreateSequential, &self.request);
        Some(Operation::CreateSequential)
    }

    fn on_reply(&mut self, reply: Reply<'_>) -> Result<(), LoadError> {
        match reply.header.result() {
            Ok(()) => Ok(()),
            Err(code) => Err(LoadError::Setup(format!(
                "creating a key under {}: error {} ({})",
                &self.request.path[..self.prefix_len],
                reply.header.err,
                code.map_or("unknown code".into(), |code| format!("{code:?}"))
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let space = KeySpace::new("/bench", 10).unwrap();
        assert_eq!(space.key_path(7), "/bench/key-7");
        assert_eq!(space.sequence_parent(), "/bench/seq");
        assert_eq!(space.sequence_prefix(), "/bench/seq/n-");
    }

    #[test]
    fn bad_roots_and_empty_key_spaces_are_rejected() {
        for root in ["", "/", "bench", "/bench/", "/a//b"] {
            assert!(KeySpace::new(root, 1).is_err(), "{root:?}");
        }
        assert!(KeySpace::new("/bench", 0).is_err());
    }

    #[test]
    fn key_index_is_rewritten_in_place() {
        let mut path = String::from("/r/key-");
        let prefix_len = path.len();
        set_key_index(&mut path, prefix_len, 123_456);
        assert_eq!(path, "/r/key-123456");
        let capacity = path.capacity();
        set_key_index(&mut path, prefix_len, 7);
        assert_eq!(path, "/r/key-7");
        assert_eq!(path.capacity(), capacity);
    }

    #[test]
    fn ranges_split_evenly_and_cover_everything() {
        assert_eq!(split_range(0..10, 3), vec![0..4, 4..7, 7..10]);
        assert_eq!(split_range(5..7, 4), vec![5..6, 6..7]);
        assert_eq!(split_range(0..0, 2), Vec::<Range<u64>>::new());
        assert_eq!(split_range(0..3, 0), vec![0..3]);
    }
}
