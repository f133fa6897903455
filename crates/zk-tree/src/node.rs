//! Znodes and the arena that stores them.
//!
//! A [`Node`] is kept small (24 bytes plus one allocation): no full path (the path is the
//! chain of parents), the name, the data, the stat and the head of the child list share
//! one allocation behind a thin pointer (`payload`; a childless znode never changed since
//! its creation stores 16 bytes of stat there, any other 68 of stat and child list head),
//! every field is 4-byte aligned (no padding), the ACL is a 4-byte handle, and children
//! form an intrusive doubly linked list (first child, next and previous sibling), so
//! adding or removing a child is O(1) without a per-node collection.
//! Nodes live in fixed-size chunks addressed by a 32-bit [`NodeId`]: growing never moves
//! or copies existing nodes and wastes at most one chunk.
//!
//! The chunks are shared copy-on-write (`Arc`), so cloning an arena copies only the table
//! of chunk pointers: that is how a snapshot freezes the tree without stopping writes.
//! A chunk that a clone still shares is copied on its first change; after that, and in a
//! tree that was never cloned, a change costs one reference-count check.

mod meta;
mod payload;

use crate::acl_cache::AclId;
use crate::stat::StatPersisted;
use meta::Meta;
use payload::Payload;
use std::sync::Arc;

/// The index of a node in the [`NodeArena`].
pub type NodeId = u32;

/// "No node": the end of a sibling list, the parent of the root.
pub const NONE: NodeId = u32::MAX;

/// The root's id: it is the first node of every tree.
pub const ROOT: NodeId = 0;

/// Nodes per chunk of the arena: 597 nodes of 24 bytes fill 14 KiB, jemalloc's largest
/// "small" size class, which it packs into slabs without waste; a chunk of 16 KiB or more
/// is a "large" allocation, which costs a page more than its size (its cache-oblivious
/// offset: 4 MB at a million znodes for chunks of 1024 nodes of 32 bytes).
/// The size also bounds the work of the first change to a chunk that a snapshot shares
/// (copying its nodes and their payloads, `tests/snapshot_cost.rs`), and every clone
/// copies the table of chunk pointers (1676 entries at a million znodes).
const CHUNK_NODES: usize = 597;

/// One znode.
#[derive(Debug, Clone)]
pub struct Node {
    /// The name, the data (null or not), the stat, the first child and the child count.
    payload: Payload,
    pub acl: AclId,
    pub parent: NodeId,
    pub next_sibling: NodeId,
    pub prev_sibling: NodeId,
}

impl Node {
    /// A childless, unlinked node.
    pub fn new(name: &str, data: Option<&[u8]>, acl: AclId, stat: StatPersisted) -> Self {
        Node {
            payload: Payload::new(name.as_bytes(), data, &Meta::childless(stat)),
            acl,
            parent: NONE,
            next_sibling: NONE,
            prev_sibling: NONE,
        }
    }

    /// The first child in the child list (`NONE` without children).
    #[inline]
    pub fn first_child(&self) -> NodeId {
        self.payload.children().0
    }

    /// The number of children.
    #[inline]
    pub fn num_children(&self) -> u32 {
        self.payload.children().1
    }

    /// The name as bytes (cheap: the index compares bytes).
    #[inline]
    pub fn name_bytes(&self) -> &[u8] {
        self.payload.name()
    }

    /// The name (the last segment of the path; empty for the root).
    #[inline]
    pub fn name(&self) -> &str {
        std::str::from_utf8(self.name_bytes()).expect("names are stored from &str")
    }

    /// The data; `None` when it was set to null.
    #[inline]
    pub fn data(&self) -> Option<&[u8]> {
        self.payload.data()
    }

    /// The data's length (0 for null).
    #[inline]
    pub fn data_len(&self) -> usize {
        self.payload.data_len()
    }

    /// The stat (decoded: it is stored in one of two forms).
    #[inline]
    pub fn stat(&self) -> StatPersisted {
        self.payload.stat()
    }

    /// Replaces the stat.
    pub fn set_stat(&mut self, stat: StatPersisted) {
        self.payload.set_stat(&stat);
    }

