//! Scenario validation: what is accepted, and where each error points.

use std::path::Path;

use super::*;

fn parse_ok(text: &str) -> Plan {
    match parse(text, "s.yaml", Path::new("."), None) {
        Ok(plan) => plan,
        Err(e) => panic!("expected a valid scenario, got:\n{e}"),
    }
}

/// The first problem as `line:column: message`.
fn first_problem(text: &str) -> String {
    match parse(text, "s.yaml", Path::new("."), None) {
        Ok(_) => panic!("expected an invalid scenario"),
        Err(e) => {
            let p = &e.problems()[0];
            format!("{}:{}: {}", p.loc.line, p.loc.column, p.message)
        }
    }
}

const JOBS: &str = r#"
host: http://127.0.0.1:8080
load: { users: 20, spawn_rate: 10, run_time: 20s }
thresholds:
  - p95<100ms
  - "job completed": p95<5s
users:
  - name: waiter
    weight: 1
    wait: { between: [500ms, 1s] }
    steps:
      - http: { method: POST, path: /jobs, query: { message: "{{ uuid() }}" }, name: POST /jobs }
      - check: { status: 201, json: { path: $.id, exists: true } }
      - extract: { job_id: { json: $.id } }
      - poll:
          http: { path: "/jobs/{{ job_id }}", name: "GET /jobs/[id]" }
          until: { json: { path: $.status, equals: done } }
          every: 100ms
          timeout: 60s
          name: job completed
          from: POST /jobs
  - name: firehose
    weight: 3
    wait: { pacing: 1s }
    tasks:
      - steps:
          - http: { method: post, path: /jobs, name: POST /jobs }
"#;

#[test]
fn a_full_scenario_becomes_a_plan() {
    let plan = parse_ok(JOBS);
    assert_eq!(plan.user_types.len(), 2);
    let waiter = &plan.user_types[0];
    assert_eq!((waiter.weight, waiter.marks), (1, 1));
    assert_eq!(
        waiter.tasks[0].steps.len(),
        2,
        "check and extract fold into the http step"
    );
    let Step::Http(post) = &waiter.tasks[0].steps[0] else {
        panic!("http first")
    };
    assert_eq!(post.checks.len(), 1);
    assert_eq!(post.extracts.len(), 1);
    assert_eq!(post.mark, Some(0), "marked for the poll's from");
    assert_eq!(post.expect.to_string(), "201");
    let Step::Poll(poll) = &waiter.tasks[0].steps[1] else {
        panic!("poll second")
    };
    assert_eq!(poll.from, Some(0));
    let rows: Vec<(String, String)> = plan
        .stats
        .iter()
        .map(|(_, k)| (k.kind.clone(), k.name.clone()))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("POST".into(), "POST /jobs".into()),
            ("GET".into(), "GET /jobs/[id]".into()),
            ("POLL".into(), "job completed".into()),
        ]
    );
    assert_eq!(
        plan.user_types[1].wait,
        Wait::Pacing(std::time::Duration::from_secs(1))
    );
    assert_eq!(plan.load.users, Some(20));
    assert_eq!(plan.thresholds.len(), 2);
    assert_eq!(plan.thresholds[1].name.as_deref(), Some("job completed"));
}

#[test]
fn unknown_keys_point_at_the_key() {
    let e =
        first_problem("users:\n  - name: a\n    steps:\n      - http: { path: /x, methd: GET }\n");
    assert!(e.starts_with("4:"), "{e}");
    assert!(
        e.contains("unknown field `methd`") && e.contains("method"),
        "{e}"
    );
}

#[test]
fn unknown_step_kinds_list_the_known_ones() {
    let e = first_problem("users:\n  - name: a\n    steps:\n      - htp: { path: /x }\n");
    assert!(e.starts_with("4:9"), "{e}");
    assert!(
        e.contains("htp") && e.contains("http") && e.contains("poll"),
        "{e}"
    );
}

