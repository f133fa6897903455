//! Translation between zk-proto's wire records and the pipeline's requests and replies.
//! Nothing here decides anything: it maps records field by field.

use crate::actors::tree::Operation;
use crate::pipeline::{ReadRequest, Reply, ReplyPayload, SetWatchesRequest};
use crate::watch::{PersistentKind, WatcherKind};
use zk_proto::frame::write_frame_with as write_frame;
use zk_proto::records::{
    Create2Response, CreateRequest, CreateResponse, ErrorResponse, ExistsResponse, GetAclResponse,
    GetAllChildrenNumberResponse, GetChildren2Response, GetChildrenResponse, GetDataResponse,
    GetEphemeralsResponse, MultiOp, MultiRequest, MultiResponse, MultiResult, ReplyHeader,
    SetDataResponse, SyncResponse, WatcherEvent,
};
use zk_proto::request::RequestBody;
use zk_proto::{
    AddWatchMode, CreateMode, Encode, ErrorCode, EventType, KeeperState, OpCode, WatcherType,
};
use zk_tree::WriteRequest;

/// What a decoded request asks of the connection.
#[derive(Debug)]
pub enum Inbound {
    /// Goes to the tree (reads, writes, watch requests, pings).
    Tree(Operation),
    /// Authentication, handled by the connection itself.
    Auth {
        scheme: String,
        credentials: Vec<u8>,
    },
    /// The client ends its session.
    CloseSession,
    /// Answered with an error, in order with the other replies.
    Reject(ErrorCode),
}

