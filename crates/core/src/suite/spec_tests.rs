//! Tests of suite files: placeholders.

use super::*;

#[test]
fn each_port_placeholder_gets_one_port_wherever_it_repeats() {
    fn next() -> std::io::Result<u16> {
        use std::sync::atomic::{AtomicU16, Ordering};
        static N: AtomicU16 = AtomicU16::new(9000);
        Ok(N.fetch_add(1, Ordering::Relaxed))
    }
    let values = Placeholders {
        cicada: "/bin/cicada".into(),
        out: "/tmp/o".into(),
        free_port: next,
    };
    let text = values
        .expand("{cicada} {port} {port:b} {portal} {port} {port:b} {out}")
        .expect("expanded");
    let words: Vec<&str> = text.split(' ').collect();
    assert_eq!(words[0], "/bin/cicada");
    assert_eq!(words[1], words[4], "{text}");
    assert_eq!(words[2], words[5], "{text}");
    assert_ne!(words[1], words[2], "{text}");
    assert_eq!(words[3], "{portal}");
    assert_eq!(words[6], "/tmp/o");
}
