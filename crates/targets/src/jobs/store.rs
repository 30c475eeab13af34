//! The job store: every job ever submitted plus the FIFO of those still
//! waiting. Pure bookkeeping with no I/O and no clock (only fresh random ids), so the HTTP handlers and
//! the worker can share it behind one short-held mutex and it can be tested on
//! its own.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};

use serde::Serialize;
use uuid::Uuid;

/// Where a job is in its life; serialized lowercase as the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum JobStatus {
    /// Submitted and waiting in the queue.
    New,
    /// Taken off the queue by the worker.
    Done,
}

/// One submitted job, kept after completion so clients can poll its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Job {
    /// Current state.
    pub(crate) status: JobStatus,
    /// The `message` the client submitted (empty if none).
    pub(crate) message: String,
}

/// All jobs by id and the ids still pending, oldest first.
///
/// Completed jobs stay in the map for the life of the process: the reference
/// target favours answering every `GET /jobs/{id}` over bounded memory.
#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Every job ever submitted.
    jobs: HashMap<Uuid, Job>,
    /// Ids of jobs with status `New`, in submission order.
    pending: VecDeque<Uuid>,
    /// Jobs ever submitted.
    submitted: u64,
    /// Jobs ever completed.
    completed: u64,
}

impl Store {
    /// Adds a new job at the back of the queue and returns its fresh v4 id.
    pub(crate) fn submit(&mut self, message: String) -> Uuid {
        loop {
            let id = Uuid::new_v4();
            // A v4 collision is practically impossible, but an id must never
            // name two jobs, so draw again rather than overwrite.
            if let Entry::Vacant(slot) = self.jobs.entry(id) {
                slot.insert(Job {
                    status: JobStatus::New,
                    message,
                });
                self.pending.push_back(id);
                self.submitted += 1;
                return id;
            }
        }
    }

    /// Looks a job up by id.
    pub(crate) fn get(&self, id: &Uuid) -> Option<&Job> {
        self.jobs.get(id)
    }

    /// Completes the oldest pending job and returns its id, or `None` when
    /// the queue is empty.
    pub(crate) fn complete_next(&mut self) -> Option<Uuid> {
        let id = self.pending.pop_front()?;
        if let Some(job) = self.jobs.get_mut(&id) {
            job.status = JobStatus::Done;
        }
        self.completed += 1;
        Some(id)
    }

    /// Completes up to `n` of the oldest pending jobs and returns how many
    /// were completed (fewer than `n` when the queue runs dry).
    pub(crate) fn complete_up_to(&mut self, n: u64) -> u64 {
        let mut done = 0;
        while done < n && self.complete_next().is_some() {
            done += 1;
        }
        done
    }

    /// Jobs waiting to be completed: the backlog seed 001 is about.
    pub(crate) fn queue_depth(&self) -> usize {
        self.pending.len()
    }

    /// Jobs ever submitted.
    pub(crate) fn submitted(&self) -> u64 {
        self.submitted
    }

    /// Jobs ever completed.
    pub(crate) fn completed(&self) -> u64 {
        self.completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_in_submission_order() {
        let mut store = Store::default();
        let ids: Vec<Uuid> = (0..5).map(|i| store.submit(format!("m{i}"))).collect();
        let order: Vec<Uuid> = std::iter::from_fn(|| store.complete_next()).collect();
        assert_eq!(order, ids);
    }

    #[test]
    fn ids_are_distinct_v4_uuids() {
        let mut store = Store::default();
        let a = store.submit(String::new());
        let b = store.submit(String::new());
        assert_ne!(a, b);
        assert_eq!(a.get_version_num(), 4);
    }

    #[test]
    fn counts_follow_submissions_and_completions() {
        let mut store = Store::default();
        assert_eq!(
            (store.queue_depth(), store.submitted(), store.completed()),
            (0, 0, 0)
        );
        for _ in 0..4 {
            store.submit(String::new());
        }
        assert_eq!(
            (store.queue_depth(), store.submitted(), store.completed()),
            (4, 4, 0)
        );
        assert_eq!(store.complete_up_to(3), 3);
        assert_eq!(
            (store.queue_depth(), store.submitted(), store.completed()),
            (1, 4, 3)
        );
    }

    #[test]
    fn status_changes_from_new_to_done_and_message_is_kept() {
        let mut store = Store::default();
        let id = store.submit("hello".into());
        assert_eq!(store.get(&id).map(|j| j.status), Some(JobStatus::New));
        assert_eq!(store.complete_next(), Some(id));
        let job = store.get(&id).cloned();
        assert_eq!(
            job,
            Some(Job {
                status: JobStatus::Done,
                message: "hello".into()
            })
        );
        assert!(store.get(&Uuid::new_v4()).is_none());
    }

    #[test]
    fn completing_an_empty_queue_does_nothing() {
        let mut store = Store::default();
        assert_eq!(store.complete_next(), None);
        assert_eq!(store.complete_up_to(10), 0);
        store.submit(String::new());
        assert_eq!(store.complete_up_to(10), 1);
        assert_eq!(store.complete_up_to(10), 0);
        assert_eq!((store.queue_depth(), store.completed()), (0, 1));
    }
}
