//! Watches, as pure data structures: which connection watches what, and which
//! notifications a change of the tree produces. The WatchActor owns one [`WatchRegistry`].

mod registry;
mod table;

pub use registry::{Notification, PersistentKind, WatchRegistry, WatcherKind};
pub use table::{WatchMode, WatchTable, WatcherId};
