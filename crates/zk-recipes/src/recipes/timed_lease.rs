//! Leases that expire by time (kazoo's `NonBlockingLease` and `MultiNonBlockingLease`): a
//! holder node records who holds the lease and until when; anyone may take it once it has
//! run out, and the holder may renew it. Taking is a compare-and-set on the node's version,
//! so two contenders never both succeed. Time is the caller's wall clock (injected in
//! [`TimedLease::try_obtain_at`]): contenders need roughly synchronised clocks, as with
//! kazoo.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use zk_proto::{CreateMode, ErrorCode};

/// The holder node under a lease's path (kazoo's name).
pub const HOLDER_NODE: &str = "lease_holder";

/// A lease someone holds, as its node says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    /// Who holds it.
    pub holder: String,
    /// Until when, in milliseconds since the Unix epoch.
    pub until_ms: u64,
}

impl LeaseHolder {
    fn encode(&self) -> Vec<u8> {
        format!("{}\n{}", self.until_ms, self.holder).into_bytes()
    }

    fn decode(data: &[u8]) -> Option<LeaseHolder> {
        let text = std::str::from_utf8(data).ok()?;
        let (until, holder) = text.split_once('\n')?;
        Some(LeaseHolder {
            holder: holder.to_owned(),
            until_ms: until.parse().ok()?,
        })
    }
}

/// Time-limited leases on one path: `count` of them (1 for a single lease).
#[derive(Debug, Clone)]
pub struct TimedLease {
    client: Client,
    path: String,
    count: usize,
}

impl TimedLease {
    /// `count` leases at `path`.
    pub fn new(client: &Client, path: &str, count: usize) -> Result<TimedLease> {
        path::validate(path, false)?;
        if count == 0 {
            return Err(Error::InvalidArgument(
                "a lease path needs at least one lease".into(),
            ));
        }
        Ok(TimedLease {
            client: client.clone(),
            path: path.to_owned(),
            count,
        })
    }

    /// Tries to obtain (or renew) one lease for `holder` for `duration`, now; never waits.
    pub async fn try_obtain(&self, holder: &str, duration: Duration) -> Result<bool> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_millis() as u64)
            .unwrap_or(0);
        self.try_obtain_at(holder, duration, now_ms).await
    }

    /// [`TimedLease::try_obtain`] at a given wall-clock time.
    pub async fn try_obtain_at(
        &self,
        holder: &str,
        duration: Duration,
        now_ms: u64,
    ) -> Result<bool> {
        let taken = LeaseHolder {
            holder: holder.to_owned(),
            until_ms: now_ms.saturating_add(duration.as_millis() as u64),
        };
        // A holder renews its own lease first; otherwise the first free slot.
        let mut slots = Vec::with_capacity(self.count);
        for index in 0..self.count {
            let slot = self.slot_path(index);
            let current = match self.client.get_data(&slot).await {
                Ok((data, stat)) => Some((LeaseHolder::decode(&data), stat.version)),
                Err(error) if error.is_no_node() => None,
                Err(error) => return Err(error),
            };
            if let Some((Some(current_holder), version)) = &current {
                if current_holder.holder == holder {
                    return self.write(&slot, &taken, Some(*version)).await;
                }
            }
            slots.push((slot, current));
        }
        for (slot, current) in slots {
            let free = match &current {
                None => true,
                Some((Some(current_holder), _)) => current_holder.until_ms <= now_ms,
                // Unreadable data: treat as expired.
                Some((None, _)) => true,
            };
            if free && self.write(&slot, &taken, current.map(|(_, v)| v)).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Who holds each lease now (expired or not).
    pub async fn holders(&self) -> Result<Vec<LeaseHolder>> {
        let mut holders = Vec::new();
        for index in 0..self.count {
            match self.client.get_data(&self.slot_path(index)).await {
                Ok((data, _)) => holders.extend(LeaseHolder::decode(&data)),
                Err(error) if error.is_no_node() => {}
                Err(error) => return Err(error),
            }
        }
        Ok(holders)
    }

    fn slot_path(&self, index: usize) -> String {
        if self.count == 1 {
            path::join(&self.path, HOLDER_NODE)
        } else {
            path::join(&path::join(&self.path, &index.to_string()), HOLDER_NODE)
        }
    }

    /// Writes the holder node at `version` (`None`: create it); false if someone else won.
    async fn write(&self, slot: &str, taken: &LeaseHolder, version: Option<i32>) -> Result<bool> {
        let written = match version {
            Some(version) => self
                .client
                .set_data(slot, &taken.encode(), Some(version))
                .await
                .map(|_| ()),
            None => {
                self.client.ensure_parent(slot).await?;
                self.client
                    .create(slot, &taken.encode(), CreateMode::Persistent)
                    .await
                    .map(|_| ())
            }
        };
        match written {
            Ok(()) => Ok(true),
            Err(Error::Keeper(
                ErrorCode::BadVersion | ErrorCode::NodeExists | ErrorCode::NoNode,
            )) => Ok(false),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_round_trips() {
        let holder = LeaseHolder {
            holder: "worker\n1".into(),
            until_ms: 1234,
        };
        assert_eq!(LeaseHolder::decode(&holder.encode()), Some(holder));
        assert_eq!(LeaseHolder::decode(b"garbage"), None);
    }
}
