//! Every operation of the client protocol, as methods of [`Client`].
//!
//! Paths are the caller's (under the chroot); they are validated before anything is sent.
//! Reads (`exists`, `get_data`, `get_children`, `get_acl`, ...) are idempotent and retried
//! after a connection loss with the configured policy; writes are not, because a write whose
//! reply was lost may have been applied (use the recipes' protected creates, or
//! [`crate::retry::with_retries`] where a retry is known to be safe).

use super::{unexpected, Client};
use crate::error::{Error, Result};
use crate::retry::with_retries;
use crate::session::{Command, WatchIntent};
use crate::watch::{Watch, WatchStream};
use std::future::Future;
use std::time::Duration;
use tokio::sync::oneshot;
use zk_proto::records::{
    AddWatchRequest, AuthPacket, CheckWatchesRequest, CreateRequest, CreateTtlRequest,
    DeleteRequest, ExistsRequest, GetAclRequest, GetAllChildrenNumberRequest, GetChildren2Request,
    GetChildrenRequest, GetDataRequest, GetEphemeralsRequest, MultiRequest, ReconfigRequest,
    RemoveWatchesRequest, SetAclRequest, SetDataRequest, SyncRequest,
};
use zk_proto::{
    Acl, AddWatchMode, ClientInfo, CreateMode, ErrorCode, MultiOp, MultiResult, RequestBody,
    ResponseBody, Stat, WatcherType,
};

/// How to create a node: mode, ACL and (for TTL modes) the time to live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOptions {
    /// Persistent, ephemeral, sequential, container or TTL.
    pub mode: CreateMode,
    /// The node's ACL; open to everyone by default.
    pub acl: Vec<Acl>,
    /// Required for the TTL modes, refused for the others.
    pub ttl: Option<Duration>,
}

impl CreateOptions {
    /// `mode` with an open ACL and no TTL.
    pub fn new(mode: CreateMode) -> Self {
        CreateOptions {
            mode,
            acl: Acl::open_unsafe(),
            ttl: None,
        }
    }

    /// The same options with `acl`.
    pub fn with_acl(mut self, acl: Vec<Acl>) -> Self {
        self.acl = acl;
        self
    }

    /// The same options with a time to live (for the TTL modes).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

/// The node holding the ensemble's configuration, outside any chroot.
pub const CONFIG_NODE: &str = "/zookeeper/config";

/// The `version` argument of writes: `None` means any version (-1 on the wire).
fn wire_version(version: Option<i32>) -> i32 {
    version.unwrap_or(-1)
}

impl Client {
    async fn read<T, F, Fut>(&self, operation: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut rng = self.fork_rng();
        with_retries(&self.config().retry_policy, &mut rng, operation).await
    }

    /// Creates a node with an open ACL and returns its path (with the sequence number, for
    /// sequential modes). TTL modes need [`Client::create_with`].
    pub async fn create(&self, path: &str, data: &[u8], mode: CreateMode) -> Result<String> {
        if mode.is_ttl() {
            return Err(Error::InvalidArgument(
                "TTL modes need create_with and a ttl".into(),
            ));
        }
        if mode.is_container() {
            return Ok(self
                .create_with(path, data, &CreateOptions::new(mode))
                .await?
                .0);
        }
        let request = CreateRequest {
            path: self.server_path(path, mode.is_sequential())?,
            data: Some(data.to_vec()),
            acl: Acl::open_unsafe(),
            flags: mode.flag(),
        };
        match self.call_ok(RequestBody::Create(request), None).await? {
            ResponseBody::Create(response) => Ok(self.client_path(&response.path)),
            other => Err(unexpected(&other)),
        }
    }

    /// Creates a node with full options and returns its path and stat (`create2`,
    /// `createContainer` or `createTTL` on the wire).
    pub async fn create_with(
        &self,
        path: &str,
        data: &[u8],
        options: &CreateOptions,
    ) -> Result<(String, Stat)> {
        self.create_nullable(path, Some(data), options).await
    }

