//! The local mesh's Envoy templates (`mesh/*.yaml`) filled in. One
//! renderer for the launcher (`airis mesh render`, which `scripts/mesh.sh`
//! calls) and the tests, so a template means the same thing to both.
//!
//! A template names its blanks `{{NAME}}` (capitals, digits, `_`). Values
//! go in as they are, except for two kinds of name that take addresses
//! (`host:port` or `unix:<path>`) and become Envoy's YAML:
//!
//! - `…_ADDRESS`: one address → an Envoy `Address` object;
//! - `…_ENDPOINTS`: comma-separated addresses → a flow sequence of
//!   `LbEndpoint`s.
//!
//! Rendering refuses a blank left without a value, a value for a name the
//! template does not have (a misspelt name would otherwise leave a
//! default in force unnoticed), a name given twice and a value spanning
//! lines (it would break the YAML's indentation).

use std::collections::{BTreeMap, BTreeSet};

/// Why a template could not be rendered; `line` is 1-based.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error(
        "line {line}: malformed placeholder {text:?} (expected {{{{NAME}}}}, NAME in A-Z, 0-9, _)"
    )]
    Malformed { line: usize, text: String },
    #[error("{name:?} is not a placeholder name (A-Z, 0-9, _, starting with a letter)")]
    InvalidName { name: String },
    #[error("{name} given twice")]
    Duplicate { name: String },
    #[error("no placeholder {{{{{name}}}}} in the template")]
    Unknown { name: String },
    #[error("line {line}: placeholder {{{{{name}}}}} has no value")]
    Missing { line: usize, name: String },
    #[error("{name}: {reason}")]
    Value { name: String, reason: String },
}

/// Fills `template`'s placeholders with `values` (name, value).
pub fn render(template: &str, values: &[(&str, &str)]) -> Result<String, RenderError> {
    let mut given = BTreeMap::new();
    for (name, value) in values {
        if !is_name(name) {
            return Err(RenderError::InvalidName {
                name: (*name).to_owned(),
            });
        }
        if given.insert(*name, convert(name, value)?).is_some() {
            return Err(RenderError::Duplicate {
                name: (*name).to_owned(),
            });
        }
    }

    let mut out = String::with_capacity(template.len());
    let mut used = BTreeSet::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let line = line_of(template, template.len() - rest.len() + start);
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let name = after
            .find("}}")
            .map(|end| &after[..end])
            .filter(|name| is_name(name))
            .ok_or_else(|| RenderError::Malformed {
                line,
                text: rest[start..].chars().take(30).collect(),
            })?;
        let value = given.get(name).ok_or_else(|| RenderError::Missing {
            line,
            name: name.to_owned(),
        })?;
        out.push_str(value);
        used.insert(name);
        rest = &after[name.len() + 2..];
    }
    out.push_str(rest);

    if let Some(name) = given.keys().find(|name| !used.contains(*name)) {
        return Err(RenderError::Unknown {
            name: (*name).to_owned(),
        });
    }
    Ok(out)
}

