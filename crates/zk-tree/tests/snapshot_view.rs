//! Copy-on-write snapshots: a `SnapshotView` or a `clone` taken between two transactions
//! must encode exactly as the tree did at that zxid, however the tree changes afterwards,
//! and neither side may see the other's changes.
//!
//! Every case starts from one shared base tree of about 2600 znodes (several arena chunks),
//! itself a clone, so the cases also check that the base never changes under them. Random
//! writes (creates, deletes, setData, setACL, sessions opening and closing with their
//! ephemerals) run before the view is taken, after it on the tree, and on the clone. The
//! reference for each tree is a replay of the same transactions onto a tree restored from
//! the base's snapshot bytes, which shares no memory with anything.

mod common;

use proptest::prelude::*;
use proptest::sample::Index;
use std::sync::OnceLock;
use zk_proto::{Acl, CreateMode, Id, Perms, Zxid};
use zk_tree::{DataTree, PendingChanges, TreeConfig, Txn, TxnResult, WriteRequest};

use common::loopback_auth as auth;

const START_MS: i64 = 1_700_000_000_000;
/// The sessions that own ephemerals.
const OWNERS: [i64; 2] = [7, 8];
const ANONYMOUS: i64 = 1;

/// A second ACL list: everything but ADMIN, so that the test's other writes still pass.
fn no_admin() -> Vec<Acl> {
    vec![Acl {
        perms: Perms::READ | Perms::WRITE | Perms::CREATE | Perms::DELETE,
        id: Id::anyone(),
    }]
}

fn create(path: &str, data: &[u8], acl: Vec<Acl>, mode: CreateMode) -> WriteRequest {
    WriteRequest::Create {
        path: path.to_owned(),
        data: Some(data.to_vec()),
        acl,
        mode,
        ttl_ms: None,
    }
}

/// Prepares and applies writes the way the server does, one zxid each, and remembers the
/// paths it created (deleted ones stay listed: a write to them fails, which is a
/// transaction too).
#[derive(Clone)]
struct Driver {
    tree: DataTree,
    pending: PendingChanges,
    next_zxid: i64,
    paths: Vec<String>,
}

impl Driver {
    fn write(&mut self, session: i64, request: &WriteRequest) -> Txn {
        let zxid = Zxid(self.next_zxid);
        self.next_zxid += 1;
        let txn = self.tree.prepare(
            &mut self.pending,
            &auth(session),
            zxid,
            START_MS + zxid.0,
            request,
        );
        let outcome = self.tree.apply(&txn);
        self.pending.applied(txn.zxid);
        if let TxnResult::Created { path, .. } = outcome.result {
            self.paths.push(path);
        }
        txn
    }

    fn step(&mut self, op: &Op) -> Txn {
        let pick = |index: &Index| self.paths[index.index(self.paths.len())].clone();
        let (session, request) = match op {
            Op::Create {
                parent,
                owner,
                data_len,
            } => {
                let path = format!("{}/s-", pick(parent));
                let data = vec![*data_len; usize::from(*data_len)];
                match owner {
                    Some(owner) => (
                        OWNERS[*owner],
                        create(
                            &path,
                            &data,
                            Acl::open_unsafe(),
                            CreateMode::EphemeralSequential,
                        ),
                    ),
                    None => (
                        ANONYMOUS,
                        create(
                            &path,
                            &data,
                            Acl::open_unsafe(),
                            CreateMode::PersistentSequential,
                        ),
                    ),
                }
            }
            Op::Delete { target } => (
                ANONYMOUS,
                WriteRequest::Delete {
                    path: pick(target),
                    version: -1,
                },
            ),
            Op::SetData { target, data_len } => (
                ANONYMOUS,
                WriteRequest::SetData {
                    path: pick(target),
                    data: Some(vec![*data_len; usize::from(*data_len)]),
                    version: -1,
                },
            ),
            Op::SetAcl { target, restricted } => (
                ANONYMOUS,
                WriteRequest::SetAcl {
                    path: pick(target),
                    acl: if *restricted {
                        no_admin()
                    } else {
                        Acl::open_unsafe()
                    },
                    version: -1,
                },
            ),
            Op::CloseSession { owner } => (OWNERS[*owner], WriteRequest::CloseSession),
            Op::CreateSession { owner } => (
                OWNERS[*owner],
                WriteRequest::CreateSession { timeout_ms: 6_000 },
            ),
        };
        self.write(session, &request)
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// A sequential znode under a known path, ephemeral if it has an owner.
    Create {
        parent: Index,
        owner: Option<usize>,
        data_len: u8,
    },
    Delete {
        target: Index,
    },
    SetData {
        target: Index,
        data_len: u8,
    },
    SetAcl {
        target: Index,
        /// Whether to set `no_admin()` rather than the open ACL.
        restricted: bool,
    },
    /// Deletes the session's ephemerals.
    CloseSession {
        owner: usize,
    },
    CreateSession {
        owner: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let owner = 0..OWNERS.len();
    prop_oneof![
        3 => (any::<Index>(), proptest::option::of(owner.clone()), 0u8..40)
            .prop_map(|(parent, owner, data_len)| Op::Create { parent, owner, data_len }),
        2 => any::<Index>().prop_map(|target| Op::Delete { target }),
        3 => (any::<Index>(), 0u8..40).prop_map(|(target, data_len)| Op::SetData { target, data_len }),
        1 => (any::<Index>(), any::<bool>()).prop_map(|(target, restricted)| Op::SetAcl { target, restricted }),
        1 => owner.clone().prop_map(|owner| Op::CloseSession { owner }),
        1 => owner.prop_map(|owner| Op::CreateSession { owner }),
    ]
}

/// The tree every case starts from, and its snapshot bytes.
struct Base {
    driver: Driver,
    bytes: Vec<u8>,
}

const BRANCHES: usize = 50;
const LEAVES_PER_BRANCH: usize = 50;

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut driver = Driver {
            tree: DataTree::new(TreeConfig::default()),
            pending: PendingChanges::default(),
            next_zxid: 1,
            paths: Vec::new(),
        };
        for owner in OWNERS {
            driver.write(owner, &WriteRequest::CreateSession { timeout_ms: 6_000 });
        }
        // A quota, so that the snapshot's quota paths and a stats node take part.
        for (path, data) in [
            ("/b00", &b""[..]),
            ("/zookeeper/quota/b00", b""),
            (
                "/zookeeper/quota/b00/zookeeper_limits",
                b"count=-1,bytes=-1",
            ),
            ("/zookeeper/quota/b00/zookeeper_stats", b"count=0,bytes=0"),
        ] {
            let request = create(path, data, Acl::open_unsafe(), CreateMode::Persistent);
            driver.write(ANONYMOUS, &request);
        }
        for branch in 1..BRANCHES {
            let path = format!("/b{branch:02}");
            driver.write(
                ANONYMOUS,
                &create(&path, b"", Acl::open_unsafe(), CreateMode::Persistent),
            );
        }
        for branch in 0..BRANCHES {
            for leaf in 0..LEAVES_PER_BRANCH {
                let path = format!("/b{branch:02}/n{leaf:02}");
                let acl = if leaf % 7 == 0 {
                    no_admin()
                } else {
                    Acl::open_unsafe()
                };
                let data = format!("leaf {branch} {leaf}");
                let request = create(&path, data.as_bytes(), acl, CreateMode::Persistent);
                driver.write(ANONYMOUS, &request);
            }
            let owner = OWNERS[branch % OWNERS.len()];
            let path = format!("/b{branch:02}/e");
            driver.write(
                owner,
                &create(&path, b"e", Acl::open_unsafe(), CreateMode::Ephemeral),
            );
        }
        assert!(driver.tree.node_count() > 2 * 1024, "spans several chunks");
        driver.tree.check_invariants();
        let bytes = driver.tree.to_snapshot_bytes();
        Base { driver, bytes }
    })
}

