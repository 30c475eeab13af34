//! A [`Comparison`] for people: an aligned terminal table (one line per
//! metric, so it fits a terminal) and a GitHub-flavoured markdown table (one
//! line per row, for CI comments, which scroll sideways).

use super::{Comparison, Mark, Metric, MetricDelta, Presence, RowComparison, RunComparison};

/// The terminal table, with a heading and the verdict in words.
pub fn terminal(c: &Comparison) -> String {
    let suite = is_suite(c);
    let mut table = Table::default();
    let mut header = vec![
        "Verdict", "Type", "Name", "Metric", "Base", "New", "Delta", "Delta %", "",
    ];
    if suite {
        header.insert(0, "Run");
    }
    table.push(header.into_iter().map(String::from).collect());
    for run in &c.runs {
        let lead = |first: bool| -> Vec<String> {
            if suite && first {
                vec![run.id.clone().unwrap_or_default()]
            } else if suite {
                vec![String::new()]
            } else {
                Vec::new()
            }
        };
        if let Some((word, why)) = run_note(run) {
            let mut line = lead(true);
            line.extend([word.to_string(), String::new(), why]);
            table.push(line);
            continue;
        }
        for (r, row) in run.rows.iter().enumerate() {
            for (i, m) in row.metrics.iter().enumerate() {
                let first = i == 0;
                let mut line = lead(first && r == 0);
                line.extend([
                    if first {
                        verdict_word(row)
                    } else {
                        String::new()
                    },
                    if first {
                        row.kind.clone()
                    } else {
                        String::new()
                    },
                    if first {
                        row.name.clone()
                    } else {
                        String::new()
                    },
                    m.metric.label().to_string(),
                    value(m.metric, m.base),
                    value(m.metric, m.new),
                    delta(m.metric, m.delta),
                    percent(m.percent),
                    match m.mark {
                        Mark::Regressed => "regressed".into(),
                        Mark::Improved => "improved".into(),
                        _ => String::new(),
                    },
                ]);
                table.push(line);
            }
        }
    }
    let first_number = if suite { 5 } else { 4 };
    let mut out = format!(
        "BASE  {}\nNEW   {}\n{}\n\n",
        c.base,
        c.new,
        c.rules.describe()
    );
    out.push_str(&table.render(first_number..first_number + 4));
    out.push('\n');
    out.push_str(&conclusion(c));
    out.push('\n');
    out
}

