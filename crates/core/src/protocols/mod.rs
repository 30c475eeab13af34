//! Protocol drivers: how each kind of step talks to the system under test.
//! Drivers record their own samples; they never import the engine.

pub mod http;
pub mod mqtt;
pub mod tls;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::metrics::{Recorder, StatId};
use crate::template::Vars;

/// What a step can touch: the user's variables, connections and recorder.
/// One per simulated user, owned by its task on one worker thread.
pub struct Context {
    /// Variables for templates; mutate through [`Context::vars_mut`].
    pub vars: Arc<Vars>,
    /// The user's HTTP connections.
    pub http: http::Session,
    /// The user's MQTT connection, opened by its first MQTT step.
    pub mqtt: Option<mqtt::session::MqttSession>,
    /// The worker's recorder, shared by the worker's users.
    pub recorder: Rc<RefCell<Recorder>>,
    /// When each marked step last started in this iteration (for `poll`'s
    /// `from`), by mark index.
    pub marks: Vec<Option<Instant>>,
    /// Open model: how late this iteration started compared with when it
    /// was due. The first measurement of the iteration is timed from that
    /// much before its own start, so waiting for a free user counts, while
    /// the iteration's own earlier steps (a `sleep`, a `set`) do not.
    pub carried_delay: Option<Duration>,
    /// Rows with a measurement under way, reported as interrupted if the
    /// run ends before they finish.
    pub in_flight: Vec<StatId>,
}

impl Context {
    /// A context for a new user.
    pub fn new(
        vars: Vars,
        http: http::Session,
        recorder: Rc<RefCell<Recorder>>,
        marks: usize,
    ) -> Self {
        Context {
            vars: Arc::new(vars),
            http,
            mqtt: None,
            recorder,
            marks: vec![None; marks],
            carried_delay: None,
            in_flight: Vec::with_capacity(2),
        }
    }

    /// Mutable access to the variables (no copy: nothing else holds them
    /// between renders).
    pub fn vars_mut(&mut self) -> &mut Vars {
        Arc::make_mut(&mut self.vars)
    }

    /// Starts measuring row `stat`: returns the start time, moved back by
    /// the carried delay for the first measurement of an open-model
    /// iteration.
    pub fn begin(&mut self, stat: StatId) -> Instant {
        self.in_flight.push(stat);
        let now = Instant::now();
        match self.carried_delay.take() {
            Some(delay) => now.checked_sub(delay).unwrap_or(now),
            None => now,
        }
    }

    /// Ends the measurement of row `stat`.
    pub fn end(&mut self, stat: StatId) {
        if let Some(i) = self.in_flight.iter().rposition(|s| *s == stat) {
            self.in_flight.remove(i);
        }
    }

    /// Records every unfinished measurement as interrupted (the run ended).
    pub fn interrupt(&mut self) {
        let mut recorder = self.recorder.borrow_mut();
        for stat in self.in_flight.drain(..) {
            recorder.interrupted(stat);
        }
    }
}

impl Drop for Context {
    /// A user aborted at the end of the run is dropped mid-request: what it
    /// was measuring counts as interrupted, neither success nor failure.
    fn drop(&mut self) {
        if !self.in_flight.is_empty() {
            self.interrupt();
        }
    }
}

/// What the iteration does after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on with the next step.
    Continue,
    /// Skip the rest of this iteration (e.g. a value could not be extracted
    /// and later steps would only fail on it).
    Abort,
}

/// The default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