#[test]
fn wrong_types_say_what_was_expected() {
    let e = first_problem("users:\n  - name: a\n    weight: lots\n    steps: []\n");
    assert!(e.starts_with("3:13"), "{e}");
    let e = first_problem("load: { run_time: 10 }\nusers: []\n");
    assert!(
        e.contains("invalid duration '10'") && e.contains("2s"),
        "{e}"
    );
}

#[test]
fn bad_templates_and_unknown_variables_are_located() {
    let base = "host: http://h\nusers:\n  - name: a\n    steps:\n";
    let e = first_problem(&format!(
        "{base}      - http: {{ path: \"/x/{{{{ job_id }}}}\" }}\n"
    ));
    assert!(e.starts_with("5:23"), "{e}");
    assert!(
        e.contains("unknown variable `job_id`") && e.contains("user_id"),
        "{e}"
    );
    let e = first_problem(&format!(
        "{base}      - http: {{ path: \"/x/{{{{ a b }}}}\" }}\n"
    ));
    assert!(
        e.contains("invalid template") && e.contains("syntax error"),
        "{e}"
    );
}

#[test]
fn variables_are_known_from_the_step_that_sets_them_on() {
    parse_ok(
        "host: http://h\nvars: { greeting: hi }\nusers:\n  - name: a\n    on_start:\n      - set: { token: \"{{ greeting }}-{{ user_id }}\" }\n    tasks:\n      - steps:\n          - http: { path: \"/x/{{ token }}\" }\n          - extract: { id: { regex: \"id=(\\\\d+)\" } }\n          - http: { path: \"/y/{{ id }}\" }\n      - steps:\n          - http: { path: \"/z/{{ token }}\" }\n",
    );
}

#[test]
fn a_variable_used_before_it_is_set_says_where_it_is_set() {
    let too_early = "host: http://h\nusers:\n  - name: a\n    steps:\n      - http: { path: \"/x/{{ id }}\" }\n      - extract: { id: { json: $.id } }\n";
    let e = first_problem(too_early);
    assert!(
        e.starts_with("5:23") && e.contains("`id` is used before it is set: it is set on line 6"),
        "{e}"
    );
    let other_task = "host: http://h\nusers:\n  - name: a\n    tasks:\n      - steps:\n          - http: { path: /a }\n          - extract: { id: { json: $.id } }\n      - steps:\n          - http: { path: \"/b/{{ id }}\" }\n";
    let e = first_problem(other_task);
    assert!(
        e.starts_with("9:") && e.contains("set on line 7") && e.contains("on_start"),
        "{e}"
    );
}

#[test]
fn structural_mistakes_are_explained() {
    let base = "host: http://h\nusers:\n  - name: a\n    steps:\n";
    let e = first_problem(&format!("{base}      - check: {{ status: 200 }}\n"));
    assert!(e.contains("`check` must follow an `http` step"), "{e}");
    let e = first_problem(&format!(
        "{base}      - http: {{ path: /a, url: http://x/b }}\n"
    ));
    assert!(e.contains("exactly one of `path`"), "{e}");
    let e = first_problem(&format!(
        "{base}      - http: {{ path: /a, status: 7xx }}\n"
    ));
    assert!(e.contains("invalid status '7xx'"), "{e}");
    let e = first_problem(&format!(
        "{base}      - poll: {{ http: {{ path: /a }}, until: {{ status: 200 }}, every: 1s, timeout: 5s, name: p, from: nope }}\n"
    ));
    assert!(e.contains("`from: nope` names no earlier http step"), "{e}");
    let e = first_problem("users:\n  - name: a\n    steps:\n      - http: { path: /a }\n");
    assert!(e.contains("no host"), "{e}");
    let e = first_problem("host: ftp://h\nusers:\n  - name: a\n    steps: []\n");
    assert!(
        e.starts_with("1:7") && e.contains("expected http:// or https://"),
        "{e}"
    );
    let e = first_problem(
        "host: http://h\nusers:\n  - name: a\n    weight: 2\n    count: 1\n    steps: []\n",
    );
    assert!(e.contains("not both"), "{e}");
    let e = first_problem("host: http://h\nusers:\n  - name: a\n    count: 0\n    steps: []\n");
    assert!(e.contains("count must be at least 1"), "{e}");
    let e = first_problem("host: http://h\nusers:\n  - name: a\n");
    assert!(e.contains("`tasks`") && e.contains("`steps`"), "{e}");
}

