//! `mcpd dashboard`: opens the running server's live dashboard in a browser, or prints
//! its address when no browser can be opened (a server over SSH, a container).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::{Command, Stdio};

use crate::settings::Settings;

/// The dashboard's address for a server listening on `listen`: a wildcard address
/// (`0.0.0.0`, `::`) is reached on loopback.
pub fn url(listen: SocketAddr) -> String {
    format!("http://{}/dashboard", reachable(listen))
}

/// The program that opens a URL on this desktop, if there is one on `PATH`.
fn opener() -> Option<&'static str> {
    let candidates: &[&'static str] = if cfg!(target_os = "macos") {
        &["open"]
    } else {
        &["xdg-open"]
    };
    let path = std::env::var_os("PATH")?;
    candidates
        .iter()
        .copied()
        .find(|name| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}

/// Prints the address and opens it when a browser can be opened.
pub fn run(settings: &Settings) -> anyhow::Result<()> {
    let url = url(settings.listen);
    if std::net::TcpStream::connect_timeout(
        &reachable(settings.listen),
        std::time::Duration::from_secs(1),
    )
    .is_err()
    {
        eprintln!(
            "mcpd: nothing listens on {} (MCPD_LISTEN): start the server with `mcpd serve` first",
            settings.listen
        );
    }
    println!("{url}");
    match opener() {
        Some(program) => {
            let spawned = Command::new(program)
                .arg(&url)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            if let Err(e) = spawned {
                eprintln!("mcpd: could not run {program} ({e}): open the address above yourself");
            }
        }
        None => {
            eprintln!("mcpd: no browser opener (xdg-open) found: open the address above yourself")
        }
    }
    Ok(())
}

/// Where a client reaches a server listening on `listen`.
fn reachable(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), listen.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), listen.port())
        }
        _ => listen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listen_addresses_become_loopback_urls() {
        assert_eq!(
            url("0.0.0.0:8210".parse().unwrap()),
            "http://127.0.0.1:8210/dashboard"
        );
        assert_eq!(
            url("[::]:9000".parse().unwrap()),
            "http://[::1]:9000/dashboard"
        );
        assert_eq!(
            url("127.0.0.1:8210".parse().unwrap()),
            "http://127.0.0.1:8210/dashboard"
        );
    }
}
