//! The harness: a tree driven like the server drives it, zxids and times assigned in order.

use zk_proto::{Acl, CreateMode, ErrorCode, Id, Perms, SessionId, Stat, Zxid};
use zk_tree::{
    digest_id, ApplyOutcome, AuthContext, DataTree, PendingChanges, TreeConfig, Txn, TxnBody,
    TxnResult, WriteRequest,
};

/// The time of the first transaction; each later one is 10 ms later.
pub const START_MS: i64 = 1_700_000_000_000;

pub struct Harness {
    pub tree: DataTree,
    pub pending: PendingChanges,
    next_zxid: i64,
    pub now_ms: i64,
}

impl Harness {
    pub fn new() -> Self {
        Harness::with_config(TreeConfig::default())
    }

    pub fn with_config(config: TreeConfig) -> Self {
        Harness {
            tree: DataTree::new(config),
            pending: PendingChanges::default(),
            next_zxid: 1,
            now_ms: START_MS,
        }
    }

    /// The extended-types configuration (TTL znodes allowed).
    pub fn extended() -> Self {
        Harness::with_config(TreeConfig {
            extended_types_enabled: true,
            super_digest: None,
            ..TreeConfig::default()
        })
    }

    /// Prepares `request` as the next zxid, without applying it.
    pub fn prepare(&mut self, auth: &AuthContext, request: &WriteRequest) -> Txn {
        let zxid = Zxid(self.next_zxid);
        self.next_zxid += 1;
        self.now_ms += 10;
        self.tree
            .prepare(&mut self.pending, auth, zxid, self.now_ms, request)
    }

    /// Applies a prepared (or hand-made) transaction and trims the pending changes.
    pub fn apply(&mut self, txn: &Txn) -> ApplyOutcome {
        let outcome = self.tree.apply(txn);
        self.pending.applied(txn.zxid);
        self.tree.check_invariants();
        outcome
    }

    /// Prepares and applies.
    pub fn write(&mut self, auth: &AuthContext, request: WriteRequest) -> ApplyOutcome {
        let txn = self.prepare(auth, &request);
        self.apply(&txn)
    }

    /// Applies a hand-made transaction body as the next zxid (to reach states, such as a
    /// cversion near overflow, that requests alone take too long to reach).
    pub fn apply_raw(&mut self, session: SessionId, body: TxnBody) -> ApplyOutcome {
        let txn = Txn {
            zxid: Zxid(self.next_zxid),
            time_ms: self.now_ms,
            session_id: session,
            body,
        };
        self.next_zxid += 1;
        self.apply(&txn)
    }

    /// The zxid the next prepare gets.
    pub fn next_zxid(&self) -> Zxid {
        Zxid(self.next_zxid)
    }

    /// Creates `path` (open ACL, data "d") and returns the created path or the error.
    pub fn create(
        &mut self,
        auth: &AuthContext,
        path: &str,
        mode: CreateMode,
    ) -> Result<String, ErrorCode> {
        created_path(self.write(auth, create(path, mode)).result)
    }

    pub fn create_persistent(&mut self, path: &str) {
        self.create(&anyone(), path, CreateMode::Persistent)
            .unwrap_or_else(|code| panic!("create {path}: {code:?}"));
    }

    pub fn stat(&self, path: &str) -> Stat {
        self.tree
            .exists(path)
            .unwrap()
            .unwrap_or_else(|| panic!("{path} should exist"))
    }

    pub fn children(&self, path: &str) -> Vec<String> {
        self.tree.get_children(path, &super_user()).unwrap().0
    }
}

pub fn created_path(result: TxnResult) -> Result<String, ErrorCode> {
    match result {
        TxnResult::Created { path, .. } => Ok(path),
        TxnResult::Error(code) => Err(code),
        other => panic!("unexpected result {other:?}"),
    }
}

/// The error of a result, `Ok` for success.
pub fn code(result: &TxnResult) -> Result<(), ErrorCode> {
    match result.error() {
        Some(code) => Err(code),
        None => Ok(()),
    }
}

pub fn create(path: &str, mode: CreateMode) -> WriteRequest {
    create_with(path, Some(b"d".to_vec()), Acl::open_unsafe(), mode)
}

pub fn create_with(
    path: &str,
    data: Option<Vec<u8>>,
    acl: Vec<Acl>,
    mode: CreateMode,
) -> WriteRequest {
    WriteRequest::Create {
        path: path.into(),
        data,
        acl,
        mode,
        ttl_ms: None,
    }
}

pub fn create_ttl(path: &str, mode: CreateMode, ttl_ms: i64) -> WriteRequest {
    WriteRequest::Create {
        path: path.into(),
        data: Some(Vec::new()),
        acl: Acl::open_unsafe(),
        mode,
        ttl_ms: Some(ttl_ms),
    }
}

pub fn delete(path: &str, version: i32) -> WriteRequest {
    WriteRequest::Delete {
        path: path.into(),
        version,
    }
}

pub fn set_data(path: &str, data: &[u8], version: i32) -> WriteRequest {
    WriteRequest::SetData {
        path: path.into(),
        data: Some(data.to_vec()),
        version,
    }
}

pub fn set_acl(path: &str, acl: Vec<Acl>, version: i32) -> WriteRequest {
    WriteRequest::SetAcl {
        path: path.into(),
        acl,
        version,
    }
}

pub fn check(path: &str, version: i32) -> WriteRequest {
    WriteRequest::Check {
        path: path.into(),
        version,
    }
}

pub fn id(scheme: &str, id: &str) -> Id {
    Id {
        scheme: scheme.into(),
        id: id.into(),
    }
}

pub fn acl(perms: Perms, scheme: &str, name: &str) -> Acl {
    Acl {
        perms,
        id: id(scheme, name),
    }
}

/// An anonymous session (session 1), connected from 127.0.0.1.
pub fn anyone() -> AuthContext {
    session(1, &[])
}

/// Session `n` from 127.0.0.1, authenticated with digest `user:password` for each entry.
pub fn session(n: i64, digests: &[&str]) -> AuthContext {
    let mut ids = vec![id("ip", "127.0.0.1")];
    ids.extend(
        digests
            .iter()
            .map(|user_password| id("digest", &digest_id(user_password))),
    );
    AuthContext::new(SessionId(n), ids)
}

/// A session holding the `super` id.
pub fn super_user() -> AuthContext {
    AuthContext::new(SessionId(99), vec![id("super", "")])
}

/// An ACL granting everything to the digest user `user:password` only.
pub fn only(user_password: &str) -> Vec<Acl> {
    vec![acl(Perms::ALL, "digest", &digest_id(user_password))]
}