#[test]
fn thresholds_are_validated_against_the_rows() {
    let base = "host: http://h\nusers:\n  - name: a\n    steps:\n      - http: { path: /a }\n";
    let e = first_problem(&format!("thresholds: [p95<fast]\n{base}"));
    assert!(
        e.starts_with("1:14") && e.contains("invalid threshold"),
        "{e}"
    );
    let e = first_problem(&format!("thresholds:\n  - \"/b\": p95<1s\n{base}"));
    assert!(e.contains("no row is named '/b'; rows: GET /a"), "{e}");
    parse_ok(&format!("thresholds:\n  - \"GET /a\": p95<1s\n{base}"));
}

#[test]
fn load_stages_must_agree() {
    let base = "host: http://h\nusers:\n  - name: a\n    steps: []\n";
    let plan = parse_ok(&format!("load:\n  stages:\n    - {{ duration: 10s, users: 10 }}\n    - {{ duration: 5s, users: 0 }}\n{base}"));
    assert_eq!(plan.load.stages.len(), 2);
    assert_eq!(plan.load.stages[0].target, StageTarget::Users(10.0));
    let e = first_problem(&format!("load:\n  stages:\n    - {{ duration: 10s, users: 10 }}\n    - {{ duration: 5s, rate: 5 }}\n{base}"));
    assert!(e.contains("not a mix"), "{e}");
    let e = first_problem(&format!("load: {{ users: 5, rate: 10/s }}\n{base}"));
    assert!(e.starts_with("1:25") && e.contains("not both"), "{e}");
    let e = first_problem(&format!("load:\n  users: 0\n{base}"));
    assert!(
        e.starts_with("2:10") && e.contains("users must be at least 1"),
        "{e}"
    );
    let e = first_problem(&format!("load:\n  iterations: 0\n{base}"));
    assert!(
        e.starts_with("2:15") && e.contains("iterations must be at least 1"),
        "{e}"
    );
    let e = first_problem(&format!("load:\n  rate: 0/s\n{base}"));
    assert!(
        e.starts_with("2:9") && e.contains("rate must be above 0"),
        "{e}"
    );
}

#[test]
fn every_problem_is_reported_at_once_in_file_order() {
    let text = "host: http://h\nusers:\n  - name: a\n    steps:\n      - http: { path: \"/{{ x }}\" }\n      - http: { path: \"/{{ y }}\" }\n";
    let e = parse(text, "s.yaml", Path::new("."), None).expect_err("two errors");
    assert_eq!(e.problems().len(), 2);
    assert_eq!(e.problems()[0].loc.line, 5);
    let shown = e.to_string();
    assert!(shown.starts_with("s.yaml:5:"), "{shown}");
    assert!(shown.contains("2 errors in s.yaml"), "{shown}");
}

#[test]
fn yaml_1_1_booleans_stay_strings() {
    let plan = parse_ok(
        "host: http://h\nusers:\n  - name: a\n    steps:\n      - http: { path: /a }\n      - check: { json: { path: $.answer, equals: no } }\n",
    );
    let Step::Http(h) = &plan.user_types[0].tasks[0].steps[0] else {
        panic!("http")
    };
    let shown = format!("{:?}", h.checks[0].json[0].expect);
    assert!(shown.contains("String(\"no\")"), "{shown}");
}
