//! Apply: executes a transaction on the tree (Apache's `DataTree.processTxn`) and returns
//! its effects: the result to reply with and the watch events to fire, in Apache's order.
//!
//! | transaction | triggers |
//! |---|---|
//! | create | NodeCreated on the path, NodeChildrenChanged on the parent |
//! | delete | NodeDeleted on the path, NodeChildrenChanged on the parent |
//! | setData | NodeDataChanged on the path |
//! | setACL, check, error, sessions | none |
//! | multi | those of each op, in op order |
//! | closeSession | those of a delete, for each ephemeral removed |

use crate::node::NodeId;
use crate::outcome::{ApplyOutcome, TxnResult, WatchTrigger};
use crate::path::ZnodePath;
use crate::stat::{self, CONTAINER_EPHEMERAL_OWNER};
use crate::tree::DataTree;
use crate::txn::{Txn, TxnBody};
use std::collections::BTreeSet;
use zk_proto::{Acl, ErrorCode, EventType, SessionId, Zxid};

impl DataTree {
    /// Applies `txn`, which must come after every transaction applied so far. Prepared
    /// transactions succeed; an op that fails anyway (only possible with a log that does not
    /// match the tree) reports its error and changes nothing, as in Apache. The caller then
    /// calls [`crate::PendingChanges::applied`] with the txn's zxid.
    pub fn apply(&mut self, txn: &Txn) -> ApplyOutcome {
        let mut triggers = Vec::new();
        let result = self.apply_body(txn, &txn.body, &mut triggers);
        if txn.zxid > self.last_applied_zxid {
            self.last_applied_zxid = txn.zxid;
        }
        ApplyOutcome { result, triggers }
    }

    fn apply_body(
        &mut self,
        txn: &Txn,
        body: &TxnBody,
        triggers: &mut Vec<WatchTrigger>,
    ) -> TxnResult {
        let zxid = txn.zxid;
        match body {
            TxnBody::Create {
                path,
                data,
                acl,
                ephemeral,
                parent_cversion,
            } => {
                let owner = if *ephemeral { txn.session_id.0 } else { 0 };
                let node = NewNode {
                    path,
                    data,
                    acl,
                    ephemeral_owner: owner,
                    parent_cversion: *parent_cversion,
                };
                let result = self.apply_create(txn, node, triggers);
                if result == TxnResult::Error(ErrorCode::NodeExists) {
                    // Apache's repair for replaying a create whose node survived in a fuzzy
                    // snapshot: the parent still moves on.
                    self.raise_parent_cversion(path, *parent_cversion, zxid);
                }
                result
            }
            TxnBody::CreateContainer {
                path,
                data,
                acl,
                parent_cversion,
            } => {
                let node = NewNode {
                    path,
                    data,
                    acl,
                    ephemeral_owner: CONTAINER_EPHEMERAL_OWNER,
                    parent_cversion: *parent_cversion,
                };
                self.apply_create(txn, node, triggers)
            }
            TxnBody::CreateTtl {
                path,
                data,
                acl,
                parent_cversion,
                ttl_ms,
            } => match stat::ttl_ephemeral_owner(*ttl_ms) {
                Ok(owner) => {
                    let node = NewNode {
                        path,
                        data,
                        acl,
                        ephemeral_owner: owner,
                        parent_cversion: *parent_cversion,
                    };
                    self.apply_create(txn, node, triggers)
                }
                Err(code) => TxnResult::Error(code),
            },
            TxnBody::Delete { path } | TxnBody::DeleteContainer { path } => {
                match self.delete_with_triggers(path, zxid, triggers) {
                    Ok(()) => TxnResult::Deleted,
                    Err(code) => TxnResult::Error(code),
                }
            }
            TxnBody::SetData {
                path,
                data,
                version,
            } => match self.set_data(path, data.as_deref(), *version, zxid, txn.time_ms) {
                Ok(stat) => {
                    triggers.push(WatchTrigger::new(EventType::NodeDataChanged, path.as_str()));
                    TxnResult::DataSet { stat }
                }
                Err(code) => TxnResult::Error(code),
            },
            TxnBody::SetAcl { path, acl, version } => {
                match self.set_acl(path.as_str(), acl, *version) {
                    Ok(stat) => TxnResult::AclSet { stat },
                    Err(code) => TxnResult::Error(code),
                }
            }
            TxnBody::Check { .. } => TxnResult::Checked,
            TxnBody::Multi(ops) => self.apply_multi(txn, ops, triggers),
            TxnBody::Error(code) => TxnResult::Error(*code),
            TxnBody::RolledBack => TxnResult::RolledBack,
            TxnBody::CreateSession { timeout_ms } => {
                self.sessions.insert(txn.session_id, *timeout_ms);
                TxnResult::SessionCreated
            }
            TxnBody::CloseSession { ephemerals } => {
                self.close_session(txn.session_id, ephemerals, zxid, triggers);
                TxnResult::SessionClosed
            }
        }
    }

