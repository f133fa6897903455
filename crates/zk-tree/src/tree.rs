//! The state of the data tree and the primitive changes that transactions are made of
//! (Apache's `DataTree.createNode`, `deleteNode`, `setData`, `setACL`). The primitives keep
//! every index consistent: the child index, the interned ACLs, the ephemerals of each
//! session, the containers and TTL znodes, and the digest.

use crate::acl_cache::AclCache;
use crate::digest;
use crate::index::ChildIndex;
use crate::node::{Node, NodeArena, NodeId, NONE, ROOT};
use crate::path::{self, ZnodePath};
use crate::stat::{EphemeralKind, StatPersisted};
use std::collections::{BTreeMap, BTreeSet};
use zk_proto::{Acl, ErrorCode, SessionId, Stat, Zxid};

/// `/zookeeper`: the subtree the server owns.
pub const PROC_ZOOKEEPER: &str = "/zookeeper";
/// `/zookeeper/quota`: where quotas are recorded.
pub const QUOTA_ZOOKEEPER: &str = "/zookeeper/quota";
/// `/zookeeper/config`: the ensemble's dynamic configuration (read-only to clients).
pub const CONFIG_ZOOKEEPER: &str = "/zookeeper/config";

/// Settings that change what the tree accepts, and how it lays out its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeConfig {
    /// Apache's `zookeeper.extendedTypesEnabled`: TTL znodes are allowed (otherwise a TTL
    /// create fails with `Unimplemented`).
    pub extended_types_enabled: bool,
    /// Apache's `zookeeper.DigestAuthenticationProvider.superDigest`: the digest id
    /// (`"user:base64(sha1(user:password))"`) of the superuser.
    pub super_digest: Option<String>,
    /// The child index's seed. The index's layout, never its answers, depends on it: a
    /// host facing untrusted clients picks a random one per process, so that nobody can
    /// choose names that collide in the index. Set before the tree is built (or restored),
    /// it costs nothing; [`DataTree::set_index_seed`] rebuilds the index.
    pub index_seed: u64,
}

impl Default for TreeConfig {
    fn default() -> Self {
        TreeConfig {
            extended_types_enabled: false,
            super_digest: None,
            index_seed: crate::index::DEFAULT_SEED,
        }
    }
}

/// The znode tree: every znode with its data, stat and ACL, the sessions, and the indexes
/// that keep lookups fast. Changed only by [`DataTree::apply`] (and by restoring a
/// snapshot); read by the `get_*` methods.
///
/// `clone` shares the znodes copy-on-write (see the `node` module) but copies the child
/// index, a flat table of 4-byte ids (milliseconds at a million znodes); to freeze the
/// tree for a snapshot, [`DataTree::snapshot_view`] is cheaper still.
#[derive(Clone)]
pub struct DataTree {
    pub(crate) config: TreeConfig,
    pub(crate) nodes: NodeArena,
    pub(crate) index: ChildIndex,
    pub(crate) acls: AclCache,
    /// Session id -> timeout in ms.
    pub(crate) sessions: BTreeMap<SessionId, i32>,
    /// The ephemerals of each session that has some.
    pub(crate) ephemerals: BTreeMap<SessionId, BTreeSet<NodeId>>,
    pub(crate) containers: BTreeSet<NodeId>,
    pub(crate) ttls: BTreeSet<NodeId>,
    /// Paths with a quota (a `zookeeper_limits` znode), see the `quota` module.
    pub(crate) quota_roots: BTreeSet<String>,
    pub(crate) digest: u64,
    pub(crate) last_applied_zxid: Zxid,
}

/// A summary: a tree may hold millions of znodes.
impl std::fmt::Debug for DataTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataTree")
            .field("config", &self.config)
            .field("node_count", &self.node_count())
            .field("sessions", &self.sessions.len())
            .field("last_applied_zxid", &self.last_applied_zxid)
            .field("digest", &format_args!("{:#018x}", self.digest))
            .finish_non_exhaustive()
    }
}

