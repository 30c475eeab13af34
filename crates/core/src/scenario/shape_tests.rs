//! Tests of the `users:`/`rate:` levels and shapes as written.

use super::*;

fn read<T: Scalar>(yaml: &str) -> Result<Level<T>, String> {
    serde_saphyr::from_str::<Level<T>>(yaml).map_err(|e| e.to_string())
}

#[test]
fn numbers_and_shapes_are_both_levels() {
    assert_eq!(read::<CountValue>("50"), Ok(Level::Fixed(CountValue(50))));
    assert_eq!(
        read::<RateValue>("6000/m"),
        Ok(Level::Fixed(RateValue(100.0)))
    );
    assert_eq!(
        read::<RateValue>("{sine: {min: 10, max: 200/s, period: 5m}}"),
        Ok(Level::Shaped(ShapeSpec::Sine {
            min: 10.0,
            max: 200.0,
            period: Duration::from_secs(300)
        }))
    );
    assert_eq!(
        read::<RateValue>("{spike: {base: 50, peak: 500, at: 4m, for: 1m}}"),
        Ok(Level::Shaped(ShapeSpec::Spike {
            base: 50.0,
            peak: 500.0,
            at: Duration::from_secs(240),
            length: Duration::from_secs(60)
        }))
    );
    let custom = read::<CountValue>("{custom: [{at: 0s, value: 1}, {at: 10s, value: 20}]}");
    assert_eq!(
        custom,
        Ok(Level::Shaped(ShapeSpec::Custom(vec![
            (Duration::ZERO, 1.0),
            (Duration::from_secs(10), 20.0)
        ])))
    );
}

#[test]
fn bad_shapes_say_what_is_wrong() {
    let e = read::<RateValue>("{sine: {min: 10, max: 200}}").expect_err("no period");
    assert!(e.contains("period"), "{e}");
    let e = read::<RateValue>("{wave: {min: 1}}").expect_err("unknown");
    assert!(e.contains("sine") && e.contains("square"), "{e}");
    let e = read::<RateValue>("{sine: {min: 300, max: 200, period: 1m}}").expect_err("order");
    assert!(e.contains("min (300) is above max (200)"), "{e}");
    let e = read::<RateValue>("{custom: [{at: 10s, value: 1}, {at: 5s, value: 2}]}")
        .expect_err("time order");
    assert!(e.contains("time order"), "{e}");
    let e = read::<RateValue>("{square: {high: 5, low: 1, high_for: 1s, low_for: 1s, x: 1}}")
        .expect_err("unknown field");
    assert!(e.contains("x"), "{e}");
}

#[test]
fn scaling_shortens_times_but_keeps_values_and_a_floor() {
    let s = ShapeSpec::Square {
        high: 200.0,
        low: 10.0,
        high_for: Duration::from_secs(30),
        low_for: Duration::from_secs(30),
    };
    assert_eq!(
        s.scaled(0.05, Duration::from_secs(2)),
        ShapeSpec::Square {
            high: 200.0,
            low: 10.0,
            high_for: Duration::from_secs(2),
            low_for: Duration::from_secs(2),
        }
    );
    let spike = ShapeSpec::Spike {
        base: 50.0,
        peak: 500.0,
        at: Duration::from_secs(240),
        length: Duration::from_secs(60),
    };
    assert_eq!(
        spike.scaled(0.05, Duration::from_secs(1)),
        ShapeSpec::Spike {
            base: 50.0,
            peak: 500.0,
            at: Duration::from_secs(12),
            length: Duration::from_secs(3),
        }
    );
    assert_eq!(spike.peak(), 500.0);
}
