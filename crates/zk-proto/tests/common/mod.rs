//! Proptest strategies for every record, shared by the round-trip and robustness tests.

#![allow(dead_code)]

use proptest::prelude::*;
use zk_proto::*;

pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "/[a-z0-9/._-]{0,24}",
        1 => any::<String>(),
    ]
}

pub fn optional_text() -> impl Strategy<Value = Option<String>> {
    prop::option::of(text())
}

pub fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..48)
}

pub fn optional_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop::option::of(bytes())
}

pub fn paths() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(text(), 0..5)
}

pub fn xid() -> impl Strategy<Value = Xid> {
    any::<i32>().prop_map(Xid)
}

pub fn zxid() -> impl Strategy<Value = Zxid> {
    any::<i64>().prop_map(Zxid)
}

pub fn session_id() -> impl Strategy<Value = SessionId> {
    any::<i64>().prop_map(SessionId)
}

pub fn id() -> impl Strategy<Value = Id> {
    (text(), text()).prop_map(|(scheme, id)| Id { scheme, id })
}

pub fn acl() -> impl Strategy<Value = Acl> {
    (any::<i32>(), id()).prop_map(|(perms, id)| Acl {
        perms: Perms(perms),
        id,
    })
}

pub fn acls() -> impl Strategy<Value = Vec<Acl>> {
    prop::collection::vec(acl(), 0..4)
}

pub fn stat() -> impl Strategy<Value = Stat> {
    (
        (any::<i64>(), any::<i64>(), any::<i64>(), any::<i64>()),
        (any::<i32>(), any::<i32>(), any::<i32>()),
        (any::<i64>(), any::<i32>(), any::<i32>(), any::<i64>()),
    )
        .prop_map(
            |(
                (czxid, mzxid, ctime, mtime),
                (version, cversion, aversion),
                (ephemeral_owner, data_length, num_children, pzxid),
            )| Stat {
                czxid,
                mzxid,
                ctime,
                mtime,
                version,
                cversion,
                aversion,
                ephemeral_owner,
                data_length,
                num_children,
                pzxid,
            },
        )
}

pub fn client_info() -> impl Strategy<Value = ClientInfo> {
    (text(), text()).prop_map(|(auth_scheme, user)| ClientInfo { auth_scheme, user })
}

pub fn op_code() -> impl Strategy<Value = OpCode> {
    prop::sample::select(OpCode::ALL)
}

pub fn event_type() -> impl Strategy<Value = EventType> {
    prop::sample::select(
        &[
            EventType::None,
            EventType::NodeCreated,
            EventType::NodeDeleted,
            EventType::NodeDataChanged,
            EventType::NodeChildrenChanged,
            EventType::DataWatchRemoved,
            EventType::ChildWatchRemoved,
            EventType::PersistentWatchRemoved,
        ][..],
    )
}

pub fn keeper_state() -> impl Strategy<Value = KeeperState> {
    prop::sample::select(
        &[
            KeeperState::Disconnected,
            KeeperState::SyncConnected,
            KeeperState::AuthFailed,
            KeeperState::ConnectedReadOnly,
            KeeperState::SaslAuthenticated,
            KeeperState::Expired,
            KeeperState::Closed,
        ][..],
    )
}

pub fn watcher_type() -> impl Strategy<Value = WatcherType> {
    prop::sample::select(
        &[
            WatcherType::Children,
            WatcherType::Data,
            WatcherType::Any,
            WatcherType::Persistent,
            WatcherType::PersistentRecursive,
        ][..],
    )
}

pub fn add_watch_mode() -> impl Strategy<Value = AddWatchMode> {
    prop::sample::select(&[AddWatchMode::Persistent, AddWatchMode::PersistentRecursive][..])
}

// Headers.

pub fn request_header() -> impl Strategy<Value = RequestHeader> {
    (xid(), op_code()).prop_map(|(xid, op_code)| RequestHeader { xid, op_code })
}

