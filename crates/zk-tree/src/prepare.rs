//! Prepare: turns a write request into a transaction, checking it against the tree plus the
//! pending changes of earlier prepared requests (Apache's `PrepRequestProcessor`).
//!
//! A request that fails becomes an error transaction carrying Apache's error code; it still
//! consumes its zxid. The checks run in Apache's order, because the order decides which
//! error a request with several faults gets:
//!
//! | op | checks, in order |
//! |---|---|
//! | create | TTL mode allowed (`Unimplemented`), TTL range (`BadArguments`), path has a `/` and no NUL (`BadArguments`), ACL (`InvalidAcl`), parent exists (`NoNode`), CREATE on parent (`NoAuth`), full path incl. sequential suffix valid (`BadArguments`), node absent (`NodeExists`), parent not ephemeral (`NoChildrenForEphemerals`) |
//! | delete | path has a `/`, no NUL, not `/`, `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config` (`BadArguments`), parent exists (`NoNode`), DELETE on parent (`NoAuth`), node exists (`NoNode`), version (`BadVersion`), no children (`NotEmpty`) |
//! | setData | path valid (`BadArguments`), node exists (`NoNode`), WRITE (`NoAuth`), version (`BadVersion`) |
//! | setACL | path valid (`BadArguments`), ACL (`InvalidAcl`), node exists (`NoNode`), ADMIN (`NoAuth`), ACL version (`BadVersion`) |
//! | check | path valid (`BadArguments`), node exists (`NoNode`), READ (`NoAuth`), version (`BadVersion`) |
//! | deleteContainer | as delete's path check, node exists (`NoNode`), no children (`NotEmpty`), not a session's ephemeral (`BadVersion`), parent exists (`NoNode`); no ACL check |
//!
//! Creates under `/zookeeper` are allowed where its ACLs allow them (`/zookeeper/config`
//! is read-only); only the deletes above are refused.

use crate::acl::{self, AuthContext};
use crate::path::{self, ZnodePath};
use crate::pending::{ChangeRecord, PendingChanges, PendingNode};
use crate::request::WriteRequest;
use crate::stat::{self, EphemeralKind, StatPersisted, CONTAINER_EPHEMERAL_OWNER};
use crate::tree::{DataTree, CONFIG_ZOOKEEPER, PROC_ZOOKEEPER, QUOTA_ZOOKEEPER};
use crate::txn::{Txn, TxnBody};
use std::collections::BTreeSet;
use std::sync::Arc;
use zk_proto::{Acl, CreateMode, ErrorCode, Perms, SessionId, Zxid};

impl DataTree {
    /// Prepares `request`, sent by `auth.session_id`, as the transaction `zxid` stamped
    /// `time_ms`. Records the changes it will make in `pending`, so that the next prepare
    /// sees them. The caller assigns zxids in order and applies the transactions in that
    /// order.
    pub fn prepare(
        &self,
        pending: &mut PendingChanges,
        auth: &AuthContext,
        zxid: Zxid,
        time_ms: i64,
        request: &WriteRequest,
    ) -> Txn {
        let mut prep = Preparation {
            tree: self,
            pending,
            auth,
            zxid,
            time_ms,
            staged: Vec::new(),
        };
        let body = match request {
            WriteRequest::Multi(ops) => prep.multi(ops),
            op => prep.op(op).unwrap_or_else(|code| {
                prep.staged.clear();
                TxnBody::Error(code)
            }),
        };
        let staged = std::mem::take(&mut prep.staged);
        for record in staged {
            pending.push(record);
        }
        Txn {
            zxid,
            time_ms,
            session_id: auth.session_id,
            body,
        }
    }
}

/// One request being prepared: the tree, the pending changes, and the changes this request
/// makes, kept apart until it has succeeded (a failed multi leaves no record behind).
struct Preparation<'a> {
    tree: &'a DataTree,
    pending: &'a PendingChanges,
    auth: &'a AuthContext,
    zxid: Zxid,
    time_ms: i64,
    staged: Vec<ChangeRecord>,
}