/// The markdown table; it starts with the table's header line so a CI job
/// can post it as is.
pub fn markdown(c: &Comparison) -> String {
    let suite = is_suite(c);
    let mut out = String::new();
    let mut header = vec!["Verdict", "Type", "Name"];
    if suite {
        header.insert(0, "Run");
    }
    let labels: Vec<&str> = Metric::ALL.iter().map(|m| m.label()).collect();
    header.extend(&labels);
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    let align: Vec<&str> = header
        .iter()
        .enumerate()
        .map(|(i, _)| {
            if i < header.len() - labels.len() {
                "---"
            } else {
                "---:"
            }
        })
        .collect();
    out.push_str(&format!("|{}|\n", align.join("|")));
    for run in &c.runs {
        let id = run.id.as_deref().map(escape).unwrap_or_default();
        if let Some((word, why)) = run_note(run) {
            let mut cells = vec![id, word.to_string(), String::new(), escape(&why)];
            cells.resize(header.len(), String::new());
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
            continue;
        }
        for row in &run.rows {
            let mut cells = Vec::new();
            if suite {
                cells.push(id.clone());
            }
            let icon = match row.verdict {
                Mark::Regressed => ":x: ",
                Mark::Improved => ":rocket: ",
                Mark::Ok => ":white_check_mark: ",
                Mark::Unjudged => "",
            };
            cells.push(format!("{icon}{}", verdict_word(row)));
            cells.push(escape(&row.kind));
            cells.push(escape(&row.name));
            cells.extend(row.metrics.iter().map(markdown_cell));
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
    }
    out.push('\n');
    out.push_str(&format!("{}  \n{}\n", conclusion(c), c.rules.describe()));
    out
}

/// `1.20 → 21.50 (+20.30, +1691.7%)`, in bold when it regressed.
fn markdown_cell(m: &MetricDelta) -> String {
    let text = match (m.base, m.new) {
        (Some(_), Some(_)) => format!(
            "{} → {} ({}, {})",
            value(m.metric, m.base),
            value(m.metric, m.new),
            delta(m.metric, m.delta),
            percent(m.percent)
        ),
        (Some(_), None) => format!("{} → -", value(m.metric, m.base)),
        (None, Some(_)) => format!("- → {}", value(m.metric, m.new)),
        (None, None) => "-".into(),
    };
    if m.mark == Mark::Regressed {
        format!("**{text}**")
    } else {
        text
    }
}

/// A run without rows: its verdict word and why it has none.
fn run_note(run: &RunComparison) -> Option<(&'static str, String)> {
    match (run.presence, &run.note) {
        (Presence::Added, _) => Some(("added", "only in NEW".into())),
        (Presence::Removed, _) => Some(("removed", "only in BASE".into())),
        (Presence::Both, Some(note)) => Some(("-", note.clone())),
        (Presence::Both, None) => None,
    }
}

/// True when the comparison is of two suites (run by run).
fn is_suite(c: &Comparison) -> bool {
    c.runs.iter().any(|r| r.id.is_some())
}

/// The row's verdict in one word.
fn verdict_word(row: &RowComparison) -> String {
    match (row.presence, row.verdict) {
        (Presence::Added, _) => "added",
        (Presence::Removed, _) => "removed",
        (_, Mark::Regressed) => "REGRESSED",
        (_, Mark::Improved) => "improved",
        (_, Mark::Ok) => "ok",
        (_, Mark::Unjudged) => "-",
    }
    .to_string()
}

/// The last line: how many rows regressed, and which.
fn conclusion(c: &Comparison) -> String {
    let regressed: Vec<String> = c
        .regressions()
        .map(|(id, row)| {
            let what: Vec<String> = row
                .regressions()
                .map(|m| match m.metric {
                    Metric::ErrorRate => {
                        format!("{} {}pp", m.metric.label(), delta(m.metric, m.delta))
                    }
                    _ => format!("{} {}", m.metric.label(), percent(m.percent)),
                })
                .collect();
            let name = full_name(row);
            match id {
                Some(id) => format!("{id} {name} ({})", what.join(", ")),
                None => format!("{name} ({})", what.join(", ")),
            }
        })
        .collect();
    match regressed.len() {
        0 if c.rules.judging() => "Verdict: no regression.".into(),
        0 => "Verdict: not judged (no --max-regression).".into(),
        1 => format!("Verdict: 1 row regressed: {}", regressed[0]),
        n => format!("Verdict: {n} rows regressed: {}", regressed.join("; ")),
    }
}

/// `POST /jobs`, or `Aggregated`; a name that already starts with its type
/// (cicada's `GET /work`) is not prefixed twice.
fn full_name(row: &RowComparison) -> String {
    let typed = row
        .name
        .strip_prefix(row.kind.as_str())
        .is_some_and(|rest| rest.starts_with(' '));
    if row.kind.is_empty() || typed {
        row.name.clone()
    } else {
        format!("{} {}", row.kind, row.name)
    }
}

/// A metric's value: ms and percent with two decimals, rps with one.
fn value(metric: Metric, v: Option<f64>) -> String {
    match (metric, v) {
        (_, None) => "-".into(),
        (Metric::Rps, Some(v)) => format!("{v:.1}"),
        (_, Some(v)) => format!("{v:.2}"),
    }
}

/// A signed difference, in the metric's unit.
fn delta(metric: Metric, v: Option<f64>) -> String {
    match (metric, v) {
        (_, None) => "-".into(),
        (Metric::Rps, Some(v)) => format!("{v:+.1}"),
        (_, Some(v)) => format!("{v:+.2}"),
    }
}

/// A signed relative change.
fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:+.1}%"))
}