pub fn reply_header() -> impl Strategy<Value = ReplyHeader> {
    (xid(), zxid(), any::<i32>()).prop_map(|(xid, zxid, err)| ReplyHeader { xid, zxid, err })
}

pub fn multi_header() -> impl Strategy<Value = MultiHeader> {
    (any::<i32>(), any::<bool>(), any::<i32>()).prop_map(|(op_type, done, err)| MultiHeader {
        op_type,
        done,
        err,
    })
}

// Handshake.

pub fn connect_request() -> impl Strategy<Value = ConnectRequest> {
    (
        any::<i32>(),
        zxid(),
        any::<i32>(),
        session_id(),
        bytes(),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(protocol_version, last_zxid_seen, time_out, session_id, passwd, read_only)| {
                ConnectRequest {
                    protocol_version,
                    last_zxid_seen,
                    time_out,
                    session_id,
                    passwd,
                    read_only,
                }
            },
        )
}

pub fn connect_response() -> impl Strategy<Value = ConnectResponse> {
    (
        any::<i32>(),
        any::<i32>(),
        session_id(),
        bytes(),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(protocol_version, time_out, session_id, passwd, read_only)| ConnectResponse {
                protocol_version,
                time_out,
                session_id,
                passwd,
                read_only,
            },
        )
}

// Znode requests and responses.

pub fn get_data_request() -> impl Strategy<Value = GetDataRequest> {
    (text(), any::<bool>()).prop_map(|(path, watch)| GetDataRequest { path, watch })
}

pub fn set_data_request() -> impl Strategy<Value = SetDataRequest> {
    (text(), optional_bytes(), any::<i32>()).prop_map(|(path, data, version)| SetDataRequest {
        path,
        data,
        version,
    })
}

pub fn reconfig_request() -> impl Strategy<Value = ReconfigRequest> {
    (
        optional_text(),
        optional_text(),
        optional_text(),
        any::<i64>(),
    )
        .prop_map(
            |(joining_servers, leaving_servers, new_members, cur_config_id)| ReconfigRequest {
                joining_servers,
                leaving_servers,
                new_members,
                cur_config_id,
            },
        )
}

pub fn set_data_response() -> impl Strategy<Value = SetDataResponse> {
    stat().prop_map(|stat| SetDataResponse { stat })
}

pub fn create_request() -> impl Strategy<Value = CreateRequest> {
    (text(), optional_bytes(), acls(), any::<i32>()).prop_map(|(path, data, acl, flags)| {
        CreateRequest {
            path,
            data,
            acl,
            flags,
        }
    })
}

pub fn create_ttl_request() -> impl Strategy<Value = CreateTtlRequest> {
    (text(), optional_bytes(), acls(), any::<i32>(), any::<i64>()).prop_map(
        |(path, data, acl, flags, ttl)| CreateTtlRequest {
            path,
            data,
            acl,
            flags,
            ttl,
        },
    )
}

pub fn delete_request() -> impl Strategy<Value = DeleteRequest> {
    (text(), any::<i32>()).prop_map(|(path, version)| DeleteRequest { path, version })
}

pub fn delete_container_request() -> impl Strategy<Value = DeleteContainerRequest> {
    text().prop_map(|path| DeleteContainerRequest { path })
}

pub fn get_children_request() -> impl Strategy<Value = GetChildrenRequest> {
    (text(), any::<bool>()).prop_map(|(path, watch)| GetChildrenRequest { path, watch })
}

pub fn get_all_children_number_request() -> impl Strategy<Value = GetAllChildrenNumberRequest> {
    text().prop_map(|path| GetAllChildrenNumberRequest { path })
}

pub fn get_children2_request() -> impl Strategy<Value = GetChildren2Request> {
    (text(), any::<bool>()).prop_map(|(path, watch)| GetChildren2Request { path, watch })
}

pub fn check_version_request() -> impl Strategy<Value = CheckVersionRequest> {
    (text(), any::<i32>()).prop_map(|(path, version)| CheckVersionRequest { path, version })
}

