//! Leader election with Curator's layouts.
//!
//! - [`latch`]: [`LeaderLatch`], leadership held until closed.
//! - [`selector`]: [`LeaderSelector`], leadership as a task that runs, ends (or is
//!   cancelled when the connection is suspended), and requeues.

pub mod latch;
pub mod selector;

pub use latch::LeaderLatch;
pub use selector::LeaderSelector;

use crate::client::Client;
use crate::error::Result;
use crate::path;
use crate::recipes::lock::internals::sort_children;

/// A participant of an election, as its node says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// The id the participant wrote into its node.
    pub id: String,
    /// Whether it is the leader (the first in order).
    pub is_leader: bool,
    /// Its node's name.
    pub node: String,
}

/// The participants under `path`, in election order, with the ids their nodes hold; nodes
/// that vanish while being read are skipped.
pub(crate) async fn participants(
    client: &Client,
    path: &str,
    names: &[&str],
) -> Result<Vec<Participant>> {
    let mut children = match client.get_children(path).await {
        Ok(children) => children,
        Err(error) if error.is_no_node() => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    sort_children(&mut children, names);
    let mut participants = Vec::with_capacity(children.len());
    for child in children {
        match client.get_data(&path::join(path, &child)).await {
            Ok((data, _)) => participants.push(Participant {
                id: String::from_utf8_lossy(&data).into_owned(),
                is_leader: participants.is_empty(),
                node: child,
            }),
            Err(error) if error.is_no_node() => {}
            Err(error) => return Err(error),
        }
    }
    Ok(participants)
}
