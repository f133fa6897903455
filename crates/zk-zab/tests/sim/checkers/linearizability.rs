//! Linearizability of a client history: the Wing–Gong–Lowe search with Porcupine's
//! memoisation, for one partition (one key) at a time.
//!
//! A history is a list of operations with the time each was invoked and, if the client got
//! one, the time and content of its answer. It is linearizable when there is one order of
//! the operations that respects real time (an operation answered before another was invoked
//! comes first) in which every answer is what the sequential model gives. Operations without
//! an answer (the client gave up, or its server crashed) may take effect at any point after
//! their invocation, or never.
//!
//! The search walks the history in time order and tries, at each point, every operation
//! invoked and not yet answered as the next one to take effect; it backtracks when an answer
//! is due that no order can give. It remembers every `(set of operations taken, model
//! state)` it reached, so a state is never explored twice (Lowe's improvement, as in
//! Porcupine), which keeps histories of hundreds of operations from a few clients cheap.

use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::Hash;

/// One client operation as the client saw it.
#[derive(Debug, Clone)]
pub struct Operation<I, O> {
    pub client: u32,
    pub input: I,
    /// When it was invoked (simulated steps).
    pub call: u64,
    /// When it was answered, and the answer; `None` when the client never got one.
    pub ret: Option<(u64, O)>,
}

/// How much searching one partition may take before the checker gives up (loudly).
const SEARCH_STEPS_MAX: u64 = 20_000_000;

const NONE: usize = usize::MAX;

/// The events of a history as a doubly linked list in time order, from which operations are
/// lifted out while they are tentatively linearized and put back when the search backtracks.
struct Events {
    /// Per event: the operation and whether it is the call (or the answer).
    op: Vec<usize>,
    is_call: Vec<bool>,
    /// Per operation: its answer's event, if it has one.
    answer_of: Vec<Option<usize>>,
    /// Per operation: its call's event.
    call_of: Vec<usize>,
    next: Vec<usize>,
    prev: Vec<usize>,
    head: usize,
}

impl Events {
    fn new<I, O>(ops: &[Operation<I, O>]) -> Self {
        // Calls before answers at the same instant: they count as concurrent.
        let mut order: Vec<(u64, bool, usize)> = Vec::new();
        for (index, op) in ops.iter().enumerate() {
            order.push((op.call, false, index));
            if let Some((at, _)) = &op.ret {
                order.push((*at, true, index));
            }
        }
        order.sort();
        let count = order.len();
        let head = count;
        let mut events = Events {
            op: Vec::with_capacity(count),
            is_call: Vec::with_capacity(count),
            answer_of: vec![None; ops.len()],
            call_of: vec![0; ops.len()],
            next: (1..=count)
                .map(|next| if next == count { NONE } else { next })
                .collect(),
            prev: Vec::with_capacity(count + 1),
            head,
        };
        events.next.push(if count == 0 { NONE } else { 0 });
        for (position, (_, is_answer, index)) in order.into_iter().enumerate() {
            events.op.push(index);
            events.is_call.push(!is_answer);
            if is_answer {
                events.answer_of[index] = Some(position);
            } else {
                events.call_of[index] = position;
            }
            events
                .prev
                .push(if position == 0 { head } else { position - 1 });
        }
        events.prev.push(NONE);
        events
    }

    fn first(&self) -> usize {
        self.next[self.head]
    }

    fn remove(&mut self, event: usize) {
        let (before, after) = (self.prev[event], self.next[event]);
        self.next[before] = after;
        if after != NONE {
            self.prev[after] = before;
        }
    }

    /// Undoes `remove`; removals must be undone in reverse order.
    fn restore(&mut self, event: usize) {
        let (before, after) = (self.prev[event], self.next[event]);
        self.next[before] = event;
        if after != NONE {
            self.prev[after] = event;
        }
    }

    fn lift(&mut self, op: usize) {
        self.remove(self.call_of[op]);
        if let Some(answer) = self.answer_of[op] {
            self.remove(answer);
        }
    }

    fn unlift(&mut self, op: usize) {
        if let Some(answer) = self.answer_of[op] {
            self.restore(answer);
        }
        self.restore(self.call_of[op]);
    }
}

