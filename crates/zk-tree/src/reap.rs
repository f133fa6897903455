//! Which containers and TTL znodes are due for removal (Apache's
//! `ContainerManager.getCandidates`). The server turns each candidate into a
//! [`crate::WriteRequest::DeleteContainer`]; prepare checks again that it is still empty,
//! since a child may arrive in between.

use crate::stat::EphemeralKind;
use crate::tree::DataTree;

impl DataTree {
    /// Paths to reap at `now_ms`, sorted: containers that have had a child and have none
    /// now, and childless TTL znodes not modified for longer than their TTL. Apache's
    /// default (`znode.container.maxNeverUsedIntervalMs` = 0) keeps never-used containers.
    pub fn reap_candidates(&self, now_ms: i64) -> Vec<String> {
        self.reap_candidates_with(now_ms, 0)
    }

    /// As [`DataTree::reap_candidates`], also reaping containers that never had a child
    /// once unmodified for more than `max_never_used_interval_ms` (0: never).
    pub fn reap_candidates_with(
        &self,
        now_ms: i64,
        max_never_used_interval_ms: i64,
    ) -> Vec<String> {
        let mut candidates = Vec::new();
        for &id in &self.containers {
            let node = self.nodes.get(id);
            if node.num_children() != 0 {
                continue;
            }
            // `cversion` counts child creations: > 0 means the container was used.
            let stat = node.stat();
            let used = stat.cversion > 0;
            let elapsed_ms = now_ms.wrapping_sub(stat.mtime);
            let abandoned =
                max_never_used_interval_ms != 0 && elapsed_ms > max_never_used_interval_ms;
            if used || abandoned {
                candidates.push(self.path_of(id));
            }
        }
        for &id in &self.ttls {
            let node = self.nodes.get(id);
            if node.num_children() != 0 {
                continue;
            }
            if let EphemeralKind::Ttl { ttl_ms } = self.kind_of(id) {
                let elapsed_ms = now_ms.wrapping_sub(node.stat().mtime);
                if ttl_ms != 0 && elapsed_ms > ttl_ms {
                    candidates.push(self.path_of(id));
                }
            }
        }
        candidates.sort_unstable();
        candidates
    }
}
