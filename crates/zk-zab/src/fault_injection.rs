//! Deliberately broken variants of the cores, for proving that the simulation's checkers
//! catch real protocol bugs. Test-only: without the `fault-injection` cargo feature there is
//! no way to switch a mutation on, and [`is_active`] is a constant `false` the compiler drops.
//!
//! With the feature, a test switches one mutation on for its own thread ([`inject`]); the
//! simulation runs a whole ensemble on one thread, so every core of that run is broken the
//! same way and nothing else is touched (other tests, other threads, zk-server).

/// One deliberate bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    /// The leader commits a proposal as soon as its own copy is durable, without waiting for
    /// a quorum of ACKs.
    CommitBeforeQuorum,
    /// A learner ignores TRUNC: it keeps the transactions the leader told it to drop.
    SkipTrunc,
    /// A learner acknowledges NEWLEADER as soon as it applied it, before the synchronised
    /// history is durable (ZOOKEEPER-4646's bug).
    AckNewLeaderBeforeDurable,
}

#[cfg(feature = "fault-injection")]
thread_local! {
    static ACTIVE: std::cell::Cell<Option<Mutation>> = const { std::cell::Cell::new(None) };
}

/// Switches `mutation` on (or every mutation off, with `None`) for the calling thread.
#[cfg(feature = "fault-injection")]
pub fn inject(mutation: Option<Mutation>) {
    ACTIVE.with(|active| active.set(mutation));
}

/// Whether `mutation` is switched on for the calling thread.
pub(crate) fn is_active(mutation: Mutation) -> bool {
    #[cfg(feature = "fault-injection")]
    {
        ACTIVE.with(|active| active.get() == Some(mutation))
    }
    #[cfg(not(feature = "fault-injection"))]
    {
        let _ = mutation;
        false
    }
}
