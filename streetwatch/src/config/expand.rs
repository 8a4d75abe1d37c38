//! `${NAME}` and `${NAME:-default}` in URLs and paths.
//!
//! Only the fields documented as expandable go through here; secrets never do (they
//! are read from the environment variable a `*_env` key names, and never echoed).

use super::ConfigError;

/// The cache directory of deploy/setup.sh, usable as `${STREETWATCH_CACHE}` even when
/// the variable is not set.
fn builtin(name: &str) -> Option<String> {
    match name {
        "STREETWATCH_CACHE" => std::env::var("HOME").ok().map(|h| format!("{h}/.cache/streetwatch")),
        _ => None,
    }
}

pub fn expand(value: &str, path: &str) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| ConfigError::new(path, "unterminated `${` (write `${NAME}` or `${NAME:-default}`)"))?;
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ConfigError::new(path, format!("`${{{inner}}}` is not a valid variable reference")));
        }
        let v = std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| default.map(str::to_string))
            .or_else(|| builtin(name))
            .ok_or_else(|| ConfigError::new(path, format!("environment variable {name} is not set")))?;
        out.push_str(&v);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_defaults_and_builtins() {
        assert_eq!(expand("a/${SW_TEST_SURELY_UNSET:-x}/b", "p").unwrap(), "a/x/b");
        assert!(expand("${STREETWATCH_CACHE}/m", "p").unwrap().ends_with("/m"));
        assert_eq!(expand("plain", "p").unwrap(), "plain");
    }

    #[test]
    fn errors_name_the_path_and_variable() {
        let e = expand("${SW_TEST_SURELY_UNSET}", "cameras[0].url").unwrap_err();
        assert_eq!(e.to_string(), "cameras[0].url: environment variable SW_TEST_SURELY_UNSET is not set");
        assert!(expand("${oops", "x").unwrap_err().message.contains("unterminated"));
        assert!(expand("${a b}", "x").unwrap_err().message.contains("not a valid"));
    }
}