/// Maps a request body to what the connection does with it.
pub fn classify(body: RequestBody) -> Inbound {
    let read = |request| Inbound::Tree(Operation::Read(request));
    let write = |request| {
        Inbound::Tree(Operation::Write {
            request,
            multi_op_codes: Vec::new(),
        })
    };
    match body {
        RequestBody::Create(create)
        | RequestBody::Create2(create)
        | RequestBody::CreateContainer(create) => match create_request(create, None) {
            Ok(request) => write(request),
            Err(code) => Inbound::Reject(code),
        },
        RequestBody::CreateTtl(create) => {
            let request = CreateRequest {
                path: create.path,
                data: create.data,
                acl: create.acl,
                flags: create.flags,
            };
            match create_request(request, Some(create.ttl)) {
                Ok(request) => write(request),
                Err(code) => Inbound::Reject(code),
            }
        }
        RequestBody::Delete(delete) => write(WriteRequest::Delete {
            path: delete.path,
            version: delete.version,
        }),
        RequestBody::DeleteContainer(delete) => {
            write(WriteRequest::DeleteContainer { path: delete.path })
        }
        RequestBody::SetData(set) => write(WriteRequest::SetData {
            path: set.path,
            data: set.data,
            version: set.version,
        }),
        RequestBody::SetAcl(set) => write(WriteRequest::SetAcl {
            path: set.path,
            acl: set.acl,
            version: set.version,
        }),
        RequestBody::Check(check) => write(WriteRequest::Check {
            path: check.path,
            version: check.version,
        }),
        RequestBody::Multi(multi) => match multi_write(multi) {
            Ok((request, multi_op_codes)) => Inbound::Tree(Operation::Write {
                request,
                multi_op_codes,
            }),
            Err(code) => Inbound::Reject(code),
        },
        RequestBody::MultiRead(multi) => read(ReadRequest::MultiRead(
            multi
                .ops
                .into_iter()
                .map(|op| match op {
                    MultiOp::GetData(get) => ReadRequest::GetData {
                        path: get.path,
                        watch: false,
                    },
                    MultiOp::GetChildren(get) => ReadRequest::GetChildren {
                        path: get.path,
                        watch: false,
                        with_stat: false,
                    },
                    other => ReadRequest::Invalid {
                        op_code: other.op_code(),
                    },
                })
                .collect(),
        )),
        RequestBody::Exists(exists) => read(ReadRequest::Exists {
            path: exists.path,
            watch: exists.watch,
        }),
        RequestBody::GetData(get) => read(ReadRequest::GetData {
            path: get.path,
            watch: get.watch,
        }),
        RequestBody::GetAcl(get) => read(ReadRequest::GetAcl { path: get.path }),
        RequestBody::GetChildren(get) => read(ReadRequest::GetChildren {
            path: get.path,
            watch: get.watch,
            with_stat: false,
        }),
        RequestBody::GetChildren2(get) => read(ReadRequest::GetChildren {
            path: get.path,
            watch: get.watch,
            with_stat: true,
        }),
        RequestBody::GetAllChildrenNumber(get) => {
            read(ReadRequest::GetAllChildrenNumber { path: get.path })
        }
        RequestBody::GetEphemerals(get) => read(ReadRequest::GetEphemerals {
            prefix: get.prefix_path,
        }),
        RequestBody::Sync(sync) => read(ReadRequest::Sync { path: sync.path }),
        RequestBody::Ping => read(ReadRequest::Ping),
        RequestBody::WhoAmI => read(ReadRequest::WhoAmI),
        RequestBody::CheckWatches(check) => read(ReadRequest::CheckWatches {
            path: check.path,
            kind: watcher_kind(check.watcher_type),
        }),
        RequestBody::RemoveWatches(remove) => read(ReadRequest::RemoveWatches {
            path: remove.path,
            kind: watcher_kind(remove.watcher_type),
        }),
        RequestBody::AddWatch(add) => {
            let kind = match add.mode {
                AddWatchMode::Persistent => PersistentKind::Persistent,
                AddWatchMode::PersistentRecursive => PersistentKind::Recursive,
            };
            read(ReadRequest::AddWatch {
                path: add.path,
                kind,
            })
        }
        RequestBody::SetWatches(set) => read(ReadRequest::SetWatches(SetWatchesRequest {
            relative_zxid: set.relative_zxid,
            data: set.data_watches,
            exist: set.exist_watches,
            child: set.child_watches,
            ..SetWatchesRequest::default()
        })),
        RequestBody::SetWatches2(set) => read(ReadRequest::SetWatches(SetWatchesRequest {
            relative_zxid: set.relative_zxid,
            data: set.data_watches,
            exist: set.exist_watches,
            child: set.child_watches,
            persistent: set.persistent_watches,
            persistent_recursive: set.persistent_recursive_watches,
        })),
        RequestBody::Auth(auth) => Inbound::Auth {
            scheme: auth.scheme,
            credentials: auth.auth,
        },
        RequestBody::CloseSession => Inbound::CloseSession,
        // Dynamic reconfiguration is disabled, as it is by default on the reference server.
        RequestBody::Reconfig(_) => Inbound::Reject(ErrorCode::ReconfigDisabled),
        // No SASL mechanism is configured.
        RequestBody::Sasl(_) => Inbound::Reject(ErrorCode::AuthFailed),
    }
}

fn watcher_kind(watcher_type: WatcherType) -> WatcherKind {
    match watcher_type {
        WatcherType::Children => WatcherKind::Children,
        WatcherType::Data => WatcherKind::Data,
        _ => WatcherKind::Any,
    }
}

fn create_request(create: CreateRequest, ttl_ms: Option<i64>) -> Result<WriteRequest, ErrorCode> {
    let mode = CreateMode::from_flag(create.flags).map_err(|_| ErrorCode::BadArguments)?;
    Ok(WriteRequest::Create {
        path: create.path,
        data: create.data,
        acl: create.acl,
        mode,
        ttl_ms,
    })
}

