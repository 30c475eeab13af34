//! Templates in scenario files (minijinja), compiled once per run.
//!
//! Text without `{{`/`{%` is kept as a plain string and never goes through
//! the template engine; a value that is exactly one `{{ expression }}` keeps
//! the expression's type (`{{ random_int(0, 9) }}` is a number in a JSON
//! body, not a string).

mod functions;
mod vars;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

use minijinja::{Environment, Expression, Template, UndefinedBehavior};

pub use functions::NAMES as FUNCTION_NAMES;
pub use vars::{Row, Vars, BUILTIN_NAMES};

/// A template that does not compile.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct CompileError(String);

/// A template that failed while rendering, e.g. on an undefined variable.
#[derive(Debug, Clone, thiserror::Error)]
#[error("template `{source_text}`: {detail}")]
pub struct RenderError {
    /// The template as written in the scenario.
    pub source_text: Arc<str>,
    /// What went wrong.
    pub detail: String,
}

/// Compiles the templates of one run.
///
/// The environment is leaked on purpose: compiled templates borrow it, a
/// plan lives until the process ends, and leaking lets them be stored without
/// a self-referential struct (a few KB per run).
#[derive(Clone, Copy)]
pub struct Compiler {
    env: &'static Environment<'static>,
}

/// A compiled item and the variables it reads.
#[derive(Debug)]
pub struct Compiled<T> {
    /// The compiled item.
    pub item: T,
    /// Variables it reads that are neither functions nor minijinja globals.
    pub variables: BTreeSet<String>,
}

impl Default for Compiler {
    fn default() -> Self {
        Self::new()
    }
}

impl Compiler {
    /// A compiler with cicada's functions and strict undefined variables.
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        functions::register(&mut env);
        Compiler {
            env: Box::leak(Box::new(env)),
        }
    }

    /// Compiles a text field (path, header, query value, body).
    pub fn text(&self, source: &str) -> Result<Compiled<Text>, CompileError> {
        if !is_template(source) {
            return Ok(Compiled {
                item: Text::Static(Arc::from(source)),
                variables: BTreeSet::new(),
            });
        }
        let leaked: &'static str = Box::leak(source.to_string().into_boxed_str());
        let template = self.env.template_from_str(leaked).map_err(describe)?;
        let variables = self.undeclared(template.undeclared_variables(false));
        Ok(Compiled {
            item: Text::Template(template, Arc::from(source)),
            variables,
        })
    }

    /// Compiles a structured value (a `json:` body, a `set:` value) whose
    /// strings may be templates.
    pub fn value(
        &self,
        value: &serde_json::Value,
    ) -> Result<Compiled<ValueTemplate>, CompileError> {
        let mut variables = BTreeSet::new();
        let item = self.value_into(value, &mut variables)?;
        Ok(Compiled { item, variables })
    }

    fn value_into(
        &self,
        value: &serde_json::Value,
        variables: &mut BTreeSet<String>,
    ) -> Result<ValueTemplate, CompileError> {
        Ok(match value {
            serde_json::Value::String(s) => {
                if let Some(expr) = single_expression(s) {
                    let leaked: &'static str = Box::leak(expr.to_string().into_boxed_str());
                    let compiled = self.env.compile_expression(leaked).map_err(describe)?;
                    variables.extend(self.undeclared(compiled.undeclared_variables(false)));
                    ValueTemplate::Expr(compiled, Arc::from(s.as_str()))
                } else if is_template(s) {
                    let text = self.text(s)?;
                    variables.extend(text.variables);
                    ValueTemplate::Text(text.item)
                } else {
                    ValueTemplate::Literal(value.clone())
                }
            }
            serde_json::Value::Array(items) => {
                let items = items
                    .iter()
                    .map(|v| self.value_into(v, variables))
                    .collect::<Result<Vec<_>, _>>()?;
                if items.iter().all(ValueTemplate::is_literal) {
                    ValueTemplate::Literal(value.clone())
                } else {
                    ValueTemplate::Array(items)
                }
            }
            serde_json::Value::Object(map) => {
                let fields = map
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.value_into(v, variables)?)))
                    .collect::<Result<Vec<_>, CompileError>>()?;
                if fields.iter().all(|(_, v)| v.is_literal()) {
                    ValueTemplate::Literal(value.clone())
                } else {
                    ValueTemplate::Object(fields)
                }
            }
            other => ValueTemplate::Literal(other.clone()),
        })
    }

    fn undeclared(&self, names: std::collections::HashSet<String>) -> BTreeSet<String> {
        names.into_iter().filter(|n| !self.is_global(n)).collect()
    }

    /// True for names every template knows: cicada's functions and
    /// minijinja's globals (`range`, `dict`, ...).
    fn is_global(&self, name: &str) -> bool {
        functions::NAMES.contains(&name) || self.env.globals().any(|(g, _)| g == name)
    }
}

