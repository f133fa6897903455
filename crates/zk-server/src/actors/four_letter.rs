//! Gathers what a four-letter word reports from the actors, then formats it.

use super::connection::Peers;
use super::session::{ReportSessions, SessionActor};
use super::tree::{SummarizeTree, TreeActor};
use super::watch::{ReportWatches, WatchActor};
use crate::config::ServerConfig;
use crate::four_letter::{format, not_whitelisted, ServerSnapshot};
use crate::stats::ServerStats;
use actix::Addr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use zk_proto::four_letter::FourLetterWord;

/// The actors and counters a four-letter word reads.
pub struct FourLetterSources {
    tree: Addr<TreeActor>,
    sessions: Addr<SessionActor>,
    final_stage: Addr<WatchActor>,
    stats: Arc<ServerStats>,
    config: Arc<ServerConfig>,
    quorum: Arc<crate::quorum::status::SharedQuorumStatus>,
}

impl FourLetterSources {
    pub fn from_peers(peers: &Peers) -> Self {
        FourLetterSources {
            tree: peers.tree.clone(),
            sessions: peers.sessions.clone(),
            final_stage: peers.final_stage.clone(),
            stats: peers.stats.clone(),
            config: peers.config.clone(),
            quorum: peers.quorum.clone(),
        }
    }
}

/// The text to send back for `word`.
pub async fn answer_four_letter_word(word: FourLetterWord, sources: &FourLetterSources) -> String {
    if !sources.config.four_letter_word_allowed(word.name()) {
        tracing::info!(word = word.name(), "four-letter word not in the whitelist");
        return not_whitelisted(word);
    }
    match word {
        FourLetterWord::Srst => sources.stats.reset(),
        FourLetterWord::Crst => {
            for entry in sources.stats.connections() {
                entry.stats.reset();
            }
        }
        _ => {}
    }
    let snapshot = gather(sources).await;
    format(word, &snapshot, &sources.config)
}

async fn gather(sources: &FourLetterSources) -> ServerSnapshot {
    let tree = sources.tree.send(SummarizeTree).await.unwrap_or_default();
    let sessions = sources
        .sessions
        .send(ReportSessions)
        .await
        .unwrap_or_default();
    let watches = sources
        .final_stage
        .send(ReportWatches)
        .await
        .unwrap_or_default();
    let stats = &sources.stats;
    ServerSnapshot {
        last_zxid: tree.last_zxid,
        // The reference's node map holds the root twice ("" and "/"), and every tool that
        // reads these numbers expects its count.
        node_count: tree.node_count + 1,
        outstanding_requests: tree.in_flight_writes,
        packets_received: stats.packets_received.load(Relaxed),
        packets_sent: stats.packets_sent.load(Relaxed),
        latency_min_avg_max_ms: stats.latency.min_avg_max_ms(),
        connections: stats.connections(),
        sessions: sessions.sessions,
        sessions_by_deadline: sessions.sessions_by_deadline,
        approximate_data_size: tree.approximate_data_size,
        ephemerals_by_session: tree.ephemerals_by_session,
        watch_count: watches.watch_count,
        data_watch_count: watches.data_watch_count,
        data_watched_paths: watches.data_watched_paths,
        data_watching_connections: watches.data_watching_connections,
        watch_paths_by_session: watches.paths_by_session,
        watch_sessions_by_path: watches.sessions_by_path,
        uptime_ms: stats.uptime_ms(),
        digest: tree.digest,
        data_dir_bytes: directory_bytes(&sources.config.data_dir.join("version-2")),
        log_dir_bytes: directory_bytes(&sources.config.data_log_dir.join("version-2")),
        quorum: sources.quorum.get(),
    }
}

/// The total size of the files directly in `dir` (0 if it cannot be read), as the
/// reference reports its data directories.
fn directory_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.metadata().ok())
        .filter(std::fs::Metadata::is_file)
        .map(|metadata| metadata.len())
        .sum()
}