pub fn sync_request() -> impl Strategy<Value = SyncRequest> {
    text().prop_map(|path| SyncRequest { path })
}

pub fn sync_response() -> impl Strategy<Value = SyncResponse> {
    text().prop_map(|path| SyncResponse { path })
}

pub fn get_acl_request() -> impl Strategy<Value = GetAclRequest> {
    text().prop_map(|path| GetAclRequest { path })
}

pub fn set_acl_request() -> impl Strategy<Value = SetAclRequest> {
    (text(), acls(), any::<i32>()).prop_map(|(path, acl, version)| SetAclRequest {
        path,
        acl,
        version,
    })
}

pub fn set_acl_response() -> impl Strategy<Value = SetAclResponse> {
    stat().prop_map(|stat| SetAclResponse { stat })
}

pub fn error_response() -> impl Strategy<Value = ErrorResponse> {
    any::<i32>().prop_map(|err| ErrorResponse { err })
}

pub fn create_response() -> impl Strategy<Value = CreateResponse> {
    text().prop_map(|path| CreateResponse { path })
}

pub fn create2_response() -> impl Strategy<Value = Create2Response> {
    (text(), stat()).prop_map(|(path, stat)| Create2Response { path, stat })
}

pub fn exists_request() -> impl Strategy<Value = ExistsRequest> {
    (text(), any::<bool>()).prop_map(|(path, watch)| ExistsRequest { path, watch })
}

pub fn exists_response() -> impl Strategy<Value = ExistsResponse> {
    stat().prop_map(|stat| ExistsResponse { stat })
}

pub fn get_data_response() -> impl Strategy<Value = GetDataResponse> {
    (optional_bytes(), stat()).prop_map(|(data, stat)| GetDataResponse { data, stat })
}

pub fn get_children_response() -> impl Strategy<Value = GetChildrenResponse> {
    paths().prop_map(|children| GetChildrenResponse { children })
}

pub fn get_all_children_number_response() -> impl Strategy<Value = GetAllChildrenNumberResponse> {
    any::<i32>().prop_map(|total_number| GetAllChildrenNumberResponse { total_number })
}

pub fn get_children2_response() -> impl Strategy<Value = GetChildren2Response> {
    (paths(), stat()).prop_map(|(children, stat)| GetChildren2Response { children, stat })
}

pub fn get_acl_response() -> impl Strategy<Value = GetAclResponse> {
    (acls(), stat()).prop_map(|(acl, stat)| GetAclResponse { acl, stat })
}

pub fn get_ephemerals_request() -> impl Strategy<Value = GetEphemeralsRequest> {
    text().prop_map(|prefix_path| GetEphemeralsRequest { prefix_path })
}

pub fn get_ephemerals_response() -> impl Strategy<Value = GetEphemeralsResponse> {
    paths().prop_map(|ephemerals| GetEphemeralsResponse { ephemerals })
}

// Watches.

pub fn watcher_event() -> impl Strategy<Value = WatcherEvent> {
    (event_type(), keeper_state(), text()).prop_map(|(event_type, state, path)| WatcherEvent {
        event_type,
        state,
        path,
    })
}

pub fn set_watches() -> impl Strategy<Value = SetWatches> {
    (zxid(), paths(), paths(), paths()).prop_map(
        |(relative_zxid, data_watches, exist_watches, child_watches)| SetWatches {
            relative_zxid,
            data_watches,
            exist_watches,
            child_watches,
        },
    )
}

pub fn set_watches2() -> impl Strategy<Value = SetWatches2> {
    (zxid(), paths(), paths(), paths(), paths(), paths()).prop_map(
        |(
            relative_zxid,
            data_watches,
            exist_watches,
            child_watches,
            persistent_watches,
            persistent_recursive_watches,
        )| SetWatches2 {
            relative_zxid,
            data_watches,
            exist_watches,
            child_watches,
            persistent_watches,
            persistent_recursive_watches,
        },
    )
}