    fn apply_create(
        &mut self,
        txn: &Txn,
        node: NewNode<'_>,
        triggers: &mut Vec<WatchTrigger>,
    ) -> TxnResult {
        let created = self.create_node(
            node.path,
            node.data.as_deref(),
            node.acl,
            node.ephemeral_owner,
            node.parent_cversion,
            txn.zxid,
            txn.time_ms,
        );
        match created {
            Ok(stat) => {
                let path = node.path.as_str();
                triggers.push(WatchTrigger::new(EventType::NodeCreated, path));
                triggers.push(WatchTrigger::new(
                    EventType::NodeChildrenChanged,
                    node.path.parent().expect("a created node is not the root"),
                ));
                TxnResult::Created {
                    path: path.to_owned(),
                    stat,
                }
            }
            Err(code) => TxnResult::Error(code),
        }
    }

    fn delete_with_triggers(
        &mut self,
        path: &ZnodePath,
        zxid: Zxid,
        triggers: &mut Vec<WatchTrigger>,
    ) -> Result<(), ErrorCode> {
        self.delete_node(path, zxid)?;
        triggers.push(WatchTrigger::new(EventType::NodeDeleted, path.as_str()));
        triggers.push(WatchTrigger::new(
            EventType::NodeChildrenChanged,
            path.parent().expect("a deleted node is not the root"),
        ));
        Ok(())
    }

    /// Apache's multi: if any op is an error, every other op is turned into an error too
    /// (code 0 before the first error, RuntimeInconsistency after it), so that nothing of a
    /// failed multi is applied.
    fn apply_multi(
        &mut self,
        txn: &Txn,
        ops: &[TxnBody],
        triggers: &mut Vec<WatchTrigger>,
    ) -> TxnResult {
        let is_error = |op: &TxnBody| matches!(op, TxnBody::Error(_) | TxnBody::RolledBack);
        let failed = ops.iter().any(is_error);
        let mut past_failure = false;
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            if matches!(op, TxnBody::Error(_)) {
                past_failure = true;
            }
            let result = if failed && !is_error(op) {
                if past_failure {
                    TxnResult::Error(ErrorCode::RuntimeInconsistency)
                } else {
                    TxnResult::RolledBack
                }
            } else {
                self.apply_body(txn, op, triggers)
            };
            results.push(result);
        }
        TxnResult::Multi(results)
    }

    /// Deletes the ephemerals named by the transaction, then any other the session still
    /// owns (Apache's `killSession`), and forgets the session.
    fn close_session(
        &mut self,
        session: SessionId,
        listed: &[ZnodePath],
        zxid: Zxid,
        triggers: &mut Vec<WatchTrigger>,
    ) {
        let mut remaining: Vec<ZnodePath> = self
            .ephemerals
            .remove(&session)
            .unwrap_or_default()
            .into_iter()
            .map(|id: NodeId| ZnodePath::parse(&self.path_of(id)).expect("stored paths are valid"))
            .collect();
        let listed_set: BTreeSet<&ZnodePath> = listed.iter().collect();
        remaining.retain(|path| !listed_set.contains(path));
        remaining.sort_unstable();
        for path in listed.iter().chain(&remaining) {
            // A path already gone is skipped, as in Apache.
            let _ = self.delete_with_triggers(path, zxid, triggers);
        }
        self.sessions.remove(&session);
    }

    /// Apache's `setCversionPzxid` on the parent of `path`.
    fn raise_parent_cversion(&mut self, path: &ZnodePath, parent_cversion: i32, zxid: Zxid) {
        let Some(parent_path) = path.parent() else {
            return;
        };
        let Some(parent) = self.lookup(parent_path) else {
            return;
        };
        let mut stat = self.nodes.get(parent).stat();
        let cversion = if parent_cversion == -1 {
            stat.cversion.wrapping_add(1)
        } else {
            parent_cversion
        };
        if cversion > stat.cversion {
            stat.cversion = cversion;
            stat.pzxid = zxid.0;
            self.replace_stat(parent, parent_path, stat);
        }
    }
}

/// The fields of the three create transactions.
struct NewNode<'a> {
    path: &'a ZnodePath,
    data: &'a Option<Vec<u8>>,
    acl: &'a [Acl],
    ephemeral_owner: i64,
    parent_cversion: i32,
}
