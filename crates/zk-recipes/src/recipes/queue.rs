//! A distributed queue with exactly-once consumption, FIFO or by priority.
//!
//! Items are persistent sequential nodes `<path>/_c_<uuid>-item-<priority>-<sequence>`
//! created with protection, so a producer whose reply was lost does not enqueue twice.
//! They are ordered by priority (lower first), then by sequence (FIFO).
//!
//! A consumer takes an item with one `multi`: delete the item and create a receipt
//! `<path>/receipt-<uuid>` (ephemeral, a fresh id per attempt). Only one consumer's delete
//! can succeed, so no item is taken twice; and if the reply is lost, the receipt tells the
//! consumer whether its take went through, so no item is lost either while the session
//! lives. (If the consumer's session dies between the take and its use, the item is gone
//! with it: exactly-once means at most one consumer, and no loss while consumers live.)

use super::lock::internals::sequence_key;
use super::protected::create_protected;
use crate::client::{op, Client};
use crate::error::{Error, Result};
use crate::path;
use crate::rng::SeededRng;
use std::time::Duration;
use tokio::time::Instant;
use zk_proto::{CreateMode, ErrorCode};

/// Item node names (after the protected prefix).
pub const ITEM_NAME: &str = "item-";
/// Receipt node names.
pub const RECEIPT_NAME: &str = "receipt-";

/// A distributed queue at one path.
#[derive(Debug)]
pub struct DistributedQueue {
    client: Client,
    path: String,
    rng: SeededRng,
}

/// The text of a priority that sorts as the number does (signed order in 8 hex digits).
pub fn priority_key(priority: i32) -> String {
    format!("{:08x}", (priority as u32) ^ 0x8000_0000)
}

impl DistributedQueue {
    /// The queue at `path` (created when first used).
    pub fn new(client: &Client, path: &str) -> Result<DistributedQueue> {
        path::validate(path, false)?;
        Ok(DistributedQueue {
            client: client.clone(),
            path: path.to_owned(),
            rng: client.id_rng(),
        })
    }

    /// Adds an item with priority 0.
    pub async fn put(&mut self, data: &[u8]) -> Result<()> {
        self.put_with_priority(data, 0).await
    }

    /// Adds an item; lower priorities are taken first, equal ones in FIFO order.
    pub async fn put_with_priority(&mut self, data: &[u8], priority: i32) -> Result<()> {
        self.client.ensure_path(&self.path).await?;
        let name = format!("{ITEM_NAME}{}-", priority_key(priority));
        create_protected(
            &self.client,
            &self.path,
            &name,
            data,
            CreateMode::PersistentSequential,
            &mut self.rng,
        )
        .await
        .map(|_| ())
    }

    /// The items' node names in taking order.
    pub async fn items(&self) -> Result<Vec<String>> {
        let children = match self.client.get_children(&self.path).await {
            Ok(children) => children,
            Err(error) if error.is_no_node() => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        let mut items: Vec<String> = children
            .into_iter()
            .filter(|child| child.contains(ITEM_NAME))
            .collect();
        items.sort_by(|a, b| sequence_key(a, &[ITEM_NAME]).cmp(sequence_key(b, &[ITEM_NAME])));
        Ok(items)
    }

    /// Takes the first item, if any, without waiting.
    pub async fn try_take(&mut self) -> Result<Option<Vec<u8>>> {
        for item in self.items().await? {
            if let Some(data) = self.take_item(&item).await? {
                return Ok(Some(data));
            }
        }
        Ok(None)
    }

    /// Takes the first item, waiting for one at most `timeout`.
    pub async fn take(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(data) = self.try_take().await? {
                return Ok(Some(data));
            }
            self.client.ensure_path(&self.path).await?;
            let (children, _, watch) = self.client.get_children_watch(&self.path).await?;
            if children.iter().any(|child| child.contains(ITEM_NAME)) {
                continue;
            }
            match tokio::time::timeout_at(deadline, watch).await {
                Ok(Err(Error::Closed)) => return Err(Error::Closed),
                Ok(_) => {}
                Err(_) => return Ok(None),
            }
        }
    }

    /// Takes `item`; `None` if another consumer took it first.
    async fn take_item(&mut self, item: &str) -> Result<Option<Vec<u8>>> {
        let item_path = path::join(&self.path, item);
        let data = match self.client.get_data(&item_path).await {
            Ok((data, _)) => data,
            Err(error) if error.is_no_node() => return Ok(None),
            Err(error) => return Err(error),
        };
        let receipt = path::join(&self.path, &format!("{RECEIPT_NAME}{}", self.rng.uuid()));
        let taken = self
            .client
            .multi(vec![
                op::delete(&item_path, None),
                op::create(&receipt, item.as_bytes(), CreateMode::Ephemeral),
            ])
            .await;
        let ours = match taken {
            Ok(_) => true,
            Err(Error::MultiFailed {
                index: 0,
                code: ErrorCode::NoNode,
            }) => false,
            Err(error) if error.is_connection_loss() => {
                // Did the take go through before the connection dropped? The receipt says.
                match self.client.exists(&receipt).await? {
                    Some(_) => true,
                    None => return Ok(None),
                }
            }
            Err(error) => return Err(error),
        };
        if ours {
            super::node_guard::delete_quietly(&self.client, &receipt).await;
            Ok(Some(data))
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_keys_sort_like_numbers() {
        let mut priorities = [5, -3, 0, i32::MIN, i32::MAX, -1];
        let mut keys: Vec<String> = priorities.iter().map(|&p| priority_key(p)).collect();
        keys.sort();
        priorities.sort();
        let expected: Vec<String> = priorities.iter().map(|&p| priority_key(p)).collect();
        assert_eq!(keys, expected);
    }
}