impl DataTree {
    /// A tree holding what Apache's holds before any transaction: `/`, `/zookeeper`,
    /// `/zookeeper/quota` and `/zookeeper/config`, all with empty (not null) data and zero
    /// stats; `/zookeeper/config` is world-readable only, with `aversion` -1 (Apache sets
    /// its ACL with version -1), the others are open to all.
    pub fn new(config: TreeConfig) -> Self {
        let mut tree = DataTree::empty(config);
        let open = tree.acls.intern(&Acl::open_unsafe());
        let root = tree
            .nodes
            .insert(Node::new("", Some(b""), open, StatPersisted::default()));
        debug_assert_eq!(root, ROOT);
        tree.add_digest(ROOT, "/");
        let proc = tree.add_builtin(ROOT, "zookeeper", Acl::open_unsafe(), 0);
        tree.add_builtin(proc, "quota", Acl::open_unsafe(), 0);
        tree.add_builtin(proc, "config", Acl::read_unsafe(), -1);
        tree
    }

    /// A tree with no node at all (for restoring snapshots).
    pub(crate) fn empty(config: TreeConfig) -> Self {
        DataTree {
            index: ChildIndex::with_seed(config.index_seed),
            config,
            nodes: NodeArena::new(),
            acls: AclCache::default(),
            sessions: BTreeMap::new(),
            ephemerals: BTreeMap::new(),
            containers: BTreeSet::new(),
            ttls: BTreeSet::new(),
            quota_roots: BTreeSet::new(),
            digest: 0,
            last_applied_zxid: Zxid::ZERO,
        }
    }

    /// Adds one of the znodes every tree starts with. Like Apache's `addChild`, this leaves
    /// the parent's stat alone: only its child count changes.
    fn add_builtin(&mut self, parent: NodeId, name: &str, acl: Vec<Acl>, aversion: i32) -> NodeId {
        let parent_path = self.path_of(parent);
        self.sub_stat_digest(parent, &parent_path);
        let acl = self.acls.intern(&acl);
        let stat = StatPersisted {
            aversion,
            ..StatPersisted::default()
        };
        let id = self.nodes.insert(Node::new(name, Some(b""), acl, stat));
        self.nodes.link_child(parent, id);
        self.index.insert(&self.nodes, id);
        self.add_stat_digest(parent, &parent_path);
        self.add_digest(id, &path::join(&parent_path, name));
        id
    }

    /// The configuration the tree was built with.
    pub fn config(&self) -> &TreeConfig {
        &self.config
    }

    /// Rebuilds the child index with `seed`. The index's layout, never its answers, depends
    /// on the seed: a host facing untrusted clients sets a random one, so that nobody can
    /// pick names that collide in the index.
    pub fn set_index_seed(&mut self, seed: u64) {
        let mut live = Vec::with_capacity(self.nodes.len());
        self.collect_subtree(ROOT, &mut live);
        live.retain(|&id| id != ROOT);
        self.index.reseed(&self.nodes, seed, live);
    }

    /// The zxid of the last transaction applied (0 for a new tree).
    pub fn last_applied_zxid(&self) -> Zxid {
        self.last_applied_zxid
    }

    /// The replica digest: equal trees have equal digests (see the `digest` module).
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The number of znodes, the root included (4 in a new tree). Apache's `mntr`
    /// `zk_znode_count` is one more: its map holds the root twice, as `""` and `/`.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The number of distinct ACL lists stored (Apache's `aclCacheSize`).
    pub fn acl_list_count(&self) -> usize {
        self.acls.len()
    }

