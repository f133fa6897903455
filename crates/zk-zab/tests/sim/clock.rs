//! Clock skew: every server ticks on its own clock. A clock runs at a rate drawn per server
//! (within the run's skew, e.g. ±30 %), and the rate drifts: now and then it is drawn again.
//! Faults, clients and the liveness bound still count ticks of the simulation's own time.
//!
//! Periods are kept in thousandths of a step so that small rate differences add up instead of
//! rounding away.

use crate::sim::faults::STEPS_PER_TICK;
use crate::sim::rng::Rng;

const MILLI: u64 = 1000;

#[derive(Debug, Clone)]
pub struct Clock {
    /// The length of one of this server's ticks, in thousandths of a step.
    period_milli: u64,
    /// When its next tick is due, in thousandths of a step.
    next_tick_milli: u64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            period_milli: STEPS_PER_TICK * MILLI,
            next_tick_milli: 0,
        }
    }
}

impl Clock {
    /// Draws a new rate within `skew_permille` of the true one.
    pub fn draw_rate(&mut self, rng: &mut Rng, skew_permille: u64) {
        let nominal = STEPS_PER_TICK * MILLI;
        let offset = rng.between(0, 2 * skew_permille);
        // nominal × (1000 − skew + offset) / 1000, i.e. within ±skew ‰.
        self.period_milli = nominal * (1000 - skew_permille + offset) / 1000;
    }

    /// The server (re)starts or resumes at `step`: its next tick is one period away.
    pub fn restart(&mut self, step: u64) {
        self.next_tick_milli = step * MILLI + self.period_milli;
    }

    /// Whether the server ticks at `step`; if so, schedules the next tick.
    pub fn tick_due(&mut self, step: u64) -> bool {
        if step * MILLI < self.next_tick_milli {
            return false;
        }
        let next = self.next_tick_milli + self.period_milli;
        // A server that fell behind (it was paused) does not catch up with a burst of ticks.
        self.next_tick_milli = if next <= step * MILLI {
            step * MILLI + self.period_milli
        } else {
            next
        };
        true
    }

    /// Steps per tick on this clock, for reports.
    pub fn period_steps(&self) -> f64 {
        self.period_milli as f64 / MILLI as f64
    }
}
