//! Reads against the tree, with Apache's rules for watches and permissions.

use super::{Output, Reply, ReplyPayload, RequestOrigin, WatchRegistration};
use crate::watch::{PersistentKind, WatcherKind};
use zk_proto::data::ClientInfo;
use zk_proto::{ErrorCode, EventType, Zxid};
use zk_tree::{AuthContext, DataTree};

/// A request that does not change the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadRequest {
    GetData {
        path: String,
        watch: bool,
    },
    Exists {
        path: String,
        watch: bool,
    },
    GetChildren {
        path: String,
        watch: bool,
        with_stat: bool,
    },
    GetAcl {
        path: String,
    },
    GetAllChildrenNumber {
        path: String,
    },
    GetEphemerals {
        prefix: String,
    },
    Sync {
        path: String,
    },
    MultiRead(Vec<ReadRequest>),
    CheckWatches {
        path: String,
        kind: WatcherKind,
    },
    RemoveWatches {
        path: String,
        kind: WatcherKind,
    },
    AddWatch {
        path: String,
        kind: PersistentKind,
    },
    SetWatches(SetWatchesRequest),
    /// A ping: answered in order with the other replies.
    Ping,
    /// whoAmI: the session's identities.
    WhoAmI,
    /// An operation that has no place in a multiRead.
    Invalid {
        op_code: zk_proto::OpCode,
    },
    /// Answered with an error in order with the other replies; with `close`, the connection
    /// is then closed (what the reference does after an unknown opcode).
    Reject {
        code: ErrorCode,
        close: bool,
    },
}

/// The watches a client re-registers after reconnecting (setWatches / setWatches2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetWatchesRequest {
    pub relative_zxid: Zxid,
    pub data: Vec<String>,
    pub exist: Vec<String>,
    pub child: Vec<String>,
    pub persistent: Vec<String>,
    pub persistent_recursive: Vec<String>,
}

/// A request the watch registry answers, forwarded in order by the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchCommand {
    /// Fails with NoWatcher unless such a watch exists.
    Check {
        path: String,
        kind: WatcherKind,
    },
    /// Fails with NoWatcher unless such a watch existed.
    Remove {
        path: String,
        kind: WatcherKind,
    },
    Add {
        path: String,
        kind: PersistentKind,
    },
    /// Notifications to send at once (the watched state changed while the client was away)
    /// and watches to register.
    Reset {
        fire: Vec<(EventType, String)>,
        register: Vec<WatchRegistration>,
    },
}

/// Runs one read and says what to send back.
pub(super) fn execute(
    tree: &DataTree,
    origin: RequestOrigin,
    auth: &AuthContext,
    request: ReadRequest,
) -> Output {
    let zxid = tree.last_applied_zxid();
    let command = |command| Output::Watch {
        origin,
        zxid,
        command,
    };
    let (result, watch) = match request {
        ReadRequest::CheckWatches { path, kind } => {
            return command(WatchCommand::Check { path, kind })
        }
        ReadRequest::RemoveWatches { path, kind } => {
            return command(WatchCommand::Remove { path, kind })
        }
        ReadRequest::AddWatch { path, kind } => return command(WatchCommand::Add { path, kind }),
        ReadRequest::SetWatches(request) => return command(reset_watches(tree, request)),
        ReadRequest::Reject { code, close: true } => {
            // The reference answers an unknown opcode before giving it a zxid: -1.
            return Output::RejectAndClose {
                reply: Reply {
                    origin,
                    zxid: Zxid(-1),
                    result: Err(code),
                },
            };
        }
        ReadRequest::Exists { path, watch } => {
            // exists registers its watch whether or not the node exists: that is how a
            // client waits for a node to be created.
            // The tree refuses only a NUL character; any other invalid path is missing.
            let result = match tree.exists(&path) {
                Ok(Some(stat)) => Ok(ReplyPayload::Stat(stat)),
                Ok(None) => Err(ErrorCode::NoNode),
                Err(code) => Err(code),
            };
            let watch = (watch && result != Err(ErrorCode::BadArguments))
                .then_some(WatchRegistration::Data { path });
            (result, watch)
        }
        ReadRequest::GetData { path, watch } => {
            let result = get_data(tree, &path, auth);
            let watch = (watch && result.is_ok()).then_some(WatchRegistration::Data { path });
            (result, watch)
        }
        ReadRequest::GetChildren {
            path,
            watch,
            with_stat,
        } => {
            let result = get_children(tree, &path, auth, with_stat);
            let watch = (watch && result.is_ok()).then_some(WatchRegistration::Children { path });
            (result, watch)
        }
        other => (simple_read(tree, auth, other), None),
    };
    Output::Reply {
        reply: Reply {
            origin,
            zxid,
            result,
        },
        watch,
    }
}