    /// Changes the stat with `change`.
    pub fn update_stat(&mut self, change: impl FnOnce(&mut StatPersisted)) {
        let mut stat = self.stat();
        change(&mut stat);
        self.set_stat(stat);
    }

    /// Replaces the data, keeping the name and the stat.
    pub fn set_data(&mut self, data: Option<&[u8]>) {
        self.payload = self.payload.with_data(data);
    }

    /// Replaces the data and the stat at once (one allocation).
    pub fn set_data_and_stat(&mut self, data: Option<&[u8]>, stat: StatPersisted) {
        let (first_child, num_children) = self.payload.children();
        let meta = Meta {
            stat,
            first_child,
            num_children,
        };
        self.payload = Payload::new(self.payload.name(), data, &meta);
    }

    /// Frees the name, data and stat of a node that leaves the tree.
    fn clear(&mut self) {
        self.payload = Payload::EMPTY;
    }
}

/// Up to [`CHUNK_NODES`] consecutive nodes.
#[derive(Debug)]
struct Chunk {
    nodes: Vec<Node>,
}

/// A copy keeps the original's capacity: the last chunk, copied while partly filled, must
/// still fill up to [`CHUNK_NODES`] without reallocating (`Vec::clone` would trim the
/// capacity, and the next push would double it past the chunk size).
impl Clone for Chunk {
    fn clone(&self) -> Self {
        let mut nodes = Vec::with_capacity(self.nodes.capacity());
        nodes.extend_from_slice(&self.nodes);
        Chunk { nodes }
    }
}

/// The storage of all nodes, with a free list for the slots of deleted nodes. `clone` is
/// cheap: the clone shares every chunk until one side changes it.
#[derive(Debug, Clone)]
pub struct NodeArena {
    chunks: Vec<Arc<Chunk>>,
    /// Freed slots are chained through `next_sibling`; reused last-freed first.
    free_head: NodeId,
    free_count: usize,
    slots: usize,
}

impl Default for NodeArena {
    fn default() -> Self {
        NodeArena::new()
    }
}

impl NodeArena {
    /// An empty arena.
    pub fn new() -> Self {
        NodeArena {
            chunks: Vec::new(),
            free_head: NONE,
            free_count: 0,
            slots: 0,
        }
    }

    /// Stores `node`, returning its id.
    pub fn insert(&mut self, node: Node) -> NodeId {
        if self.free_head != NONE {
            let id = self.free_head;
            self.free_head = self.get(id).next_sibling;
            *self.get_mut(id) = node;
            self.free_count -= 1;
            return id;
        }
        let id = NodeId::try_from(self.slots)
            .ok()
            .filter(|id| *id != NONE)
            .expect("fewer than 2^32 - 1 znodes");
        let chunk_full = match self.chunks.last() {
            Some(chunk) => chunk.nodes.len() == CHUNK_NODES,
            None => true,
        };
        if chunk_full {
            // The first chunk grows as a normal Vec so that small trees stay small; later
            // chunks are allocated whole.
            let capacity = if self.chunks.is_empty() {
                0
            } else {
                CHUNK_NODES
            };
            self.chunks.push(Arc::new(Chunk {
                nodes: Vec::with_capacity(capacity),
            }));
        }
        let last = self.chunks.last_mut().expect("pushed above");
        Arc::make_mut(last).nodes.push(node);
        self.slots += 1;
        id
    }

    /// Frees the slot of `id` (the caller has unlinked it).
    pub fn remove(&mut self, id: NodeId) {
        let free_head = self.free_head;
        let slot = self.get_mut(id);
        slot.clear();
        slot.parent = NONE;
        slot.prev_sibling = NONE;
        slot.next_sibling = free_head;
        self.free_head = id;
        self.free_count += 1;
    }

    /// The number of live nodes.
    pub fn len(&self) -> usize {
        self.slots - self.free_count
    }

    pub fn get(&self, id: NodeId) -> &Node {
        let index = id as usize;
        &self.chunks[index / CHUNK_NODES].nodes[index % CHUNK_NODES]
    }

    /// The node `id`, for a change: its chunk is copied first if a clone shares it.
    pub fn get_mut(&mut self, id: NodeId) -> &mut Node {
        let index = id as usize;
        let chunk = Arc::make_mut(&mut self.chunks[index / CHUNK_NODES]);
        &mut chunk.nodes[index % CHUNK_NODES]
    }

