//! No committed transaction is lost: whatever any server delivered before epoch `e` was
//! established is part of `e`'s initial history. (A delivered transaction is committed, and a
//! client may have been told so.)

use zk_proto::Epoch;
use zk_zab::Txn;

/// Checks `history`, the initial history of `epoch`, against `delivered`, everything
/// delivered anywhere so far (in the agreed order, so `history` is a prefix of it).
pub fn initial_history_keeps_every_delivery(
    epoch: Epoch,
    history: &[Txn],
    delivered: &[Txn],
) -> Result<(), String> {
    match delivered[history.len().min(delivered.len())..]
        .iter()
        .find(|txn| txn.zxid.epoch() < epoch)
    {
        Some(lost) => Err(format!(
            "committed zxid {} (delivered already) is missing from the initial history of epoch {}, \
             which ends at {}",
            lost.zxid,
            epoch.0,
            history.last().map_or("the beginning".to_string(), |txn| txn.zxid.to_string())
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::Zxid;

    fn txn(epoch: u32, counter: u32) -> Txn {
        Txn::new(Zxid::new(Epoch(epoch), counter), vec![])
    }

    #[test]
    fn an_epoch_that_forgets_a_delivered_transaction_is_caught() {
        let delivered = [txn(1, 1), txn(1, 2)];
        let result = initial_history_keeps_every_delivery(Epoch(2), &delivered[..1], &delivered);
        assert!(result.is_err());
        assert!(initial_history_keeps_every_delivery(Epoch(2), &delivered, &delivered).is_ok());
    }
}
