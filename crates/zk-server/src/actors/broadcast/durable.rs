//! ZAB's durable writes as the LogActor takes them: epoch files, appends (tree txns, taken
//! from the leader's own proposals or decoded from the payload), TRUNC and SNAP.

use crate::quorum::payload::TxnPayload;
use crate::storage::background::QuorumWrite;
use crate::storage::epochs::{ACCEPTED_EPOCH_FILE, CURRENT_EPOCH_FILE};
use crate::storage::quorum_queue::QuorumDurable;
use std::collections::HashMap;
use std::path::Path;
use zk_proto::Zxid;
use zk_zab::DurableWrite;

/// The log write for `write`. The tree txns of this leader's own proposals are taken from
/// `own_unlogged`; any other payload is decoded, and one that does not decode is an error
/// (the log must not hold what the tree could not apply).
pub fn log_write(
    write: DurableWrite,
    data_dir: &Path,
    own_unlogged: &mut HashMap<Zxid, zk_tree::Txn>,
) -> Result<QuorumDurable, String> {
    let epoch_file = |file, epoch| {
        QuorumDurable::Other(QuorumWrite::Epoch {
            data_dir: data_dir.to_owned(),
            file,
            epoch,
        })
    };
    Ok(match write {
        DurableWrite::AcceptedEpoch { epoch } => epoch_file(ACCEPTED_EPOCH_FILE, epoch),
        DurableWrite::CurrentEpoch { epoch } => epoch_file(CURRENT_EPOCH_FILE, epoch),
        DurableWrite::AppendTxns { txns } => {
            let mut tree_txns = Vec::with_capacity(txns.len());
            for txn in txns {
                let tree_txn = match own_unlogged.remove(&txn.zxid) {
                    Some(own) => own,
                    None => {
                        TxnPayload::decode(txn.zxid, &txn.data)
                            .map_err(|reason| format!("undecodable proposal: {reason}"))?
                            .txn
                    }
                };
                tree_txns.push(tree_txn);
            }
            QuorumDurable::Append(tree_txns)
        }
        DurableWrite::TruncateLog { after } => {
            QuorumDurable::Other(QuorumWrite::Truncate { after })
        }
        DurableWrite::InstallSnapshot {
            snapshot_zxid,
            snapshot,
        } => QuorumDurable::Other(QuorumWrite::InstallSnapshot {
            data_dir: data_dir.to_owned(),
            zxid: snapshot_zxid,
            bytes: snapshot,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::{Epoch, SessionId};
    use zk_tree::{Txn, TxnBody};

    fn tree_txn(counter: u32) -> Txn {
        Txn {
            zxid: Zxid::new(Epoch(1), counter),
            time_ms: 0,
            session_id: SessionId(1),
            body: TxnBody::CreateSession { timeout_ms: 4000 },
        }
    }

    fn zab_txn(txn: &Txn) -> zk_zab::Txn {
        let data = TxnPayload {
            origin: None,
            txn: txn.clone(),
        }
        .encode()
        .unwrap();
        zk_zab::Txn::new(txn.zxid, data)
    }

    #[test]
    fn appends_take_own_proposals_as_they_are_and_decode_the_others() {
        let (mine, theirs) = (tree_txn(1), tree_txn(2));
        let mut own = HashMap::from([(mine.zxid, mine.clone())]);
        let mut garbled = zab_txn(&mine);
        garbled.data = vec![0xff].into();
        let write = DurableWrite::AppendTxns {
            txns: vec![garbled, zab_txn(&theirs)],
        };
        let Ok(QuorumDurable::Append(logged)) = log_write(write, Path::new("/d"), &mut own) else {
            panic!("not an append")
        };
        assert_eq!(logged, vec![mine, theirs.clone()]);
        assert!(own.is_empty());
        let undecodable = DurableWrite::AppendTxns {
            txns: vec![zk_zab::Txn::new(theirs.zxid, vec![1, 2])],
        };
        assert!(log_write(undecodable, Path::new("/d"), &mut own).is_err());
    }

    #[test]
    fn epochs_go_to_their_files() {
        let write = DurableWrite::CurrentEpoch { epoch: Epoch(4) };
        let Ok(QuorumDurable::Other(QuorumWrite::Epoch { file, epoch, .. })) =
            log_write(write, Path::new("/d"), &mut HashMap::new())
        else {
            panic!("not an epoch write")
        };
        assert_eq!((file, epoch), (CURRENT_EPOCH_FILE, Epoch(4)));
    }
}
