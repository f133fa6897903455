//! Protected creates, as Curator's `withProtection()` makes them: the node's name starts with
//! `_c_<uuid>-`, a fresh id per create, so that after a connection loss the client can find
//! the node its create made (if the server applied it) instead of creating a second one and
//! leaving the first as a ghost that nobody will delete (a ghost lock node blocks a lock
//! until the session ends).

use crate::client::Client;
use crate::error::{Error, Result};
use crate::path;
use crate::rng::SeededRng;
use zk_proto::CreateMode;

/// Curator's marker at the start of a protected node's name.
pub const PROTECTED_PREFIX: &str = "_c_";

/// The length of `_c_<uuid>-`: 3 + 36 + 1.
pub const PROTECTED_PREFIX_WITH_ID_LEN: usize = 40;

/// How often a create re-creates its missing parents before giving up with `NoNode`.
const MAX_PARENT_ATTEMPTS: u32 = 3;

/// `_c_<id>-` for a create with `id`.
pub fn protected_prefix(id: &str) -> String {
    format!("{PROTECTED_PREFIX}{id}-")
}

/// Whether a node name is a protected one (`_c_`, a UUID, `-`).
pub fn is_protected(name: &str) -> bool {
    name.len() > PROTECTED_PREFIX_WITH_ID_LEN
        && name.starts_with(PROTECTED_PREFIX)
        && name.as_bytes()[PROTECTED_PREFIX_WITH_ID_LEN - 1] == b'-'
}

/// A node name without its protected prefix (as Curator's `ProtectedUtils.normalize`).
pub fn strip_protection(name: &str) -> &str {
    if is_protected(name) {
        &name[PROTECTED_PREFIX_WITH_ID_LEN..]
    } else {
        name
    }
}

/// Creates `parent/_c_<fresh uuid>-name` with `mode`, creating missing parents as
/// containers. After a connection loss it looks for a child with its prefix before trying
/// again (bounded by the client's retry policy), so a lost reply never leaves a ghost.
///
/// If it fails while the outcome is unknown (the connection stayed down), or the future is
/// dropped halfway, a background task finds and deletes the node once the client is
/// connected again (Curator's `FindAndDeleteProtectedNodeInBackground`): the caller was
/// told the create did not happen, so the node must not stay.
pub async fn create_protected(
    client: &Client,
    parent: &str,
    name: &str,
    data: &[u8],
    mode: CreateMode,
    rng: &mut SeededRng,
) -> Result<String> {
    let prefix = protected_prefix(&rng.uuid());
    let mut cleanup = CleanupOnFailure {
        client: client.clone(),
        parent: parent.to_owned(),
        prefix: Some(prefix.clone()),
    };
    let created = create_with_prefix(client, parent, &prefix, name, data, mode, rng).await;
    match &created {
        Ok(_) => cleanup.disarm(),
        // The server refused it: nothing was created.
        Err(error) if !error.is_connection_loss() && *error != Error::Closed => cleanup.disarm(),
        Err(_) => {}
    }
    created
}

async fn create_with_prefix(
    client: &Client,
    parent: &str,
    prefix: &str,
    name: &str,
    data: &[u8],
    mode: CreateMode,
    rng: &mut SeededRng,
) -> Result<String> {
    let path = path::join(parent, &format!("{prefix}{name}"));
    let policy = client.config().retry_policy.clone();
    let mut retry_count = 0;
    // A container parent can be reaped between its creation and ours; try a few times.
    let mut parent_attempts = 0;
    loop {
        match client.create(&path, data, mode).await {
            Ok(created) => return Ok(created),
            Err(error) if error.is_no_node() && parent_attempts < MAX_PARENT_ATTEMPTS => {
                client.ensure_path_as(parent, CreateMode::Container).await?;
                parent_attempts += 1;
            }
            Err(error) if error.is_connection_loss() => {
                if let Some(found) = find_protected(client, parent, prefix).await? {
                    tracing::debug!(path = %found, "found the node of a create whose reply was lost");
                    return Ok(found);
                }
                let Some(delay) = policy.delay_before_retry(retry_count, rng) else {
                    return Err(error);
                };
                retry_count += 1;
                tokio::time::sleep(delay).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Armed while a protected create's outcome is unknown; dropped armed, it deletes whatever
/// node the create may have made, in the background.
struct CleanupOnFailure {
    client: Client,
    parent: String,
    prefix: Option<String>,
}

impl CleanupOnFailure {
    fn disarm(&mut self) {
        self.prefix = None;
    }
}

impl Drop for CleanupOnFailure {
    fn drop(&mut self) {
        let Some(prefix) = self.prefix.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.client.clone();
        let parent = std::mem::take(&mut self.parent);
        runtime.spawn(async move { find_and_delete(&client, &parent, &prefix).await });
    }
}

/// Deletes the child of `parent` with `prefix`, if any, waiting for the connection as long
/// as the client lives; gives up when the session ends (an ephemeral node goes with it).
async fn find_and_delete(client: &Client, parent: &str, prefix: &str) {
    loop {
        if client.state() == crate::state::ConnectionState::Closed {
            return;
        }
        if client
            .wait_connected(client.config().session_timeout)
            .await
            .is_err()
        {
            continue;
        }
        match find_protected(client, parent, prefix).await {
            Ok(Some(path)) => {
                tracing::debug!(%path, "deleting the node of an abandoned protected create");
                super::node_guard::delete_quietly(client, &path).await;
                return;
            }
            Ok(None) => return,
            Err(error) if error.is_connection_loss() => continue,
            Err(_) => return,
        }
    }
}

/// The child of `parent` whose name starts with `prefix`, if any.
pub async fn find_protected(client: &Client, parent: &str, prefix: &str) -> Result<Option<String>> {
    let children = match client.get_children(parent).await {
        Ok(children) => children,
        Err(error) if error.is_no_node() => return Ok(None),
        Err(error) => return Err(error),
    };
    Ok(children
        .iter()
        .find(|child| child.starts_with(prefix))
        .map(|child| path::join(parent, child)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_names_match_curators() {
        let id = SeededRng::new(1).uuid();
        let name = format!("{}lock-0000000003", protected_prefix(&id));
        assert_eq!(
            name.len(),
            PROTECTED_PREFIX_WITH_ID_LEN + "lock-0000000003".len()
        );
        assert!(is_protected(&name));
        assert_eq!(strip_protection(&name), "lock-0000000003");
        assert!(!is_protected("lock-0000000003"));
        assert_eq!(strip_protection("lock-0000000003"), "lock-0000000003");
    }
}
