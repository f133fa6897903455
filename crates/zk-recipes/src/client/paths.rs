//! Helpers over whole paths that recipes and applications need: create every missing
//! ancestor (Curator's `creatingParentsIfNeeded`), delete a subtree.

use super::Client;
use crate::error::Result;
use crate::path;
use zk_proto::CreateMode;

impl Client {
    /// Creates `path` and every missing ancestor as empty persistent nodes; existing nodes are
    /// left as they are. Safe to retry.
    pub async fn ensure_path(&self, path: &str) -> Result<()> {
        self.ensure_path_as(path, CreateMode::Persistent).await
    }

    /// [`Client::ensure_path`] creating the missing nodes with `mode` (`Container` for the
    /// parents of recipe nodes, as Curator's `creatingParentContainersIfNeeded`: the server
    /// deletes them once their last child goes).
    pub async fn ensure_path_as(&self, path: &str, mode: CreateMode) -> Result<()> {
        path::validate(path, false)?;
        if path == "/" || self.exists(path).await?.is_some() {
            return Ok(());
        }
        for ancestor in path::ancestors(path).chain(std::iter::once(path)) {
            match self.create(ancestor, &[], mode).await {
                Ok(_) => {}
                Err(error) if error.is_node_exists() => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Creates the missing ancestors of `path` (not `path` itself).
    pub async fn ensure_parent(&self, path: &str) -> Result<()> {
        match path::parent(path) {
            Some(parent) => self.ensure_path(parent).await,
            None => Ok(()),
        }
    }

    /// Deletes `path` and everything under it, children first; nodes that vanish meanwhile
    /// are fine. Not atomic: concurrent creations under `path` can make it fail with
    /// `NotEmpty`.
    pub async fn delete_all(&self, path: &str) -> Result<()> {
        let mut stack = vec![(path.to_owned(), false)];
        while let Some((node, children_done)) = stack.pop() {
            if children_done {
                match self.delete(&node, None).await {
                    Ok(()) => {}
                    Err(error) if error.is_no_node() => {}
                    Err(error) => return Err(error),
                }
                continue;
            }
            let children = match self.get_children(&node).await {
                Ok(children) => children,
                Err(error) if error.is_no_node() => continue,
                Err(error) => return Err(error),
            };
            stack.push((node.clone(), true));
            for child in children {
                stack.push((path::join(&node, &child), false));
            }
        }
        Ok(())
    }
}
