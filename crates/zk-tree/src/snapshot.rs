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
use crate::digest;
use crate::error::TreeError;
use crate::node::{Node, NodeArena, NodeId, ROOT};
use crate::path;
use crate::stat::{EphemeralKind, StatPersisted};
use crate::tree::{DataTree, TreeConfig};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use zk_proto::{Acl, SessionId, Zxid};

/// The version of the snapshot encoding; bump it on any change to the layout or to the
/// digest function.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// Everything after the format number: the [`SnapshotHead`], then the znodes as a
/// sequence of [`SnapshotNode`] (postcard lays a nested struct out as its fields in order).
#[derive(Serialize)]
struct SnapshotBody<Nodes> {
    head: SnapshotHead,
    nodes: Nodes,
}

/// The fields before the znodes.
#[derive(Serialize, Deserialize)]
struct SnapshotHead {
    last_applied_zxid: Zxid,
    digest: u64,
    sessions: Vec<(SessionId, i32)>,
    quota_roots: Vec<String>,
    acls: Vec<Vec<Acl>>,
}

/// One znode in the snapshot (the root first, with an empty name), as decoded: name and
/// data borrowed from the snapshot bytes, so a restore copies each only into its node.
#[derive(Deserialize)]
struct SnapshotNode<'a> {
    name: &'a str,
    data: Option<&'a [u8]>,
    acl: u32,
    stat: StatPersisted,
    num_children: u32,
}

/// The fewest bytes one encoded [`SnapshotNode`] takes, to bound what a (damaged) node
/// count may make a restore reserve.
const MIN_NODE_BYTES: usize = 8;

/// A znode written as a [`SnapshotNode`], without copying its name or data.
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
            head: SnapshotHead {
                last_applied_zxid: self.last_applied_zxid,
                digest: self.digest,
                sessions: self.sessions,
                quota_roots: self.quota_roots,
                acls,
            },
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
/// directory of a million znodes: one list of a million words), never all ids at once.
fn walk_in_canonical_order<E>(
    nodes: &NodeArena,
    mut visit: impl FnMut(NodeId) -> Result<(), E>,
) -> Result<(), E> {
    visit(ROOT)?;
    let mut levels = vec![SortedChildren::of(nodes, ROOT, Vec::new())];
    // Lists of finished levels, kept for reuse.
    let mut spare: Vec<Vec<u64>> = Vec::new();
    while let Some(level) = levels.last_mut() {
        let Some(id) = level.next() else {
            let finished = levels.pop().expect("the loop holds the last level");
            spare.push(finished.words);
            continue;
        };
        visit(id)?;
        if nodes.get(id).num_children() > 0 {
            let list = spare.pop().unwrap_or_default();
            levels.push(SortedChildren::of(nodes, id, list));
        }
    }
    Ok(())
}

/// Below this many siblings a plain comparison sort is as fast as keying them first.
const KEYED_SORT_FROM: usize = 64;

/// The children of one node in name order, as the walk goes through them.
///
/// Comparing names reads two nodes and two payloads, scattered in memory; sorting a large
/// directory (a million sequential znodes) that way was most of a snapshot's CPU. Each
/// child is read once instead, in id order (nearly sequential), for a key: the leading
/// bits of its name after the prefix all the siblings share (sequential names differ only
/// in their last digits). Key and id are packed into one word, the id in the low bits it
/// needs (the key keeps 43 bits with 2M znodes), so the list costs 8 bytes per child. A
/// plain sort of the words orders them by key; names then only order the runs of equal
/// keys, each small and read once.
struct SortedChildren {
    words: Vec<u64>,
    id_mask: u64,
    visited: usize,
}