impl Preparation<'_> {
    fn multi(&mut self, ops: &[WriteRequest]) -> TxnBody {
        // Apache's decoder refuses other ops before anything is prepared.
        if !ops.iter().all(WriteRequest::allowed_in_multi) {
            return TxnBody::Error(ErrorCode::MarshallingError);
        }
        let mut bodies = Vec::with_capacity(ops.len());
        let mut failed_at = None;
        for op in ops {
            if failed_at.is_some() {
                bodies.push(TxnBody::Error(ErrorCode::RuntimeInconsistency));
                continue;
            }
            match self.op(op) {
                Ok(body) => bodies.push(body),
                Err(code) => {
                    failed_at = Some(bodies.len());
                    bodies.push(TxnBody::Error(code));
                    self.staged.clear();
                }
            }
        }
        if let Some(failed_at) = failed_at {
            bodies[..failed_at].fill(TxnBody::RolledBack);
        }
        TxnBody::Multi(bodies)
    }

    fn op(&mut self, op: &WriteRequest) -> Result<TxnBody, ErrorCode> {
        match op {
            WriteRequest::Create {
                path,
                data,
                acl,
                mode,
                ttl_ms,
            } => self.create(path, data, acl, *mode, ttl_ms.unwrap_or(-1)),
            WriteRequest::Delete { path, version } => self.delete(path, *version),
            WriteRequest::SetData {
                path,
                data,
                version,
            } => self.set_data(path, data, *version),
            WriteRequest::SetAcl { path, acl, version } => self.set_acl(path, acl, *version),
            WriteRequest::Check { path, version } => self.check(path, *version),
            WriteRequest::DeleteContainer { path } => self.delete_container(path),
            WriteRequest::CreateSession { timeout_ms } => Ok(TxnBody::CreateSession {
                timeout_ms: *timeout_ms,
            }),
            WriteRequest::CloseSession => self.close_session(self.auth.session_id),
            WriteRequest::Multi(_) => Err(ErrorCode::MarshallingError),
        }
    }

    fn create(
        &mut self,
        path: &str,
        data: &Option<Vec<u8>>,
        acl: &[Acl],
        mode: CreateMode,
        ttl_ms: i64,
    ) -> Result<TxnBody, ErrorCode> {
        let extended = self.tree.config.extended_types_enabled;
        if mode.is_ttl() && !extended {
            return Err(ErrorCode::Unimplemented);
        }
        if mode.is_ttl() {
            stat::ttl_ephemeral_owner(ttl_ms)?;
        } else if ttl_ms >= 0 {
            return Err(ErrorCode::BadArguments);
        }
        let (raw_parent, _) = split_for_write(path)?;
        let acl = acl::fixup(acl, self.auth)?;
        let parent = self.node(raw_parent)?;
        self.check_acl(&parent.acl, Perms::CREATE)?;
        let path = if mode.is_sequential() {
            format!("{path}{}", stat::sequential_suffix(parent.stat.cversion))
        } else {
            path.to_owned()
        };
        let path = ZnodePath::parse(&path)?;
        if self.node(path.as_str()).is_ok() {
            return Err(ErrorCode::NodeExists);
        }
        if EphemeralKind::of(parent.stat.ephemeral_owner, extended).is_session_owned() {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        let parent_cversion = parent.stat.cversion.wrapping_add(1);
        let new_node = NewNode {
            path: path.clone(),
            data: data.clone(),
            acl: acl.clone(),
            parent_cversion,
        };
        let (ephemeral_owner, body) = new_node.into_txn(mode, ttl_ms, self.auth.session_id)?;
        let mut parent = parent;
        parent.child_count += 1;
        parent.stat.cversion = parent_cversion;
        parent.stat.pzxid = self.zxid.0;
        self.stage(raw_parent, Some(parent));
        let node = PendingNode {
            stat: StatPersisted::created(self.zxid, self.time_ms, ephemeral_owner),
            child_count: 0,
            acl: Arc::from(acl),
        };
        self.stage(path.as_str(), Some(node));
        Ok(body)
    }

    fn delete(&mut self, path: &str, version: i32) -> Result<TxnBody, ErrorCode> {
        let raw_parent = parent_for_delete(path)?;
        let parent = self.node(raw_parent)?;
        self.check_acl(&parent.acl, Perms::DELETE)?;
        let node = self.node(path)?;
        check_version(node.stat.version, version)?;
        if node.child_count > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        let path = existing_path(path)?;
        self.stage_delete(raw_parent, parent, &path);
        Ok(TxnBody::Delete { path })
    }

    fn delete_container(&mut self, path: &str) -> Result<TxnBody, ErrorCode> {
        let raw_parent = parent_for_delete(path)?;
        let node = self.node(path)?;
        if node.child_count > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        let extended = self.tree.config.extended_types_enabled;
        if EphemeralKind::of(node.stat.ephemeral_owner, extended).is_session_owned() {
            return Err(ErrorCode::BadVersion);
        }
        let parent = self.node(raw_parent)?;
        let path = existing_path(path)?;
        self.stage_delete(raw_parent, parent, &path);
        Ok(TxnBody::DeleteContainer { path })
    }

    fn set_data(
        &mut self,
        path: &str,
        data: &Option<Vec<u8>>,
        version: i32,
    ) -> Result<TxnBody, ErrorCode> {
        let path = ZnodePath::parse(path)?;
        let mut node = self.node(path.as_str())?;
        self.check_acl(&node.acl, Perms::WRITE)?;
        let version = check_version(node.stat.version, version)?;
        node.stat.version = version;
        node.stat.mtime = self.time_ms;
        node.stat.mzxid = self.zxid.0;
        self.stage(path.as_str(), Some(node));
        Ok(TxnBody::SetData {
            path,
            data: data.clone(),
            version,
        })
    }

    fn set_acl(&mut self, path: &str, acl: &[Acl], version: i32) -> Result<TxnBody, ErrorCode> {
        let path = ZnodePath::parse(path)?;
        let acl = acl::fixup(acl, self.auth)?;
        let mut node = self.node(path.as_str())?;
        self.check_acl(&node.acl, Perms::ADMIN)?;
        let version = check_version(node.stat.aversion, version)?;
        // As in Apache, the record keeps the old ACL: only the version moves.
        node.stat.aversion = version;
        self.stage(path.as_str(), Some(node));
        Ok(TxnBody::SetAcl { path, acl, version })
    }

    fn check(&mut self, path: &str, version: i32) -> Result<TxnBody, ErrorCode> {
        let path = ZnodePath::parse(path)?;
        let node = self.node(path.as_str())?;
        self.check_acl(&node.acl, Perms::READ)?;
        let version = check_version(node.stat.version, version)?;
        Ok(TxnBody::Check { path, version })
    }

    /// The session's ephemerals as they will be once every pending change is applied; all
    /// are deleted by the one transaction.
    fn close_session(&mut self, session: SessionId) -> Result<TxnBody, ErrorCode> {
        let mut doomed: BTreeSet<String> =
            self.tree.get_ephemerals(session, "").into_iter().collect();
        for record in self.pending.iter() {
            match &record.node {
                None => {
                    doomed.remove(&record.path);
                }
                Some(node) if node.stat.ephemeral_owner == session.0 => {
                    doomed.insert(record.path.clone());
                }
                Some(_) => {}
            }
        }
        let mut ephemerals = Vec::with_capacity(doomed.len());
        for path in doomed {
            let raw_parent = parent_for_delete(&path)?;
            // Apache moves the parent's pzxid here but, unlike a delete, not its child
            // count (the record exists for its digest).
            let mut parent = self.node(raw_parent)?;
            parent.stat.pzxid = self.zxid.0;
            self.stage(raw_parent, Some(parent));
            self.stage(&path, None);
            ephemerals.push(existing_path(&path)?);
        }
        Ok(TxnBody::CloseSession { ephemerals })
    }

    // ---- helpers ------------------------------------------------------------------------

    /// The znode at `path` as the pending changes leave it (Apache's `getRecordForPath`):
    /// this request's own changes first, then earlier prepared ones, then the tree.
    fn node(&self, path: &str) -> Result<PendingNode, ErrorCode> {
        let record = self
            .staged
            .iter()
            .rev()
            .find(|record| record.path == path)
            .or_else(|| self.pending.latest(path));
        if let Some(record) = record {
            return record.node.clone().ok_or(ErrorCode::NoNode);
        }
        let id = self.tree.lookup(path).ok_or(ErrorCode::NoNode)?;
        let node = self.tree.nodes.get(id);
        Ok(PendingNode {
            stat: node.stat(),
            child_count: node.num_children() as i32,
            acl: Arc::clone(self.tree.acl_of(id)),
        })
    }

    fn check_acl(&self, acl: &[Acl], perm: Perms) -> Result<(), ErrorCode> {
        acl::check(
            acl,
            perm,
            self.auth,
            self.tree.config.super_digest.as_deref(),
        )
    }

    fn stage(&mut self, path: &str, node: Option<PendingNode>) {
        self.staged.push(ChangeRecord {
            zxid: self.zxid,
            path: path.to_owned(),
            node,
        });
    }

    fn stage_delete(&mut self, raw_parent: &str, mut parent: PendingNode, path: &ZnodePath) {
        parent.child_count -= 1;
        parent.stat.pzxid = self.zxid.0;
        self.stage(raw_parent, Some(parent));
        self.stage(path.as_str(), None);
    }
}

