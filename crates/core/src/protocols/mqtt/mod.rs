//! The MQTT driver: a lean client per simulated device (MQTT 3.1.1 and 5,
//! QoS 0/1/2, TLS), `mqtt.connect`, `mqtt.publish`, `mqtt.subscribe` and
//! `mqtt.expect` steps, end-to-end latency and the delivery audit.

pub mod audit;
mod driver;
pub mod packet;
pub mod session;
pub mod settings;
pub mod shutdown;
pub mod state;
pub mod steps;
pub mod sys;
pub mod topic;
