//! The child index: finds the child of a node by name in O(1), so a path lookup costs one
//! probe per segment. One table for the whole tree, keyed by (parent id, name) and holding
//! only the 4-byte node id; the key is read back from the node itself.

use crate::hash::Mixer;
use crate::node::{NodeArena, NodeId};
use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

/// The seed used unless the host sets one (see [`crate::DataTree::set_index_seed`]).
pub const DEFAULT_SEED: u64 = 0x5a4b_5f74_7265_6521;

/// (parent, name) -> child.
#[derive(Debug, Clone)]
pub struct ChildIndex {
    table: HashTable<NodeId>,
    seed: u64,
}

impl Default for ChildIndex {
    fn default() -> Self {
        ChildIndex::with_seed(DEFAULT_SEED)
    }
}

impl ChildIndex {
    /// An empty index whose layout follows `seed`.
    pub fn with_seed(seed: u64) -> Self {
        ChildIndex {
            table: HashTable::new(),
            seed,
        }
    }

    /// Moves the index into a table with room for `capacity` nodes, reading every node's
    /// key again in id order (see [`ChildIndex::rebuild`]). At millions of znodes
    /// hashbrown's own rehash, in table order, misses the cache twice per node: a stall of
    /// seconds where this takes a fraction of one.
    fn grow(&mut self, arena: &NodeArena, capacity: usize) {
        let mut ids: Vec<NodeId> = self.table.iter().copied().collect();
        ids.sort_unstable();
        let rebuilt = self.rebuild(arena, &ids, capacity, Keys::Distinct);
        debug_assert!(rebuilt.is_ok());
    }

    /// Indexes the linked nodes `ids` (none indexed yet) all at once, which is much
    /// faster than one by one for many nodes (a snapshot restore). On a duplicate
    /// (parent, name) returns the later node of the two and leaves the index as it was.
    pub fn insert_all(&mut self, arena: &NodeArena, ids: &[NodeId]) -> Result<(), NodeId> {
        let mut all: Vec<NodeId> = self.table.iter().copied().collect();
        all.extend_from_slice(ids);
        all.sort_unstable();
        self.rebuild(arena, &all, all.len(), Keys::MayRepeat)
    }

    /// Replaces the table with one of room for `capacity` holding `ids` (best sorted: ids
    /// follow the order nodes were stored, so their keys, and names allocated in the same
    /// order, are read nearly sequentially). Nodes go in in the order of the buckets their
    /// hashes pick, so the new table is written front to back rather than at random. On
    /// a duplicate key returns the node that repeats it and keeps the old table.
    fn rebuild(
        &mut self,
        arena: &NodeArena,
        ids: &[NodeId],
        capacity: usize,
        keys: Keys,
    ) -> Result<(), NodeId> {
        let seed = self.seed;
        let hasher = |&id: &NodeId| Self::node_hash(seed, arena, id);
        let mut table = HashTable::with_capacity(capacity.max(ids.len()));
        let keyed: Vec<(u64, NodeId)> = ids.iter().map(|id| (hasher(id), *id)).collect();
        for (hash, id) in in_bucket_order(keyed, table.capacity()) {
            if keys == Keys::Distinct {
                table.insert_unique(hash, id, hasher);
                continue;
            }
            // Only a hash match reads the nodes (in hash order, each read would miss).
            let same_key = |&other: &NodeId| {
                let (node, other) = (arena.get(id), arena.get(other));
                node.parent == other.parent && node.name_bytes() == other.name_bytes()
            };
            match table.entry(hash, same_key, hasher) {
                Entry::Occupied(_) => return Err(id),
                Entry::Vacant(slot) => {
                    slot.insert(id);
                }
            }
        }
        self.table = table;
        Ok(())
    }

    /// Makes room for one more node, doubling the table when it is full.
    fn reserve_one(&mut self, arena: &NodeArena) {
        if self.table.len() == self.table.capacity() {
            self.grow(arena, (self.table.len() * 2).max(16));
        }
    }

    fn key_hash(seed: u64, parent: NodeId, name: &[u8]) -> u64 {
        Mixer::new(seed)
            .word(u64::from(parent))
            .bytes(name)
            .finish()
    }

    fn node_hash(seed: u64, arena: &NodeArena, id: NodeId) -> u64 {
        let node = arena.get(id);
        Self::key_hash(seed, node.parent, node.name_bytes())
    }

    /// The child of `parent` named `name`.
    pub fn find(&self, arena: &NodeArena, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        let hash = Self::key_hash(self.seed, parent, name);
        self.table
            .find(hash, |&id| {
                let node = arena.get(id);
                node.parent == parent && node.name_bytes() == name
            })
            .copied()
    }

    /// Indexes `id`, already linked under its parent; its name must be new there.
    pub fn insert(&mut self, arena: &NodeArena, id: NodeId) {
        self.reserve_one(arena);
        let seed = self.seed;
        let hash = Self::node_hash(seed, arena, id);
        self.table
            .insert_unique(hash, id, |&other| Self::node_hash(seed, arena, other));
    }

    /// Removes `id` (still linked under its parent) from the index.
    pub fn remove(&mut self, arena: &NodeArena, id: NodeId) {
        let hash = Self::node_hash(self.seed, arena, id);
        match self.table.find_entry(hash, |&other| other == id) {
            Ok(entry) => {
                entry.remove();
            }
            Err(_) => panic!("node {id} is not indexed"),
        }
    }

    /// Rebuilds the table with a new seed (`ids`: every indexed node).
    pub fn reseed(&mut self, arena: &NodeArena, seed: u64, ids: impl IntoIterator<Item = NodeId>) {
        self.seed = seed;
        self.table.clear();
        for id in ids {
            self.insert(arena, id);
        }
    }

