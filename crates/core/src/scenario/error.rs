//! Errors in scenario files, each naming file, line and column, what was
//! wrong and what was expected, with the offending line shown.

use std::fmt;

/// A position in a scenario file (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loc {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
}

impl Loc {
    /// The position of a deserialized node.
    pub fn of<T>(spanned: &serde_saphyr::Spanned<T>) -> Loc {
        Loc {
            line: spanned.referenced.line(),
            column: spanned.referenced.column(),
        }
    }
}

/// One problem at one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub loc: Loc,
    /// What was wrong and what was expected.
    pub message: String,
}

/// A scenario that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {file}")]
    Read {
        /// The path.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file has one or more errors.
    #[error("{}", render(file, text, problems))]
    Invalid {
        /// The path as given.
        file: String,
        /// The file's text, for the excerpt.
        text: String,
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },
}

impl ScenarioError {
    /// The problems, when the file was read.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ScenarioError::Invalid { problems, .. } => problems,
            ScenarioError::Read { .. } => &[],
        }
    }
}

fn render(file: &str, text: &str, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = fmt::Write::write_fmt(
            &mut out,
            format_args!("{file}:{}:{}: {}", p.loc.line, p.loc.column, p.message),
        );
        if let Some(line) = text.lines().nth(p.loc.line.saturating_sub(1) as usize) {
            let number = p.loc.line.to_string();
            let pad = " ".repeat(number.len());
            let caret_pad: String = line
                .chars()
                .take(p.loc.column.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = fmt::Write::write_fmt(
                &mut out,
                format_args!("\n {pad} |\n {number} | {line}\n {pad} | {caret_pad}^"),
            );
        }
    }
    if problems.len() > 1 {
        let _ = fmt::Write::write_fmt(
            &mut out,
            format_args!("\n{} errors in {file}", problems.len()),
        );
    }
    out
}

/// Converts a deserialization error into a located problem.
pub fn from_parse(e: &serde_saphyr::Error) -> Problem {
    let loc = e
        .location()
        .map(|l| Loc {
            line: l.line().max(1),
            column: l.column().max(1),
        })
        .unwrap_or(Loc { line: 1, column: 1 });
    let mut message = e.without_snippet().to_string();
    // serde-saphyr appends " at line L, column C"; the location is printed
    // in front already.
    if let Some(cut) = message.rfind(" at line ") {
        message.truncate(cut);
    }
    let message = message
        .strip_prefix("error: ")
        .map(str::to_string)
        .unwrap_or(message);
    Problem { loc, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_column_and_a_caret() {
        let e = ScenarioError::Invalid {
            file: "s.yaml".into(),
            text: "users:\n  - name: a\n    wait: 5x\n".into(),
            problems: vec![Problem {
                loc: Loc {
                    line: 3,
                    column: 11,
                },
                message: "invalid duration '5x'".into(),
            }],
        };
        let text = e.to_string();
        assert!(
            text.starts_with("s.yaml:3:11: invalid duration '5x'"),
            "{text}"
        );
        assert!(text.contains("3 |     wait: 5x"), "{text}");
        assert!(text.ends_with("|           ^"), "{text}");
    }
}
