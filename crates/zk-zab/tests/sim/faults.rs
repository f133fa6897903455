//! How hostile one run is. Each seed draws its own profile, so that some runs are calm and
//! some brutal, and the schedule of partitions, crashes and restarts.

use crate::sim::rng::Rng;

/// Simulated steps per tick: a tick is ZooKeeper's `tickTime` (2 s by default), a step is
/// roughly a network hop on a LAN, so most round trips fit in one tick.
pub const STEPS_PER_TICK: u64 = 10;

/// Per-run fault rates. Probabilities are in parts per million.
#[derive(Debug, Clone)]
pub struct FaultProfile {
    /// Election notifications lost; on a leader–learner connection a loss breaks the
    /// connection (everything after it on that connection is lost too), as with TCP.
    pub loss_ppm: u64,
    /// Election notifications delivered twice.
    pub duplicate_ppm: u64,
    /// Normal one-way latency is 1..=this many steps. Notifications draw their latencies
    /// independently, so they overtake each other; connections keep their order.
    pub latency_max_steps: u64,
    /// Messages delayed by up to `slow_extra_max_steps` more.
    pub slow_ppm: u64,
    pub slow_extra_max_steps: u64,
    /// Per tick: a partition starts (when none is active).
    pub partition_ppm: u64,
    /// Share of partitions that cut single directions instead of splitting the ensemble.
    pub asymmetric_ppm: u64,
    pub partition_ticks_max: u64,
    /// Per tick and server: the server crashes, losing writes not yet fsynced.
    pub crash_ppm: u64,
    /// Per tick: every server crashes at once (power loss).
    pub power_loss_ppm: u64,
    pub restart_ticks_max: u64,
    /// Per tick and server: the process stalls (a long GC pause, a frozen VM): it neither
    /// ticks nor handles messages nor sees fsyncs complete, then resumes where it was, with
    /// everything that arrived meanwhile. Its timers fire late, as after real pauses.
    pub pause_ppm: u64,
    pub pause_ticks_max: u64,
    /// An fsync takes 1..=this many steps.
    pub fsync_max_steps: u64,
    /// Per fsync: the disk stalls (a slow device, a full queue) for up to
    /// `fsync_stall_max_steps` more. A learner whose leader goes away meanwhile leaves its
    /// role with writes still queued, and the disk goes on with them (ZOOKEEPER-4712).
    pub fsync_stall_ppm: u64,
    pub fsync_stall_max_steps: u64,
    /// Per tick: a forged election notification (a random vote, round and state, as if from
    /// a random voter) reaches a random server. This is stronger than ZooKeeper's fault model
    /// on purpose: it makes elections pick arbitrary, even stale, leaders, and ZAB must stay
    /// safe whatever the election decides, because discovery, not election, guards safety.
    pub rogue_vote_ppm: u64,
    /// Per tick and idle client: the client invokes a new operation.
    pub submit_ppm: u64,
    /// Clock skew: each server's clock runs within this many thousandths of the true rate.
    pub clock_skew_permille: u64,
    /// Per tick and server: its clock's rate is drawn again (drift).
    pub clock_drift_ppm: u64,
    /// When a server reaches one of the crash points behind ZooKeeper's ZAB bugs (see
    /// `crash_points`), it crashes right there with this probability.
    pub crash_at_point_ppm: u64,
}

impl FaultProfile {
    /// A profile drawn from `rng`: every kind of fault is present, at rates from gentle to
    /// harsh.
    pub fn draw(rng: &mut Rng) -> Self {
        FaultProfile {
            loss_ppm: rng.between(0, 60_000),
            duplicate_ppm: rng.between(0, 60_000),
            latency_max_steps: rng.between(1, 8),
            slow_ppm: rng.between(0, 50_000),
            slow_extra_max_steps: rng.between(5, 4 * STEPS_PER_TICK),
            partition_ppm: rng.between(0, 60_000),
            asymmetric_ppm: rng.between(0, 600_000),
            partition_ticks_max: rng.between(5, 60),
            crash_ppm: rng.between(0, 8_000),
            power_loss_ppm: rng.between(0, 1_500),
            restart_ticks_max: rng.between(1, 40),
            pause_ppm: rng.between(0, 6_000),
            pause_ticks_max: rng.between(1, 40),
            fsync_max_steps: rng.between(1, 2 * STEPS_PER_TICK),
            rogue_vote_ppm: rng.between(0, 150_000),
            submit_ppm: rng.between(200_000, 900_000),
            clock_skew_permille: rng.between(0, 350),
            clock_drift_ppm: rng.between(0, 30_000),
            crash_at_point_ppm: rng.between(0, 250_000),
            fsync_stall_ppm: rng.between(0, 40_000),
            fsync_stall_max_steps: rng.between(STEPS_PER_TICK, 12 * STEPS_PER_TICK),
        }
    }

    /// The healed network of the liveness phase: no loss, duplication,
    /// partitions or crashes; latency, fsync and clock skew stay as they were.
    pub fn healed(&self) -> Self {
        FaultProfile {
            loss_ppm: 0,
            duplicate_ppm: 0,
            slow_ppm: 0,
            partition_ppm: 0,
            crash_ppm: 0,
            power_loss_ppm: 0,
            pause_ppm: 0,
            rogue_vote_ppm: 0,
            submit_ppm: 0,
            crash_at_point_ppm: 0,
            ..self.clone()
        }
    }
}
