//! Resource fixtures: static text, binary, a watched resource and a template.

use async_trait::async_trait;
use codex_mcp_core::server::{RequestCtx, ResourceProvider, ServerBuilder};
use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::content::ResourceContents;
use codex_mcp_protocol::resources::{Resource, ResourceTemplate, match_template};

use crate::PNG_B64;

struct Fixtures;

fn resource(uri: &str, name: &str, mime: &str) -> Resource {
    Resource {
        uri: uri.into(),
        name: name.into(),
        title: None,
        description: Some(format!("The {name} fixture")),
        mime_type: Some(mime.into()),
        annotations: None,
    }
}

const TEMPLATE: &str = "test://template/{id}/data";

#[async_trait]
impl ResourceProvider for Fixtures {
    fn resources(&self) -> Vec<Resource> {
        vec![
            resource("test://static-text", "static-text", "text/plain"),
            resource("test://static-binary", "static-binary", "image/png"),
            resource("test://watched-resource", "watched-resource", "text/plain"),
        ]
    }

    fn templates(&self) -> Vec<ResourceTemplate> {
        vec![ResourceTemplate {
            uri_template: TEMPLATE.into(),
            name: "template".into(),
            title: None,
            description: Some("Data for an id".into()),
            mime_type: Some("application/json".into()),
        }]
    }

    async fn read(
        &self,
        uri: &str,
        _: &RequestCtx,
    ) -> Result<Option<Vec<ResourceContents>>, ErrorObject> {
        let contents = match uri {
            "test://static-text" => ResourceContents::text(
                uri,
                "text/plain",
                "This is the content of the static text resource.",
            ),
            "test://static-binary" => ResourceContents::blob(uri, "image/png", PNG_B64),
            "test://watched-resource" => {
                ResourceContents::text(uri, "text/plain", "Watched resource content")
            }
            _ => match match_template(TEMPLATE, uri) {
                Some(bindings) => {
                    let id = bindings.first().map(|(_, v)| v.clone()).unwrap_or_default();
                    let body = serde_json::json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") });
                    ResourceContents::text(uri, "application/json", body.to_string())
                }
                None => return Ok(None),
            },
        };
        Ok(Some(vec![contents]))
    }
}

pub fn register(b: ServerBuilder) -> ServerBuilder {
    b.resources(Fixtures).resource_subscriptions(true)
}
