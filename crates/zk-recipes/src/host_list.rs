//! The order in which the client tries servers: the connect string's hosts shuffled once (so
//! clients spread over an ensemble), then tried round-robin, as the Java client's
//! `StaticHostProvider` does.

use crate::connect_string::HostAddr;
use crate::rng::SeededRng;

/// The shuffled hosts and the position of the next one to try.
#[derive(Debug, Clone)]
pub struct HostList {
    hosts: Vec<HostAddr>,
    next_index: usize,
}

impl HostList {
    /// `hosts` shuffled by `rng`.
    pub fn new(mut hosts: Vec<HostAddr>, rng: &mut SeededRng) -> Self {
        assert!(!hosts.is_empty(), "a host list needs at least one host");
        rng.shuffle(&mut hosts);
        HostList {
            hosts,
            next_index: 0,
        }
    }

    /// The next host to try, and whether it starts a new round (every host has been tried
    /// since the last round began); a caller backs off between rounds.
    pub fn next_host(&mut self) -> (HostAddr, bool) {
        let starts_round = self.next_index == 0;
        let host = self.hosts[self.next_index].clone();
        self.next_index = (self.next_index + 1) % self.hosts.len();
        (host, starts_round)
    }

    /// How many hosts there are.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Always false: a list has at least one host.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// The hosts in trial order.
    pub fn hosts(&self) -> &[HostAddr] {
        &self.hosts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(count: u16) -> Vec<HostAddr> {
        (0..count)
            .map(|port| HostAddr {
                host: "h".into(),
                port: port + 1,
            })
            .collect()
    }

    #[test]
    fn order_is_seeded_and_cycles() {
        let a = HostList::new(hosts(5), &mut SeededRng::new(9));
        let b = HostList::new(hosts(5), &mut SeededRng::new(9));
        assert_eq!(a.hosts(), b.hosts(), "same seed, same order");
        let mut list = a;
        let first_round: Vec<(HostAddr, bool)> = (0..5).map(|_| list.next_host()).collect();
        assert!(first_round[0].1);
        assert!(first_round[1..].iter().all(|(_, starts)| !starts));
        let (again, starts) = list.next_host();
        assert_eq!(again, first_round[0].0);
        assert!(starts);
    }
}
