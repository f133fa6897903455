//! The read operations, with Apache 3.8's checks (`FinalRequestProcessor`):
//!
//! | operation | permission checked |
//! |---|---|
//! | getData, getChildren, getChildren2, getAllChildrenNumber | READ |
//! | getACL | READ or ADMIN; without ADMIN, digest hashes are masked |
//! | exists, getEphemerals | none |
//!
//! Paths are not validated: like Apache, a read looks the string up as it is, so `""`
//! reads the root and any malformed path is simply `NoNode`. Only exists refuses a path
//! with a NUL character (`BadArguments`). A missing node is `NoNode` before any ACL check.

use crate::acl::{self, AuthContext};
use crate::node::{NodeId, ROOT};
use crate::tree::DataTree;
use zk_proto::{Acl, ErrorCode, Perms, SessionId, Stat};

impl DataTree {
    /// The data (`None` when null) and stat of `path`; needs READ.
    pub fn get_data(
        &self,
        path: &str,
        auth: &AuthContext,
    ) -> Result<(Option<&[u8]>, Stat), ErrorCode> {
        let id = self.readable(path, Perms::READ, auth)?;
        Ok((self.nodes.get(id).data(), self.client_stat(id)))
    }

    /// The stat of `path`, `None` if there is no such node. No permission is needed.
    pub fn exists(&self, path: &str) -> Result<Option<Stat>, ErrorCode> {
        if path.contains('\0') {
            return Err(ErrorCode::BadArguments);
        }
        Ok(self.lookup(path).map(|id| self.client_stat(id)))
    }

    /// The children's names, sorted (Apache answers in hash-set order, which clients must
    /// not rely on), and the stat of `path`; needs READ. Serves getChildren and
    /// getChildren2.
    pub fn get_children(
        &self,
        path: &str,
        auth: &AuthContext,
    ) -> Result<(Vec<String>, Stat), ErrorCode> {
        let id = self.readable(path, Perms::READ, auth)?;
        let mut names: Vec<String> = self
            .nodes
            .children(id)
            .map(|child| self.nodes.get(child).name().to_owned())
            .collect();
        names.sort_unstable();
        Ok((names, self.client_stat(id)))
    }

    /// The ACL and stat of `path`; needs READ or ADMIN. Without ADMIN the hash of every
    /// digest id reads as `x` (`user:x`).
    pub fn get_acl(&self, path: &str, auth: &AuthContext) -> Result<(Vec<Acl>, Stat), ErrorCode> {
        let id = self.readable(path, Perms::READ | Perms::ADMIN, auth)?;
        let stored = self.acl_of(id);
        let super_digest = self.config.super_digest.as_deref();
        let acl = if acl::check(stored, Perms::ADMIN, auth, super_digest).is_ok() {
            stored.to_vec()
        } else {
            acl::mask_digests(stored)
        };
        Ok((acl, self.client_stat(id)))
    }

    /// The number of descendants of `path` (all levels); needs READ. For `/` this counts
    /// every znode but the root, `/zookeeper` and its children included, as Apache does.
    pub fn get_all_children_number(
        &self,
        path: &str,
        auth: &AuthContext,
    ) -> Result<i32, ErrorCode> {
        let id = self.readable(path, Perms::READ, auth)?;
        if path.is_empty() {
            // Apache counts the keys of its node map that start with "/": every znode, as
            // the root is in the map as "/" too.
            return Ok(self.node_count() as i32);
        }
        if id == ROOT {
            return Ok(self.node_count() as i32 - 1);
        }
        let mut subtree = Vec::new();
        self.collect_subtree(id, &mut subtree);
        Ok(subtree.len() as i32 - 1)
    }

    /// The paths of the ephemerals `session` owns, sorted, limited to those starting with
    /// `prefix` (a plain string prefix, as in Apache). An empty or blank prefix, or `/`,
    /// selects all.
    pub fn get_ephemerals(&self, session: SessionId, prefix: &str) -> Vec<String> {
        let Some(owned) = self.ephemerals.get(&session) else {
            return Vec::new();
        };
        // Java's trim(): strips every char up to and including the space.
        let trimmed = prefix.trim_matches(|c: char| c <= ' ');
        let everything = trimmed.is_empty() || trimmed == "/";
        let mut paths: Vec<String> = owned
            .iter()
            .map(|&id| self.path_of(id))
            .filter(|path| everything || path.starts_with(prefix))
            .collect();
        paths.sort_unstable();
        paths
    }

    /// Whether `auth` may read `path` (NoNode, NoAuth): the check getData makes.
    pub fn check_read(&self, path: &str, auth: &AuthContext) -> Result<(), ErrorCode> {
        self.readable(path, Perms::READ, auth).map(|_| ())
    }

    /// The node at `path` if it exists and `auth` holds one of the bits of `perm` on it.
    fn readable(&self, path: &str, perm: Perms, auth: &AuthContext) -> Result<NodeId, ErrorCode> {
        let id = self.lookup(path).ok_or(ErrorCode::NoNode)?;
        acl::check(
            self.acl_of(id),
            perm,
            auth,
            self.config.super_digest.as_deref(),
        )?;
        Ok(id)
    }
}
