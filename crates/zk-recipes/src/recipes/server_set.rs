//! Servers going online and offline, and clients that hold the live list (the classic
//! `/servers` example): each server registers an ephemeral sequential node
//! `/servers/server<sequence>` holding its host name, re-created after a session expiry;
//! clients follow the children of `/servers`.

use super::group::{GroupMember, GroupMonitor};
use crate::client::Client;
use crate::error::Result;
use tokio::sync::watch;

/// The node name servers register under.
pub const SERVER_NODE_NAME: &str = "server";

/// Registers this server under `servers_path` with `host` as the node's data.
pub async fn register_server(
    client: &Client,
    servers_path: &str,
    host: &str,
) -> Result<GroupMember> {
    GroupMember::join(
        client,
        servers_path,
        SERVER_NODE_NAME,
        host.as_bytes(),
        true,
    )
    .await
}

/// The live list of servers under a path.
#[derive(Debug)]
pub struct ServerSetMonitor {
    group: GroupMonitor,
}

impl ServerSetMonitor {
    /// Follows `servers_path`; returns once the first list is loaded.
    pub async fn start(client: &Client, servers_path: &str) -> Result<ServerSetMonitor> {
        Ok(ServerSetMonitor {
            group: GroupMonitor::start(client, servers_path).await?,
        })
    }

    /// The live servers' hosts, in registration order.
    pub fn servers(&self) -> Vec<String> {
        hosts(&self.group.changes().borrow())
    }

    /// Waits until `predicate` holds for the live host list.
    pub async fn wait_for(&self, predicate: impl Fn(&[String]) -> bool) -> Result<Vec<String>> {
        let mut changes: watch::Receiver<Vec<super::group::Member>> = self.group.changes();
        let members = changes
            .wait_for(|members| predicate(&hosts(members)))
            .await
            .map_err(|_| crate::error::Error::Closed)?;
        Ok(hosts(&members))
    }
}

fn hosts(members: &[super::group::Member]) -> Vec<String> {
    let mut members: Vec<&super::group::Member> = members.iter().collect();
    // Protected names start with a random id: order by the sequence number.
    members.sort_by(|a, b| {
        super::protected::strip_protection(&a.name).cmp(super::protected::strip_protection(&b.name))
    });
    members
        .iter()
        .map(|member| String::from_utf8_lossy(&member.data).into_owned())
        .collect()
}