/// True when `s` contains template syntax.
fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// `"{{ expr }}"` → `Some("expr")` when the whole string is one expression.
fn single_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let clean = !inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%");
    clean.then(|| inner.trim())
}

fn describe(e: minijinja::Error) -> CompileError {
    let detail = e.detail().map(str::to_string).unwrap_or_default();
    let kind = e.kind().to_string();
    CompileError(if detail.is_empty() {
        kind
    } else {
        format!("{kind}: {detail}")
    })
}

fn render_error(source_text: &Arc<str>, e: minijinja::Error) -> RenderError {
    let detail = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    RenderError {
        source_text: source_text.clone(),
        detail,
    }
}

/// A text field: plain, or a compiled template with its source.
#[derive(Clone, Debug)]
pub enum Text {
    /// No template syntax: used as is.
    Static(Arc<str>),
    /// A template, rendered per use.
    Template(Template<'static, 'static>, Arc<str>),
}

impl Text {
    /// The text for this user now.
    pub fn render(&self, vars: &Arc<Vars>) -> Result<Cow<'_, str>, RenderError> {
        match self {
            Text::Static(s) => Ok(Cow::Borrowed(s)),
            Text::Template(t, src) => t
                .render(minijinja::Value::from_dyn_object(vars.clone()))
                .map(Cow::Owned)
                .map_err(|e| render_error(src, e)),
        }
    }

    /// The text as written in the scenario.
    pub fn source(&self) -> &str {
        match self {
            Text::Static(s) | Text::Template(_, s) => s,
        }
    }

    /// The text when it has no template syntax.
    pub fn as_static(&self) -> Option<&str> {
        match self {
            Text::Static(s) => Some(s),
            Text::Template(..) => None,
        }
    }
}

/// A structured value whose strings may be templates or expressions.
#[derive(Debug)]
pub enum ValueTemplate {
    /// Fixed: no template anywhere inside.
    Literal(serde_json::Value),
    /// A single `{{ expression }}`: keeps the expression's type.
    Expr(Expression<'static, 'static>, Arc<str>),
    /// A string template.
    Text(Text),
    /// A list with templates inside.
    Array(Vec<ValueTemplate>),
    /// A map with templates inside.
    Object(Vec<(String, ValueTemplate)>),
}

impl ValueTemplate {
    /// True when the value has no templates.
    pub fn is_literal(&self) -> bool {
        matches!(self, ValueTemplate::Literal(_))
    }