/// What the three create transactions share.
struct NewNode {
    path: ZnodePath,
    data: Option<Vec<u8>>,
    acl: Vec<Acl>,
    parent_cversion: i32,
}

impl NewNode {
    /// The transaction for a create in `mode`, and the `ephemeralOwner` the node gets:
    /// Apache's CreateContainerTxn, CreateTTLTxn or CreateTxn.
    fn into_txn(
        self,
        mode: CreateMode,
        ttl_ms: i64,
        session: SessionId,
    ) -> Result<(i64, TxnBody), ErrorCode> {
        let NewNode {
            path,
            data,
            acl,
            parent_cversion,
        } = self;
        Ok(if mode.is_container() {
            let body = TxnBody::CreateContainer {
                path,
                data,
                acl,
                parent_cversion,
            };
            (CONTAINER_EPHEMERAL_OWNER, body)
        } else if mode.is_ttl() {
            let body = TxnBody::CreateTtl {
                path,
                data,
                acl,
                parent_cversion,
                ttl_ms,
            };
            (stat::ttl_ephemeral_owner(ttl_ms)?, body)
        } else {
            let owner = if mode.is_ephemeral() { session.0 } else { 0 };
            let body = TxnBody::Create {
                path,
                data,
                acl,
                ephemeral: mode.is_ephemeral(),
                parent_cversion,
            };
            (owner, body)
        })
    }
}