/// A multi's operations as one write, with each operation's opcode (the reply of a create
/// inside a multi depends on whether it was a create or a create2).
fn multi_write(multi: MultiRequest) -> Result<(WriteRequest, Vec<OpCode>), ErrorCode> {
    let mut op_codes = Vec::with_capacity(multi.ops.len());
    let mut requests = Vec::with_capacity(multi.ops.len());
    for op in multi.ops {
        op_codes.push(op.op_code());
        requests.push(match op {
            MultiOp::Create(create)
            | MultiOp::Create2(create)
            | MultiOp::CreateContainer(create) => create_request(create, None)?,
            MultiOp::CreateTtl(create) => {
                let ttl = Some(create.ttl);
                let request = CreateRequest {
                    path: create.path,
                    data: create.data,
                    acl: create.acl,
                    flags: create.flags,
                };
                create_request(request, ttl)?
            }
            MultiOp::Delete(delete) => WriteRequest::Delete {
                path: delete.path,
                version: delete.version,
            },
            MultiOp::SetData(set) => WriteRequest::SetData {
                path: set.path,
                data: set.data,
                version: set.version,
            },
            MultiOp::Check(check) => WriteRequest::Check {
                path: check.path,
                version: check.version,
            },
            MultiOp::GetData(_) | MultiOp::GetChildren(_) => return Err(ErrorCode::BadArguments),
        });
    }
    Ok((WriteRequest::Multi(requests), op_codes))
}

/// Appends the frame of a reply: its header, then its body (error replies have none).
pub fn encode_reply(reply: &Reply, out: &mut Vec<u8>) {
    write_frame(out, |out| match &reply.result {
        Err(code) => ReplyHeader::error(reply.origin.xid, reply.zxid, *code).encode(out),
        Ok(payload) => {
            ReplyHeader::ok(reply.origin.xid, reply.zxid).encode(out);
            encode_payload(payload, out);
        }
    });
}

fn encode_payload(payload: &ReplyPayload, out: &mut Vec<u8>) {
    match payload {
        ReplyPayload::Empty | ReplyPayload::Deleted | ReplyPayload::RolledBack => {}
        ReplyPayload::ErrorResponseOk => ErrorResponse { err: 0 }.encode(out),
        ReplyPayload::Created { path, stat: None } => {
            CreateResponse { path: path.clone() }.encode(out)
        }
        ReplyPayload::Created {
            path,
            stat: Some(stat),
        } => Create2Response {
            path: path.clone(),
            stat: *stat,
        }
        .encode(out),
        ReplyPayload::Stat(stat) => ExistsResponse { stat: *stat }.encode(out),
        ReplyPayload::Data { data, stat } => GetDataResponse {
            data: data.clone(),
            stat: *stat,
        }
        .encode(out),
        ReplyPayload::Children { names, stat: None } => GetChildrenResponse {
            children: names.clone(),
        }
        .encode(out),
        ReplyPayload::Children {
            names,
            stat: Some(stat),
        } => GetChildren2Response {
            children: names.clone(),
            stat: *stat,
        }
        .encode(out),
        ReplyPayload::Acl { acl, stat } => GetAclResponse {
            acl: acl.clone(),
            stat: *stat,
        }
        .encode(out),
        ReplyPayload::Count(total_number) => GetAllChildrenNumberResponse {
            total_number: *total_number,
        }
        .encode(out),
        ReplyPayload::Paths(paths) => GetEphemeralsResponse {
            ephemerals: paths.clone(),
        }
        .encode(out),
        ReplyPayload::Synced { path } => SyncResponse { path: path.clone() }.encode(out),
        ReplyPayload::Identities(client_info) => zk_proto::records::WhoAmIResponse {
            client_info: client_info.clone(),
        }
        .encode(out),
        ReplyPayload::Multi(results) => multi_response(results).encode(out),
        ReplyPayload::MultiRead(results) => MultiResponse {
            results: results.iter().map(multi_result).collect(),
        }
        .encode(out),
    }
}

