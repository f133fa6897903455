//! A node a recipe created and must not leave behind if the operation that created it is
//! abandoned (an `acquire` future dropped by a `select!`, an error halfway): dropped while
//! armed, the guard deletes the node in the background.

use crate::client::Client;

/// Deletes its node on drop unless disarmed.
#[derive(Debug)]
pub(crate) struct NodeGuard {
    client: Client,
    path: Option<String>,
}

impl NodeGuard {
    pub(crate) fn new(client: &Client, path: String) -> Self {
        NodeGuard {
            client: client.clone(),
            path: Some(path),
        }
    }

    /// Keeps the node: the operation succeeded and someone else owns it now.
    pub(crate) fn disarm(&mut self) -> Option<String> {
        self.path.take()
    }

    /// Deletes the node now and waits for it.
    pub(crate) async fn delete_now(&mut self) {
        if let Some(path) = self.path.take() {
            delete_quietly(&self.client, &path).await;
        }
    }
}

impl Drop for NodeGuard {
    fn drop(&mut self) {
        let Some(path) = self.path.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let client = self.client.clone();
                runtime.spawn(async move { delete_quietly(&client, &path).await });
            }
            // No runtime left: the node goes with the session (it is ephemeral).
            Err(_) => tracing::debug!(%path, "no runtime to delete an abandoned node"),
        }
    }
}

/// Deletes `path`, retrying connection losses with the client's policy; a node that is
/// already gone is fine. If the connection stays down longer than the policy allows, a
/// background task goes on deleting it after each reconnection until it is gone or the
/// session ends (Curator's guaranteed delete): a lock node left behind by a live session
/// would block everyone queued after it.
pub(crate) async fn delete_quietly(client: &Client, path: &str) {
    match delete_with_retries(client, path).await {
        Ok(()) => {}
        Err(error) if error.is_connection_loss() => {
            let client = client.clone();
            let path = path.to_owned();
            tokio::spawn(async move { delete_after_reconnections(&client, &path).await });
        }
        Err(error) => tracing::warn!(%path, %error, "could not delete a recipe node"),
    }
}

async fn delete_with_retries(client: &Client, path: &str) -> crate::error::Result<()> {
    let mut rng = client.fork_rng();
    let result = crate::retry::with_retries(&client.config().retry_policy, &mut rng, || {
        client.delete(path, None)
    })
    .await;
    match result {
        Err(error) if error.is_no_node() => Ok(()),
        other => other,
    }
}

async fn delete_after_reconnections(client: &Client, path: &str) {
    loop {
        if client
            .wait_connected(client.config().session_timeout)
            .await
            .is_err()
            && client.state() == crate::state::ConnectionState::Closed
        {
            return;
        }
        match delete_with_retries(client, path).await {
            Ok(()) => return,
            Err(error) if error.is_connection_loss() => continue,
            // Expired or closed: the ephemeral node went with the session.
            Err(error) => {
                tracing::debug!(%path, %error, "gave up deleting a recipe node");
                return;
            }
        }
    }
}
