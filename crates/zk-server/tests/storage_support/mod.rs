//! Helpers shared by the storage integration tests: a storage configuration for small
//! temporary directories, and a source of realistic txns made the way the server makes
//! them (prepare against pending changes, then apply).

#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use zk_proto::{Acl, CreateMode, SessionId, Zxid};
use zk_server::storage::files::{self, NamedFile, LOG_PREFIX, SNAPSHOT_PREFIX};
use zk_server::storage::StorageConfig;
use zk_tree::{AuthContext, DataTree, PendingChanges, TreeConfig, Txn, WriteRequest};

/// Settings for tests: small segments, so that growth and many files are exercised.
pub fn config(dir: &Path) -> StorageConfig {
    StorageConfig {
        preallocation_bytes: 16 * 1024,
        ..StorageConfig::new(dir)
    }
}

pub fn log_dir(dir: &Path) -> PathBuf {
    files::version_dir(dir)
}

pub fn segments(dir: &Path) -> Vec<NamedFile> {
    files::list(&files::version_dir(dir), LOG_PREFIX).unwrap()
}

pub fn snapshots(dir: &Path) -> Vec<NamedFile> {
    files::list(&files::version_dir(dir), SNAPSHOT_PREFIX).unwrap()
}

/// Makes txns as the server does: each request is prepared against the tree and the
/// pending changes, then applied.
pub struct TxnSource {
    pub tree: DataTree,
    pending: PendingChanges,
    time_ms: i64,
}

impl Default for TxnSource {
    fn default() -> Self {
        TxnSource::new(DataTree::new(TreeConfig::default()))
    }
}

impl TxnSource {
    pub fn new(tree: DataTree) -> Self {
        TxnSource {
            tree,
            pending: PendingChanges::default(),
            time_ms: 1_700_000_000_000,
        }
    }

    /// Prepares, applies and returns the txn of `request` from `session`.
    pub fn next(&mut self, session: SessionId, request: &WriteRequest) -> Txn {
        let zxid = self.tree.last_applied_zxid().next();
        self.time_ms += 1;
        let auth = AuthContext::new(session, Vec::new());
        let txn = self
            .tree
            .prepare(&mut self.pending, &auth, zxid, self.time_ms, request);
        self.tree.apply(&txn);
        self.pending.applied(txn.zxid);
        txn
    }

    pub fn last_zxid(&self) -> Zxid {
        self.tree.last_applied_zxid()
    }
}

/// Paths the generated requests use: a small set, so that they collide and fail often.
pub const PATHS: [&str; 6] = ["/a", "/b", "/a/x", "/a/y", "/b/z", "/a/x/deep"];

/// A request from a few numbers (for generated workloads).
pub fn request(kind: u8, path_index: usize, data_len: usize) -> WriteRequest {
    let path = PATHS[path_index % PATHS.len()].to_owned();
    let data = Some(vec![kind; data_len]);
    match kind % 8 {
        0 | 1 => WriteRequest::Create {
            path,
            data,
            acl: Acl::open_unsafe(),
            mode: CreateMode::Persistent,
            ttl_ms: None,
        },
        2 => WriteRequest::Create {
            path,
            data,
            acl: Acl::open_unsafe(),
            mode: CreateMode::EphemeralSequential,
            ttl_ms: None,
        },
        3 | 4 => WriteRequest::SetData {
            path,
            data,
            version: -1,
        },
        5 => WriteRequest::Delete { path, version: -1 },
        6 => WriteRequest::Multi(vec![
            WriteRequest::Create {
                path: format!("{path}-m"),
                data: None,
                acl: Acl::open_unsafe(),
                mode: CreateMode::Persistent,
                ttl_ms: None,
            },
            WriteRequest::SetData {
                path,
                data,
                version: -1,
            },
        ]),
        _ => WriteRequest::CreateSession { timeout_ms: 30_000 },
    }
}

/// The session a generated request comes from.
pub fn session(index: u8) -> SessionId {
    SessionId(0x100 + i64::from(index % 3))
}

/// `count` generated txns from `source`.
pub fn generate(source: &mut TxnSource, count: usize) -> Vec<Txn> {
    (0..count)
        .map(|step| {
            let request = request((step * 7 % 11) as u8, step * 5 % 13, step % 40);
            source.next(session(step as u8), &request)
        })
        .collect()
}
