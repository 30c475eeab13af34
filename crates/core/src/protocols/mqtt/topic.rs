//! MQTT topic filters: which topics a subscription receives.

/// True when `topic` matches the MQTT `filter` (`+` one level, `#` the
/// rest); wildcards do not match `$SYS`-style topics at the first level.
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_filters() {
        assert!(matches("lamp/#", "lamp/set_config"));
        assert!(matches("lamp/#", "lamp"));
        assert!(matches("lamp/+/state", "lamp/7/state"));
        assert!(!matches("lamp/+/state", "lamp/7/config"));
        assert!(!matches("#", "$SYS/broker/load"));
        assert!(matches("$SYS/#", "$SYS/broker/load"));
    }
}
