//! `cicada run --url`: a quick test of one URL (like hey or oha), made into
//! an ordinary scenario so it runs and reports exactly like a file would.

use anyhow::{bail, Context as _};
use cicada_core::protocols::http::Origin;
use cicada_core::scenario::{self, Plan};
use serde_json::json;

use super::RunArgs;

/// The plan for `--url URL [-X METHOD] [--body B] [-H 'K: V']...`.
pub fn plan(url: &str, args: &RunArgs) -> anyhow::Result<Plan> {
    let (origin, path) = Origin::split_url(url).map_err(|e| anyhow::anyhow!("--url: {e}"))?;
    let mut headers = serde_json::Map::new();
    for h in &args.headers {
        let Some((name, value)) = h.split_once(':') else {
            bail!("--header '{h}': expected 'Name: value'");
        };
        headers.insert(name.trim().to_string(), json!(value.trim()));
    }
    let mut http = json!({
        "method": args.method,
        "path": path,
        "headers": headers,
        "name": format!("{} {}", args.method.to_ascii_uppercase(), path),
    });
    if let Some(body) = &args.body {
        http["body"] = json!(body);
    }
    if let Some(t) = args.timeout {
        http["timeout"] = json!(format!("{}ms", t.as_millis()));
    }
    let host = args.host.clone().unwrap_or_else(|| origin.to_string());
    // JSON is YAML: the scenario parser validates it like any file.
    let text = serde_json::to_string_pretty(&json!({
        "host": host,
        "users": [{ "name": "url", "steps": [{ "http": http }] }],
    }))
    .context("building the scenario for --url")?;
    scenario::parse(&text, url, std::path::Path::new("."), None).map_err(anyhow::Error::from)
}