pub fn add_watch_request() -> impl Strategy<Value = AddWatchRequest> {
    (text(), add_watch_mode()).prop_map(|(path, mode)| AddWatchRequest { path, mode })
}

pub fn check_watches_request() -> impl Strategy<Value = CheckWatchesRequest> {
    (text(), watcher_type())
        .prop_map(|(path, watcher_type)| CheckWatchesRequest { path, watcher_type })
}

pub fn remove_watches_request() -> impl Strategy<Value = RemoveWatchesRequest> {
    (text(), watcher_type())
        .prop_map(|(path, watcher_type)| RemoveWatchesRequest { path, watcher_type })
}

// Authentication.

pub fn auth_packet() -> impl Strategy<Value = AuthPacket> {
    (any::<i32>(), text(), bytes()).prop_map(|(auth_type, scheme, auth)| AuthPacket {
        auth_type,
        scheme,
        auth,
    })
}

pub fn get_sasl_request() -> impl Strategy<Value = GetSaslRequest> {
    optional_bytes().prop_map(|token| GetSaslRequest { token })
}

pub fn set_sasl_response() -> impl Strategy<Value = SetSaslResponse> {
    optional_bytes().prop_map(|token| SetSaslResponse { token })
}

pub fn who_am_i_response() -> impl Strategy<Value = WhoAmIResponse> {
    prop::collection::vec(client_info(), 0..4)
        .prop_map(|client_info| WhoAmIResponse { client_info })
}

// Multi.

pub fn multi_write_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        create_request().prop_map(MultiOp::Create),
        create_request().prop_map(MultiOp::Create2),
        create_ttl_request().prop_map(MultiOp::CreateTtl),
        create_request().prop_map(MultiOp::CreateContainer),
        delete_request().prop_map(MultiOp::Delete),
        set_data_request().prop_map(MultiOp::SetData),
        check_version_request().prop_map(MultiOp::Check),
    ]
}

pub fn multi_read_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        get_children_request().prop_map(MultiOp::GetChildren),
        get_data_request().prop_map(MultiOp::GetData),
    ]
}

pub fn multi_write_request() -> impl Strategy<Value = MultiRequest> {
    prop::collection::vec(multi_write_op(), 0..5).prop_map(|ops| MultiRequest { ops })
}

pub fn multi_read_request() -> impl Strategy<Value = MultiRequest> {
    prop::collection::vec(multi_read_op(), 0..5).prop_map(|ops| MultiRequest { ops })
}

pub fn multi_result() -> impl Strategy<Value = MultiResult> {
    prop_oneof![
        create_response().prop_map(MultiResult::Create),
        create2_response().prop_map(MultiResult::Create2),
        Just(MultiResult::Delete),
        set_data_response().prop_map(MultiResult::SetData),
        Just(MultiResult::Check),
        get_children_response().prop_map(MultiResult::GetChildren),
        get_data_response().prop_map(MultiResult::GetData),
        error_response().prop_map(MultiResult::Error),
    ]
}

pub fn multi_response() -> impl Strategy<Value = MultiResponse> {
    prop::collection::vec(multi_result(), 0..5).prop_map(|results| MultiResponse { results })
}

// The typed layer.

