//! The pipeline's ordering rules, asserted on the outputs it emits.

use super::*;
use crate::watch::WatcherId;
use zk_proto::CreateMode;
use zk_tree::TreeConfig;

const SESSION: SessionId = SessionId(7);
const CONNECTION: WatcherId = WatcherId(1);

fn pipeline() -> Pipeline {
    Pipeline::new(
        DataTree::new(TreeConfig::default()),
        PipelineLimits {
            max_in_flight_writes: 16,
        },
    )
}

fn auth() -> Arc<AuthContext> {
    Arc::new(AuthContext {
        session_id: SESSION,
        ids: Vec::new(),
    })
}

fn origin(xid: i32, opcode: OpCode) -> RequestOrigin {
    RequestOrigin {
        connection: CONNECTION,
        session: SESSION,
        xid: Xid(xid),
        opcode,
        received_at_us: 0,
    }
}

/// Submits a write from the test session's connection; returns its zxid.
fn client_write(pipeline: &mut Pipeline, xid: i32, opcode: OpCode, request: &WriteRequest) -> Zxid {
    pipeline
        .submit_write(
            WriteOrigin::Client(origin(xid, opcode)),
            &auth(),
            0,
            request,
            vec![],
        )
        .zxid
}

fn create(path: &str) -> WriteRequest {
    WriteRequest::Create {
        path: path.into(),
        data: Some(b"x".to_vec()),
        acl: Acl::open_unsafe(),
        mode: CreateMode::Persistent,
        ttl_ms: None,
    }
}

fn reply_xids(outputs: &[Output]) -> Vec<i32> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Reply { reply, .. } => Some(reply.origin.xid.0),
            _ => None,
        })
        .collect()
}

#[test]
fn a_read_waits_for_the_earlier_write_of_its_session() {
    let mut pipeline = pipeline();
    let mut out = Vec::new();
    let zxid = client_write(&mut pipeline, 1, OpCode::Create, &create("/a"));
    let read = ReadRequest::GetData {
        path: "/a".into(),
        watch: false,
    };
    pipeline.submit_read(origin(2, OpCode::GetData), auth(), read, &mut out);
    assert!(
        out.is_empty(),
        "the read must not run before the write is applied"
    );

    pipeline.on_committed(zxid, &mut out);
    assert_eq!(reply_xids(&out), vec![1, 2]);
    let Some(Output::Reply { reply, .. }) = out.last() else {
        panic!("expected the read's reply last")
    };
    assert!(
        matches!(&reply.result, Ok(ReplyPayload::Data { data: Some(data), .. }) if data == b"x")
    );
}

#[test]
fn reads_of_other_sessions_do_not_wait() {
    let mut pipeline = pipeline();
    let mut out = Vec::new();
    client_write(&mut pipeline, 1, OpCode::Create, &create("/a"));
    let other = RequestOrigin {
        session: SessionId(8),
        connection: WatcherId(2),
        ..origin(5, OpCode::Exists)
    };
    pipeline.submit_read(
        other,
        auth(),
        ReadRequest::Exists {
            path: "/a".into(),
            watch: true,
        },
        &mut out,
    );
    assert_eq!(reply_xids(&out), vec![5]);
    let Output::Reply { reply, watch } = &out[0] else {
        panic!("expected a reply")
    };
    assert_eq!(reply.result, Err(ErrorCode::NoNode));
    assert_eq!(watch, &Some(WatchRegistration::Data { path: "/a".into() }));
}

#[test]
fn triggers_come_before_the_reply_that_caused_them() {
    let mut pipeline = pipeline();
    let mut out = Vec::new();
    let zxid = client_write(&mut pipeline, 1, OpCode::Create, &create("/a"));
    pipeline.on_committed(zxid, &mut out);
    assert!(
        matches!(&out[0], Output::Trigger { event: EventType::NodeCreated, path } if path == "/a")
    );
    assert!(
        matches!(&out[1], Output::Trigger { event: EventType::NodeChildrenChanged, path } if path == "/")
    );
    assert!(matches!(&out[2], Output::Reply { .. }));
}

#[test]
fn a_closed_session_is_announced_after_its_reply() {
    let mut pipeline = pipeline();
    let mut out = Vec::new();
    let session = WriteRequest::CreateSession { timeout_ms: 10_000 };
    let zxid = pipeline
        .submit_write(WriteOrigin::Server, &auth(), 0, &session, vec![])
        .zxid;
    pipeline.on_committed(zxid, &mut out);
    out.clear();
    let close = client_write(
        &mut pipeline,
        9,
        OpCode::CloseSession,
        &WriteRequest::CloseSession,
    );
    pipeline.on_committed(close, &mut out);
    assert!(matches!(&out[0], Output::Reply { reply, .. } if reply.origin.xid == Xid(9)));
    assert!(matches!(&out[1], Output::SessionClosed { session } if *session == SESSION));
}