/// A multi's results in the reference's layout. When one operation failed, every result is
/// an error result: 0 for those before it, its code, then RuntimeInconsistency.
fn multi_response(results: &[Result<ReplyPayload, ErrorCode>]) -> MultiResponse {
    let failed = results
        .iter()
        .position(|result| matches!(result, Err(code) if *code != ErrorCode::RuntimeInconsistency));
    if let Some(index) = failed {
        let code = results[index]
            .clone()
            .err()
            .unwrap_or(ErrorCode::SystemError);
        return MultiResponse::failed(results.len(), index, code);
    }
    MultiResponse {
        results: results.iter().map(multi_result).collect(),
    }
}

/// The result record of one operation of a multi or multiRead.
fn multi_result(result: &Result<ReplyPayload, ErrorCode>) -> MultiResult {
    match result {
        Err(code) => MultiResult::error(*code),
        Ok(ReplyPayload::Created { path, stat: None }) => {
            MultiResult::Create(CreateResponse { path: path.clone() })
        }
        Ok(ReplyPayload::Created {
            path,
            stat: Some(stat),
        }) => MultiResult::Create2(Create2Response {
            path: path.clone(),
            stat: *stat,
        }),
        Ok(ReplyPayload::Stat(stat)) => MultiResult::SetData(SetDataResponse { stat: *stat }),
        Ok(ReplyPayload::Data { data, stat }) => MultiResult::GetData(GetDataResponse {
            data: data.clone(),
            stat: *stat,
        }),
        Ok(ReplyPayload::Children { names, .. }) => MultiResult::GetChildren(GetChildrenResponse {
            children: names.clone(),
        }),
        Ok(ReplyPayload::Deleted) => MultiResult::Delete,
        Ok(_) => MultiResult::Check,
    }
}

/// Appends the frame of a watch notification.
pub fn encode_notification(event: EventType, path: &str, out: &mut Vec<u8>) {
    write_frame(out, |out| {
        ReplyHeader::notification().encode(out);
        WatcherEvent {
            event_type: event,
            state: KeeperState::SyncConnected,
            path: path.to_owned(),
        }
        .encode(out);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::RequestOrigin;
    use crate::watch::WatcherId;
    use zk_proto::response::{decode_response, ResponseBody};
    use zk_proto::{SessionId, Stat, Xid, Zxid};

    fn encoded(opcode: OpCode, result: Result<ReplyPayload, ErrorCode>) -> Vec<u8> {
        let origin = RequestOrigin {
            connection: WatcherId(1),
            session: SessionId(1),
            xid: Xid(5),
            opcode,
            received_at_us: 0,
        };
        let mut out = Vec::new();
        encode_reply(
            &Reply {
                origin,
                zxid: Zxid(9),
                result,
            },
            &mut out,
        );
        out[4..].to_vec()
    }

    fn multi_results(opcode: OpCode, payload: &[u8]) -> Vec<MultiResult> {
        match decode_response(opcode, payload).unwrap().body {
            ResponseBody::Multi(response) => response.results,
            other => panic!("expected a multi response, got {other:?}"),
        }
    }

    #[test]
    fn multi_read_answers_each_read_on_its_own() {
        let data = ReplyPayload::Data {
            data: Some(b"x".to_vec()),
            stat: Stat::default(),
        };
        let payload = encoded(
            OpCode::MultiRead,
            Ok(ReplyPayload::MultiRead(vec![
                Ok(data),
                Err(ErrorCode::NoNode),
            ])),
        );
        let results = multi_results(OpCode::MultiRead, &payload);
        assert!(matches!(results[0], MultiResult::GetData(_)));
        assert_eq!(results[1], MultiResult::error(ErrorCode::NoNode));
    }

    #[test]
    fn a_failed_multi_uses_the_reference_layout() {
        let results = vec![
            Ok(ReplyPayload::RolledBack),
            Err(ErrorCode::NoNode),
            Err(ErrorCode::RuntimeInconsistency),
        ];
        let payload = encoded(OpCode::Multi, Ok(ReplyPayload::Multi(results)));
        assert_eq!(
            multi_results(OpCode::Multi, &payload),
            MultiResponse::failed(3, 1, ErrorCode::NoNode).results
        );
    }
}
