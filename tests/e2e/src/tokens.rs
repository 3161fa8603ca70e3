//! Bearer tokens for the tests that need two callers: alice and bob, each acting only as
//! the agent of the same name.

/// alice's token.
pub const ALICE: &str = "alice-token-0123456789";
/// bob's token.
pub const BOB: &str = "bob-token-0123456789ab";

/// A `MCPD_TOKENS_FILE` with alice and bob.
pub const ALICE_AND_BOB: &str = r#"
[[token]]
name = "alice"
token = "alice-token-0123456789"
agents = ["alice"]

[[token]]
name = "bob"
token = "bob-token-0123456789ab"
agents = ["bob"]
"#;

/// Writes [`ALICE_AND_BOB`] into `dir`; returns the settings that make mcpd require
/// those tokens (with the local runtime allowed).
pub fn alice_and_bob_env(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    let file = dir.join("tokens.toml");
    if let Err(e) = std::fs::write(&file, ALICE_AND_BOB) {
        panic!("cannot write {}: {e}", file.display());
    }
    vec![
        ("MCPD_TOKENS_FILE", file.display().to_string()),
        ("MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS", "1".into()),
    ]
}