    /// Renders to JSON (for request bodies).
    pub fn render_json(&self, vars: &Arc<Vars>) -> Result<serde_json::Value, RenderError> {
        Ok(match self {
            ValueTemplate::Literal(v) => v.clone(),
            ValueTemplate::Expr(e, src) => {
                let value = e
                    .eval(minijinja::Value::from_dyn_object(vars.clone()))
                    .map_err(|e| render_error(src, e))?;
                serde_json::to_value(&value).map_err(|e| RenderError {
                    source_text: src.clone(),
                    detail: format!("result is not JSON: {e}"),
                })?
            }
            ValueTemplate::Text(t) => serde_json::Value::String(t.render(vars)?.into_owned()),
            ValueTemplate::Array(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(|v| v.render_json(vars))
                    .collect::<Result<_, _>>()?,
            ),
            ValueTemplate::Object(fields) => serde_json::Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), v.render_json(vars)?)))
                    .collect::<Result<_, RenderError>>()?,
            ),
        })
    }

    /// Renders to a template value (for `set:`).
    pub fn render_value(&self, vars: &Arc<Vars>) -> Result<minijinja::Value, RenderError> {
        match self {
            ValueTemplate::Expr(e, src) => e
                .eval(minijinja::Value::from_dyn_object(vars.clone()))
                .map_err(|e| render_error(src, e)),
            ValueTemplate::Text(t) => Ok(minijinja::Value::from(t.render(vars)?.into_owned())),
            other => Ok(minijinja::Value::from(minijinja::value::Serde(
                other.render_json(vars)?,
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Arc<Vars> {
        let mut v = Vars::new(3, Arc::new(vec![("greeting".into(), "hi".into())]));
        v.set("job_id", minijinja::Value::from("abc"));
        Arc::new(v)
    }

    #[test]
    fn plain_text_skips_the_engine() {
        let c = Compiler::new();
        let t = c.text("/health").expect("compiles");
        assert_eq!(t.item.as_static(), Some("/health"));
        assert!(t.variables.is_empty());
    }

    #[test]
    fn templates_render_user_variables_and_report_what_they_read() {
        let c = Compiler::new();
        let t = c
            .text("/jobs/{{ job_id }}?u={{ user_id }}&n={{ uuid() }}")
            .expect("compiles");
        let vars_read: Vec<_> = t.variables.iter().cloned().collect();
        assert_eq!(vars_read, vec!["job_id".to_string(), "user_id".to_string()]);
        let out = t.item.render(&vars()).expect("renders");
        assert!(out.starts_with("/jobs/abc?u=3&n="), "{out}");
    }

    #[test]
    fn undefined_variables_fail_at_render_with_the_template_named() {
        let c = Compiler::new();
        let t = c.text("{{ nope }}").expect("compiles");
        let e = t.item.render(&vars()).expect_err("undefined");
        assert!(e.to_string().contains("{{ nope }}"), "{e}");
        assert!(e.to_string().contains("undefined"), "{e}");
    }

    #[test]
    fn syntax_errors_are_reported() {
        let e = Compiler::new().text("{{ a b }}").expect_err("bad syntax");
        assert!(e.to_string().contains("syntax error"), "{e}");
    }

    #[test]
    fn single_expressions_keep_their_type_in_json() {
        let c = Compiler::new();
        let body = serde_json::json!({
            "priority": "{{ random_int(4, 4) }}",
            "label": "job {{ job_id }}",
            "fixed": [1, "two"],
            "who": "{{ greeting }}"
        });
        let t = c.value(&body).expect("compiles");
        assert_eq!(
            t.variables.iter().cloned().collect::<Vec<_>>(),
            vec!["greeting", "job_id"]
        );
        let out = t.item.render_json(&vars()).expect("renders");
        assert_eq!(
            out,
            serde_json::json!({"priority": 4, "label": "job abc", "fixed": [1, "two"], "who": "hi"})
        );
    }

    #[test]
    fn literal_values_stay_literal() {
        let c = Compiler::new();
        let t = c
            .value(&serde_json::json!({"a": [1, 2], "b": "x"}))
            .expect("compiles");
        assert!(t.item.is_literal());
    }

    #[test]
    fn single_expression_detection() {
        assert_eq!(single_expression("{{ a }}"), Some("a"));
        assert_eq!(single_expression(" {{a+1}} "), Some("a+1"));
        assert_eq!(single_expression("{{ a }}-{{ b }}"), None);
        assert_eq!(single_expression("x {{ a }}"), None);
    }
}