    /// The number of indexed nodes.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Bytes of the table (slots and control bytes).
    pub fn allocated_bytes(&self) -> usize {
        self.table.allocation_size()
    }
}

/// Whether [`ChildIndex::rebuild`] must look for two nodes with the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// The nodes come from the index itself.
    Distinct,
    /// New nodes: a repeated key is refused.
    MayRepeat,
}

/// Bits of the bucket number [`in_bucket_order`] sorts by: enough for runs of a few
/// buckets, few enough for the counts to stay in cache.
const ORDER_BITS: u32 = 16;

/// `keyed` (hash, node) ordered by the bucket each hash starts probing at in a hashbrown
/// table of room for `capacity` (its bucket count is the power of two holding capacity *
/// 8/7; the start is the hash's low bits), to the nearest 2^[`ORDER_BITS`]th of the table:
/// one counting-sort pass.
fn in_bucket_order(keyed: Vec<(u64, NodeId)>, capacity: usize) -> Vec<(u64, NodeId)> {
    let buckets = (capacity.saturating_mul(8) / 7).next_power_of_two().max(1) as u64;
    let bucket_bits = buckets.trailing_zeros();
    let shift = bucket_bits.saturating_sub(ORDER_BITS);
    let part = |hash: u64| ((hash & (buckets - 1)) >> shift) as usize;
    let mut starts = vec![0usize; 1 << bucket_bits.min(ORDER_BITS)];
    for &(hash, _) in &keyed {
        starts[part(hash)] += 1;
    }
    let mut total = 0;
    for start in &mut starts {
        let count = *start;
        *start = total;
        total += count;
    }
    let mut ordered = vec![(0, 0); keyed.len()];
    for entry in keyed {
        let slot = &mut starts[part(entry.0)];
        ordered[*slot] = entry;
        *slot += 1;
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Node;
    use crate::stat::StatPersisted;

    #[test]
    fn finds_children_by_parent_and_name() {
        let mut arena = NodeArena::new();
        let mut index = ChildIndex::default();
        let root = arena.insert(Node::new("", None, 0, StatPersisted::default()));
        let mut ids = Vec::new();
        for parent in [root] {
            for name in ["a", "b", "c"] {
                let id = arena.insert(Node::new(name, None, 0, StatPersisted::default()));
                arena.link_child(parent, id);
                index.insert(&arena, id);
                ids.push(id);
            }
        }
        let nested = arena.insert(Node::new("a", None, 0, StatPersisted::default()));
        arena.link_child(ids[0], nested);
        index.insert(&arena, nested);

        assert_eq!(index.find(&arena, root, b"a"), Some(ids[0]));
        assert_eq!(index.find(&arena, ids[0], b"a"), Some(nested));
        assert_eq!(index.find(&arena, root, b"d"), None);
        index.remove(&arena, ids[1]);
        assert_eq!(index.find(&arena, root, b"b"), None);
        index.reseed(&arena, 99, [ids[0], ids[2], nested]);
        assert_eq!(index.find(&arena, ids[0], b"a"), Some(nested));
        assert_eq!(index.find(&arena, root, b"c"), Some(ids[2]));
        assert_eq!(index.len(), 3);
    }

    #[test]
    fn growing_keeps_every_lookup() {
        let mut arena = NodeArena::new();
        let mut index = ChildIndex::default();
        let root = arena.insert(Node::new("", None, 0, StatPersisted::default()));
        let names: Vec<String> = (0..5000).map(|n| format!("n{n}")).collect();
        for (count, name) in names.iter().enumerate() {
            let id = arena.insert(Node::new(name, None, 0, StatPersisted::default()));
            arena.link_child(root, id);
            index.insert(&arena, id);
            // Every earlier node is still found after each growth.
            if count.is_power_of_two() {
                for earlier in &names[..=count] {
                    assert!(index.find(&arena, root, earlier.as_bytes()).is_some());
                }
            }
        }
        assert_eq!(index.len(), names.len());
    }

    #[test]
    fn indexing_all_at_once_finds_each_and_refuses_a_duplicate() {
        let mut arena = NodeArena::new();
        let mut index = ChildIndex::default();
        let root = arena.insert(Node::new("", None, 0, StatPersisted::default()));
        let first = arena.insert(Node::new("first", None, 0, StatPersisted::default()));
        arena.link_child(root, first);
        index.insert(&arena, first);
        let mut ids = Vec::new();
        for n in 0..3000 {
            let parent = if n % 2 == 0 { root } else { first };
            let id = arena.insert(Node::new(
                &format!("n{n}"),
                None,
                0,
                StatPersisted::default(),
            ));
            arena.link_child(parent, id);
            ids.push(id);
        }
        index.insert_all(&arena, &ids).unwrap();
        assert_eq!(index.len(), ids.len() + 1);
        assert_eq!(index.find(&arena, root, b"first"), Some(first));
        for (n, &id) in ids.iter().enumerate() {
            let parent = if n % 2 == 0 { root } else { first };
            assert_eq!(
                index.find(&arena, parent, format!("n{n}").as_bytes()),
                Some(id)
            );
        }

        let twin = arena.insert(Node::new("n42", None, 0, StatPersisted::default()));
        arena.link_child(root, twin);
        assert_eq!(index.insert_all(&arena, &[twin]), Err(twin));
        assert_eq!(index.len(), ids.len() + 1, "the index is as it was");
        assert_eq!(index.find(&arena, root, b"n42"), Some(ids[42]));
    }
}