    /// Links the unlinked node `child` as the first child of `parent`.
    pub fn link_child(&mut self, parent: NodeId, child: NodeId) {
        let (old_first, count) = self.get(parent).payload.children();
        {
            let node = self.get_mut(child);
            node.parent = parent;
            node.prev_sibling = NONE;
            node.next_sibling = old_first;
        }
        if old_first != NONE {
            self.get_mut(old_first).prev_sibling = child;
        }
        self.get_mut(parent).payload.set_children(child, count + 1);
    }

    /// Unlinks `child` from its parent's child list.
    pub fn unlink_child(&mut self, child: NodeId) {
        let (parent, prev, next) = {
            let node = self.get(child);
            (node.parent, node.prev_sibling, node.next_sibling)
        };
        let (first, count) = self.get(parent).payload.children();
        let first = if prev == NONE { next } else { first };
        self.get_mut(parent).payload.set_children(first, count - 1);
        if prev != NONE {
            self.get_mut(prev).next_sibling = next;
        }
        if next != NONE {
            self.get_mut(next).prev_sibling = prev;
        }
        let node = self.get_mut(child);
        node.prev_sibling = NONE;
        node.next_sibling = NONE;
    }

    /// The children of `parent`, in list order (most recently created first).
    pub fn children(&self, parent: NodeId) -> Children<'_> {
        Children {
            arena: self,
            next: self.get(parent).first_child(),
        }
    }

    /// Bytes held by the arena itself (chunks and their spare capacity), not counting the
    /// names and data the nodes point to. Chunks shared with a clone count in full.
    pub fn allocated_bytes(&self) -> usize {
        self.chunks
            .iter()
            .map(|chunk| chunk.nodes.capacity() * std::mem::size_of::<Node>())
            .sum::<usize>()
            + self.chunks.capacity() * std::mem::size_of::<Arc<Chunk>>()
    }
}

/// Iterator over the children of a node.
pub struct Children<'a> {
    arena: &'a NodeArena,
    next: NodeId,
}

