//! Side A/B selection and the reconnect schedule (conventions.md section 12), without I/O.
//!
//! The guide's 17 steps: try the last good side, then the other; wait a random
//! N ∈ [0, expected clients ÷ 10] seconds; try both; wait 15 s; try both; wait 30 s;
//! try both; wait 60 s; try both; wait 120 s; then keep trying both every 120 s.
//! The caller asks [`ReconnectSchedule::next_step`] what to do, does it, and asks
//! again until a connection opens.
//!
//! ```
//! use std::time::Duration;
//! use cce::cti::reconnect::{ReconnectPolicy, ReconnectSchedule, Side, Step};
//! let mut s = ReconnectSchedule::new(ReconnectPolicy::default(), Side::A, true, 7);
//! assert_eq!(s.next_step(), Step::Try(Side::A));
//! assert_eq!(s.next_step(), Step::Try(Side::B));
//! // One expected client: N ∈ [0, 0.1] s, drawn in milliseconds.
//! assert!(matches!(s.next_step(), Step::Wait(d) if d <= Duration::from_millis(100)));
//! ```

use std::fmt;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// One of the two CTI Server sides of a duplex pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Side A (the first configured address).
    A,
    /// Side B (the second configured address).
    B,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    /// "A" or "B".
    pub fn name(self) -> &'static str {
        match self {
            Side::A => "A",
            Side::B => "B",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Settings of the reconnect schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    /// Expected number of CTI clients at the site; the random spread before the
    /// second round is N ∈ [0, expected_clients / 10] seconds, drawn in milliseconds
    /// (so 3 clients spread over 0–300 ms rather than always 0).
    pub expected_clients: u32,
    /// The fixed waits after the second, third, fourth and fifth rounds; the last one
    /// repeats forever. The guide's values are 15, 30, 60 and 120 s.
    pub waits: Vec<Duration>,
    /// Multiplies every wait (1.0 in production; e.g. 0.001 to run the schedule fast in tests).
    pub time_scale: f64,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            expected_clients: 1,
            waits: [15, 30, 60, 120].map(Duration::from_secs).to_vec(),
            time_scale: 1.0,
        }
    }
}

impl ReconnectPolicy {
    /// The policy scaled by `factor` (every wait multiplied by it).
    pub fn scaled(mut self, factor: f64) -> Self {
        self.time_scale = factor;
        self
    }

