//! Accepts client connections, enforces maxClientCnxns per address, and starts a
//! ConnectionActor for each.

use super::connection::{ConnectionActor, Peers};
use crate::codec::ClientCodec;
use crate::outbound::OutboundSink;
use crate::stats::{ConnectionEntry, ConnectionStats};
use crate::watch::WatcherId;
use actix::{Actor, AsyncContext};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::codec::FramedRead;

/// Accepts connections until the task is dropped.
pub async fn accept_loop(listener: TcpListener, peers: Peers) {
    let mut next_connection_id = 1u64;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Usually a transient lack of file descriptors; the listener stays usable.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let limit = peers.config.max_client_connections_per_ip;
        if limit > 0 {
            let from_same_address = peers
                .stats
                .connections()
                .iter()
                .filter(|entry| entry.peer.ip() == peer.ip())
                .count();
            if from_same_address >= limit {
                tracing::warn!(%peer, limit, "too many connections from this address; closing");
                continue;
            }
        }
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%peer, %error, "could not disable Nagle's algorithm");
        }
        let id = WatcherId(next_connection_id);
        next_connection_id += 1;
        let (reader, writer) = stream.into_split();
        let connection_stats = Arc::new(ConnectionStats::default());
        let sink = OutboundSink::spawn(
            writer,
            peers.config.max_outbound_bytes_per_connection,
            connection_stats.clone(),
        );
        peers.stats.register_connection(
            id,
            ConnectionEntry {
                peer,
                stats: connection_stats,
            },
        );
        let max_frame_len = peers.config.jute_max_buffer_bytes;
        let connection_peers = peers.clone();
        ConnectionActor::create(move |ctx| {
            ctx.add_stream(FramedRead::new(reader, ClientCodec::new(max_frame_len)));
            ConnectionActor::new(id, peer, sink, connection_peers)
        });
    }
}
