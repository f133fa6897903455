//! Streaming a snapshot into a writer (`write_snapshot`) gives exactly the bytes of
//! `to_snapshot_bytes`, for a tree and for a view of it, and a writer's failure comes back
//! as that writer's own error.

mod common;

use std::io::{self, BufWriter, Write};
use zk_proto::{Acl, CreateMode, Id, Perms, Zxid};
use zk_tree::{DataTree, PendingChanges, TreeConfig, WriteRequest};

use common::loopback_auth as auth;

const START_MS: i64 = 1_700_000_000_000;

/// Prepares and applies writes as the server does, one zxid each.
struct Writer {
    tree: DataTree,
    pending: PendingChanges,
    next_zxid: i64,
}

impl Writer {
    fn write(&mut self, session: i64, request: WriteRequest) {
        let zxid = Zxid(self.next_zxid);
        self.next_zxid += 1;
        let (auth, time_ms) = (auth(session), START_MS + zxid.0);
        let txn = self
            .tree
            .prepare(&mut self.pending, &auth, zxid, time_ms, &request);
        self.tree.apply(&txn);
        self.pending.applied(zxid);
    }

    fn create(
        &mut self,
        session: i64,
        path: &str,
        data: Option<&[u8]>,
        acl: &[Acl],
        mode: CreateMode,
    ) {
        self.write(
            session,
            WriteRequest::Create {
                path: path.to_owned(),
                data: data.map(<[u8]>::to_vec),
                acl: acl.to_vec(),
                mode,
                ttl_ms: None,
            },
        );
    }
}

/// A tree with two sessions and their ephemerals, three ACL lists, null, empty and larger
/// data, a few hundred znodes on three levels, and a delete.
fn busy_tree() -> DataTree {
    let mut w = Writer {
        tree: DataTree::new(TreeConfig::default()),
        pending: PendingChanges::default(),
        next_zxid: 1,
    };
    let open = Acl::open_unsafe();
    let read_only = [Acl {
        perms: Perms::READ,
        id: Id::anyone(),
    }];
    let local_only = [Acl {
        perms: Perms::ALL,
        id: auth(0).ids[0].clone(),
    }];
    let persistent = CreateMode::Persistent;
    for session in [7, 8] {
        w.write(session, WriteRequest::CreateSession { timeout_ms: 6_000 });
    }
    w.create(1, "/app", None, &open, persistent);
    for branch in 0..10 {
        let parent = format!("/app/b{branch}");
        let acl: &[Acl] = if branch % 3 == 0 { &local_only } else { &open };
        w.create(1, &parent, Some(b""), acl, persistent);
        for leaf in 0..30 {
            let data = vec![leaf as u8; leaf * 10];
            w.create(
                1,
                &format!("{parent}/leaf-{leaf}"),
                Some(&data),
                &open,
                persistent,
            );
        }
        let owner = 7 + branch % 2;
        let ephemeral = CreateMode::EphemeralSequential;
        w.create(owner, &format!("{parent}/e-"), Some(b"x"), &open, ephemeral);
    }
    w.create(1, "/ro", Some(b"read only"), &read_only, persistent);
    let delete = WriteRequest::Delete {
        path: "/app/b4/leaf-3".into(),
        version: -1,
    };
    w.write(1, delete);
    assert!(w.tree.node_count() > 300, "{} znodes", w.tree.node_count());
    assert_eq!(w.tree.sessions().count(), 2);
    w.tree
}

#[test]
fn streamed_snapshots_equal_the_snapshot_bytes() {
    let tree = busy_tree();
    let bytes = tree.to_snapshot_bytes();
    assert_eq!(tree.write_snapshot(Vec::new()).unwrap(), bytes);

    let view = tree.snapshot_view();
    assert_eq!(view.to_snapshot_bytes(), bytes);
    assert_eq!(view.write_snapshot(Vec::new()).unwrap(), bytes);

    // Through a buffer far smaller than the snapshot, as a file writer would be.
    let mut buffered = view
        .write_snapshot(BufWriter::with_capacity(64, Vec::new()))
        .unwrap();
    buffered.flush().unwrap();
    assert_eq!(buffered.into_inner().unwrap(), bytes);

    let restored = DataTree::from_snapshot_bytes(&bytes, TreeConfig::default()).unwrap();
    restored.check_invariants();
    assert_eq!(restored.digest(), tree.digest());
}

/// Accepts `room` bytes, then fails every write with a recognisable error.
#[derive(Debug)]
struct FullAfter {
    room: usize,
}

impl Write for FullAfter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.room == 0 {
            return Err(io::Error::other("the test disk is full"));
        }
        let taken = bytes.len().min(self.room);
        self.room -= taken;
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_writer_returns_its_own_error() {
    let tree = busy_tree();
    let total = tree.to_snapshot_bytes().len();
    for room in [0, 1, 100, total / 2, total - 1] {
        let error = tree.write_snapshot(FullAfter { room }).unwrap_err();
        assert_eq!(error.to_string(), "the test disk is full", "room {room}");
        let error = tree
            .snapshot_view()
            .write_snapshot(FullAfter { room })
            .unwrap_err();
        assert_eq!(error.to_string(), "the test disk is full", "room {room}");
    }
    assert!(tree.write_snapshot(FullAfter { room: total }).is_ok());
}