impl SortedChildren {
    /// The children of `parent`, sorted, in `words` (a spare list: its contents go).
    fn of(nodes: &NodeArena, parent: NodeId, mut words: Vec<u64>) -> Self {
        let name = |id: NodeId| nodes.get(id).name_bytes();
        words.clear();
        // One allocation of the final size: the doublings of a growing list would each
        // leave freed pages in the snapshot thread's arena until the snapshot ends.
        words.reserve_exact(nodes.get(parent).num_children() as usize);
        words.extend(nodes.children(parent).map(u64::from));
        if words.len() < KEYED_SORT_FROM {
            words.sort_unstable_by(|a, b| name(*a as NodeId).cmp(name(*b as NodeId)));
            return SortedChildren {
                words,
                id_mask: u64::from(u32::MAX),
                visited: 0,
            };
        }
        let first = name(words[0] as NodeId);
        let shared = words[1..].iter().fold(first.len(), |shared, &id| {
            let common = first[..shared].iter().zip(name(id as NodeId));
            common.take_while(|(a, b)| a == b).count()
        });
        let max_id = words.iter().max().copied().unwrap_or(0);
        let id_mask = u64::MAX >> (max_id | 1).leading_zeros();
        // Names hold no zero byte, so zero padding sorts a shorter name first, as byte
        // order does; dropping low bits of a big-endian prefix keeps that order where keys
        // differ.
        for word in words.iter_mut() {
            let mut prefix = [0u8; 8];
            let tail = &name(*word as NodeId)[shared..];
            let len = tail.len().min(8);
            prefix[..len].copy_from_slice(&tail[..len]);
            *word |= u64::from_be_bytes(prefix) & !id_mask;
        }
        words.sort_unstable();
        let id_of = |word: u64| (word & id_mask) as NodeId;
        for run in words.chunk_by_mut(|a, b| a & !id_mask == b & !id_mask) {
            if run.len() > 1 {
                run.sort_unstable_by(|a, b| name(id_of(*a)).cmp(name(id_of(*b))));
            }
        }
        SortedChildren {
            words,
            id_mask,
            visited: 0,
        }
    }

    /// The next child in name order.
    fn next(&mut self) -> Option<NodeId> {
        let word = self.words.get(self.visited)?;
        self.visited += 1;
        Some((word & self.id_mask) as NodeId)
    }
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
        let (head, rest) = postcard::take_from_bytes::<SnapshotHead>(rest)?;
        let mut tree = DataTree::empty(config);
        tree.last_applied_zxid = head.last_applied_zxid;
        tree.sessions = head.sessions.into_iter().collect();
        tree.quota_roots = head.quota_roots.into_iter().collect();
        tree.digest = tree.restore_nodes(rest, &head.acls)?;
        if tree.digest != head.digest {
            return Err(TreeError::DigestMismatch {
                stored: head.digest,
                computed: tree.digest,
            });
        }
        Ok(tree)
    }

    /// Rebuilds the znodes from their canonical order, decoding one at a time from
    /// `bytes` (the encoded sequence, the rest of the snapshot). Returns their digest,
    /// summed as they arrive: the path of each is at hand then, and a second walk over a
    /// large tree would cost as much as the restore.
    fn restore_nodes(&mut self, bytes: &[u8], acls: &[Vec<Acl>]) -> Result<u64, TreeError> {
        let corrupt = |why: String| TreeError::SnapshotCorrupt(why);
        let (count, mut rest) = postcard::take_from_bytes::<usize>(bytes)?;
        // Every znode but the root, indexed all at once at the end.
        let mut restored = Vec::with_capacity(count.min(rest.len() / MIN_NODE_BYTES));
        if count == 0 {
            return Err(corrupt("no root".into()));
        }
        let root = take_node(&mut rest)?;
        if !root.name.is_empty() {
            return Err(corrupt(format!("root named {:?}", root.name)));
        }
        let root_id = self.restore_node(&root, acls)?;
        debug_assert_eq!(root_id, ROOT);
        let mut path = String::from("/");
        let mut digest = node_digest(&path, &root);
        // The nodes on the path to the current one: (node, children still to read, length
        // of its path in `path`).
        let mut open: Vec<(NodeId, u32, usize)> = vec![(ROOT, root.num_children, 1)];
        for _ in 1..count {
            let record = take_node(&mut rest)?;
            while open.last().is_some_and(|(_, left, _)| *left == 0) {
                open.pop();
            }
            let Some((parent, left, parent_path_len)) = open.last_mut() else {
                return Err(corrupt("more znodes than the child counts announce".into()));
            };
            *left -= 1;
            let parent = *parent;
            if path::validate_name(record.name).is_err() {
                return Err(corrupt(format!("invalid znode name {:?}", record.name)));
            }
            path.truncate(*parent_path_len);
            if *parent_path_len > 1 {
                path.push('/');
            }
            path.push_str(record.name);
            let id = self.restore_node(&record, acls)?;
            self.nodes.link_child(parent, id);
            restored.push(id);
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
            digest = digest.wrapping_add(node_digest(&path, &record));
            open.push((id, record.num_children, path.len()));
        }
        if open.iter().any(|(_, left, _)| *left != 0) {
            return Err(corrupt(
                "fewer znodes than the child counts announce".into(),
            ));
        }
        if !rest.is_empty() {
            return Err(corrupt(format!(
                "{} bytes after the last znode",
                rest.len()
            )));
        }
        if let Err(twin) = self.index.insert_all(&self.nodes, &restored) {
            let name = self.nodes.get(twin).name();
            return Err(corrupt(format!("duplicate znode name {name:?}")));
        }
        Ok(digest)
    }

    /// Stores one znode, unlinked, with its interned ACL.
    fn restore_node(
        &mut self,
        record: &SnapshotNode,
        acls: &[Vec<Acl>],
    ) -> Result<NodeId, TreeError> {
        let acl = acls.get(record.acl as usize).ok_or_else(|| {
            TreeError::SnapshotCorrupt(format!("ACL number {} out of range", record.acl))
        })?;
        let acl = self.acls.intern(acl);
        Ok(self
            .nodes
            .insert(Node::new(record.name, record.data, acl, record.stat)))
    }
}