    /// [`Client::create_with`] where the data may be null (`None`), which the protocol tells
    /// apart from empty data (zkCli's `create /a` without data makes a null node).
    pub async fn create_nullable(
        &self,
        path: &str,
        data: Option<&[u8]>,
        options: &CreateOptions,
    ) -> Result<(String, Stat)> {
        let data = data.map(<[u8]>::to_vec);
        let server_path = self.server_path(path, options.mode.is_sequential())?;
        let body = match (options.mode.is_ttl(), options.ttl) {
            (true, Some(ttl)) => RequestBody::CreateTtl(CreateTtlRequest {
                path: server_path,
                data,
                acl: options.acl.clone(),
                flags: options.mode.flag(),
                ttl: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
            }),
            (false, None) => {
                let request = CreateRequest {
                    path: server_path,
                    data,
                    acl: options.acl.clone(),
                    flags: options.mode.flag(),
                };
                if options.mode.is_container() {
                    RequestBody::CreateContainer(request)
                } else {
                    RequestBody::Create2(request)
                }
            }
            _ => {
                return Err(Error::InvalidArgument(
                    "a ttl goes with the TTL modes and only with them".into(),
                ))
            }
        };
        match self.call_ok(body, None).await? {
            ResponseBody::Create2(response) => {
                Ok((self.client_path(&response.path), response.stat))
            }
            other => Err(unexpected(&other)),
        }
    }

    /// Deletes a node, if its version is `version` (`None`: any version).
    pub async fn delete(&self, path: &str, version: Option<i32>) -> Result<()> {
        let request = DeleteRequest {
            path: self.server_path(path, false)?,
            version: wire_version(version),
        };
        self.call_ok(RequestBody::Delete(request), None).await?;
        Ok(())
    }

    /// The node's stat, or `None` if it does not exist.
    pub async fn exists(&self, path: &str) -> Result<Option<Stat>> {
        let server_path = self.server_path(path, false)?;
        self.read(|| self.exists_once(server_path.clone(), None))
            .await
    }

    /// The node's stat (or `None`) and a watch that fires when it is created, changed or
    /// deleted.
    pub async fn exists_watch(&self, path: &str) -> Result<(Option<Stat>, Watch)> {
        let server_path = self.server_path(path, false)?;
        self.read(|| async {
            let (sender, watch) = Watch::new();
            let stat = self
                .exists_once(server_path.clone(), Some(WatchIntent::Exists(sender)))
                .await?;
            Ok((stat, watch))
        })
        .await
    }

