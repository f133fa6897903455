//! Snapshots: the whole tree (znodes, ACLs, sessions, quota paths, last applied zxid) as
//! bytes, and back.
//!
//! The encoding is canonical: znodes in depth-first order with children sorted by name, ACL
//! lists numbered in the order of their contents. Two trees with the same content give the
//! same bytes, however their memory is laid out, so replicas can compare snapshots byte for
//! byte. Encoding needs no list of all znodes: the ACL numbers come from the interned lists
//! (each is used by at least one znode), and the znodes are written as the depth-first walk
//! reaches them, which holds only the sorted children of the nodes on the current path.
//! Each znode carries its name, not its path; its parent is implied by the order and the
//! child counts. The digest is stored and checked on restore.
//!
//! Layout (postcard): `format: u32`, then [`SnapshotBody`].

use crate::acl_cache::AclCache;
use crate::error::TreeError;
use crate::node::{Node, NodeArena, NodeId, ROOT};
use crate::path;
use crate::stat::{EphemeralKind, StatPersisted};
use crate::tree::{DataTree, TreeConfig};
use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;
use zk_proto::{Acl, SessionId, Zxid};

/// The version of the snapshot encoding; bump it on any change to the layout or to the
/// digest function.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// Everything after the format number.
#[derive(Serialize, Deserialize)]
struct SnapshotBody<Nodes> {
    last_applied_zxid: Zxid,
    digest: u64,
    sessions: Vec<(SessionId, i32)>,
    quota_roots: Vec<String>,
    acls: Vec<Vec<Acl>>,
    nodes: Nodes,
}

/// One znode in the snapshot (the root first, with an empty name).
#[derive(Serialize, Deserialize)]
struct SnapshotNode {
    name: String,
    data: Option<Bytes>,
    acl: u32,
    stat: StatPersisted,
    num_children: u32,
}

/// Data encoded as one length-prefixed byte string (not a sequence of u8).
struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl Visitor<'_> for BytesVisitor {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(bytes.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(bytes))
            }
        }
        deserializer.deserialize_byte_buf(BytesVisitor)
    }
}

/// The borrowed form of [`SnapshotNode`], written without copying names or data.
struct NodeOut<'a> {
    node: &'a Node,
    acl: u32,
}

impl Serialize for NodeOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("SnapshotNode", 5)?;
        out.serialize_field("name", self.node.name())?;
        out.serialize_field("data", &self.node.data().map(BorrowedBytes))?;
        out.serialize_field("acl", &self.acl)?;
        out.serialize_field("stat", &self.node.stat())?;
        out.serialize_field("num_children", &self.node.num_children())?;
        out.end()
    }
}

struct BorrowedBytes<'a>(&'a [u8]);

impl Serialize for BorrowedBytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// All znodes in canonical order, serialized as a sequence.
struct NodesOut<'a> {
    nodes: &'a NodeArena,
    acl_numbers: &'a [u32],
}

impl Serialize for NodesOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let expected = self.nodes.len();
        let mut seq = serializer.serialize_seq(Some(expected))?;
        let mut written = 0;
        walk_in_canonical_order(self.nodes, |id| {
            let node = self.nodes.get(id);
            written += 1;
            seq.serialize_element(&NodeOut {
                node,
                acl: self.acl_numbers[node.acl as usize],
            })
        })?;
        // The count went out first: a walk that disagreed would leave a corrupt snapshot.
        if written != expected {
            return Err(serde::ser::Error::custom(format!(
                "the walk reached {written} znodes of {expected}"
            )));
        }
        seq.end()
    }
}

/// Everything a snapshot holds, borrowed from a [`DataTree`] or from a
/// [`crate::SnapshotView`]: both encode through [`SnapshotSource::encode`], so they cannot
/// disagree about the bytes.
pub(crate) struct SnapshotSource<'a> {
    pub last_applied_zxid: Zxid,
    pub digest: u64,
    /// By session id.
    pub sessions: Vec<(SessionId, i32)>,
    /// Sorted.
    pub quota_roots: Vec<String>,
    pub nodes: &'a NodeArena,
    pub acls: &'a AclCache,
}

impl SnapshotSource<'_> {
    /// The canonical snapshot bytes.
    pub fn encode(self) -> Vec<u8> {
        self.write_to(Vec::new())
            .expect("writing to memory cannot fail")
    }

    /// Streams the canonical snapshot bytes into `out`, and gives `out` back. The only
    /// failures are `out`'s own, returned as they were.
    pub fn write_to<W: std::io::Write>(self, out: W) -> std::io::Result<W> {
        // Number the ACL lists in the order of their contents.
        let mut acl_numbers = vec![u32::MAX; self.acls.slot_count()];
        let mut acls = Vec::with_capacity(self.acls.len());
        for (id, acl) in self.acls.in_content_order() {
            acl_numbers[id as usize] = acls.len() as u32;
            acls.push(acl.to_vec());
        }
        let body = SnapshotBody {
            last_applied_zxid: self.last_applied_zxid,
            digest: self.digest,
            sessions: self.sessions,
            quota_roots: self.quota_roots,
            acls,
            nodes: NodesOut {
                nodes: self.nodes,
                acl_numbers: &acl_numbers,
            },
        };
        let mut out = KeepIoError::new(out);
        let written = postcard::to_io(&SNAPSHOT_FORMAT, &mut out)
            .and_then(|out| postcard::to_io(&body, out))
            .map(drop);
        match written {
            Ok(()) => Ok(out.inner),
            Err(error) => Err(out.into_error(error)),
        }
    }
}