#[test]
fn pipelined_writes_see_each_other_before_they_apply() {
    let mut pipeline = pipeline();
    let mut out = Vec::new();
    client_write(&mut pipeline, 1, OpCode::Create, &create("/a"));
    let zxid = client_write(&mut pipeline, 2, OpCode::Create, &create("/a/b"));
    assert_eq!(pipeline.in_flight_writes(), 2);
    pipeline.on_committed(zxid, &mut out);
    let results: Vec<_> = out
        .iter()
        .filter_map(|output| match output {
            Output::Reply { reply, .. } => Some(reply.result.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        results,
        vec![
            Ok(ReplyPayload::Created {
                path: "/a".into(),
                stat: None
            }),
            Ok(ReplyPayload::Created {
                path: "/a/b".into(),
                stat: None
            }),
        ]
    );
    assert_eq!(pipeline.in_flight_writes(), 0);
}

#[test]
fn a_failed_multi_reports_rolled_back_ops_and_its_error() {
    let mut pipeline = pipeline();
    let mut out = Vec::new();
    let multi = WriteRequest::Multi(vec![
        create("/m"),
        WriteRequest::Delete {
            path: "/missing".into(),
            version: -1,
        },
    ]);
    let zxid = pipeline
        .submit_write(
            WriteOrigin::Client(origin(3, OpCode::Multi)),
            &auth(),
            0,
            &multi,
            vec![OpCode::Create, OpCode::Delete],
        )
        .zxid;
    pipeline.on_committed(zxid, &mut out);
    let Some(Output::Reply { reply, .. }) = out.last() else {
        panic!("expected a reply")
    };
    assert_eq!(
        reply.result,
        Ok(ReplyPayload::Multi(vec![
            Ok(ReplyPayload::RolledBack),
            Err(ErrorCode::NoNode)
        ]))
    );
}

/// A transaction as a leader would have prepared it on another server.
fn leader_txn(zxid: Zxid, request: &WriteRequest) -> Txn {
    let mut leader = pipeline();
    leader.start_epoch(zxid.epoch());
    let mut txn = leader
        .submit_write(WriteOrigin::Server, &auth(), 0, request, vec![])
        .clone();
    txn.zxid = zxid;
    txn
}

#[test]
fn a_learner_answers_a_forwarded_write_when_its_transaction_is_delivered() {
    let mut learner = pipeline();
    let mut out = Vec::new();
    let id = learner.forward_write(WriteOrigin::Client(origin(1, OpCode::Create)), vec![]);
    // A read behind the forwarded write of its session waits for it, as for a local one.
    let read = ReadRequest::Exists {
        path: "/a".into(),
        watch: false,
    };
    learner.submit_read(origin(2, OpCode::Exists), auth(), read, &mut out);
    assert!(out.is_empty());
    // Another server's transaction is applied without answering anyone here.
    let other = leader_txn(Zxid::new(Epoch(1), 1), &create("/other"));
    assert_eq!(
        learner.on_delivered(&other, None, &mut out),
        DeliveredOrigin::Other
    );
    assert!(reply_xids(&out).is_empty());
    let mine = leader_txn(Zxid::new(Epoch(1), 2), &create("/a"));
    learner.on_delivered(&mine, Some(id), &mut out);
    assert_eq!(
        reply_xids(&out),
        vec![1, 2],
        "the write's reply, then the read"
    );
    assert_eq!(learner.forwarded_requests(), 0);
    assert_eq!(learner.tree().last_applied_zxid(), Zxid::new(Epoch(1), 2));
    // A session write of the learner itself is reported, for its waiter.
    let session_write = learner.forward_write(WriteOrigin::Server, vec![]);
    let created = leader_txn(
        Zxid::new(Epoch(1), 3),
        &WriteRequest::CreateSession { timeout_ms: 4000 },
    );
    assert_eq!(
        learner.on_delivered(&created, Some(session_write), &mut out),
        DeliveredOrigin::ForwardedServerWrite(session_write)
    );
}

#[test]
fn a_forwarded_sync_is_answered_after_the_writes_delivered_before_it() {
    let mut learner = pipeline();
    let mut out = Vec::new();
    let sync = learner.forward_sync(origin(1, OpCode::Sync), "/".into());
    learner.on_delivered(
        &leader_txn(Zxid::new(Epoch(1), 1), &create("/a")),
        None,
        &mut out,
    );
    assert!(reply_xids(&out).is_empty());
    learner.on_sync_done(sync, &mut out);
    let Some(Output::Reply { reply, .. }) = out.last() else {
        panic!("no reply: {out:?}")
    };
    assert_eq!(reply.result, Ok(ReplyPayload::Synced { path: "/".into() }));
    assert_eq!(reply.zxid, Zxid::new(Epoch(1), 1));
    // An answer to a sync that was abandoned (a new leader) is ignored.
    learner.on_sync_done(sync, &mut out);
    assert_eq!(reply_xids(&out).len(), 1);
}

#[test]
fn a_new_leader_continues_at_its_epoch_and_drops_what_the_old_role_prepared() {
    let mut pipeline = pipeline();
    let mut out = Vec::new();
    client_write(&mut pipeline, 1, OpCode::Create, &create("/lost"));
    pipeline.abandon_uncommitted();
    assert_eq!(pipeline.in_flight_writes(), 0);
    pipeline.start_epoch(Epoch(3));
    let zxid = client_write(&mut pipeline, 2, OpCode::Create, &create("/kept"));
    assert_eq!(zxid, Zxid::new(Epoch(3), 1));
    assert!(pipeline.prepared(zxid).is_some());
    pipeline.on_committed(zxid, &mut out);
    assert_eq!(reply_xids(&out), vec![2]);
    assert_eq!(pipeline.tree().exists("/lost"), Ok(None));
}
