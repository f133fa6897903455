//! Linearizability of the clients' key-value history: per key for write, CAS and read, per
//! prefix for sequential creates. Operations on different keys commute, so checking each
//! key's sub-history alone is exact (linearizability is local) and much cheaper.

use crate::sim::checkers::linearizability::{check, Operation};
use crate::sim::kv::{apply_to_cell, apply_to_sequence, key_of, Cell, Op, Output};
use std::collections::BTreeMap;

/// Checks the whole client history, one partition at a time.
pub fn check_kv_history(ops: &[Operation<Op, Output>]) -> Result<(), String> {
    let mut by_key: BTreeMap<u8, Vec<Operation<Op, Output>>> = BTreeMap::new();
    let mut by_prefix: BTreeMap<u8, Vec<Operation<Op, Output>>> = BTreeMap::new();
    for op in ops {
        match (key_of(&op.input), op.input) {
            (Some(key), _) => by_key.entry(key).or_default().push(op.clone()),
            (None, Op::CreateSequential { prefix }) => {
                by_prefix.entry(prefix).or_default().push(op.clone())
            }
            (None, _) => unreachable!("every other op has a key"),
        }
    }
    for (key, ops) in &by_key {
        check(None, ops, cell_step).map_err(|error| format!("key {key}: {error}"))?;
    }
    for (prefix, ops) in &by_prefix {
        check(0u32, ops, sequence_step)
            .map_err(|error| format!("sequential prefix {prefix}: {error}"))?;
    }
    Ok(())
}

fn cell_step(cell: &Cell, op: &Op, answer: Option<&Output>) -> Option<Cell> {
    let (next, expected) = apply_to_cell(*cell, op);
    accepts(answer, expected).then_some(next)
}

fn sequence_step(next: &u32, _: &Op, answer: Option<&Output>) -> Option<u32> {
    let (after, expected) = apply_to_sequence(*next);
    accepts(answer, expected).then_some(after)
}

/// An operation without an answer may have had any outcome.
fn accepts(answer: Option<&Output>, expected: Output) -> bool {
    match answer {
        Some(answer) => *answer == expected,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(client: u32, input: Op, call: u64, ret: Option<(u64, Output)>) -> Operation<Op, Output> {
        Operation {
            client,
            input,
            call,
            ret,
        }
    }

    const W1: Op = Op::Write { key: 0, value: 1 };
    const READ: Op = Op::Read { key: 0 };

    #[test]
    fn a_linearizable_history_with_cas_and_sequences_passes() {
        let history = [
            op(1, W1, 0, Some((4, Output::Written { version: 0 }))),
            op(
                2,
                Op::Cas {
                    key: 0,
                    expected_version: 0,
                    value: 7,
                },
                2,
                Some((9, Output::Swapped { version: 1 })),
            ),
            op(3, READ, 5, Some((8, Output::Value(Some((7, 1)))))),
            op(
                1,
                Op::CreateSequential { prefix: 0 },
                5,
                Some((7, Output::Sequence(1))),
            ),
            op(
                2,
                Op::CreateSequential { prefix: 0 },
                6,
                Some((9, Output::Sequence(0))),
            ),
            op(3, Op::Write { key: 1, value: 3 }, 9, None),
        ];
        assert_eq!(check_kv_history(&history), Ok(()));
    }

    #[test]
    fn a_lost_write_and_a_repeated_sequence_number_are_caught() {
        let lost = [
            op(1, W1, 0, Some((4, Output::Written { version: 0 }))),
            op(2, READ, 5, Some((8, Output::Value(None)))),
        ];
        let error = check_kv_history(&lost).unwrap_err();
        assert!(error.starts_with("key 0: not linearizable"), "{error}");
        let repeated = [
            op(
                1,
                Op::CreateSequential { prefix: 1 },
                0,
                Some((3, Output::Sequence(0))),
            ),
            op(
                2,
                Op::CreateSequential { prefix: 1 },
                4,
                Some((6, Output::Sequence(0))),
            ),
        ];
        assert!(check_kv_history(&repeated).is_err());
    }

    #[test]
    fn a_cas_that_succeeded_against_a_stale_version_is_caught() {
        let history = [
            op(1, W1, 0, Some((2, Output::Written { version: 0 }))),
            op(1, W1, 3, Some((4, Output::Written { version: 1 }))),
            op(
                2,
                Op::Cas {
                    key: 0,
                    expected_version: 0,
                    value: 5,
                },
                5,
                Some((6, Output::Swapped { version: 1 })),
            ),
        ];
        assert!(check_kv_history(&history).is_err());
    }
}
