//! The BroadcastActor's connections on the quorum port: a learner's one link to its
//! leader (frames wait while it connects), a leader's links from its learners, and the era
//! rule that keeps ZAB's host contract.

use super::*;

#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct Accepted {
    pub(super) stream: TcpStream,
}

#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct Connected {
    stream: TcpStream,
    remote: Remote,
    /// The era this server was in when the connection started.
    era: u64,
    outbound: bool,
}

#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct ConnectFailed {
    era: u64,
}

/// A learner's connection to its leader.
pub(super) enum LeaderLink {
    None,
    /// Frames wait here until the connection is up (as in a TCP send buffer).
    Connecting(Vec<PeerFrame>),
    Open(Link),
}

impl BroadcastActor {
    pub(super) fn send_to_leader(&mut self, frame: PeerFrame, ctx: &mut Context<Self>) {
        let Some(leader) = self.leader else { return };
        match &mut self.leader_link {
            LeaderLink::Open(link) => {
                if !link.send(&frame) {
                    self.leader_link = LeaderLink::None;
                }
            }
            LeaderLink::Connecting(queue) => queue.push(frame),
            LeaderLink::None => {
                let Some(address) = self.quorum_addresses.get(&leader).cloned() else {
                    return;
                };
                self.leader_link = LeaderLink::Connecting(vec![frame]);
                let (hello, era, me) = (self.hello(), self.gate.era(), ctx.address());
                actix::spawn(async move {
                    match link::connect(&address, hello).await {
                        Ok((stream, remote)) => me.do_send(Connected {
                            stream,
                            remote,
                            era,
                            outbound: true,
                        }),
                        Err(error) => {
                            tracing::debug!(%leader, %address, %error, "cannot reach the leader");
                            me.do_send(ConnectFailed { era });
                        }
                    }
                });
            }
        }
    }

    pub(super) fn start_link(
        &mut self,
        stream: TcpStream,
        remote: Remote,
        ctx: &mut Context<Self>,
    ) -> Link {
        let id = self.next_link;
        self.next_link += 1;
        link::start(id, remote, stream, ctx.address())
    }

    /// The link with id `link`, and who is at its other end.
    pub(super) fn link_remote(&self, link: u64) -> Option<(Remote, bool)> {
        if let LeaderLink::Open(open) = &self.leader_link {
            if open.id == link {
                return Some((open.remote, true));
            }
        }
        self.learner_links
            .values()
            .find(|open| open.id == link)
            .map(|open| (open.remote, false))
    }

    pub(super) fn close_link(&mut self, link: u64) {
        if matches!(&self.leader_link, LeaderLink::Open(open) if open.id == link) {
            self.leader_link = LeaderLink::None;
        }
        self.learner_links.retain(|_, open| open.id != link);
    }
}

impl Handler<Accepted> for BroadcastActor {
    type Result = ();

    fn handle(&mut self, accepted: Accepted, ctx: &mut Self::Context) {
        let (hello, era, me) = (self.hello(), self.gate.era(), ctx.address());
        actix::spawn(async move {
            match link::handshake(accepted.stream, hello).await {
                Ok((stream, remote)) => me.do_send(Connected {
                    stream,
                    remote,
                    era,
                    outbound: false,
                }),
                Err(error) => tracing::warn!(%error, "dropping a quorum connection"),
            }
        });
    }
}

impl Handler<Connected> for BroadcastActor {
    type Result = ();

    fn handle(&mut self, connected: Connected, ctx: &mut Self::Context) {
        let remote = connected.remote;
        if !self.quorum_addresses.contains_key(&remote.id) {
            tracing::warn!(peer = %remote.id, "a server that is not in the ensemble connected to the quorum port");
            return;
        }
        if connected.outbound {
            let expected = connected.era == self.gate.era()
                && self.leader == Some(remote.id)
                && matches!(self.leader_link, LeaderLink::Connecting(_));
            if !expected {
                return;
            }
            if !self.gate.admit(connected.era, remote) {
                // The frames queued for it are lost, as on a broken connection.
                self.leader_link = LeaderLink::None;
                return;
            }
            let link = self.start_link(connected.stream, remote, ctx);
            if let LeaderLink::Connecting(queue) =
                std::mem::replace(&mut self.leader_link, LeaderLink::None)
            {
                for frame in &queue {
                    link.send(frame);
                }
            }
            self.leader_link = LeaderLink::Open(link);
        } else {
            let leading = self.status.get().mode == Mode::Leader;
            if !leading || !self.gate.admit(connected.era, remote) {
                return;
            }
            tracing::info!(learner = %remote.id, "learner connected");
            let link = self.start_link(connected.stream, remote, ctx);
            self.learner_links.insert(remote.id, link);
        }
        self.publish_status();
    }
}

impl Handler<ConnectFailed> for BroadcastActor {
    type Result = ();

    fn handle(&mut self, failed: ConnectFailed, _: &mut Self::Context) {
        if failed.era == self.gate.era() && matches!(self.leader_link, LeaderLink::Connecting(_)) {
            self.leader_link = LeaderLink::None;
        }
    }
}

impl Handler<LinkFrame> for BroadcastActor {
    type Result = ();

    fn handle(&mut self, message: LinkFrame, ctx: &mut Self::Context) {
        let Some((remote, from_leader)) = self.link_remote(message.link) else {
            return;
        };
        let frame = match message.frame {
            Ok(frame) => frame,
            Err(error) => {
                if !matches!(error, LinkError::Closed) {
                    tracing::warn!(peer = %remote.id, %error, "dropping a quorum connection");
                } else {
                    tracing::info!(peer = %remote.id, "quorum connection closed");
                }
                self.close_link(message.link);
                let commands = self.peer.on_connection_lost(remote.id);
                self.execute(commands, ctx);
                return;
            }
        };
        match (frame, from_leader) {
            (PeerFrame::Zab(envelope), _) => match envelope.open() {
                Ok(message) => self.on_zab_message(remote.id, message, ctx),
                Err(error) => {
                    tracing::warn!(peer = %remote.id, %error, "dropping a quorum connection");
                    self.close_link(message.link);
                }
            },
            (PeerFrame::SyncDone { id }, true) => {
                self.flush_deliveries();
                self.tree.do_send(SyncDone { id });
            }
            (PeerFrame::Forward(write), false) => self.tree.do_send(ForwardedRequest {
                from: remote.id,
                write,
            }),
            (PeerFrame::ForwardSync { id }, false) => {
                self.pending_syncs += 1;
                self.tree.do_send(ForwardedSync {
                    from: remote.id,
                    id,
                });
            }
            (PeerFrame::TouchSessions { sessions }, false) => {
                self.sessions.do_send(TouchSessions { sessions })
            }
            (other, _) => {
                tracing::warn!(peer = %remote.id, ?other, "unexpected frame; dropping the connection");
                self.close_link(message.link);
            }
        }
    }
}
