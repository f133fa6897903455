//! No discarded transaction is delivered: once epoch `e` is established with its initial
//! history, a transaction of an older epoch that is not in that history was skipped, and must
//! never be delivered anywhere afterwards.

use std::collections::BTreeMap;
use zk_proto::Epoch;
use zk_zab::Txn;

#[derive(Debug, Default)]
pub struct Integrity {
    /// Established epochs and the length of their initial histories.
    established: BTreeMap<Epoch, usize>,
}

impl Integrity {
    pub fn established(&mut self, epoch: Epoch, history_len: usize) {
        self.established.insert(epoch, history_len);
    }

    /// The agreed sequence grew: `txn` is its `index`-th transaction.
    pub fn appended(&self, index: usize, txn: &Txn) -> Result<(), String> {
        let skipped_by = self
            .established
            .iter()
            .find(|(epoch, history_len)| index >= **history_len && txn.zxid.epoch() < **epoch);
        match skipped_by {
            Some((epoch, history_len)) => Err(format!(
                "zxid {} was delivered as #{index} although epoch {} was established with a \
                 history of {history_len} transactions without it",
                txn.zxid, epoch.0
            )),
            None => Ok(()),
        }
    }
}

#[test]
fn a_resurrected_transaction_is_caught() {
    use zk_proto::Zxid;
    let mut checker = Integrity::default();
    checker.established(Epoch(2), 1);
    let skipped = Txn::new(Zxid::new(Epoch(1), 2), vec![]);
    let current = Txn::new(Zxid::new(Epoch(2), 1), vec![]);
    assert!(checker.appended(1, &skipped).is_err());
    assert!(checker.appended(1, &current).is_ok());
}
