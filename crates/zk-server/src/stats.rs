//! Counters behind the four-letter words (srvr, stat, mntr, cons), shared by the actors.
//! Plain atomics: updated on hot paths without locks, read rarely.

use crate::watch::WatcherId;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A live connection, for `cons` and `stat`.
#[derive(Debug, Clone)]
pub struct ConnectionEntry {
    pub peer: SocketAddr,
    pub stats: Arc<ConnectionStats>,
}

/// Server-wide request statistics.
#[derive(Debug)]
pub struct ServerStats {
    started: Instant,
    pub packets_received: AtomicU64,
    pub packets_sent: AtomicU64,
    pub latency: LatencyStats,
    /// The last zxid applied to the tree, published by the TreeActor.
    pub last_applied_zxid: AtomicI64,
    /// Live connections; locked only when a connection opens or closes and by `cons`.
    connections: Mutex<BTreeMap<WatcherId, ConnectionEntry>>,
}

impl Default for ServerStats {
    fn default() -> Self {
        ServerStats {
            started: Instant::now(),
            packets_received: AtomicU64::new(0),
            packets_sent: AtomicU64::new(0),
            latency: LatencyStats::default(),
            last_applied_zxid: AtomicI64::new(0),
            connections: Mutex::new(BTreeMap::new()),
        }
    }
}

impl ServerStats {
    /// Microseconds since the server started: the clock requests are stamped with.
    pub fn now_us(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    pub fn uptime_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub fn register_connection(&self, id: WatcherId, entry: ConnectionEntry) {
        self.lock_connections().insert(id, entry);
    }

    pub fn unregister_connection(&self, id: WatcherId) {
        self.lock_connections().remove(&id);
    }

    /// The live connections, in the order they were accepted.
    pub fn connections(&self) -> Vec<ConnectionEntry> {
        self.lock_connections().values().cloned().collect()
    }

    pub fn connection_count(&self) -> usize {
        self.lock_connections().len()
    }

    fn lock_connections(&self) -> std::sync::MutexGuard<'_, BTreeMap<WatcherId, ConnectionEntry>> {
        // The map stays consistent even if a holder panicked: every update is one call.
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `srst`: forget counts and latencies.
    pub fn reset(&self) {
        self.packets_received.store(0, Relaxed);
        self.packets_sent.store(0, Relaxed);
        self.latency.reset();
    }
}

/// Request latency, in milliseconds as the reference reports it, kept in microseconds.
#[derive(Debug)]
pub struct LatencyStats {
    min_us: AtomicU64,
    max_us: AtomicU64,
    total_us: AtomicU64,
    count: AtomicU64,
}

impl Default for LatencyStats {
    fn default() -> Self {
        LatencyStats {
            min_us: AtomicU64::new(u64::MAX),
            max_us: AtomicU64::new(0),
            total_us: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }
}

impl LatencyStats {
    pub fn record(&self, latency_us: u64) {
        self.min_us.fetch_min(latency_us, Relaxed);
        self.max_us.fetch_max(latency_us, Relaxed);
        self.total_us.fetch_add(latency_us, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    pub fn reset(&self) {
        self.min_us.store(u64::MAX, Relaxed);
        self.max_us.store(0, Relaxed);
        self.total_us.store(0, Relaxed);
        self.count.store(0, Relaxed);
    }

    /// (min, avg, max) in milliseconds; zeros before the first request.
    pub fn min_avg_max_ms(&self) -> (u64, f64, u64) {
        let count = self.count.load(Relaxed);
        if count == 0 {
            return (0, 0.0, 0);
        }
        let total = self.total_us.load(Relaxed) as f64;
        (
            self.min_us.load(Relaxed) / 1000,
            total / count as f64 / 1000.0,
            self.max_us.load(Relaxed) / 1000,
        )
    }
}

/// Per-connection statistics, for `cons` and `stat`.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    pub received: AtomicU64,
    pub sent: AtomicU64,
    pub session_id: AtomicI64,
    pub session_timeout_ms: AtomicI64,
    pub last_xid: AtomicI64,
    pub last_zxid: AtomicI64,
    pub last_opcode: AtomicI64,
    pub last_response_ms: AtomicU64,
    pub latency: LatencyStats,
    pub established_ms: AtomicU64,
}

impl ConnectionStats {
    /// `crst`: forget the counters.
    pub fn reset(&self) {
        self.received.store(0, Relaxed);
        self.sent.store(0, Relaxed);
        self.latency.reset();
    }
}