/// Apache's `validatePathForCreate`: a path without `/` or with a NUL is `BadArguments`;
/// otherwise the raw parent and name.
fn split_for_write(path: &str) -> Result<(&str, &str), ErrorCode> {
    if path.contains('\0') {
        return Err(ErrorCode::BadArguments);
    }
    path::split_last_slash(path).ok_or(ErrorCode::BadArguments)
}

/// Apache's `getParentPathAndValidate`: as [`split_for_write`], and the znodes the server
/// owns (`/`, `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config`) cannot be deleted.
fn parent_for_delete(path: &str) -> Result<&str, ErrorCode> {
    let (raw_parent, _) = split_for_write(path)?;
    if matches!(
        path,
        "/" | PROC_ZOOKEEPER | QUOTA_ZOOKEEPER | CONFIG_ZOOKEEPER
    ) {
        return Err(ErrorCode::BadArguments);
    }
    Ok(raw_parent)
}

/// The path of a znode prepare found: every stored path is valid, so this cannot fail.
fn existing_path(path: &str) -> Result<ZnodePath, ErrorCode> {
    ZnodePath::parse(path)
}

/// Apache's `checkAndIncVersion`: -1 matches any version; the new version is one more
/// (Java int arithmetic, so it wraps).
fn check_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(current.wrapping_add(1))
}