/// Decodes the next znode from the front of `rest`.
fn take_node<'a>(rest: &mut &'a [u8]) -> Result<SnapshotNode<'a>, TreeError> {
    let (node, after) = postcard::take_from_bytes::<SnapshotNode>(rest)?;
    *rest = after;
    Ok(node)
}

/// A restored znode's share of the tree digest: its record's child count is the number of
/// children it ends up with (the restore checks that).
fn node_digest(path: &str, record: &SnapshotNode) -> u64 {
    digest::data_part(path, record.data).wrapping_add(digest::stat_part(
        path,
        &record.stat,
        record.num_children,
    ))
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

    #[test]
    fn a_large_directory_is_walked_in_name_order() {
        let mut nodes = NodeArena::new();
        let root = nodes.insert(Node::new("", None, 0, StatPersisted::default()));
        // Shared prefixes, names that are prefixes of others, ties in the first 8 bytes
        // after the shared prefix, and a scrambled insertion order.
        let mut names: Vec<String> = (0..500u32)
            .map(|n| match n % 4 {
                0 => format!("seq-{:010}", n.wrapping_mul(2_654_435_761) % 100_000),
                1 => format!("seq-{}", n * 7),
                2 => format!("seq-000000000{}-tail-{n}", n % 3),
                _ => "seq-".repeat(1 + (n as usize % 5)) + &n.to_string(),
            })
            .collect();
        names.sort();
        names.dedup();
        let mut scrambled = names.clone();
        scrambled.reverse();
        scrambled.rotate_left(123);
        for name in &scrambled {
            let id = nodes.insert(Node::new(name, None, 0, StatPersisted::default()));
            nodes.link_child(root, id);
        }
        let mut walked = Vec::new();
        walk_in_canonical_order::<()>(&nodes, |id| {
            walked.push(nodes.get(id).name().to_owned());
            Ok(())
        })
        .unwrap();
        assert_eq!(walked[0], "");
        assert_eq!(walked[1..], names[..]);
    }

    /// A znode written the way [`NodeOut`] writes one (postcard lays out a `&[u8]` exactly
    /// as `serialize_bytes` does).
    #[derive(Serialize)]
    struct HandNode<'a> {
        name: &'a str,
        data: Option<&'a [u8]>,
        acl: u32,
        stat: StatPersisted,
        num_children: u32,
    }

    /// The snapshot of znodes given in canonical order as (name, child count), each with
    /// data "x"; `extra` is appended after them. The stored digest is the right one for
    /// the znodes when they form a tree.
    fn hand_built(nodes: &[(&str, u32)], extra: &[u8]) -> Vec<u8> {
        let mut open: Vec<(String, u32)> = Vec::new();
        let mut digest = 0u64;
        let mut records = Vec::new();
        for (index, &(name, num_children)) in nodes.iter().enumerate() {
            let path = if index == 0 {
                String::from("/")
            } else {
                while open.last().is_some_and(|(_, left)| *left == 0) {
                    open.pop();
                }
                match open.last_mut() {
                    Some((parent, left)) => {
                        *left -= 1;
                        path::join(parent, name)
                    }
                    None => format!("/{name}"),
                }
            };
            let record = HandNode {
                name,
                data: Some(b"x"),
                acl: 0,
                stat: StatPersisted::default(),
                num_children,
            };
            digest = digest
                .wrapping_add(digest::data_part(&path, record.data))
                .wrapping_add(digest::stat_part(&path, &record.stat, num_children));
            open.push((path, num_children));
            records.push(record);
        }
        let head = SnapshotHead {
            last_applied_zxid: Zxid(7),
            digest,
            sessions: Vec::new(),
            quota_roots: Vec::new(),
            acls: vec![Acl::open_unsafe()],
        };
        let mut bytes = postcard::to_allocvec(&SNAPSHOT_FORMAT).unwrap();
        bytes.extend(postcard::to_allocvec(&head).unwrap());
        bytes.extend(postcard::to_allocvec(&records).unwrap());
        bytes.extend_from_slice(extra);
        bytes
    }

    fn restore(bytes: &[u8]) -> Result<DataTree, TreeError> {
        DataTree::from_snapshot_bytes(bytes, TreeConfig::default())
    }

    #[test]
    fn a_hand_built_snapshot_restores_with_its_digest() {
        let tree = restore(&hand_built(&[("", 2), ("a", 1), ("b", 0), ("c", 0)], &[])).unwrap();
        tree.check_invariants();
        assert_eq!(tree.node_count(), 4);
        assert_eq!(tree.digest(), tree.recompute_digest());
        assert_eq!(tree.last_applied_zxid(), Zxid(7));
    }

    #[test]
    fn structural_damage_is_refused_with_a_reason() {
        let corrupt = |nodes: &[(&str, u32)], extra: &[u8]| match restore(&hand_built(nodes, extra))
        {
            Err(TreeError::SnapshotCorrupt(why)) => why,
            other => panic!("{nodes:?}: expected a corrupt snapshot, got {other:?}"),
        };
        assert!(corrupt(&[("", 2), ("a", 0), ("a", 0)], &[]).contains("duplicate"));
        for name in ["a/b", ".", "..", "", "bad\u{1}"] {
            assert!(corrupt(&[("", 1), (name, 0)], &[]).contains("invalid znode name"));
        }
        assert!(corrupt(&[("x", 0)], &[]).contains("root named"));
        assert!(corrupt(&[("", 1), ("a", 0), ("b", 0)], &[]).contains("more znodes"));
        assert!(corrupt(&[("", 2), ("a", 0)], &[]).contains("fewer znodes"));
        assert!(corrupt(&[("", 0)], &[0]).contains("after the last znode"));
        assert!(corrupt(&[], &[]).contains("no root"));
    }
}
