//! A simulated user: the one load loop. It takes the next arrival — after
//! its wait in the closed model, from the arrival queue in the open model —
//! runs one iteration (a weighted task), and repeats until told to stop.

use std::rc::Rc;
use std::sync::atomic::Ordering;

use tokio::time::{sleep_until, Instant};

use super::arrivals::{Arrival, TypeQueue};
use super::signal::StopFlag;
use super::worker::WorkerEnv;
use super::RunShared;
use crate::protocols::http::Session;
use crate::protocols::{Context, Flow};
use crate::scenario::{Step, UserType, Wait};
use crate::template::Vars;

/// Where a user's iterations come from.
pub enum Source {
    /// Closed model: the next iteration starts after the user's wait.
    Closed(Wait),
    /// Open model: iterations are arrivals taken from a queue.
    Open(Rc<TypeQueue>),
}

/// Counts a user as alive for as long as it exists (also when aborted).
struct Alive<'a>(&'a RunShared);

impl<'a> Alive<'a> {
    fn enter(run: &'a RunShared) -> Self {
        run.live_users.fetch_add(1, Ordering::Relaxed);
        Alive(run)
    }
}

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.0.live_users.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Runs user `id` of type `type_index` until it is stopped, its source
/// ends, or the run's iteration budget is spent.
pub async fn run(
    env: Rc<WorkerEnv>,
    id: u64,
    type_index: usize,
    stop: Rc<StopFlag>,
    source: Source,
) {
    let _alive = Alive::enter(&env.run);
    let user_type: &UserType = &env.plan.user_types[type_index];
    let session = Session::new(env.http.clone(), env.recorder.clone());
    let mut vars = Vars::new(id, env.plan.globals.clone());
    // A data row from the start, so that `on_start` can log in with it.
    if let Some(data) = &env.plan.data {
        vars.set_row(data.next_row());
    }
    let mut cx = Context::new(vars, session, env.recorder.clone(), user_type.marks);
    if !user_type.on_start.is_empty() {
        Box::pin(run_steps(&user_type.on_start, &mut cx)).await;
    }
    let mut last_start: Option<Instant> = None;
    let open = matches!(source, Source::Open(_));
    while let Some(arrival) = next_arrival(&source, &stop, last_start).await {
        // Open-model arrivals took their iteration when generated.
        if !open && !env.run.claim_iteration() {
            break;
        }
        let now = Instant::now();
        last_start = Some(now);
        env.recorder
            .borrow_mut()
            .arrival(now.saturating_duration_since(arrival.due), arrival.queued);
        if open {
            // The wait in line for a user is carried into the first
            // measurement; the timer's own lateness is not the target's.
            cx.carried_delay = Some(now.saturating_duration_since(arrival.queued_at));
        }
        // Boxed so that an idle user holds only its small loop state, not
        // the largest step future.
        Box::pin(iteration(&env, user_type, type_index, &mut cx)).await;
        cx.carried_delay = None;
        cx.vars_mut().iteration += 1;
        // A task without network I/O must still let the worker breathe.
        tokio::task::consume_budget().await;
    }
}

/// The next arrival, or `None` when the user should stop.
async fn next_arrival(
    source: &Source,
    stop: &StopFlag,
    last_start: Option<Instant>,
) -> Option<Arrival> {
    if stop.is_set() {
        return None;
    }
    let wait = match source {
        Source::Open(queue) => return queue.next(stop).await,
        Source::Closed(wait) => *wait,
    };
    let now = Instant::now();
    let due = match (wait, last_start) {
        (_, None) | (Wait::None, _) => {
            return Some(Arrival {
                due: now,
                queued_at: now,
                queued: false,
            })
        }
        (Wait::Pacing(interval), Some(prev)) => prev + interval,
        (w, Some(_)) => now + w.sample(),
    };
    if due > now {
        tokio::select! {
            _ = sleep_until(due) => {}
            _ = stop.requested() => return None,
        }
    }
    // `queued_at` is read only for open-model arrivals, which wait in line.
    Some(Arrival {
        due,
        queued_at: due,
        queued: false,
    })
}

/// One iteration: a fresh data row, cleared marks, one weighted task.
async fn iteration(env: &WorkerEnv, user_type: &UserType, type_index: usize, cx: &mut Context) {
    if let Some(data) = env.plan.data.as_ref().filter(|d| d.per_iteration()) {
        // The first iteration keeps the row the user started with.
        if cx.vars.iteration > 0 {
            let row = data.next_row();
            cx.vars_mut().set_row(row);
        }
    }
    cx.marks.fill(None);
    let task = &user_type.tasks[env.tasks[type_index].pick()];
    run_steps(&task.steps, cx).await;
}

/// Runs steps in order until one aborts the iteration.
async fn run_steps(steps: &[Step], cx: &mut Context) {
    for step in steps {
        let flow = match step {
            // Step futures are boxed: a user holds only the one it runs,
            // not room for the largest kind (thousands of idle devices).
            Step::Http(s) => Box::pin(s.run(cx)).await,
            Step::Poll(p) => Box::pin(p.run(cx)).await,
            Step::Sleep(w) => {
                tokio::time::sleep(w.sample()).await;
                Flow::Continue
            }
            Step::Set(vars) => set(vars, cx),
            Step::Mqtt(m) => Box::pin(m.run(cx)).await,
        };
        if flow == Flow::Abort {
            break;
        }
    }
}

fn set(vars: &[(String, crate::template::ValueTemplate)], cx: &mut Context) -> Flow {
    for (name, value) in vars {
        match value.render_value(&cx.vars) {
            Ok(v) => cx.vars_mut().set(name, v),
            Err(e) => {
                cx.recorder.borrow_mut().error(&format!("set {name}: {e}"));
                return Flow::Abort;
            }
        }
    }
    Flow::Continue
}