/// Checks that `ops` is linearizable with respect to the sequential model `step`, starting
/// from `initial`. `step(state, input, answer)` returns the next state if the operation may
/// take effect in `state` with that answer (`None` as the answer: any answer is fine).
pub fn check<S, I, O>(
    initial: S,
    ops: &[Operation<I, O>],
    step: impl Fn(&S, &I, Option<&O>) -> Option<S>,
) -> Result<(), String>
where
    S: Clone + Eq + Hash + Debug,
    I: Debug,
    O: Debug,
{
    let mut events = Events::new(ops);
    let mut answers_left = ops.iter().filter(|op| op.ret.is_some()).count();
    let mut linearized = vec![0u64; ops.len().div_ceil(64)];
    let mut seen: HashSet<(Vec<u64>, S)> = HashSet::new();
    let mut taken: Vec<(usize, S)> = Vec::new();
    let mut state = initial;
    let mut entry = events.first();
    let mut longest = 0;
    let mut steps = 0u64;
    while answers_left > 0 {
        steps += 1;
        if steps > SEARCH_STEPS_MAX {
            return Err(format!(
                "linearizability search gave up after {SEARCH_STEPS_MAX} steps ({} operations)",
                ops.len()
            ));
        }
        if entry != NONE && events.is_call[entry] {
            let index = events.op[entry];
            let op = &ops[index];
            if let Some(next) = step(&state, &op.input, op.ret.as_ref().map(|(_, out)| out)) {
                linearized[index / 64] |= 1 << (index % 64);
                if seen.insert((linearized.clone(), next.clone())) {
                    taken.push((index, std::mem::replace(&mut state, next)));
                    longest = longest.max(taken.len());
                    events.lift(index);
                    answers_left -= usize::from(op.ret.is_some());
                    entry = events.first();
                    continue;
                }
                linearized[index / 64] &= !(1 << (index % 64));
            }
            entry = events.next[entry];
            continue;
        }
        // An answer is due (or nothing is left to try): undo the last choice.
        let Some((index, previous)) = taken.pop() else {
            let stuck = match (entry != NONE).then(|| &ops[events.op[entry]]) {
                Some(op) => format!(
                    "client {}'s {:?} invoked at step {} and answered {:?}",
                    op.client, op.input, op.call, op.ret
                ),
                None => "the history".to_string(),
            };
            return Err(format!(
                "not linearizable: no order of the {} operations explains {stuck} \
                 (the longest consistent prefix had {longest} operations)",
                ops.len()
            ));
        };
        state = previous;
        linearized[index / 64] &= !(1 << (index % 64));
        events.unlift(index);
        answers_left += usize::from(ops[index].ret.is_some());
        entry = events.next[events.call_of[index]];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A register: writes set it, reads must see it.
    #[derive(Debug, Clone, Copy)]
    enum Reg {
        Write(u64),
        Read,
    }

    fn register(state: &u64, input: &Reg, answer: Option<&u64>) -> Option<u64> {
        match input {
            Reg::Write(value) => Some(*value),
            Reg::Read => match answer {
                Some(seen) if seen != state => None,
                _ => Some(*state),
            },
        }
    }

    fn op(client: u32, input: Reg, call: u64, ret: Option<(u64, u64)>) -> Operation<Reg, u64> {
        Operation {
            client,
            input,
            call,
            ret,
        }
    }

    #[test]
    fn a_read_concurrent_with_a_write_may_see_either_value() {
        for seen in [0, 1] {
            let history = [
                op(1, Reg::Write(1), 0, Some((10, 0))),
                op(2, Reg::Read, 5, Some((15, seen))),
            ];
            assert_eq!(check(0, &history, register), Ok(()));
        }
    }

    #[test]
    fn a_stale_read_after_a_completed_write_is_caught() {
        let history = [
            op(1, Reg::Write(1), 0, Some((5, 0))),
            op(2, Reg::Read, 6, Some((10, 0))),
        ];
        assert!(check(0, &history, register).is_err());
    }

    #[test]
    fn an_unanswered_write_may_take_effect_late_or_never_but_not_flicker() {
        let pending_write = op(1, Reg::Write(1), 0, None);
        let saw_it = [pending_write.clone(), op(2, Reg::Read, 6, Some((10, 1)))];
        assert_eq!(check(0, &saw_it, register), Ok(()));
        let never = [pending_write.clone(), op(2, Reg::Read, 6, Some((10, 0)))];
        assert_eq!(check(0, &never, register), Ok(()));
        let flicker = [
            pending_write,
            op(2, Reg::Read, 6, Some((10, 1))),
            op(3, Reg::Read, 11, Some((12, 0))),
        ];
        assert!(check(0, &flicker, register).is_err());
    }

    #[test]
    fn reads_must_agree_on_the_order_of_concurrent_writes() {
        // Two concurrent writes; one reader sees 1 then 2, another sees 2 then 1 afterwards.
        let history = [
            op(1, Reg::Write(1), 0, Some((20, 0))),
            op(2, Reg::Write(2), 0, Some((20, 0))),
            op(3, Reg::Read, 1, Some((2, 1))),
            op(3, Reg::Read, 3, Some((4, 2))),
            op(4, Reg::Read, 5, Some((6, 1))),
        ];
        assert!(check(0, &history, register).is_err());
        let consistent = [
            op(1, Reg::Write(1), 0, Some((20, 0))),
            op(2, Reg::Write(2), 0, Some((20, 0))),
            op(3, Reg::Read, 1, Some((2, 1))),
            op(3, Reg::Read, 3, Some((4, 2))),
            op(4, Reg::Read, 5, Some((6, 2))),
        ];
        assert_eq!(check(0, &consistent, register), Ok(()));
    }
}