/// Splits `NAME=value` as the command line gives it.
pub fn parse_pair(pair: &str) -> Result<(&str, &str), RenderError> {
    pair.split_once('=')
        .ok_or_else(|| RenderError::InvalidName {
            name: pair.to_owned(),
        })
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// The text a value stands for in the template.
fn convert(name: &str, value: &str) -> Result<String, RenderError> {
    let invalid = |reason: String| RenderError::Value {
        name: name.to_owned(),
        reason,
    };
    if value.chars().any(char::is_control) {
        return Err(invalid(
            "a value is one line without control characters".into(),
        ));
    }
    if name.ends_with("_ENDPOINTS") {
        let endpoints = value
            .split(',')
            .map(|address| {
                envoy_address(address.trim()).map(|a| format!("{{ endpoint: {{ address: {a} }} }}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        Ok(format!("[{}]", endpoints.join(", ")))
    } else if name.ends_with("_ADDRESS") {
        envoy_address(value).map_err(invalid)
    } else {
        Ok(value.to_owned())
    }
}

/// `host:port` or `unix:<path>` as an Envoy `Address` in YAML flow style.
fn envoy_address(address: &str) -> Result<String, String> {
    if let Some(path) = address.strip_prefix("unix:") {
        if path.is_empty() {
            return Err("unix: needs a socket path".into());
        }
        return Ok(format!("{{ pipe: {{ path: {} }} }}", quoted(path)));
    }
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("{address:?} is not host:port or unix:<path>"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("{address:?} has no host"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{address:?}: port {port:?} is not a number from 0 to 65535"))?;
    Ok(format!(
        "{{ socket_address: {{ address: {}, port_value: {port} }} }}",
        quoted(host)
    ))
}

/// A YAML double-quoted scalar; control characters never get here.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_every_occurrence_and_converts_addresses() {
        let template =
            "port: {{PORT}}\nagain: {{PORT}}\napp: {{APP_ADDRESS}}\nhosts: {{UP_ENDPOINTS}}\n";
        let out = render(
            template,
            &[
                ("PORT", "8080"),
                ("APP_ADDRESS", "unix:/run/a b/\"x\".sock"),
                ("UP_ENDPOINTS", "127.0.0.1:1, [::1]:2"),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "port: 8080\nagain: 8080\n\
             app: { pipe: { path: \"/run/a b/\\\"x\\\".sock\" } }\n\
             hosts: [{ endpoint: { address: { socket_address: { address: \"127.0.0.1\", port_value: 1 } } } }, \
             { endpoint: { address: { socket_address: { address: \"::1\", port_value: 2 } } } }]\n"
        );
    }

    #[test]
    fn values_are_not_rendered_again() {
        let out = render("a: {{A}} b: {{B}}", &[("A", "{{B}}"), ("B", "x")]).unwrap();
        assert_eq!(out, "a: {{B}} b: x");
    }

    #[test]
    fn refuses_a_placeholder_left_without_value() {
        let err = render("a: {{A}}\nb: {{B}}\n", &[("A", "1")]).unwrap_err();
        assert_eq!(
            err,
            RenderError::Missing {
                line: 2,
                name: "B".into()
            }
        );
        assert_eq!(err.to_string(), "line 2: placeholder {{B}} has no value");
    }

    #[test]
    fn refuses_names_the_template_does_not_have() {
        let err = render("a: {{A}}", &[("A", "1"), ("INGRES_PORT", "2")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no placeholder {{INGRES_PORT}} in the template"
        );
    }

    #[test]
    fn refuses_bad_names_duplicates_and_malformed_placeholders() {
        assert!(matches!(
            render("{{A}}", &[("a", "1")]),
            Err(RenderError::InvalidName { .. })
        ));
        assert!(matches!(
            render("{{A}}", &[("A", "1"), ("A", "2")]),
            Err(RenderError::Duplicate { .. })
        ));
        assert!(matches!(
            render("x\n{{ A }}", &[]),
            Err(RenderError::Malformed { line: 2, .. })
        ));
        assert!(matches!(
            render("{{A", &[]),
            Err(RenderError::Malformed { line: 1, .. })
        ));
        assert!(matches!(
            parse_pair("A"),
            Err(RenderError::InvalidName { .. })
        ));
        assert_eq!(parse_pair("A=b=c").unwrap(), ("A", "b=c"));
    }

    #[test]
    fn refuses_values_that_would_break_the_yaml() {
        let err = render("{{A}}", &[("A", "1\n  evil: true")]).unwrap_err();
        assert!(matches!(err, RenderError::Value { .. }), "{err}");
        for bad in [
            "127.0.0.1",
            "127.0.0.1:http",
            ":80",
            "unix:",
            "1.2.3.4:70000",
        ] {
            let err = render("{{X_ADDRESS}}", &[("X_ADDRESS", bad)]).unwrap_err();
            assert!(err.to_string().starts_with("X_ADDRESS: "), "{bad}: {err}");
        }
        let err = render("{{X_ENDPOINTS}}", &[("X_ENDPOINTS", "127.0.0.1:1,")]).unwrap_err();
        assert!(matches!(err, RenderError::Value { .. }), "{err}");
    }
}
