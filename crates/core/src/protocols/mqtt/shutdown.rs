//! The end of a worker's MQTT connections: audited subscriptions keep
//! listening after their users stop, until the run ends; then every
//! connection gets a moment to say DISCONNECT.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use tokio::time::Instant;

use super::session::Link;

thread_local! {
    /// Connections of users that stopped but whose audited subscriptions
    /// keep listening until the run ends (so messages still in flight when
    /// the publishers stop are counted, not called lost).
    static LISTENERS: RefCell<Vec<Rc<Link>>> = const { RefCell::new(Vec::new()) };
    /// Driver tasks still running on this worker.
    static DRIVERS: Cell<usize> = const { Cell::new(0) };
}

/// Keeps `link` open until [`close_all`]: its audited subscription
/// listens after its user is gone.
pub fn keep_listening(link: Rc<Link>) {
    LISTENERS.with(|l| l.borrow_mut().push(link));
}

/// Counts a driver task as running while it lives.
pub struct DriverAlive(());

impl DriverAlive {
    /// A running driver.
    pub fn enter() -> DriverAlive {
        DRIVERS.with(|d| d.set(d.get() + 1));
        DriverAlive(())
    }
}

impl Drop for DriverAlive {
    fn drop(&mut self) {
        DRIVERS.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// End of the run on this worker: closes the connections kept listening
/// and waits (up to `bound`) for every connection to say DISCONNECT, so
/// that the broker does not publish last wills for a clean stop.
pub async fn close_all(bound: Duration) {
    for link in LISTENERS.with(|l| std::mem::take(&mut *l.borrow_mut())) {
        link.shared.borrow_mut().closing = true;
        link.to_driver.notify_one();
    }
    let until = Instant::now() + bound;
    while DRIVERS.with(|d| d.get()) > 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