    /// Every session and its timeout in ms, by session id.
    pub fn sessions(&self) -> impl Iterator<Item = (SessionId, i32)> + '_ {
        self.sessions.iter().map(|(&id, &timeout)| (id, timeout))
    }

    /// The timeout of `session`, if the tree knows it.
    pub fn session_timeout(&self, session: SessionId) -> Option<i32> {
        self.sessions.get(&session).copied()
    }

    // ---- lookups ------------------------------------------------------------------------

    /// The node at `path`, looked up as Apache looks up its node map: by the exact string,
    /// where `""` and `"/"` both name the root and any string that is not a path names
    /// nothing.
    pub(crate) fn lookup(&self, path: &str) -> Option<NodeId> {
        if path.is_empty() || path == "/" {
            return Some(ROOT);
        }
        let rest = path.strip_prefix('/')?;
        let mut id = ROOT;
        for segment in rest.split('/') {
            if segment.is_empty() {
                return None;
            }
            id = self.index.find(&self.nodes, id, segment.as_bytes())?;
        }
        Some(id)
    }

    /// The path of a node, rebuilt from its ancestors.
    pub(crate) fn path_of(&self, id: NodeId) -> String {
        if id == ROOT {
            return "/".to_owned();
        }
        let mut names = Vec::new();
        let mut current = id;
        while current != ROOT {
            let node = self.nodes.get(current);
            names.push(node.name());
            current = node.parent;
        }
        let mut path = String::with_capacity(names.iter().map(|name| name.len() + 1).sum());
        for name in names.iter().rev() {
            path.push('/');
            path.push_str(name);
        }
        path
    }

    /// `id` and all its descendants, depth first.
    pub(crate) fn collect_subtree(&self, id: NodeId, out: &mut Vec<NodeId>) {
        let mut stack = vec![id];
        while let Some(id) = stack.pop() {
            out.push(id);
            stack.extend(self.nodes.children(id));
        }
    }

    /// The kind of znode `id` is.
    pub(crate) fn kind_of(&self, id: NodeId) -> EphemeralKind {
        EphemeralKind::of(
            self.nodes.get(id).stat().ephemeral_owner,
            self.config.extended_types_enabled,
        )
    }

    /// The stat clients see for `id`.
    pub(crate) fn client_stat(&self, id: NodeId) -> Stat {
        let node = self.nodes.get(id);
        node.stat().to_client(
            node.data_len(),
            node.num_children(),
            self.config.extended_types_enabled,
        )
    }

    /// The ACL of `id`.
    pub(crate) fn acl_of(&self, id: NodeId) -> &std::sync::Arc<[Acl]> {
        self.acls.get(self.nodes.get(id).acl)
    }

    // ---- primitive changes ----------------------------------------------------------------

    /// Adds the znode `path` (Apache's `DataTree.createNode`) and returns its stat. The
    /// parent's `cversion` is set
    /// to `parent_cversion` (-1: one more than now) and its `pzxid` to `zxid`, but only when
    /// that raises the `cversion`, which keeps replays idempotent.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create_node(
        &mut self,
        path: &ZnodePath,
        data: Option<&[u8]>,
        acl: &[Acl],
        ephemeral_owner: i64,
        parent_cversion: i32,
        zxid: Zxid,
        time_ms: i64,
    ) -> Result<Stat, ErrorCode> {
        let parent_path = path.parent().ok_or(ErrorCode::NodeExists)?;
        let parent = self.lookup(parent_path).ok_or(ErrorCode::NoNode)?;
        let name = path.name();
        if self
            .index
            .find(&self.nodes, parent, name.as_bytes())
            .is_some()
        {
            return Err(ErrorCode::NodeExists);
        }
        self.sub_stat_digest(parent, parent_path);
        self.nodes.get_mut(parent).update_stat(|stat| {
            let cversion = if parent_cversion == -1 {
                stat.cversion.wrapping_add(1)
            } else {
                parent_cversion
            };
            if cversion > stat.cversion {
                stat.cversion = cversion;
                stat.pzxid = zxid.0;
            }
        });
        let acl = self.acls.intern(acl);
        let stat = StatPersisted::created(zxid, time_ms, ephemeral_owner);
        let id = self.nodes.insert(Node::new(name, data, acl, stat));
        self.nodes.link_child(parent, id);
        self.index.insert(&self.nodes, id);
        self.add_stat_digest(parent, parent_path);
        self.add_digest(id, path.as_str());
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
        // The stat is taken before the quota bookkeeping, which may rewrite this very
        // node's data (when it is a quota's stats node), as Apache's is.
        let stat = self.client_stat(id);
        self.quota_on_create(parent_path, name, path.as_str(), stat.data_length as usize);
        Ok(stat)
    }

    /// Removes the childless znode `path` (Apache's `DataTree.deleteNode`). The parent's
    /// `pzxid` moves to `zxid` if that is newer, even when the child is already gone.
    pub(crate) fn delete_node(&mut self, path: &ZnodePath, zxid: Zxid) -> Result<(), ErrorCode> {
        let parent_path = path.parent().ok_or(ErrorCode::BadArguments)?;
        let parent = self.lookup(parent_path).ok_or(ErrorCode::NoNode)?;
        let child = self.index.find(&self.nodes, parent, path.name().as_bytes());
        if let Some(child) = child {
            // Apache would orphan the children; a log that asks for this is corrupt, and
            // refusing keeps the tree consistent.
            if self.nodes.get(child).num_children() > 0 {
                return Err(ErrorCode::NotEmpty);
            }
        }
        self.sub_stat_digest(parent, parent_path);
        if let Some(child) = child {
            self.sub_digest(child, path.as_str());
            self.index.remove(&self.nodes, child);
            self.nodes.unlink_child(child);
        }
        self.nodes.get_mut(parent).update_stat(|stat| {
            if zxid.0 > stat.pzxid {
                stat.pzxid = zxid.0;
            }
        });
        self.add_stat_digest(parent, parent_path);
        let child = child.ok_or(ErrorCode::NoNode)?;
        match self.kind_of(child) {
            EphemeralKind::Container => {
                self.containers.remove(&child);
            }
            EphemeralKind::Ttl { .. } => {
                self.ttls.remove(&child);
            }
            EphemeralKind::Ephemeral(session) => {
                if let Some(owned) = self.ephemerals.get_mut(&session) {
                    owned.remove(&child);
                    if owned.is_empty() {
                        self.ephemerals.remove(&session);
                    }
                }
            }
            EphemeralKind::Persistent => {}
        }
        self.acls.release(self.nodes.get(child).acl);
        let data_len = self.nodes.get(child).data_len();
        self.nodes.remove(child);
        self.quota_on_delete(parent_path, path.name(), path.as_str(), data_len);
        Ok(())
    }

    /// Replaces the data of `path` (Apache's `DataTree.setData`); `version` is the new
    /// version, computed when the transaction was prepared.
    pub(crate) fn set_data(
        &mut self,
        path: &ZnodePath,
        data: Option<&[u8]>,
        version: i32,
        zxid: Zxid,
        time_ms: i64,
    ) -> Result<Stat, ErrorCode> {
        let id = self.lookup(path.as_str()).ok_or(ErrorCode::NoNode)?;
        self.sub_digest(id, path.as_str());
        let node = self.nodes.get_mut(id);
        let old_len = node.data_len() as i64;
        let mut stat = node.stat();
        stat.mtime = time_ms;
        stat.mzxid = zxid.0;
        stat.version = version;
        node.set_data_and_stat(data, stat);
        self.add_digest(id, path.as_str());
        let stat = self.client_stat(id);
        let new_len = data.map_or(0, <[u8]>::len) as i64;
        self.quota_on_set_data(path.as_str(), new_len - old_len);
        Ok(stat)
    }

    /// Replaces the ACL of `path` (Apache's `DataTree.setACL`); `aversion` is the new ACL
    /// version.
    pub(crate) fn set_acl(
        &mut self,
        path: &str,
        acl: &[Acl],
        aversion: i32,
    ) -> Result<Stat, ErrorCode> {
        let id = self.lookup(path).ok_or(ErrorCode::NoNode)?;
        let path = self.path_of(id);
        self.sub_stat_digest(id, &path);
        let new_acl = self.acls.intern(acl);
        let node = self.nodes.get_mut(id);
        let old_acl = std::mem::replace(&mut node.acl, new_acl);
        node.update_stat(|stat| stat.aversion = aversion);
        self.acls.release(old_acl);
        self.add_stat_digest(id, &path);
        Ok(self.client_stat(id))
    }

    /// Replaces the data of `id` (at `path`) without touching its stat, as Apache's quota
    /// bookkeeping does, keeping the digest right.
    pub(crate) fn replace_data_keeping_stat(&mut self, id: NodeId, path: &str, data: &[u8]) {
        self.sub_digest(id, path);
        self.nodes.get_mut(id).set_data(Some(data));
        self.add_digest(id, path);
    }

    /// Replaces the stat of `id` (at `path`), keeping the digest right.
    pub(crate) fn replace_stat(&mut self, id: NodeId, path: &str, stat: StatPersisted) {
        self.sub_stat_digest(id, path);
        self.nodes.get_mut(id).set_stat(stat);
        self.add_stat_digest(id, path);
    }

    /// Sets `/zookeeper/config` outside any transaction, as every Apache replica does at
    /// start-up in an ensemble (`ZKDatabase.initConfigInZKDatabase`): version -1, `mzxid`
    /// the configuration's version.
    pub fn init_config_node(&mut self, data: &[u8], config_version: i64, time_ms: i64) {
        let path = ZnodePath::parse(CONFIG_ZOOKEEPER).expect("a valid constant");
        self.set_data(&path, Some(data), -1, Zxid(config_version), time_ms)
            .expect("/zookeeper/config always exists");
    }

    // ---- digest bookkeeping -----------------------------------------------------------------

    fn stat_digest(&self, id: NodeId, path: &str) -> u64 {
        let node = self.nodes.get(id);
        digest::stat_part(path, &node.stat(), node.num_children())
    }

    fn node_digest(&self, id: NodeId, path: &str) -> u64 {
        let node = self.nodes.get(id);
        digest::data_part(path, node.data()).wrapping_add(self.stat_digest(id, path))
    }

    fn add_digest(&mut self, id: NodeId, path: &str) {
        self.digest = self.digest.wrapping_add(self.node_digest(id, path));
    }

    fn sub_digest(&mut self, id: NodeId, path: &str) {
        self.digest = self.digest.wrapping_sub(self.node_digest(id, path));
    }

    fn add_stat_digest(&mut self, id: NodeId, path: &str) {
        self.digest = self.digest.wrapping_add(self.stat_digest(id, path));
    }

    fn sub_stat_digest(&mut self, id: NodeId, path: &str) {
        self.digest = self.digest.wrapping_sub(self.stat_digest(id, path));
    }

    /// The digest computed from scratch (for checks and snapshot restore).
    pub(crate) fn recompute_digest(&self) -> u64 {
        let mut ids = Vec::new();
        self.collect_subtree(ROOT, &mut ids);
        ids.iter().fold(0u64, |sum, &id| {
            sum.wrapping_add(self.node_digest(id, &self.path_of(id)))
        })
    }

    /// Memory held by the tree's own structures, excluding names and data: the arena and
    /// the child index. (The allocation-counting measurement in the README is the complete
    /// one.)
    pub fn structure_bytes(&self) -> usize {
        self.nodes.allocated_bytes() + self.index.allocated_bytes()
    }

    /// Asserts the invariants that tie the indexes to the nodes (tests and debugging).
    pub fn check_invariants(&self) {
        let mut ids = Vec::new();
        self.collect_subtree(ROOT, &mut ids);
        assert_eq!(ids.len(), self.nodes.len(), "every live node is reachable");
        assert_eq!(
            self.index.len(),
            ids.len() - 1,
            "every non-root node is indexed"
        );
        let mut ephemeral_count = 0;
        for &id in &ids {
            let node = self.nodes.get(id);
            assert_eq!(
                self.nodes.children(id).count(),
                node.num_children() as usize,
                "child count of {}",
                self.path_of(id)
            );
            if id != ROOT {
                assert_eq!(self.lookup(&self.path_of(id)), Some(id));
                assert_ne!(node.parent, NONE);
            }
            match self.kind_of(id) {
                EphemeralKind::Container => assert!(self.containers.contains(&id)),
                EphemeralKind::Ttl { .. } => assert!(self.ttls.contains(&id)),
                EphemeralKind::Ephemeral(session) => {
                    ephemeral_count += 1;
                    assert!(self.ephemerals[&session].contains(&id));
                    assert_eq!(node.num_children(), 0, "ephemerals have no children");
                }
                EphemeralKind::Persistent => {}
            }
        }
        let indexed: usize = self.ephemerals.values().map(BTreeSet::len).sum();
        assert_eq!(indexed, ephemeral_count, "ephemeral index");
        assert_eq!(self.digest, self.recompute_digest(), "incremental digest");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_tree_has_the_zookeeper_subtree() {
        let tree = DataTree::new(TreeConfig::default());
        tree.check_invariants();
        assert_eq!(tree.node_count(), 4);
        for path in ["", "/", PROC_ZOOKEEPER, QUOTA_ZOOKEEPER, CONFIG_ZOOKEEPER] {
            assert!(tree.lookup(path).is_some(), "{path}");
        }
        for path in [
            "/zookeeper/",
            "zookeeper",
            "//zookeeper",
            "/zookeeper//quota",
            "/x",
        ] {
            assert_eq!(tree.lookup(path), None, "{path}");
        }
        let config = tree.lookup(CONFIG_ZOOKEEPER).unwrap();
        assert_eq!(tree.path_of(config), CONFIG_ZOOKEEPER);
        assert_eq!(tree.client_stat(config).aversion, -1);
        assert_eq!(&**tree.acl_of(config), &Acl::read_unsafe()[..]);
        // Observed on Apache 3.8.0: root cversion -1, /zookeeper -2 (creations 0, minus children).
        assert_eq!(tree.client_stat(ROOT).cversion, -1);
        assert_eq!(tree.client_stat(ROOT).num_children, 1);
        let proc = tree.lookup(PROC_ZOOKEEPER).unwrap();
        assert_eq!(tree.client_stat(proc).cversion, -2);
        assert_eq!(tree.nodes.get(proc).data(), Some(&b""[..]));
    }

    #[test]
    fn reseeding_keeps_every_lookup() {
        let mut tree = DataTree::new(TreeConfig::default());
        tree.set_index_seed(12345);
        tree.check_invariants();
        assert!(tree.lookup(CONFIG_ZOOKEEPER).is_some());
    }

    #[test]
    fn a_tree_restored_with_a_seed_answers_like_the_original() {
        let original = DataTree::new(TreeConfig::default());
        let seeded = TreeConfig {
            index_seed: 0xfeed,
            ..TreeConfig::default()
        };
        let restored = DataTree::from_snapshot_bytes(&original.to_snapshot_bytes(), seeded)
            .expect("a snapshot of a new tree restores");
        restored.check_invariants();
        assert!(restored.lookup(CONFIG_ZOOKEEPER).is_some());
        assert_eq!(restored.to_snapshot_bytes(), original.to_snapshot_bytes());
    }

    #[test]
    fn init_config_node_sets_data_like_apache() {
        let mut tree = DataTree::new(TreeConfig::default());
        tree.init_config_node(b"server.1=a:1:2", 0x1_0000_0000, 77);
        let config = tree.lookup(CONFIG_ZOOKEEPER).unwrap();
        let stat = tree.client_stat(config);
        assert_eq!(
            (stat.version, stat.mzxid, stat.mtime),
            (-1, 0x1_0000_0000, 77)
        );
        tree.check_invariants();
    }
}
