//! The tree's approximate data size, as Apache's `mntr` reports it
//! (`zk_approximate_data_size`): the sum over znodes of path length plus data length.

use crate::node::{NONE, ROOT};
use crate::tree::DataTree;

impl DataTree {
    /// Sum of every znode's full path length and data length, in bytes. Walks the tree
    /// (linear in the node count), so it is meant for monitoring, not for hot paths.
    pub fn approximate_data_size(&self) -> u64 {
        // (node, length of its full path)
        let mut stack = vec![(ROOT, 1u64)];
        let mut total = 0u64;
        while let Some((id, path_len)) = stack.pop() {
            let node = self.nodes.get(id);
            total += path_len + node.data_len() as u64;
            let mut child = node.first_child();
            while child != NONE {
                let child_node = self.nodes.get(child);
                let separator = u64::from(id != ROOT);
                stack.push((
                    child,
                    path_len + separator + child_node.name_bytes().len() as u64,
                ));
                child = child_node.next_sibling;
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use crate::tree::{DataTree, TreeConfig};

    #[test]
    fn counts_paths_and_data() {
        let tree = DataTree::new(TreeConfig::default());
        // "/" + "/zookeeper" + "/zookeeper/quota" + "/zookeeper/config", all without data.
        assert_eq!(tree.approximate_data_size(), (1 + 10 + 16 + 17) as u64);
    }
}
