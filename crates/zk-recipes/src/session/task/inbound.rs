//! What the session task does with each frame from the server: a reply matched to its
//! request by xid (registering the watch it asked for), a watch notification, a ping reply,
//! an authentication reply, a setWatches reply.

use super::{Live, Outstanding, SessionTask};
use crate::error::Error;
use crate::session::{Reply, WatchIntent};
use crate::watch::handles::Delivery;
use crate::watch::registry::{OneShotKind, PersistentWatcher};
use crate::watch::WatchedEvent;
use zk_proto::{
    decode_response, Decode, ErrorCode, EventType, KeeperState, OpCode, Reader, ReplyHeader,
    ResponseBody, WatcherEvent, Xid,
};

impl SessionTask {
    /// Handles one frame from the server; a frame that breaks the protocol marks the
    /// connection broken.
    pub(super) async fn on_frame(&mut self, live: &mut Live, payload: &[u8]) {
        let header = match ReplyHeader::decode(&mut Reader::new(payload)) {
            Ok(header) => header,
            Err(error) => {
                tracing::warn!(%error, "reply without a header");
                live.broken = true;
                return;
            }
        };
        match header.xid {
            Xid::NOTIFICATION => match decode_response(OpCode::Notification, payload) {
                Ok(response) => {
                    if let ResponseBody::Notification(event) = response.body {
                        self.on_event(live, event).await;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "malformed notification");
                    live.broken = true;
                }
            },
            Xid::PING => {}
            Xid::AUTH => self.on_auth_reply(live, header.err),
            Xid::SET_WATCHES => {
                if header.err != 0 {
                    tracing::warn!(err = header.err, "setWatches failed");
                }
            }
            xid => self.on_reply(live, header, xid, payload),
        }
    }

    fn on_auth_reply(&mut self, live: &mut Live, err: i32) {
        let Some(in_flight) = live.auths_in_flight.pop_front() else {
            tracing::warn!("auth reply with no auth in flight");
            live.broken = true;
            return;
        };
        let result = if err == 0 {
            if !self.auths.contains(&in_flight.packet) {
                self.auths.push(in_flight.packet);
            }
            Ok(())
        } else {
            self.auths.retain(|packet| *packet != in_flight.packet);
            Err(Error::from_wire_code(err))
        };
        if let Some(reply) = in_flight.reply {
            let _ = reply.send(result);
        }
    }

    fn on_reply(&mut self, live: &mut Live, header: ReplyHeader, xid: Xid, payload: &[u8]) {
        let request = match live.pending.take_reply(xid) {
            Ok(request) => request,
            Err(out_of_order) => {
                tracing::warn!(?out_of_order, "reply out of order; dropping the connection");
                live.broken = true;
                return;
            }
        };
        if header.zxid > self.session.last_zxid_seen {
            self.session.last_zxid_seen = header.zxid;
            self.info.update(&self.session);
        }
        if request.op_code == OpCode::CloseSession {
            live.close_confirmed = true;
        }
        let Outstanding {
            reply,
            watch,
            server_path,
        } = request.entry;
        let result = match decode_response(request.op_code, payload) {
            Ok(response) => {
                if let (Some(intent), Some(path)) = (watch, server_path) {
                    self.register_watch(intent, header.err, &path);
                }
                Ok(Reply {
                    err: header.err,
                    body: response.body,
                })
            }
            Err(error) => {
                tracing::warn!(%error, op = ?request.op_code, "malformed reply");
                live.broken = true;
                Err(Error::Protocol(error))
            }
        };
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
    }

    /// Registers (or, for `removeWatches`, removes) what a reply's request asked for, by the
    /// Java client's rules: only on success, except that `exists` of a missing node leaves an
    /// exist watch.
    fn register_watch(&mut self, intent: WatchIntent, err: i32, server_path: &str) {
        let ok = err == 0;
        let no_node = err == ErrorCode::NoNode.code();
        match intent {
            WatchIntent::Data(sender) if ok => {
                self.watches
                    .add_one_shot(OneShotKind::Data, server_path, sender)
            }
            WatchIntent::Exists(sender) if ok => {
                self.watches
                    .add_one_shot(OneShotKind::Data, server_path, sender)
            }
            WatchIntent::Exists(sender) if no_node => {
                self.watches
                    .add_one_shot(OneShotKind::Exist, server_path, sender)
            }
            WatchIntent::Children(sender) if ok => {
                self.watches
                    .add_one_shot(OneShotKind::Child, server_path, sender)
            }
            WatchIntent::Persistent { mode, sender } if ok => {
                self.watches.add_persistent(mode, server_path, sender)
            }
            WatchIntent::Remove(watcher_type) if ok => {
                let removed = self.watches.remove(server_path, watcher_type);
                let client_path = self.chroot.to_client(server_path);
                for (sender, event_type) in removed.one_shots {
                    let _ = sender.send(Ok(WatchedEvent {
                        event_type,
                        state: KeeperState::SyncConnected,
                        path: client_path.clone(),
                    }));
                }
                for sender in removed.persistent {
                    sender.deliver(WatchedEvent {
                        event_type: EventType::PersistentWatchRemoved,
                        state: KeeperState::SyncConnected,
                        path: client_path.clone(),
                    });
                }
            }
            // A failed request registers nothing; its sender is dropped with it.
            _ => {}
        }
    }

    async fn on_event(&mut self, live: &mut Live, event: WatcherEvent) {
        if event.event_type == EventType::None {
            return;
        }
        let fired = self.watches.fire(event.event_type, &event.path);
        let watched = WatchedEvent {
            event_type: event.event_type,
            state: event.state,
            path: self.chroot.to_client(&event.path),
        };
        for sender in fired.one_shots {
            let _ = sender.send(Ok(watched.clone()));
        }
        for sender in fired.persistent {
            match sender.deliver(watched.clone()) {
                Delivery::Delivered => {}
                Delivery::Gone | Delivery::Overflowed => {
                    if !self.watches.remove_persistent(
                        sender.mode,
                        &sender.server_path,
                        sender.id(),
                    ) {
                        self.remove_server_watch(live, sender.server_path.clone())
                            .await;
                    }
                }
            }
        }
    }
}
