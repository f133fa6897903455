//! The operation mix: which requests a load run sends, and in what proportions.
//!
//! A mix is a list of integer weights, written `get=90,set=10`; each request picks an
//! operation with probability weight / total. `get=90,set=10` is a 90 % read workload.

use crate::error::LoadError;
use crate::rng::SplitMix64;
use std::fmt;
use zk_proto::OpCode;

/// An operation zk-load can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// `getData` of a random pre-created key.
    Get,
    /// `exists` of a random pre-created key.
    Exists,
    /// `setData` of a random pre-created key (any version).
    Set,
    /// `create` of a persistent sequential znode under the run's sequence parent.
    CreateSequential,
    /// `delete` of a znode this session created earlier (a create when it has none left).
    Delete,
}

impl Operation {
    /// Every operation, in the order reports list them.
    pub const ALL: [Operation; 5] = [
        Operation::Get,
        Operation::Exists,
        Operation::Set,
        Operation::CreateSequential,
        Operation::Delete,
    ];

    /// The name used in `--mix` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Get => "get",
            Operation::Exists => "exists",
            Operation::Set => "set",
            Operation::CreateSequential => "create",
            Operation::Delete => "delete",
        }
    }

    /// The operation named `name` (as in `--mix`); `getData`, `setData` and `create_seq`
    /// are accepted too.
    pub fn from_name(name: &str) -> Option<Operation> {
        Some(match name {
            "get" | "getData" => Operation::Get,
            "exists" => Operation::Exists,
            "set" | "setData" => Operation::Set,
            "create" | "create_seq" | "createSequential" => Operation::CreateSequential,
            "delete" => Operation::Delete,
            _ => return None,
        })
    }

    /// The request's opcode.
    pub fn op_code(self) -> OpCode {
        match self {
            Operation::Get => OpCode::GetData,
            Operation::Exists => OpCode::Exists,
            Operation::Set => OpCode::SetData,
            Operation::CreateSequential => OpCode::Create,
            Operation::Delete => OpCode::Delete,
        }
    }

    /// Whether the operation changes the tree (goes through the write pipeline).
    pub fn is_write(self) -> bool {
        !matches!(self, Operation::Get | Operation::Exists)
    }

    /// The position of the operation in [`Operation::ALL`], for per-operation tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Weights of the operations; at least one is non-zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpMix {
    /// `(operation, cumulative weight)` for the operations with a non-zero weight, in
    /// [`Operation::ALL`] order; the last cumulative weight is the total.
    cumulative: Vec<(Operation, u64)>,
}

impl OpMix {
    /// A mix from `(operation, weight)` pairs; an operation named twice adds its weights.
    pub fn from_weights(weights: &[(Operation, u32)]) -> Result<OpMix, LoadError> {
        let mut per_operation = [0_u64; Operation::ALL.len()];
        for &(operation, weight) in weights {
            per_operation[operation.index()] += u64::from(weight);
        }
        let mut cumulative = Vec::new();
        let mut total = 0;
        for operation in Operation::ALL {
            let weight = per_operation[operation.index()];
            if weight > 0 {
                total += weight;
                cumulative.push((operation, total));
            }
        }
        if cumulative.is_empty() {
            return Err(LoadError::BadArgument(
                "the operation mix has no operation with a non-zero weight".into(),
            ));
        }
        Ok(OpMix { cumulative })
    }

    /// A mix of one operation.
    pub fn only(operation: Operation) -> OpMix {
        OpMix {
            cumulative: vec![(operation, 1)],
        }
    }

    /// `read_percent` % `get` and the rest `set`.
    pub fn read_percent(read_percent: u32) -> Result<OpMix, LoadError> {
        if read_percent > 100 {
            return Err(LoadError::BadArgument(format!(
                "--read-percent {read_percent} is above 100"
            )));
        }
        OpMix::from_weights(&[
            (Operation::Get, read_percent),
            (Operation::Set, 100 - read_percent),
        ])
    }

