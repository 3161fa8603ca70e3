//! Resources and resource templates.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::content::ResourceContents;

/// A resource as listed by `resources/list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// Its URI.
    pub uri: String,
    /// Programmatic name.
    pub name: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Audience and priority hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
}

/// A parameterised family of resources (RFC 6570 URI template).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTemplate {
    /// The URI template, e.g. `file:///{path}`.
    pub uri_template: String,
    /// Programmatic name.
    pub name: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What its resources hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// MIME type of its resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// Params of `resources/read`, `resources/subscribe` and `resources/unsubscribe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceUriParams {
    /// The resource URI.
    pub uri: String,
}

/// Result of `resources/read`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadResourceResult {
    /// One or more contents (a directory may yield several).
    pub contents: Vec<ResourceContents>,
}

/// Matches a URI against a simple RFC 6570 level-1 template (`{name}` segments),
/// returning the variable bindings.
pub fn match_template(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
    let mut bindings = Vec::new();
    let mut rest = uri;
    let mut tpl = template;
    while !tpl.is_empty() {
        if let Some(after_brace) = tpl.strip_prefix('{') {
            let end = after_brace.find('}')?;
            let name = &after_brace[..end];
            tpl = &after_brace[end + 1..];
            let literal_end = tpl.find('{').unwrap_or(tpl.len());
            let next_literal = &tpl[..literal_end];
            let value_end = if next_literal.is_empty() {
                rest.len()
            } else {
                rest.find(next_literal)?
            };
            let value = &rest[..value_end];
            if value.is_empty() {
                return None;
            }
            bindings.push((name.to_string(), value.to_string()));
            rest = &rest[value_end..];
        } else {
            let literal_end = tpl.find('{').unwrap_or(tpl.len());
            let literal = &tpl[..literal_end];
            rest = rest.strip_prefix(literal)?;
            tpl = &tpl[literal_end..];
        }
    }
    rest.is_empty().then_some(bindings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn templates_bind_variables() {
        assert_eq!(
            match_template("test://template/{id}/data", "test://template/42/data"),
            Some(vec![("id".into(), "42".into())])
        );
        assert_eq!(
            match_template("test://template/{id}/data", "test://template//data"),
            None
        );
        assert_eq!(match_template("test://x/{a}", "test://y/1"), None);
    }
}