/// Escapes what would break a markdown table cell.
fn escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// A text table with aligned columns.
#[derive(Default)]
struct Table {
    lines: Vec<Vec<String>>,
}

impl Table {
    /// Adds a line of cells.
    fn push(&mut self, line: Vec<String>) {
        self.lines.push(line);
    }

    /// Renders with two spaces between columns; columns in `numbers` are
    /// right-aligned.
    fn render(&self, numbers: std::ops::Range<usize>) -> String {
        let columns = self.lines.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.lines
                    .iter()
                    .filter_map(|l| l.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for line in &self.lines {
            let mut text = String::new();
            for (c, cell) in line.iter().enumerate() {
                let pad = widths[c].saturating_sub(cell.chars().count());
                if numbers.contains(&c) {
                    text.push_str(&" ".repeat(pad));
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.push_str(&" ".repeat(pad));
                }
                text.push_str("  ");
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::{compare, Input, Loaded, Measures, Rules};
    use super::*;

    fn side(p50: f64, extra: bool) -> Input {
        let row = |kind: &str, name: &str| Measures {
            kind: kind.into(),
            name: name.into(),
            requests: 100,
            failures: 0,
            rps: 50.0,
            p50_ms: Some(p50),
            p95_ms: Some(p50 * 2.0),
            p99_ms: Some(p50 * 3.0),
        };
        let mut rows = vec![row("POST", "/a|b")];
        if extra {
            rows.push(row("GET", "/new"));
        }
        rows.push(row("", "Aggregated"));
        Input::Report(Loaded {
            source: "f.json".into(),
            rows,
        })
    }

    fn comparison() -> Comparison {
        let rules = Rules {
            max_regression: Some(0.1),
            ..Rules::default()
        };
        compare(&side(10.0, false), &side(30.0, true), &rules, None).expect("comparable")
    }

    #[test]
    fn the_terminal_table_marks_rows_and_aligns_numbers() {
        let text = terminal(&comparison());
        let line = text.lines().find(|l| l.contains("/a|b")).expect("the row");
        assert!(line.starts_with("REGRESSED"), "{text}");
        assert!(line.contains("10.00") && line.contains("30.00") && line.contains("+200.0%"));
        assert!(text
            .lines()
            .any(|l| l.starts_with("added") && l.contains("/new")));
        assert!(
            text.contains("Verdict: 2 rows regressed: POST /a|b (p50 ms +200.0%"),
            "{text}"
        );
        let header = text
            .lines()
            .find(|l| l.starts_with("Verdict "))
            .expect("header");
        let delta_end = header.find("Delta %").expect("column") + "Delta %".len();
        let cell_end = line.find("+200.0%").expect("cell") + "+200.0%".len();
        assert_eq!(delta_end, cell_end, "right-aligned\n{text}");
    }

    #[test]
    fn markdown_starts_with_the_table_header() {
        let md = markdown(&comparison());
        let mut lines = md.lines();
        assert_eq!(
            lines.next(),
            Some("| Verdict | Type | Name | p50 ms | p95 ms | p99 ms | rps | errors % |")
        );
        assert_eq!(lines.next(), Some("|---|---|---|---:|---:|---:|---:|---:|"));
        let row = lines.next().expect("a row");
        assert!(
            row.starts_with(
                "| :x: REGRESSED | POST | /a\\|b | **10.00 → 30.00 (+20.00, +200.0%)**"
            ),
            "{row}"
        );
        assert!(md.contains("| added | GET | /new | - → 30.00 |"), "{md}");
    }

    #[test]
    fn unjudged_comparisons_say_so() {
        let c = compare(
            &side(10.0, false),
            &side(30.0, false),
            &Rules::default(),
            None,
        )
        .expect("comparable");
        let text = terminal(&c);
        assert!(text.contains("not judged"), "{text}");
        assert!(!text.contains("REGRESSED"), "{text}");
    }
}
