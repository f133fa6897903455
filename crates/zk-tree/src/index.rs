//! The child index: finds the child of a node by name in O(1), so a path lookup costs one
//! probe per segment. One table for the whole tree, keyed by (parent id, name) and holding
//! only the 4-byte node id; the key is read back from the node itself.

use crate::hash::Mixer;
use crate::node::{NodeArena, NodeId};
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

    /// Makes room for `additional` more nodes at once, so that loading a snapshot does
    /// not rebuild the table at every doubling.
    pub fn reserve(&mut self, arena: &NodeArena, additional: usize) {
        if self.table.capacity() - self.table.len() < additional {
            self.grow(arena, self.table.len() + additional);
        }
    }

    /// Moves the index into a table with room for `capacity` nodes. Every node's key is
    /// read again, in id order: ids follow the order nodes were stored, so the reads walk
    /// the arena (and the names, allocated in the same order) nearly sequentially, where
    /// rehashing in table order would miss the cache twice per node. At millions of
    /// znodes that is the difference between a stall of seconds and a fraction of one.
    fn grow(&mut self, arena: &NodeArena, capacity: usize) {
        let mut ids: Vec<NodeId> = self.table.iter().copied().collect();
        ids.sort_unstable();
        let seed = self.seed;
        let hasher = |&id: &NodeId| Self::node_hash(seed, arena, id);
        let mut table = HashTable::with_capacity(capacity);
        for id in ids {
            table.insert_unique(hasher(&id), id, hasher);
        }
        self.table = table;
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

    /// Indexes `id`, already linked under its parent, unless its parent already has an
    /// indexed child of the same name: then returns false and changes nothing.
    pub fn insert_new(&mut self, arena: &NodeArena, id: NodeId) -> bool {
        self.reserve_one(arena);
        let seed = self.seed;
        let node = arena.get(id);
        let (parent, name) = (node.parent, node.name_bytes());
        let hash = Self::key_hash(seed, parent, name);
        let entry = self.table.entry(
            hash,
            |&other| {
                let other = arena.get(other);
                other.parent == parent && other.name_bytes() == name
            },
            |&other| Self::node_hash(seed, arena, other),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(id);
                true
            }
        }
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
    fn growing_keeps_every_lookup_and_duplicates_are_refused() {
        let mut arena = NodeArena::new();
        let mut index = ChildIndex::default();
        let root = arena.insert(Node::new("", None, 0, StatPersisted::default()));
        let names: Vec<String> = (0..5000).map(|n| format!("n{n}")).collect();
        for (count, name) in names.iter().enumerate() {
            let id = arena.insert(Node::new(name, None, 0, StatPersisted::default()));
            arena.link_child(root, id);
            assert!(index.insert_new(&arena, id));
            // Every earlier node is still found after each growth.
            if count.is_power_of_two() {
                for earlier in &names[..=count] {
                    assert!(index.find(&arena, root, earlier.as_bytes()).is_some());
                }
            }
        }
        assert_eq!(index.len(), names.len());
        let twin = arena.insert(Node::new("n42", None, 0, StatPersisted::default()));
        arena.link_child(root, twin);
        assert!(!index.insert_new(&arena, twin));
        assert_eq!(index.len(), names.len());
        assert_ne!(index.find(&arena, root, b"n42"), Some(twin));
    }
}