    async fn exists_once(
        &self,
        server_path: String,
        watch: Option<WatchIntent>,
    ) -> Result<Option<Stat>> {
        let request = ExistsRequest {
            path: server_path,
            watch: watch.is_some(),
        };
        match self.call_ok(RequestBody::Exists(request), watch).await {
            Ok(ResponseBody::Exists(response)) => Ok(Some(response.stat)),
            Ok(other) => Err(unexpected(&other)),
            Err(Error::Keeper(ErrorCode::NoNode)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The node's data (empty for null data) and stat.
    pub async fn get_data(&self, path: &str) -> Result<(Vec<u8>, Stat)> {
        let (data, stat) = self.get_data_nullable(path).await?;
        Ok((data.unwrap_or_default(), stat))
    }

    /// The node's data (`None` for null data, which the protocol tells apart from empty)
    /// and stat.
    pub async fn get_data_nullable(&self, path: &str) -> Result<(Option<Vec<u8>>, Stat)> {
        let server_path = self.server_path(path, false)?;
        self.read(|| self.get_data_once(server_path.clone(), None))
            .await
    }

    /// The node's data and stat, and a watch that fires when it changes or is deleted.
    pub async fn get_data_watch(&self, path: &str) -> Result<(Vec<u8>, Stat, Watch)> {
        let (data, stat, watch) = self.get_data_watch_nullable(path).await?;
        Ok((data.unwrap_or_default(), stat, watch))
    }

    /// [`Client::get_data_watch`] with null data as `None`.
    pub async fn get_data_watch_nullable(
        &self,
        path: &str,
    ) -> Result<(Option<Vec<u8>>, Stat, Watch)> {
        let server_path = self.server_path(path, false)?;
        self.read(|| async {
            let (sender, watch) = Watch::new();
            let (data, stat) = self
                .get_data_once(server_path.clone(), Some(WatchIntent::Data(sender)))
                .await?;
            Ok((data, stat, watch))
        })
        .await
    }

    async fn get_data_once(
        &self,
        server_path: String,
        watch: Option<WatchIntent>,
    ) -> Result<(Option<Vec<u8>>, Stat)> {
        let request = GetDataRequest {
            path: server_path,
            watch: watch.is_some(),
        };
        match self.call_ok(RequestBody::GetData(request), watch).await? {
            ResponseBody::GetData(response) => Ok((response.data, response.stat)),
            other => Err(unexpected(&other)),
        }
    }

    /// Sets the node's data, if its version is `version` (`None`: any); returns the new stat.
    pub async fn set_data(&self, path: &str, data: &[u8], version: Option<i32>) -> Result<Stat> {
        let request = SetDataRequest {
            path: self.server_path(path, false)?,
            data: Some(data.to_vec()),
            version: wire_version(version),
        };
        match self.call_ok(RequestBody::SetData(request), None).await? {
            ResponseBody::SetData(response) => Ok(response.stat),
            other => Err(unexpected(&other)),
        }
    }

    /// The names of the node's children (`getChildren`).
    pub async fn get_children(&self, path: &str) -> Result<Vec<String>> {
        let server_path = self.server_path(path, false)?;
        self.read(|| async {
            let request = GetChildrenRequest {
                path: server_path.clone(),
                watch: false,
            };
            match self
                .call_ok(RequestBody::GetChildren(request), None)
                .await?
            {
                ResponseBody::GetChildren(response) => Ok(response.children),
                other => Err(unexpected(&other)),
            }
        })
        .await
    }

    /// The names of the node's children and its stat (`getChildren2`).
    pub async fn get_children2(&self, path: &str) -> Result<(Vec<String>, Stat)> {
        let server_path = self.server_path(path, false)?;
        self.read(|| self.get_children2_once(server_path.clone(), None))
            .await
    }

    /// The children and stat, and a watch that fires when the child list changes or the
    /// node is deleted.
    pub async fn get_children_watch(&self, path: &str) -> Result<(Vec<String>, Stat, Watch)> {
        let server_path = self.server_path(path, false)?;
        self.read(|| async {
            let (sender, watch) = Watch::new();
            let (children, stat) = self
                .get_children2_once(server_path.clone(), Some(WatchIntent::Children(sender)))
                .await?;
            Ok((children, stat, watch))
        })
        .await
    }

    async fn get_children2_once(
        &self,
        server_path: String,
        watch: Option<WatchIntent>,
    ) -> Result<(Vec<String>, Stat)> {
        let request = GetChildren2Request {
            path: server_path,
            watch: watch.is_some(),
        };
        match self
            .call_ok(RequestBody::GetChildren2(request), watch)
            .await?
        {
            ResponseBody::GetChildren2(response) => Ok((response.children, response.stat)),
            other => Err(unexpected(&other)),
        }
    }

    /// The number of the node's descendants.
    pub async fn get_all_children_number(&self, path: &str) -> Result<i32> {
        let server_path = self.server_path(path, false)?;
        self.read(|| async {
            let request = GetAllChildrenNumberRequest {
                path: server_path.clone(),
            };
            match self
                .call_ok(RequestBody::GetAllChildrenNumber(request), None)
                .await?
            {
                ResponseBody::GetAllChildrenNumber(response) => Ok(response.total_number),
                other => Err(unexpected(&other)),
            }
        })
        .await
    }

    /// The paths of this session's ephemeral nodes under `prefix` (`/` for all).
    pub async fn get_ephemerals(&self, prefix: &str) -> Result<Vec<String>> {
        let server_prefix = self.server_path(prefix, false)?;
        self.read(|| async {
            let request = GetEphemeralsRequest {
                prefix_path: server_prefix.clone(),
            };
            match self
                .call_ok(RequestBody::GetEphemerals(request), None)
                .await?
            {
                ResponseBody::GetEphemerals(response) => Ok(response
                    .ephemerals
                    .iter()
                    .map(|path| self.client_path(path))
                    .collect()),
                other => Err(unexpected(&other)),
            }
        })
        .await
    }

    /// The node's ACL and stat.
    pub async fn get_acl(&self, path: &str) -> Result<(Vec<Acl>, Stat)> {
        let server_path = self.server_path(path, false)?;
        self.read(|| async {
            let request = GetAclRequest {
                path: server_path.clone(),
            };
            match self.call_ok(RequestBody::GetAcl(request), None).await? {
                ResponseBody::GetAcl(response) => Ok((response.acl, response.stat)),
                other => Err(unexpected(&other)),
            }
        })
        .await
    }

    /// Sets the node's ACL, if its ACL version is `version` (`None`: any).
    pub async fn set_acl(&self, path: &str, acl: &[Acl], version: Option<i32>) -> Result<Stat> {
        let request = SetAclRequest {
            path: self.server_path(path, false)?,
            acl: acl.to_vec(),
            version: wire_version(version),
        };
        match self.call_ok(RequestBody::SetAcl(request), None).await? {
            ResponseBody::SetAcl(response) => Ok(response.stat),
            other => Err(unexpected(&other)),
        }
    }

    /// Waits until the server this client is connected to has caught up with the leader
    /// (for reads that must see every write committed before the call).
    pub async fn sync(&self, path: &str) -> Result<String> {
        let server_path = self.server_path(path, false)?;
        self.read(|| async {
            let request = SyncRequest {
                path: server_path.clone(),
            };
            match self.call_ok(RequestBody::Sync(request), None).await? {
                ResponseBody::Sync(response) => Ok(self.client_path(&response.path)),
                other => Err(unexpected(&other)),
            }
        })
        .await
    }

    /// Applies `ops` atomically: all or none. On failure the error is
    /// [`Error::MultiFailed`] with the index of the first failing operation. Build the ops
    /// with [`crate::client::op`].
    pub async fn multi(&self, ops: Vec<MultiOp>) -> Result<Vec<MultiResult>> {
        if ops.iter().any(MultiOp::is_read) {
            return Err(Error::InvalidArgument(
                "multi takes writes and checks; use multi_read for reads".into(),
            ));
        }
        let request = self.chroot_ops(ops)?;
        let reply = self.call(RequestBody::Multi(request), None).await?;
        let results = self.multi_results(reply.err, reply.body)?;
        // Servers answer a failed multi with err 0 in the header and the failure in the
        // results (the Java client looks there too): the first non-zero error is the cause,
        // the ones after it are RuntimeInconsistency.
        let failed = results
            .iter()
            .enumerate()
            .find_map(|(index, result)| match result {
                MultiResult::Error(error) if error.err != 0 => Some((index, error.err)),
                _ => None,
            });
        match failed {
            None => Ok(results),
            Some((index, code)) => Err(match ErrorCode::from_code(code) {
                Some(code) => Error::MultiFailed { index, code },
                None => Error::UnknownCode(code),
            }),
        }
    }

    /// Runs the reads in `ops` together; each result is its own success or
    /// [`MultiResult::Error`].
    pub async fn multi_read(&self, ops: Vec<MultiOp>) -> Result<Vec<MultiResult>> {
        if !ops.iter().all(MultiOp::is_read) {
            return Err(Error::InvalidArgument("multi_read takes reads only".into()));
        }
        let request = self.chroot_ops(ops)?;
        let reply = self.call(RequestBody::MultiRead(request), None).await?;
        self.multi_results(reply.err, reply.body)
    }

    fn chroot_ops(&self, ops: Vec<MultiOp>) -> Result<MultiRequest> {
        let mut rewritten = Vec::with_capacity(ops.len());
        for mut op in ops {
            let sequential = match &op {
                MultiOp::Create(create)
                | MultiOp::Create2(create)
                | MultiOp::CreateContainer(create) => CreateMode::from_flag(create.flags)
                    .map(CreateMode::is_sequential)
                    .unwrap_or(false),
                MultiOp::CreateTtl(create) => CreateMode::from_flag(create.flags)
                    .map(CreateMode::is_sequential)
                    .unwrap_or(false),
                _ => false,
            };
            let server_path = self.server_path(op.path(), sequential)?;
            match &mut op {
                MultiOp::Create(r) | MultiOp::Create2(r) | MultiOp::CreateContainer(r) => {
                    r.path = server_path
                }
                MultiOp::CreateTtl(r) => r.path = server_path,
                MultiOp::Delete(r) => r.path = server_path,
                MultiOp::SetData(r) => r.path = server_path,
                MultiOp::Check(r) => r.path = server_path,
                MultiOp::GetChildren(r) => r.path = server_path,
                MultiOp::GetData(r) => r.path = server_path,
            }
            rewritten.push(op);
        }
        Ok(MultiRequest { ops: rewritten })
    }

    fn multi_results(&self, err: i32, body: ResponseBody) -> Result<Vec<MultiResult>> {
        let mut results = match body {
            ResponseBody::Multi(response) => response.results,
            ResponseBody::Empty if err != 0 => return Err(Error::from_wire_code(err)),
            other => return Err(unexpected(&other)),
        };
        if err != 0
            && !results
                .iter()
                .any(|r| matches!(r, MultiResult::Error(e) if e.err != 0))
        {
            return Err(Error::from_wire_code(err));
        }
        for result in &mut results {
            match result {
                MultiResult::Create(created) => created.path = self.client_path(&created.path),
                MultiResult::Create2(created) => created.path = self.client_path(&created.path),
                _ => {}
            }
        }
        Ok(results)
    }

    /// Adds a persistent watch (recursive or not) on `path`; its events come on the returned
    /// stream until it is dropped or the session expires. A server keeps one persistent mode
    /// per path and session: adding the other mode on the same path replaces the first on the
    /// server (the reference behaves the same), so use one mode per path.
    pub async fn add_watch(&self, path: &str, mode: AddWatchMode) -> Result<WatchStream> {
        let server_path = self.server_path(path, false)?;
        let id = self.next_watch_id();
        let (sender, mut stream) = WatchStream::new(
            id,
            mode,
            server_path.clone(),
            self.config().watch_event_queue_limit,
        );
        let request = AddWatchRequest {
            path: server_path.clone(),
            mode,
        };
        self.call_ok(
            RequestBody::AddWatch(request),
            Some(WatchIntent::Persistent { mode, sender }),
        )
        .await?;
        stream.set_unsubscribe(crate::watch::handles::Unsubscribe {
            commands: self.weak_commands(),
            mode,
            server_path,
            id,
        });
        Ok(stream)
    }

    /// Removes this session's watches of `watcher_type` on `path`, on the server and here;
    /// the removed watchers are told with a `*WatchRemoved` event. `NoWatcher` if there was
    /// none.
    pub async fn remove_watches(&self, path: &str, watcher_type: WatcherType) -> Result<()> {
        let request = RemoveWatchesRequest {
            path: self.server_path(path, false)?,
            watcher_type,
        };
        self.call_ok(
            RequestBody::RemoveWatches(request),
            Some(WatchIntent::Remove(watcher_type)),
        )
        .await?;
        Ok(())
    }

    /// Asks whether the server holds a watch of `watcher_type` on `path` for this session
    /// (`NoWatcher` if not).
    pub async fn check_watches(&self, path: &str, watcher_type: WatcherType) -> Result<()> {
        let request = CheckWatchesRequest {
            path: self.server_path(path, false)?,
            watcher_type,
        };
        self.call_ok(RequestBody::CheckWatches(request), None)
            .await?;
        Ok(())
    }

    /// Adds an identity to the session (`digest` with `user:password`, for example); it is
    /// sent again after every reconnection.
    pub async fn add_auth(&self, scheme: &str, auth: &[u8]) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.send_command(Command::Auth {
            packet: AuthPacket {
                auth_type: 0,
                scheme: scheme.to_owned(),
                auth: auth.to_vec(),
            },
            reply,
        })
        .await?;
        answer.await.map_err(|_| Error::Closed)?
    }

    /// The identities the session is authenticated as.
    pub async fn who_am_i(&self) -> Result<Vec<ClientInfo>> {
        self.read(|| async {
            match self.call_ok(RequestBody::WhoAmI, None).await? {
                ResponseBody::WhoAmI(response) => Ok(response.client_info),
                other => Err(unexpected(&other)),
            }
        })
        .await
    }

    /// The ensemble's configuration (the data of `/zookeeper/config`, `None` for null) and
    /// its stat: the Java client's `getConfig`, which reads that node whatever the chroot.
    /// Standalone servers answer an empty configuration.
    pub async fn get_config(&self) -> Result<(Option<Vec<u8>>, Stat)> {
        self.read(|| self.get_data_once(CONFIG_NODE.to_owned(), None))
            .await
    }

    /// [`Client::get_config`] and a watch that fires when the configuration changes.
    pub async fn get_config_watch(&self) -> Result<(Option<Vec<u8>>, Stat, Watch)> {
        self.read(|| async {
            let (sender, watch) = Watch::new();
            let (data, stat) = self
                .get_data_once(CONFIG_NODE.to_owned(), Some(WatchIntent::Data(sender)))
                .await?;
            Ok((data, stat, watch))
        })
        .await
    }

    /// Dynamic reconfiguration of the ensemble (`reconfig`); returns the new configuration
    /// and its stat. Servers refuse it unless reconfiguration is enabled.
    pub async fn reconfig(
        &self,
        joining: Option<&str>,
        leaving: Option<&str>,
        new_members: Option<&str>,
        from_config: Option<i64>,
    ) -> Result<(Vec<u8>, Stat)> {
        let request = ReconfigRequest {
            joining_servers: joining.map(str::to_owned),
            leaving_servers: leaving.map(str::to_owned),
            new_members: new_members.map(str::to_owned),
            cur_config_id: from_config.unwrap_or(-1),
        };
        match self.call_ok(RequestBody::Reconfig(request), None).await? {
            ResponseBody::GetData(response) => {
                Ok((response.data.unwrap_or_default(), response.stat))
            }
            other => Err(unexpected(&other)),
        }
    }
}
