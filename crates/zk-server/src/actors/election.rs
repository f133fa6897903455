//! ElectionActor: the election channel (zoo.cfg's election port). It carries ZAB's election
//! notifications between servers, which may be lost: a notification for a peer without a
//! connection starts one and is dropped (the core sends again on its next round). Every
//! notification received goes to the BroadcastActor, which owns the ZAB core.

use super::broadcast::{BroadcastActor, PeerMessage};
use crate::quorum::frame::PeerFrame;
use crate::quorum::link::{self, Link, LinkError, LinkFrame, Remote};
use actix::prelude::*;
use std::collections::{HashMap, HashSet};
use tokio::net::{TcpListener, TcpStream};
use zk_proto::ServerId;

/// Send a notification to a peer (best effort).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SendNotification {
    pub to: ServerId,
    pub message: zk_zab::Message,
}

#[derive(Message)]
#[rtype(result = "()")]
struct Connected {
    outbound: bool,
    stream: TcpStream,
    remote: Remote,
}

#[derive(Message)]
#[rtype(result = "()")]
struct ConnectFailed {
    to: ServerId,
}

pub struct ElectionActor {
    my_id: ServerId,
    /// `host:electionPort` of every other member.
    addresses: HashMap<ServerId, String>,
    broadcast: Addr<BroadcastActor>,
    outbound: HashMap<ServerId, Link>,
    connecting: HashSet<ServerId>,
    inbound: HashMap<u64, Link>,
    next_link: u64,
    listener: Option<TcpListener>,
}

impl ElectionActor {
    pub fn new(
        my_id: ServerId,
        addresses: HashMap<ServerId, String>,
        broadcast: Addr<BroadcastActor>,
        listener: TcpListener,
    ) -> Self {
        ElectionActor {
            my_id,
            addresses,
            broadcast,
            outbound: HashMap::new(),
            connecting: HashSet::new(),
            inbound: HashMap::new(),
            next_link: 1,
            listener: Some(listener),
        }
    }

    fn hello(&self) -> PeerFrame {
        PeerFrame::Hello {
            from: self.my_id,
            era: 0,
        }
    }

    fn connect(&mut self, to: ServerId, ctx: &mut Context<Self>) {
        let Some(address) = self.addresses.get(&to).cloned() else {
            return;
        };
        if !self.connecting.insert(to) {
            return;
        }
        let hello = self.hello();
        let me = ctx.address();
        actix::spawn(async move {
            match link::connect(&address, hello).await {
                Ok((stream, remote)) if remote.id == to => me.do_send(Connected {
                    outbound: true,
                    stream,
                    remote,
                }),
                Ok((_, remote)) => {
                    tracing::warn!(%to, answered = %remote.id, %address, "wrong server at an election address");
                    me.do_send(ConnectFailed { to });
                }
                Err(error) => {
                    tracing::debug!(%to, %address, %error, "cannot reach a peer's election port");
                    me.do_send(ConnectFailed { to });
                }
            }
        });
    }

    fn start_link(&mut self, stream: TcpStream, remote: Remote, ctx: &mut Context<Self>) -> Link {
        let id = self.next_link;
        self.next_link += 1;
        link::start(id, remote, stream, ctx.address())
    }
}

impl Actor for ElectionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(listener) = self.listener.take() else {
            return;
        };
        let me = ctx.address();
        let hello = self.hello();
        link::spawn_accept_loop(listener, "election", move |stream| {
            let (me, hello) = (me.clone(), hello.clone());
            actix::spawn(async move {
                match link::handshake(stream, hello).await {
                    Ok((stream, remote)) => me.do_send(Connected {
                        outbound: false,
                        stream,
                        remote,
                    }),
                    Err(error) => tracing::warn!(%error, "dropping an election connection"),
                }
            });
        });
    }
}

impl Handler<SendNotification> for ElectionActor {
    type Result = ();

    fn handle(&mut self, send: SendNotification, ctx: &mut Self::Context) {
        let frame = PeerFrame::Zab(zk_zab::Envelope::new(send.message));
        match self.outbound.get(&send.to) {
            Some(link) if link.send(&frame) => {}
            _ => {
                self.outbound.remove(&send.to);
                self.connect(send.to, ctx);
            }
        }
    }
}

impl Handler<Connected> for ElectionActor {
    type Result = ();

    fn handle(&mut self, connected: Connected, ctx: &mut Self::Context) {
        let remote = connected.remote;
        if !self.addresses.contains_key(&remote.id) {
            tracing::warn!(peer = %remote.id, "a server that is not in the ensemble connected to the election port");
            return;
        }
        let link = self.start_link(connected.stream, remote, ctx);
        if connected.outbound {
            self.connecting.remove(&remote.id);
            self.outbound.insert(remote.id, link);
        } else {
            self.inbound.insert(link.id, link);
        }
    }
}

impl Handler<ConnectFailed> for ElectionActor {
    type Result = ();

    fn handle(&mut self, failed: ConnectFailed, _: &mut Self::Context) {
        self.connecting.remove(&failed.to);
    }
}

impl Handler<LinkFrame> for ElectionActor {
    type Result = ();

    fn handle(&mut self, message: LinkFrame, _: &mut Self::Context) {
        let remote = self
            .inbound
            .get(&message.link)
            .map(|link| link.remote)
            .or_else(|| {
                self.outbound
                    .values()
                    .find(|link| link.id == message.link)
                    .map(|link| link.remote)
            });
        let Some(remote) = remote else { return };
        let drop_link = |actor: &mut ElectionActor| {
            actor.inbound.remove(&message.link);
            actor.outbound.retain(|_, link| link.id != message.link);
        };
        match message.frame {
            Ok(PeerFrame::Zab(envelope)) => match envelope.open() {
                Ok(message @ zk_zab::Message::Notification(_)) => {
                    self.broadcast.do_send(PeerMessage {
                        from: remote.id,
                        message,
                    });
                }
                Ok(other) => {
                    tracing::warn!(peer = %remote.id, ?other, "non-election message on the election port");
                }
                Err(error) => {
                    tracing::warn!(peer = %remote.id, %error, "dropping an election connection");
                    drop_link(self);
                }
            },
            Ok(other) => {
                tracing::warn!(peer = %remote.id, ?other, "unexpected frame on the election port");
            }
            Err(LinkError::Closed) => drop_link(self),
            Err(error) => {
                tracing::warn!(peer = %remote.id, %error, "dropping an election connection");
                drop_link(self);
            }
        }
    }
}
