//! Spawning users along the shape: at the spawn rate, in the order of the
//! user mix, round-robin over workers; retiring the newest first when the
//! shape comes down. Pure: it decides, the controller sends.

use std::time::Duration;

use super::config::{Model, RunConfig};
use super::mix::Mix;

/// What the controller should tell a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start a user of this type on this worker.
    Spawn {
        /// Worker index.
        worker: usize,
        /// User type.
        type_index: usize,
    },
    /// Stop the newest user on this worker.
    Retire {
        /// Worker index.
        worker: usize,
    },
}

/// The closed-model users (and the open model's fixed-count users).
#[derive(Debug)]
pub struct Spawner {
    mix: Mix,
    workers: usize,
    /// Worker of each live user, oldest first.
    spawned: Vec<usize>,
    credit: f64,
    last: Duration,
}

impl Spawner {
    /// A spawner over `workers` workers; the first user may start at once.
    pub fn new(mix: Mix, workers: usize) -> Spawner {
        Spawner {
            mix,
            workers: workers.max(1),
            spawned: Vec::new(),
            credit: 1.0,
            last: Duration::ZERO,
        }
    }

    /// Users alive (as far as the spawner knows).
    #[cfg(test)]
    pub fn live(&self) -> usize {
        self.spawned.len()
    }

    /// The actions for time `t`.
    pub fn tick(&mut self, t: Duration, config: &RunConfig) -> Vec<Action> {
        let dt = t.saturating_sub(self.last).as_secs_f64();
        self.last = t;
        let desired = match config.model {
            Model::Closed { .. } => (config.shape.target(t) + 1e-9).floor().max(0.0) as usize,
            // Open model: only the fixed-count users are spawned here.
            Model::Open { .. } => self.mix.fixed_users() as usize,
        };
        let current = self.spawned.len();
        let mut actions = Vec::new();
        if desired > current {
            let rate = match config.model {
                Model::Closed {
                    spawn_rate: Some(r),
                } => Some(r),
                // A constant count starts evenly within the first second.
                _ if config.shape.is_constant() || matches!(config.model, Model::Open { .. }) => {
                    Some(desired as f64)
                }
                // A ramp's slope is its spawn rate.
                _ => None,
            };
            let allowed = match rate {
                Some(r) => {
                    self.credit = (self.credit + r * dt).min(desired as f64);
                    let whole = self.credit.floor();
                    self.credit -= whole;
                    whole as usize
                }
                None => desired - current,
            };
            for _ in 0..allowed.min(desired - current) {
                let Some(type_index) = self.mix.type_of(self.spawned.len() as u64) else {
                    break;
                };
                let worker = self.spawned.len() % self.workers;
                actions.push(Action::Spawn { worker, type_index });
                self.spawned.push(worker);
            }
        } else {
            self.credit = self.credit.min(1.0);
            for _ in desired..current {
                if let Some(worker) = self.spawned.pop() {
                    actions.push(Action::Retire { worker });
                }
            }
        }
        actions
    }

    /// True when no more users can ever be spawned (only fixed-count
    /// types, all spawned).
    pub fn exhausted(&self) -> bool {
        self.mix.type_of(self.spawned.len() as u64).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{LoadSpec, Stage, StageTarget, UserType};

    fn types(weights: &[(u32, Option<u32>)]) -> Vec<UserType> {
        weights
            .iter()
            .map(|&(w, c)| UserType::for_tests(w, c))
            .collect()
    }

    fn config(spec: LoadSpec, threads: usize) -> RunConfig {
        RunConfig::from_spec(&spec, threads).expect("valid")
    }

    /// Spawns per 50 ms tick over `seconds`.
    fn run(spawner: &mut Spawner, config: &RunConfig, seconds: f64) -> Vec<(f64, Action)> {
        let mut out = Vec::new();
        let mut t = 0.0;
        while t <= seconds + 1e-9 {
            for a in spawner.tick(Duration::from_secs_f64(t), config) {
                out.push((t, a));
            }
            t += 0.05;
        }
        out
    }

    #[test]
    fn spawn_rate_paces_users_and_the_first_starts_at_once() {
        let c = config(
            LoadSpec {
                users: Some(10),
                spawn_rate: Some(5.0),
                ..Default::default()
            },
            2,
        );
        let mut s = Spawner::new(Mix::new(&types(&[(1, None)])), 2);
        let actions = run(&mut s, &c, 3.0);
        assert_eq!(actions.len(), 10);
        assert_eq!(actions[0].0, 0.0, "the first user starts at once");
        let last = actions.last().expect("some").0;
        assert!(
            (1.7..=1.9).contains(&last),
            "10 users at 5/s take ~1.8 s: {last}"
        );
        let on_worker_1 = actions
            .iter()
            .filter(|(_, a)| matches!(a, Action::Spawn { worker: 1, .. }))
            .count();
        assert_eq!(on_worker_1, 5, "round-robin over workers");
    }

    #[test]
    fn a_constant_count_starts_within_the_first_second() {
        let c = config(
            LoadSpec {
                users: Some(20),
                ..Default::default()
            },
            1,
        );
        let mut s = Spawner::new(Mix::new(&types(&[(1, None)])), 1);
        let actions = run(&mut s, &c, 2.0);
        assert_eq!(actions.len(), 20);
        assert!(actions.iter().all(|(t, _)| *t <= 1.0 + 1e-9));
    }

    #[test]
    fn ramps_spawn_and_retire_newest_first() {
        let stages = vec![
            Stage {
                duration: Duration::from_secs(2),
                target: StageTarget::Users(4.0),
            },
            Stage {
                duration: Duration::from_secs(2),
                target: StageTarget::Users(1.0),
            },
        ];
        let c = config(
            LoadSpec {
                stages,
                ..Default::default()
            },
            2,
        );
        let mut s = Spawner::new(Mix::new(&types(&[(1, None)])), 2);
        let actions = run(&mut s, &c, 4.0);
        let spawns = actions
            .iter()
            .filter(|(_, a)| matches!(a, Action::Spawn { .. }))
            .count();
        let retires: Vec<Action> = actions
            .iter()
            .filter(|(_, a)| matches!(a, Action::Retire { .. }))
            .map(|(_, a)| *a)
            .collect();
        assert_eq!(spawns, 4);
        assert_eq!(
            retires,
            vec![
                Action::Retire { worker: 1 },
                Action::Retire { worker: 0 },
                Action::Retire { worker: 1 }
            ]
        );
        assert_eq!(s.live(), 1);
    }

    #[test]
    fn open_model_spawns_only_fixed_count_users() {
        let c = config(
            LoadSpec {
                rate: Some(100.0),
                ..Default::default()
            },
            1,
        );
        let mut s = Spawner::new(Mix::new(&types(&[(1, None), (0, Some(2))])), 1);
        let actions = run(&mut s, &c, 2.0);
        assert_eq!(actions.len(), 2);
        assert!(actions
            .iter()
            .all(|(_, a)| matches!(a, Action::Spawn { type_index: 1, .. })));
    }
}