/// Reads that never register watches.
fn simple_read(
    tree: &DataTree,
    auth: &AuthContext,
    request: ReadRequest,
) -> Result<ReplyPayload, ErrorCode> {
    match request {
        ReadRequest::GetAcl { path } => {
            let (acl, stat) = tree.get_acl(&path, auth)?;
            Ok(ReplyPayload::Acl { acl, stat })
        }
        ReadRequest::GetAllChildrenNumber { path } => tree
            .get_all_children_number(&path, auth)
            .map(ReplyPayload::Count),
        ReadRequest::GetEphemerals { prefix } => Ok(ReplyPayload::Paths(
            tree.get_ephemerals(auth.session_id, &prefix),
        )),
        ReadRequest::Sync { path } => Ok(ReplyPayload::Synced { path }),
        ReadRequest::Ping => Ok(ReplyPayload::Empty),
        ReadRequest::WhoAmI => Ok(ReplyPayload::Identities(client_infos(auth))),
        ReadRequest::Reject { code, .. } => Err(code),
        ReadRequest::MultiRead(requests) => Ok(ReplyPayload::MultiRead(
            requests
                .into_iter()
                .map(|request| match request {
                    ReadRequest::GetData { path, .. } => get_data(tree, &path, auth),
                    ReadRequest::GetChildren { path, .. } => get_children(tree, &path, auth, false),
                    _ => Err(ErrorCode::BadArguments),
                })
                .collect(),
        )),
        _ => Err(ErrorCode::BadArguments),
    }
}

fn get_data(tree: &DataTree, path: &str, auth: &AuthContext) -> Result<ReplyPayload, ErrorCode> {
    let (data, stat) = tree.get_data(path, auth)?;
    Ok(ReplyPayload::Data {
        data: data.map(<[u8]>::to_vec),
        stat,
    })
}

fn get_children(
    tree: &DataTree,
    path: &str,
    auth: &AuthContext,
    with_stat: bool,
) -> Result<ReplyPayload, ErrorCode> {
    let (names, stat) = tree.get_children(path, auth)?;
    Ok(ReplyPayload::Children {
        names,
        stat: with_stat.then_some(stat),
    })
}

/// The identities of a session as whoAmI reports them: the user part of a digest id,
/// other ids whole.
fn client_infos(auth: &AuthContext) -> Vec<ClientInfo> {
    auth.ids
        .iter()
        .map(|id| {
            let user = match id.scheme.as_str() {
                "digest" => id.id.split(':').next().unwrap_or_default().to_owned(),
                _ => id.id.clone(),
            };
            ClientInfo {
                auth_scheme: id.scheme.clone(),
                user,
            }
        })
        .collect()
}

/// Compares the client's watched paths with the tree as of `relative_zxid` (Apache's
/// DataTree.setWatches): changes the client missed fire at once, the rest are registered.
fn reset_watches(tree: &DataTree, request: SetWatchesRequest) -> WatchCommand {
    let relative = request.relative_zxid.0;
    let mut fire = Vec::new();
    let mut register = Vec::new();
    for path in request.data {
        match tree.exists(&path).ok().flatten() {
            None => fire.push((EventType::NodeDeleted, path)),
            Some(stat) if stat.mzxid > relative => fire.push((EventType::NodeDataChanged, path)),
            Some(_) => register.push(WatchRegistration::Data { path }),
        }
    }
    for path in request.exist {
        match tree.exists(&path).ok().flatten() {
            Some(_) => fire.push((EventType::NodeCreated, path)),
            None => register.push(WatchRegistration::Data { path }),
        }
    }
    for path in request.child {
        match tree.exists(&path).ok().flatten() {
            None => fire.push((EventType::NodeDeleted, path)),
            Some(stat) if stat.pzxid > relative => {
                fire.push((EventType::NodeChildrenChanged, path))
            }
            Some(_) => register.push(WatchRegistration::Children { path }),
        }
    }
    for path in request.persistent {
        register.push(WatchRegistration::Persistent {
            path,
            kind: PersistentKind::Persistent,
        });
    }
    for path in request.persistent_recursive {
        register.push(WatchRegistration::Persistent {
            path,
            kind: PersistentKind::Recursive,
        });
    }
    WatchCommand::Reset { fire, register }
}