/// A writer that remembers its inner writer's first error. postcard reports every writer
/// error as its own `SerializeBufferFull`, which would hide why a snapshot file could not
/// be written (a full disk, an I/O error).
struct KeepIoError<W> {
    inner: W,
    error: Option<std::io::Error>,
}

impl<W> KeepIoError<W> {
    fn new(inner: W) -> Self {
        KeepIoError { inner, error: None }
    }

    /// The error to report for postcard's `error`: the writer's own if it failed.
    fn into_error(self, error: postcard::Error) -> std::io::Error {
        self.error.unwrap_or_else(|| std::io::Error::other(error))
    }

    /// Stores `error` (the first one wins; not an interruption, which the caller retries)
    /// and hands postcard an error of the same kind, which it replaces with its own anyway.
    fn keep(&mut self, error: std::io::Error) -> std::io::Error {
        let kind = error.kind();
        if kind != std::io::ErrorKind::Interrupted {
            self.error.get_or_insert(error);
        }
        kind.into()
    }
}

impl<W: std::io::Write> std::io::Write for KeepIoError<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.inner.write(bytes).map_err(|error| self.keep(error))
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.inner
            .write_all(bytes)
            .map_err(|error| self.keep(error))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().map_err(|error| self.keep(error))
    }
}

/// Calls `visit` with every node id, depth first, children sorted by name; stops at the
/// first error. It holds one sorted list of children per level of the current path (a flat
/// directory of a million znodes: one list of a million ids), never all ids at once.
fn walk_in_canonical_order<E>(
    nodes: &NodeArena,
    mut visit: impl FnMut(NodeId) -> Result<(), E>,
) -> Result<(), E> {
    let sorted_children = |id: NodeId, into: &mut Vec<NodeId>| {
        into.clear();
        into.extend(nodes.children(id));
        into.sort_unstable_by(|a, b| nodes.get(*a).name_bytes().cmp(nodes.get(*b).name_bytes()));
    };
    visit(ROOT)?;
    // (the sorted children of a node on the path, how many of them were visited)
    let mut levels: Vec<(Vec<NodeId>, usize)> = vec![(Vec::new(), 0)];
    sorted_children(ROOT, &mut levels[0].0);
    // Lists of finished levels, kept for reuse.
    let mut spare: Vec<Vec<NodeId>> = Vec::new();
    while let Some((children, visited)) = levels.last_mut() {
        let Some(&id) = children.get(*visited) else {
            let (finished, _) = levels.pop().expect("the loop holds the last level");
            spare.push(finished);
            continue;
        };
        *visited += 1;
        visit(id)?;
        if nodes.get(id).num_children() > 0 {
            let mut list = spare.pop().unwrap_or_default();
            sorted_children(id, &mut list);
            levels.push((list, 0));
        }
    }
    Ok(())
}

