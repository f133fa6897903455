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
    /// not rehash the table at every doubling (each rehash reads every node again).
    pub fn reserve(&mut self, arena: &NodeArena, additional: usize) {
        let seed = self.seed;
        self.table
            .reserve(additional, |&id| Self::node_hash(seed, arena, id));
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
}