/// The tree the base becomes after `txns`, built without sharing any memory with it.
fn replay(base: &Base, txns: &[Txn]) -> Vec<u8> {
    let mut tree = DataTree::from_snapshot_bytes(&base.bytes, TreeConfig::default())
        .expect("the base snapshot restores");
    for txn in txns {
        tree.apply(txn);
    }
    tree.to_snapshot_bytes()
}

/// Equal snapshot bytes, without printing hundreds of kilobytes when they differ.
fn same_bytes(actual: &[u8], expected: &[u8]) -> bool {
    actual == expected
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_view_and_a_clone_keep_the_tree_as_it_was(
        before in proptest::collection::vec(op(), 0..30),
        after in proptest::collection::vec(op(), 1..60),
        on_the_clone in proptest::collection::vec(op(), 0..30),
    ) {
        let base = base();
        let mut live = base.driver.clone();
        let mut txns: Vec<Txn> = before.iter().map(|op| live.step(op)).collect();
        let expected = live.tree.to_snapshot_bytes();
        let zxid = live.tree.last_applied_zxid();
        let view = live.tree.snapshot_view();
        let mut fork = live.clone();
        let forked_at = txns.len();

        txns.extend(after.iter().map(|op| live.step(op)));
        prop_assert_eq!(view.last_applied_zxid(), zxid);
        prop_assert!(same_bytes(&view.to_snapshot_bytes(), &expected), "the view changed");
        prop_assert!(same_bytes(&fork.tree.to_snapshot_bytes(), &expected), "the clone changed");
        live.tree.check_invariants();
        prop_assert!(
            same_bytes(&live.tree.to_snapshot_bytes(), &replay(base, &txns)),
            "the tree differs from one that was never cloned"
        );

        // The clone is a tree of its own: its changes reach neither the tree nor the view.
        let live_bytes = live.tree.to_snapshot_bytes();
        let mut fork_txns = txns[..forked_at].to_vec();
        fork_txns.extend(on_the_clone.iter().map(|op| fork.step(op)));
        fork.tree.check_invariants();
        prop_assert!(same_bytes(&fork.tree.to_snapshot_bytes(), &replay(base, &fork_txns)));
        prop_assert!(same_bytes(&live.tree.to_snapshot_bytes(), &live_bytes));
        prop_assert!(same_bytes(&view.to_snapshot_bytes(), &expected));
        prop_assert!(same_bytes(&base.driver.tree.to_snapshot_bytes(), &base.bytes), "the base changed");
    }
}

/// Every znode changes after the view is taken, so every chunk is copied; the view must
/// still restore to the tree it was taken from.
#[test]
fn a_view_survives_a_change_to_every_znode() {
    let base = base();
    let mut live = base.driver.clone();
    let view = live.tree.snapshot_view();
    let paths = live.paths.clone();
    for path in &paths {
        live.write(
            ANONYMOUS,
            &WriteRequest::SetData {
                path: path.clone(),
                data: Some(b"rewritten".to_vec()),
                version: -1,
            },
        );
    }
    for owner in OWNERS {
        live.write(owner, &WriteRequest::CloseSession);
    }
    live.tree.check_invariants();
    let bytes = view.to_snapshot_bytes();
    assert!(same_bytes(&bytes, &base.bytes));
    let restored = DataTree::from_snapshot_bytes(&bytes, TreeConfig::default())
        .expect("the view's snapshot restores");
    restored.check_invariants();
    assert_eq!(restored.digest(), base.driver.tree.digest());
    assert_eq!(restored.node_count(), base.driver.tree.node_count());
}