impl DataTree {
    /// What a snapshot of the tree holds, borrowed.
    pub(crate) fn snapshot_source(&self) -> SnapshotSource<'_> {
        SnapshotSource {
            last_applied_zxid: self.last_applied_zxid,
            digest: self.digest,
            sessions: self.sessions().collect(),
            quota_roots: self.quota_roots.iter().cloned().collect(),
            nodes: &self.nodes,
            acls: &self.acls,
        }
    }

    /// The snapshot of the tree: equal trees give equal bytes. At a million znodes this
    /// takes a few hundred milliseconds; a host that must keep applying meanwhile encodes
    /// a [`DataTree::snapshot_view`] on another thread instead.
    pub fn to_snapshot_bytes(&self) -> Vec<u8> {
        self.snapshot_source().encode()
    }

    /// Streams [`DataTree::to_snapshot_bytes`] into `out` without holding them in memory,
    /// and gives `out` back (unflushed). Fails only when `out` does, with its error.
    pub fn write_snapshot<W: std::io::Write>(&self, out: W) -> std::io::Result<W> {
        self.snapshot_source().write_to(out)
    }

    /// Restores a tree from [`DataTree::to_snapshot_bytes`], checking its structure and
    /// digest. `config` is the restoring server's (it is not part of the snapshot).
    pub fn from_snapshot_bytes(bytes: &[u8], config: TreeConfig) -> Result<DataTree, TreeError> {
        let (format, rest) = postcard::take_from_bytes::<u32>(bytes)?;
        if format != SNAPSHOT_FORMAT {
            return Err(TreeError::SnapshotFormat {
                found: format,
                expected: SNAPSHOT_FORMAT,
            });
        }
        let body: SnapshotBody<Vec<SnapshotNode>> = postcard::from_bytes(rest)?;
        let mut tree = DataTree::empty(config);
        tree.last_applied_zxid = body.last_applied_zxid;
        tree.sessions = body.sessions.into_iter().collect();
        tree.quota_roots = body.quota_roots.into_iter().collect();
        tree.restore_nodes(body.nodes, &body.acls)?;
        tree.digest = tree.recompute_digest();
        if tree.digest != body.digest {
            return Err(TreeError::DigestMismatch {
                stored: body.digest,
                computed: tree.digest,
            });
        }
        Ok(tree)
    }

    /// Rebuilds the znodes from their canonical order.
    fn restore_nodes(
        &mut self,
        nodes: Vec<SnapshotNode>,
        acls: &[Vec<Acl>],
    ) -> Result<(), TreeError> {
        let corrupt = |why: String| TreeError::SnapshotCorrupt(why);
        self.index.reserve(&self.nodes, nodes.len());
        let mut records = nodes.into_iter();
        let root = records.next().ok_or_else(|| corrupt("no root".into()))?;
        if !root.name.is_empty() {
            return Err(corrupt(format!("root named {:?}", root.name)));
        }
        let root_id = self.restore_node(root.name.as_str(), &root, acls)?;
        debug_assert_eq!(root_id, ROOT);
        // (node, children still to read)
        let mut open: Vec<(NodeId, u32)> = vec![(ROOT, root.num_children)];
        for record in records {
            while open.last().is_some_and(|(_, left)| *left == 0) {
                open.pop();
            }
            let Some((parent, left)) = open.last_mut() else {
                return Err(corrupt("more znodes than the child counts announce".into()));
            };
            *left -= 1;
            let parent = *parent;
            if record.name.is_empty()
                || record.name.contains('/')
                || path::validate(&path::join("/", &record.name)).is_err()
            {
                return Err(corrupt(format!("invalid znode name {:?}", record.name)));
            }
            if self
                .index
                .find(&self.nodes, parent, record.name.as_bytes())
                .is_some()
            {
                return Err(corrupt(format!("duplicate znode name {:?}", record.name)));
            }
            let id = self.restore_node(&record.name, &record, acls)?;
            self.nodes.link_child(parent, id);
            self.index.insert(&self.nodes, id);
            match self.kind_of(id) {
                EphemeralKind::Container => {
                    self.containers.insert(id);
                }
                EphemeralKind::Ttl { .. } => {
                    self.ttls.insert(id);
                }
                EphemeralKind::Ephemeral(session) => {
                    self.ephemerals.entry(session).or_default().insert(id);
                }
                EphemeralKind::Persistent => {}
            }
            open.push((id, record.num_children));
        }
        if open.iter().any(|(_, left)| *left != 0) {
            return Err(corrupt(
                "fewer znodes than the child counts announce".into(),
            ));
        }
        Ok(())
    }

    /// Stores one znode, unlinked, with its interned ACL.
    fn restore_node(
        &mut self,
        name: &str,
        record: &SnapshotNode,
        acls: &[Vec<Acl>],
    ) -> Result<NodeId, TreeError> {
        let acl = acls.get(record.acl as usize).ok_or_else(|| {
            TreeError::SnapshotCorrupt(format!("ACL number {} out of range", record.acl))
        })?;
        let acl = self.acls.intern(acl);
        let data = record.data.as_ref().map(|bytes| bytes.0.as_slice());
        Ok(self.nodes.insert(Node::new(name, data, acl, record.stat)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_tree_round_trips() {
        let tree = DataTree::new(TreeConfig::default());
        let bytes = tree.to_snapshot_bytes();
        let restored = DataTree::from_snapshot_bytes(&bytes, TreeConfig::default()).unwrap();
        restored.check_invariants();
        assert_eq!(restored.digest(), tree.digest());
        assert_eq!(restored.to_snapshot_bytes(), bytes);
    }

    #[test]
    fn damaged_snapshots_are_refused() {
        let bytes = DataTree::new(TreeConfig::default()).to_snapshot_bytes();
        assert!(matches!(
            DataTree::from_snapshot_bytes(&bytes[..bytes.len() - 3], TreeConfig::default()),
            Err(TreeError::SnapshotDecode(_))
        ));
        let mut wrong_format = bytes.clone();
        wrong_format[0] = 9;
        assert!(matches!(
            DataTree::from_snapshot_bytes(&wrong_format, TreeConfig::default()),
            Err(TreeError::SnapshotFormat { found: 9, .. })
        ));
        assert!(DataTree::from_snapshot_bytes(&[], TreeConfig::default()).is_err());
    }
}
