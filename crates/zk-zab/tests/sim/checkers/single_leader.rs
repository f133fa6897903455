//! At most one leader establishes each epoch.

use std::collections::BTreeMap;
use zk_proto::{Epoch, ServerId};

#[derive(Debug, Default)]
pub struct SingleLeader {
    leaders: BTreeMap<Epoch, ServerId>,
}

impl SingleLeader {
    pub fn established(&mut self, leader: ServerId, epoch: Epoch) -> Result<(), String> {
        match self.leaders.insert(epoch, leader) {
            Some(earlier) if earlier != leader => Err(format!(
                "two leaders established epoch {}: server {earlier} and server {leader}",
                epoch.0
            )),
            _ => Ok(()),
        }
    }
}

#[test]
fn a_second_leader_in_one_epoch_is_caught() {
    let mut checker = SingleLeader::default();
    assert!(checker.established(ServerId(1), Epoch(3)).is_ok());
    assert!(checker.established(ServerId(2), Epoch(4)).is_ok());
    assert!(checker.established(ServerId(2), Epoch(3)).is_err());
}