pub fn request_body() -> impl Strategy<Value = RequestBody> {
    prop_oneof![
        create_request().prop_map(RequestBody::Create),
        delete_request().prop_map(RequestBody::Delete),
        exists_request().prop_map(RequestBody::Exists),
        get_data_request().prop_map(RequestBody::GetData),
        set_data_request().prop_map(RequestBody::SetData),
        get_acl_request().prop_map(RequestBody::GetAcl),
        set_acl_request().prop_map(RequestBody::SetAcl),
        get_children_request().prop_map(RequestBody::GetChildren),
        sync_request().prop_map(RequestBody::Sync),
        Just(RequestBody::Ping),
        get_children2_request().prop_map(RequestBody::GetChildren2),
        check_version_request().prop_map(RequestBody::Check),
        multi_write_request().prop_map(RequestBody::Multi),
        create_request().prop_map(RequestBody::Create2),
        reconfig_request().prop_map(RequestBody::Reconfig),
        check_watches_request().prop_map(RequestBody::CheckWatches),
        remove_watches_request().prop_map(RequestBody::RemoveWatches),
        create_request().prop_map(RequestBody::CreateContainer),
        delete_container_request().prop_map(RequestBody::DeleteContainer),
        create_ttl_request().prop_map(RequestBody::CreateTtl),
        multi_read_request().prop_map(RequestBody::MultiRead),
        auth_packet().prop_map(RequestBody::Auth),
        set_watches().prop_map(RequestBody::SetWatches),
        get_sasl_request().prop_map(RequestBody::Sasl),
        get_ephemerals_request().prop_map(RequestBody::GetEphemerals),
        get_all_children_number_request().prop_map(RequestBody::GetAllChildrenNumber),
        set_watches2().prop_map(RequestBody::SetWatches2),
        add_watch_request().prop_map(RequestBody::AddWatch),
        Just(RequestBody::WhoAmI),
        Just(RequestBody::CloseSession),
    ]
}

pub fn request() -> impl Strategy<Value = Request> {
    (xid(), request_body()).prop_map(|(xid, body)| Request::new(xid, body))
}

/// A reply body together with an opcode whose replies carry it.
pub fn response_body() -> impl Strategy<Value = (OpCode, ResponseBody)> {
    prop_oneof![
        prop::sample::select(
            &[
                OpCode::Delete,
                OpCode::Ping,
                OpCode::Auth,
                OpCode::SetWatches
            ][..]
        )
        .prop_map(|op| (op, ResponseBody::Empty)),
        watcher_event().prop_map(|body| (OpCode::Notification, ResponseBody::Notification(body))),
        create_response().prop_map(|body| (OpCode::Create, ResponseBody::Create(body))),
        create2_response().prop_map(|body| (OpCode::CreateTtl, ResponseBody::Create2(body))),
        exists_response().prop_map(|body| (OpCode::Exists, ResponseBody::Exists(body))),
        get_data_response().prop_map(|body| (OpCode::GetData, ResponseBody::GetData(body))),
        set_data_response().prop_map(|body| (OpCode::Check, ResponseBody::SetData(body))),
        get_acl_response().prop_map(|body| (OpCode::GetAcl, ResponseBody::GetAcl(body))),
        set_acl_response().prop_map(|body| (OpCode::SetAcl, ResponseBody::SetAcl(body))),
        get_children_response()
            .prop_map(|body| (OpCode::GetChildren, ResponseBody::GetChildren(body))),
        get_children2_response()
            .prop_map(|body| (OpCode::GetChildren2, ResponseBody::GetChildren2(body))),
        sync_response().prop_map(|body| (OpCode::Sync, ResponseBody::Sync(body))),
        multi_response().prop_map(|body| (OpCode::Multi, ResponseBody::Multi(body))),
        set_sasl_response().prop_map(|body| (OpCode::Sasl, ResponseBody::Sasl(body))),
        get_ephemerals_response()
            .prop_map(|body| (OpCode::GetEphemerals, ResponseBody::GetEphemerals(body))),
        get_all_children_number_response().prop_map(|body| (
            OpCode::GetAllChildrenNumber,
            ResponseBody::GetAllChildrenNumber(body)
        )),
        who_am_i_response().prop_map(|body| (OpCode::WhoAmI, ResponseBody::WhoAmI(body))),
        error_response().prop_map(|body| (OpCode::AddWatch, ResponseBody::Error(body))),
    ]
}

/// A reply with a successful header (error replies carry no body), and the opcode it answers.
pub fn response() -> impl Strategy<Value = (OpCode, Response)> {
    (xid(), zxid(), response_body()).prop_map(|(xid, zxid, (op_code, body))| {
        (
            op_code,
            Response {
                header: ReplyHeader::ok(xid, zxid),
                body,
            },
        )
    })
}