    /// Parses `get=90,set=10` (a bare name means weight 1: `get` is all gets).
    pub fn parse(spec: &str) -> Result<OpMix, LoadError> {
        let mut weights = Vec::new();
        for item in spec
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let (name, weight) = match item.split_once('=') {
                Some((name, weight)) => {
                    let weight = weight.trim().parse::<u32>().map_err(|_| {
                        LoadError::BadArgument(format!("bad weight in mix item {item:?}"))
                    })?;
                    (name.trim(), weight)
                }
                None => (item, 1),
            };
            let operation = Operation::from_name(name).ok_or_else(|| {
                LoadError::BadArgument(format!(
                    "unknown operation {name:?} in mix (known: get, exists, set, create, delete)"
                ))
            })?;
            weights.push((operation, weight));
        }
        OpMix::from_weights(&weights)
    }

    /// Picks an operation with probability proportional to its weight.
    pub fn pick(&self, rng: &mut SplitMix64) -> Operation {
        if let [(only, _)] = self.cumulative.as_slice() {
            return *only;
        }
        let total = self.total_weight();
        let ticket = rng.below(total);
        self.cumulative
            .iter()
            .find(|&&(_, up_to)| ticket < up_to)
            .map(|&(operation, _)| operation)
            .expect("a ticket below the total falls under some cumulative weight")
    }

    /// The sum of the weights.
    pub fn total_weight(&self) -> u64 {
        self.cumulative.last().map_or(0, |&(_, total)| total)
    }

    /// The weight of `operation` (0 if it is not in the mix).
    pub fn weight(&self, operation: Operation) -> u64 {
        let mut below = 0;
        for &(candidate, up_to) in &self.cumulative {
            if candidate == operation {
                return up_to - below;
            }
            below = up_to;
        }
        0
    }

    /// Whether the mix sends `operation` at all.
    pub fn contains(&self, operation: Operation) -> bool {
        self.weight(operation) > 0
    }

    /// The operations in the mix, in [`Operation::ALL`] order.
    pub fn operations(&self) -> impl Iterator<Item = Operation> + '_ {
        self.cumulative.iter().map(|&(operation, _)| operation)
    }
}

impl fmt::Display for OpMix {
    /// The mix in `--mix` syntax, e.g. `get=90,set=10`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, operation) in self.operations().enumerate() {
            if position > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}={}", operation, self.weight(operation))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(mix: &OpMix, picks: usize) -> [usize; 5] {
        let mut rng = SplitMix64::new(11);
        let mut counts = [0; 5];
        for _ in 0..picks {
            counts[mix.pick(&mut rng).index()] += 1;
        }
        counts
    }

    #[test]
    fn parse_and_display_round_trip() {
        let mix = OpMix::parse("get=90, set=10").unwrap();
        assert_eq!(mix.to_string(), "get=90,set=10");
        assert_eq!(mix.total_weight(), 100);
        assert_eq!(mix.weight(Operation::Get), 90);
        assert_eq!(mix.weight(Operation::Set), 10);
        assert_eq!(mix.weight(Operation::Delete), 0);
    }

    #[test]
    fn bare_name_is_weight_one_and_repeats_add_up() {
        let mix = OpMix::parse("create,create=2,delete").unwrap();
        assert_eq!(mix.to_string(), "create=3,delete=1");
    }

    #[test]
    fn bad_specs_are_rejected() {
        assert!(OpMix::parse("").is_err());
        assert!(OpMix::parse("get=0").is_err());
        assert!(OpMix::parse("fetch=1").is_err());
        assert!(OpMix::parse("get=x").is_err());
        assert!(OpMix::read_percent(101).is_err());
    }

    #[test]
    fn single_operation_is_always_picked() {
        let mix = OpMix::only(Operation::Set);
        assert_eq!(counts(&mix, 1000)[Operation::Set.index()], 1000);
    }

    #[test]
    fn zero_weight_is_never_picked() {
        let mix = OpMix::parse("get=1,exists=0,set=1").unwrap();
        let counts = counts(&mix, 10_000);
        assert_eq!(counts[Operation::Exists.index()], 0);
        assert_eq!(counts.iter().sum::<usize>(), 10_000);
    }

    #[test]
    fn picks_follow_the_weights() {
        let mix = OpMix::read_percent(90).unwrap();
        let counts = counts(&mix, 100_000);
        let gets = counts[Operation::Get.index()];
        // 90 000 expected; the binomial standard deviation is under 100.
        assert!((89_000..=91_000).contains(&gets), "{gets} gets of 100000");
        assert_eq!(gets + counts[Operation::Set.index()], 100_000);
    }

    #[test]
    fn read_percent_extremes() {
        assert_eq!(OpMix::read_percent(100).unwrap().to_string(), "get=100");
        assert_eq!(OpMix::read_percent(0).unwrap().to_string(), "set=100");
    }

    #[test]
    fn names_and_opcodes() {
        for operation in Operation::ALL {
            assert_eq!(Operation::from_name(operation.name()), Some(operation));
        }
        assert_eq!(Operation::CreateSequential.op_code(), OpCode::Create);
        assert!(Operation::Delete.is_write());
        assert!(!Operation::Exists.is_write());
    }
}
