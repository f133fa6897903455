//! A frozen copy of what a snapshot holds, cheap enough to take between two transactions.
//!
//! Encoding a million znodes takes hundreds of milliseconds; a host that encoded on the
//! thread that applies transactions would stall every write for that long. Instead it
//! takes a [`SnapshotView`] (the znode arena is shared copy-on-write, see the `node`
//! module, so this copies only a table of chunk pointers, the interned ACL lists, the
//! sessions and the quota paths), moves it to another thread and encodes it there while
//! the tree keeps changing ([`SnapshotView::write_snapshot`] streams it into a file without
//! holding the encoded bytes in memory). The bytes are exactly those the tree would have given at the
//! moment the view was taken.
//!
//! While a view is alive, every arena chunk the tree changes is copied once, so memory can
//! grow by up to one arena (nodes plus their names and data) until the view is dropped.

use crate::acl_cache::AclCache;
use crate::node::NodeArena;
use crate::snapshot::SnapshotSource;
use crate::tree::DataTree;
use zk_proto::{SessionId, Zxid};

/// The content of a [`DataTree`] at one zxid, for [`SnapshotView::to_snapshot_bytes`] or
/// [`SnapshotView::write_snapshot`].
/// It owns (or shares) everything it holds, so it can move to another thread.
#[derive(Clone)]
pub struct SnapshotView {
    last_applied_zxid: Zxid,
    digest: u64,
    sessions: Vec<(SessionId, i32)>,
    quota_roots: Vec<String>,
    nodes: NodeArena,
    acls: AclCache,
}

/// A summary: a view may hold millions of znodes.
impl std::fmt::Debug for SnapshotView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotView")
            .field("last_applied_zxid", &self.last_applied_zxid)
            .field("node_count", &self.nodes.len())
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl DataTree {
    /// Freezes the tree's snapshot content. Costs O(znodes / 597) for the arena plus the
    /// size of the sessions, ACL lists and quota paths; it leaves out the child index and
    /// the ephemeral, container and TTL sets, which a snapshot does not store.
    pub fn snapshot_view(&self) -> SnapshotView {
        SnapshotView {
            last_applied_zxid: self.last_applied_zxid,
            digest: self.digest,
            sessions: self.sessions().collect(),
            quota_roots: self.quota_roots.iter().cloned().collect(),
            nodes: self.nodes.clone(),
            acls: self.acls.clone(),
        }
    }
}

impl SnapshotView {
    /// The zxid of the last transaction applied to the tree when the view was taken: the
    /// zxid the snapshot is named after.
    pub fn last_applied_zxid(&self) -> Zxid {
        self.last_applied_zxid
    }

    /// The number of znodes, the root included.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The snapshot bytes, equal to [`DataTree::to_snapshot_bytes`] of the tree at
    /// [`SnapshotView::last_applied_zxid`].
    pub fn to_snapshot_bytes(&self) -> Vec<u8> {
        self.source().encode()
    }

    /// Streams [`SnapshotView::to_snapshot_bytes`] into `out` without holding them in
    /// memory, and gives `out` back (unflushed). Fails only when `out` does, with its error.
    pub fn write_snapshot<W: std::io::Write>(&self, out: W) -> std::io::Result<W> {
        self.source().write_to(out)
    }

    fn source(&self) -> SnapshotSource<'_> {
        SnapshotSource {
            last_applied_zxid: self.last_applied_zxid,
            digest: self.digest,
            sessions: self.sessions.clone(),
            quota_roots: self.quota_roots.clone(),
            nodes: &self.nodes,
            acls: &self.acls,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::TreeConfig;

    #[test]
    fn a_view_can_move_to_another_thread() {
        fn assert_send_static<T: Send + 'static>(_: &T) {}
        let view = DataTree::new(TreeConfig::default()).snapshot_view();
        assert_send_static(&view);
    }

    #[test]
    fn a_view_of_a_new_tree_encodes_like_the_tree() {
        let tree = DataTree::new(TreeConfig::default());
        let view = tree.snapshot_view();
        assert_eq!(view.to_snapshot_bytes(), tree.to_snapshot_bytes());
        assert_eq!(view.last_applied_zxid(), tree.last_applied_zxid());
        assert_eq!(view.node_count(), 4);
    }
}
