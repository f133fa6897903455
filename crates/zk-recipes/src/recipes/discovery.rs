//! Service discovery in Dubbo's ZooKeeper layout: providers register ephemeral nodes
//! `/dubbo/<service>/providers/<URL-encoded provider URL>`, consumers
//! `/dubbo/<service>/consumers/<URL-encoded consumer URL>` (the parents are persistent, as
//! Dubbo creates them). Registrations are re-created after a session expiry. Consumers
//! follow the providers list and pick one at random or round-robin.

use super::group::{GroupMember, GroupMonitor, Member};
use crate::client::Client;
use crate::error::Result;
use crate::path;
use crate::rng::SeededRng;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex as StdMutex;

/// Dubbo's default root.
pub const DEFAULT_ROOT: &str = "/dubbo";

/// Which list a registration goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `providers`.
    Provider,
    /// `consumers`.
    Consumer,
}

impl Role {
    /// The category's node name.
    pub fn category(self) -> &'static str {
        match self {
            Role::Provider => "providers",
            Role::Consumer => "consumers",
        }
    }
}

/// How a consumer picks a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Uniformly at random (seeded by the client).
    Random,
    /// Each in turn.
    RoundRobin,
}

/// A registry under one root (`/dubbo` by default).
#[derive(Debug, Clone)]
pub struct ServiceRegistry {
    client: Client,
    root: String,
}

impl ServiceRegistry {
    /// A registry at `root`.
    pub fn new(client: &Client, root: &str) -> Result<ServiceRegistry> {
        path::validate(root, false)?;
        Ok(ServiceRegistry {
            client: client.clone(),
            root: root.to_owned(),
        })
    }

    /// `<root>/<service>/<category>`.
    pub fn category_path(&self, service: &str, role: Role) -> String {
        path::join(&path::join(&self.root, service), role.category())
    }

    /// Registers `url` for `service` in `role`'s list, until the returned registration is
    /// left (or dropped).
    pub async fn register(&self, service: &str, role: Role, url: &str) -> Result<GroupMember> {
        let node_name = url_encode(url);
        GroupMember::join(
            &self.client,
            &self.category_path(service, role),
            &node_name,
            &[],
            false,
        )
        .await
    }

    /// Follows `service`'s providers.
    pub async fn subscribe(&self, service: &str) -> Result<Providers> {
        let monitor =
            GroupMonitor::start(&self.client, &self.category_path(service, Role::Provider)).await?;
        Ok(Providers {
            monitor,
            rng: StdMutex::new(self.client.fork_rng()),
            next: AtomicUsize::new(0),
        })
    }
}

/// The live providers of a service.
#[derive(Debug)]
pub struct Providers {
    monitor: GroupMonitor,
    rng: StdMutex<SeededRng>,
    next: AtomicUsize,
}

impl Providers {
    /// The providers' URLs, decoded, sorted.
    pub fn urls(&self) -> Vec<String> {
        urls(&self.monitor.members())
    }

    /// Waits until `predicate` holds for the URL list; returns it.
    pub async fn wait_for(&self, predicate: impl Fn(&[String]) -> bool) -> Result<Vec<String>> {
        let mut changes = self.monitor.changes();
        let members = changes
            .wait_for(|members| predicate(&urls(members)))
            .await
            .map_err(|_| crate::error::Error::Closed)?;
        Ok(urls(&members))
    }

    /// One provider's URL, chosen by `choice`; `None` if there is none.
    pub fn choose(&self, choice: Choice) -> Option<String> {
        let urls = self.urls();
        if urls.is_empty() {
            return None;
        }
        let index = match choice {
            Choice::Random => self
                .rng
                .lock()
                .map(|mut rng| rng.below(urls.len() as u64) as usize)
                .unwrap_or(0),
            Choice::RoundRobin => self.next.fetch_add(1, Ordering::Relaxed) % urls.len(),
        };
        urls.into_iter().nth(index)
    }
}

fn urls(members: &[Member]) -> Vec<String> {
    let mut urls: Vec<String> = members
        .iter()
        .filter_map(|member| url_decode(&member.name))
        .collect();
    urls.sort();
    urls
}

/// Encodes `text` as Java's `URLEncoder.encode(text, "UTF-8")` does (what Dubbo uses for
/// node names): letters, digits and `.-*_` stay, a space becomes `+`, every other byte of
/// the UTF-8 form becomes `%XX` (upper-case hex).
pub fn url_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                encoded.push(byte as char)
            }
            b' ' => encoded.push('+'),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

/// Decodes what [`url_encode`] (or Java's `URLEncoder`) produced; `None` for malformed
/// escapes or bytes that are not UTF-8.
pub fn url_decode(encoded: &str) -> Option<String> {
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => decoded.push(b' '),
            b'%' => {
                let hex = encoded.get(index + 1..index + 3)?;
                decoded.push(u8::from_str_radix(hex, 16).ok()?);
                index += 2;
            }
            other => decoded.push(other),
        }
        index += 1;
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_matches_java_url_encoder() {
        let url = "dubbo://192.168.0.1:20880/com.foo.BarService?anyhost=true&methods=a,b&x=1 2";
        let encoded = url_encode(url);
        // What java.net.URLEncoder.encode(url, "UTF-8") gives.
        assert_eq!(
            encoded,
            "dubbo%3A%2F%2F192.168.0.1%3A20880%2Fcom.foo.BarService%3Fanyhost%3Dtrue%26methods%3Da%2Cb%26x%3D1+2"
        );
        assert_eq!(url_decode(&encoded).as_deref(), Some(url));
        assert_eq!(url_encode("é"), "%C3%A9");
        assert_eq!(url_decode("%zz"), None);
        assert_eq!(url_decode("%4"), None);
    }
}