    fn scale(&self, d: Duration) -> Duration {
        if self.time_scale.is_finite() && self.time_scale >= 0.0 {
            d.mul_f64(self.time_scale)
        } else {
            d
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Open a TCP connection to this side (and then OPEN_REQ).
    Try(Side),
    /// Wait this long before the next step.
    Wait(Duration),
}

/// The reconnect schedule: an endless sequence of [`Step`]s, restarted after each
/// successful connection.
#[derive(Debug)]
pub struct ReconnectSchedule {
    policy: ReconnectPolicy,
    last_good: Side,
    duplex: bool,
    /// Index into the 17-step table (0-based); steps 13..=15 repeat.
    step: usize,
    rng: StdRng,
}

impl ReconnectSchedule {
    /// A schedule starting at step 1. `last_good` is the side of the last successful
    /// connection; with `duplex` false both "sides" are the same address. `seed`
    /// makes the random spread reproducible (use [`ReconnectSchedule::with_entropy`]
    /// in production).
    pub fn new(policy: ReconnectPolicy, last_good: Side, duplex: bool, seed: u64) -> Self {
        ReconnectSchedule {
            policy,
            last_good,
            duplex,
            step: 0,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Like [`ReconnectSchedule::new`] with a random seed.
    pub fn with_entropy(policy: ReconnectPolicy, last_good: Side, duplex: bool) -> Self {
        let seed = rand::random();
        Self::new(policy, last_good, duplex, seed)
    }

    /// The side of the last successful connection.
    pub fn last_good(&self) -> Side {
        self.last_good
    }

    /// A connection to `side` opened: it becomes the last good side and the schedule
    /// starts again from step 1 the next time it is needed.
    pub fn connected(&mut self, side: Side) {
        self.last_good = side;
        self.step = 0;
    }

    fn other(&self) -> Side {
        if self.duplex {
            self.last_good.other()
        } else {
            self.last_good
        }
    }

    fn fixed_wait(&self, i: usize) -> Duration {
        let w = &self.policy.waits;
        let d = w
            .get(i)
            .or_else(|| w.last())
            .copied()
            .unwrap_or(Duration::from_secs(120));
        self.policy.scale(d)
    }

    /// The next step (steps 1 to 17 of the guide, then 14–16 forever).
    pub fn next_step(&mut self) -> Step {
        // Steps, 0-based: 0 last, 1 other, 2 choose N (folded into 3), 3 wait N,
        // then (last, other, wait) triples with waits 15/30/60/120 s; the final triple repeats.
        let i = self.step;
        self.step += 1;
        match i {
            0 => Step::Try(self.last_good),
            1 => Step::Try(self.other()),
            2 => {
                // N ∈ [0, clients ÷ 10] s, in milliseconds so that fewer than ten
                // clients still spread (3 clients: up to 300 ms).
                let max_ms = u64::from(self.policy.expected_clients) * 100;
                let n = self.rng.random_range(0..=max_ms);
                Step::Wait(self.policy.scale(Duration::from_millis(n)))
            }
            _ => {
                let k = i - 3;
                let rounds = self.policy.waits.len().max(1);
                if k / 3 >= rounds {
                    // In the repeating triple: keep the counter bounded.
                    self.step -= 3;
                }
                match k % 3 {
                    0 => Step::Try(self.last_good),
                    1 => Step::Try(self.other()),
                    _ => Step::Wait(self.fixed_wait((k / 3).min(rounds - 1))),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Step {
        Step::Wait(Duration::from_secs(s))
    }

    #[test]
    fn follows_the_seventeen_steps_then_repeats_every_120_s() {
        let policy = ReconnectPolicy {
            expected_clients: 0,
            ..Default::default()
        };
        let mut s = ReconnectSchedule::new(policy, Side::B, true, 1);
        let got: Vec<Step> = (0..22).map(|_| s.next_step()).collect();
        use Side::*;
        let want = vec![
            Step::Try(B),
            Step::Try(A),
            secs(0),
            Step::Try(B),
            Step::Try(A),
            secs(15),
            Step::Try(B),
            Step::Try(A),
            secs(30),
            Step::Try(B),
            Step::Try(A),
            secs(60),
            Step::Try(B),
            Step::Try(A),
            secs(120),
            Step::Try(B),
            Step::Try(A),
            secs(120),
            Step::Try(B),
            Step::Try(A),
            secs(120),
            Step::Try(B),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn random_spread_stays_within_clients_over_ten() {
        let policy = ReconnectPolicy {
            expected_clients: 500,
            ..Default::default()
        };
        let mut seen = std::collections::HashSet::new();
        for seed in 0..200 {
            let mut s = ReconnectSchedule::new(policy.clone(), Side::A, true, seed);
            s.next_step();
            s.next_step();
            match s.next_step() {
                Step::Wait(d) => {
                    assert!(d <= Duration::from_secs(50), "{d:?}");
                    seen.insert(d.as_secs());
                }
                other => panic!("expected the random wait, got {other:?}"),
            }
        }
        // Spread over the range, not a constant.
        assert!(seen.len() > 20, "{seen:?}");
    }

    #[test]
    fn random_spread_is_in_milliseconds_below_ten_clients() {
        let policy = ReconnectPolicy {
            expected_clients: 3,
            ..Default::default()
        };
        let mut seen = std::collections::HashSet::new();
        for seed in 0..100 {
            let mut s = ReconnectSchedule::new(policy.clone(), Side::A, true, seed);
            s.next_step();
            s.next_step();
            match s.next_step() {
                Step::Wait(d) => {
                    assert!(d <= Duration::from_millis(300), "{d:?}");
                    seen.insert(d.as_millis());
                }
                other => panic!("expected the random wait, got {other:?}"),
            }
        }
        assert!(seen.len() > 20, "{seen:?}");
        assert!(seen.iter().any(|&ms| ms > 0), "{seen:?}");
    }

    #[test]
    fn connected_restarts_from_the_new_good_side() {
        let mut s = ReconnectSchedule::new(ReconnectPolicy::default(), Side::A, true, 3);
        for _ in 0..7 {
            s.next_step();
        }
        s.connected(Side::B);
        assert_eq!(s.next_step(), Step::Try(Side::B));
        assert_eq!(s.next_step(), Step::Try(Side::A));
    }

    #[test]
    fn simplex_tries_the_same_address_and_scaling_shrinks_waits() {
        let policy = ReconnectPolicy {
            expected_clients: 0,
            ..Default::default()
        }
        .scaled(0.001);
        let mut s = ReconnectSchedule::new(policy, Side::A, false, 3);
        let got: Vec<Step> = (0..6).map(|_| s.next_step()).collect();
        assert_eq!(
            got,
            vec![
                Step::Try(Side::A),
                Step::Try(Side::A),
                Step::Wait(Duration::ZERO),
                Step::Try(Side::A),
                Step::Try(Side::A),
                Step::Wait(Duration::from_millis(15)),
            ]
        );
    }

    #[test]
    fn custom_waits_repeat_the_last_one() {
        let policy = ReconnectPolicy {
            expected_clients: 0,
            waits: vec![Duration::from_secs(1), Duration::from_secs(2)],
            time_scale: 1.0,
        };
        let mut s = ReconnectSchedule::new(policy, Side::A, true, 0);
        let waits: Vec<Step> = (0..15)
            .map(|_| s.next_step())
            .filter(|st| matches!(st, Step::Wait(_)))
            .collect();
        assert_eq!(waits, vec![secs(0), secs(1), secs(2), secs(2), secs(2)]);
    }
}