impl Iterator for Children<'_> {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        if self.next == NONE {
            return None;
        }
        let id = self.next;
        self.next = self.arena.get(id).next_sibling;
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str) -> Node {
        Node::new(name, Some(b"data"), 0, StatPersisted::default())
    }

    #[test]
    fn node_stays_small() {
        assert_eq!(std::mem::size_of::<Node>(), 24);
    }

    #[test]
    fn name_and_data_share_the_payload() {
        let mut n = node("child");
        assert_eq!(n.name(), "child");
        assert_eq!(n.data(), Some(&b"data"[..]));
        n.set_data(None);
        assert_eq!(n.name(), "child");
        assert_eq!(n.data(), None);
        assert_eq!(n.data_len(), 0);
        n.set_data(Some(b""));
        assert_eq!(n.data(), Some(&b""[..]));
        n.update_stat(|stat| stat.version = 4);
        n.set_data(Some(b"kept stat"));
        assert_eq!((n.name(), n.stat().version), ("child", 4));
        let mut stat = n.stat();
        stat.version = 5;
        n.set_data_and_stat(None, stat);
        assert_eq!((n.name(), n.data(), n.stat()), ("child", None, stat));
    }

    #[test]
    fn children_link_and_unlink_in_o1() {
        let mut arena = NodeArena::new();
        let root = arena.insert(node(""));
        let a = arena.insert(node("a"));
        let b = arena.insert(node("b"));
        let c = arena.insert(node("c"));
        for child in [a, b, c] {
            arena.link_child(root, child);
        }
        assert_eq!(arena.children(root).collect::<Vec<_>>(), [c, b, a]);
        arena.unlink_child(b);
        assert_eq!(arena.children(root).collect::<Vec<_>>(), [c, a]);
        arena.unlink_child(c);
        assert_eq!(arena.children(root).collect::<Vec<_>>(), [a]);
        assert_eq!(arena.get(root).num_children(), 1);
        arena.remove(b);
        arena.remove(c);
        assert_eq!(arena.len(), 2);
        // Freed slots are reused, last freed first.
        assert_eq!(arena.insert(node("d")), c);
        assert_eq!(arena.insert(node("e")), b);
        assert_eq!(arena.insert(node("f")), 4);
    }

    #[test]
    fn arena_grows_across_chunks() {
        let mut arena = NodeArena::new();
        for i in 0..(CHUNK_NODES * 2 + 3) {
            assert_eq!(arena.insert(node("n")) as usize, i);
        }
        assert_eq!(arena.get((CHUNK_NODES + 1) as NodeId).name(), "n");
        assert_eq!(arena.chunks.len(), 3);
    }

    /// Whether `a` and `b` share the chunk that holds `id`.
    fn shares_chunk(a: &NodeArena, b: &NodeArena, id: NodeId) -> bool {
        let chunk = id as usize / CHUNK_NODES;
        Arc::ptr_eq(&a.chunks[chunk], &b.chunks[chunk])
    }

    #[test]
    fn a_clone_shares_chunks_until_either_side_changes_one() {
        let mut arena = NodeArena::new();
        for _ in 0..(CHUNK_NODES * 3) {
            arena.insert(node("n"));
        }
        let frozen = arena.clone();
        let in_second_chunk = (CHUNK_NODES + 5) as NodeId;
        assert!((0..3).all(|chunk| shares_chunk(&arena, &frozen, (chunk * CHUNK_NODES) as NodeId)));

        arena.get_mut(in_second_chunk).set_data(Some(b"changed"));
        assert!(!shares_chunk(&arena, &frozen, in_second_chunk));
        assert!(shares_chunk(&arena, &frozen, 0));
        assert!(shares_chunk(&arena, &frozen, (CHUNK_NODES * 2) as NodeId));
        assert_eq!(arena.get(in_second_chunk).data(), Some(&b"changed"[..]));
        assert_eq!(frozen.get(in_second_chunk).data(), Some(&b"data"[..]));

        // The copied chunk is now the arena's own: changing it again copies nothing.
        let copied = Arc::as_ptr(&arena.chunks[1]);
        arena
            .get_mut(in_second_chunk)
            .update_stat(|stat| stat.version = 7);
        assert_eq!(Arc::as_ptr(&arena.chunks[1]), copied);
        assert_eq!(arena.get(in_second_chunk).stat().version, 7);
        assert_eq!(frozen.get(in_second_chunk).stat().version, 0);
    }

    #[test]
    fn removing_and_reusing_slots_leaves_a_clone_untouched() {
        let mut arena = NodeArena::new();
        let root = arena.insert(node(""));
        let children: Vec<NodeId> = (0..CHUNK_NODES + 10)
            .map(|_| {
                let child = arena.insert(node("c"));
                arena.link_child(root, child);
                child
            })
            .collect();
        let frozen = arena.clone();
        let last = *children.last().unwrap();
        arena.unlink_child(last);
        arena.remove(last);
        arena.unlink_child(children[0]);
        arena.remove(children[0]);
        let reused = arena.insert(node("new"));
        arena.link_child(root, reused);

        assert_eq!(frozen.len(), CHUNK_NODES + 11);
        assert_eq!(frozen.get(root).num_children() as usize, CHUNK_NODES + 10);
        assert_eq!(frozen.children(root).count(), CHUNK_NODES + 10);
        assert_eq!(frozen.get(children[0]).name(), "c");
        assert_eq!(frozen.get(last).name(), "c");
        assert_eq!(arena.len(), CHUNK_NODES + 10);
        assert_eq!(arena.get(reused).name(), "new");
        assert_eq!(arena.children(root).count(), CHUNK_NODES + 9);
    }

    #[test]
    fn a_copied_partly_filled_chunk_fills_up_without_growing_past_the_chunk_size() {
        let mut arena = NodeArena::new();
        for _ in 0..(CHUNK_NODES + 10) {
            arena.insert(node("n"));
        }
        let frozen = arena.clone();
        for _ in 0..(CHUNK_NODES - 10) {
            arena.insert(node("n"));
        }
        assert_eq!(arena.chunks.len(), 2);
        assert_eq!(arena.chunks[1].nodes.capacity(), CHUNK_NODES);
        assert_eq!(frozen.len(), CHUNK_NODES + 10);
        assert_eq!(frozen.chunks[1].nodes.len(), 10);
    }
}
