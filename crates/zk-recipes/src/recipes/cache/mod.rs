//! Local caches of ZooKeeper data kept current through gap-free watches.
//!
//! - [`node`]: [`NodeCache`], one node's data (Curator's `NodeCache`/`CuratorCache` of one
//!   node).
//! - [`tree`]: [`TreeCache`], a subtree to a given depth, with change events.
//! - [`children`]: [`ChildrenCache`], a node's children with their data (Curator's
//!   `PathChildrenCache`), a tree cache one level deep.

pub mod children;
pub mod node;
pub mod tree;

pub use children::ChildrenCache;
pub use node::NodeCache;
pub use tree::{TreeCache, TreeEvent};
