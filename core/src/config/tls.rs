//! TLS (`rediss://`) through redis-rs's rustls support.
//!
//! The options name PEM files (a CA bundle, optionally a client certificate and its
//! key); they are read once, when the configuration is built, so a missing or bad
//! file is a `CONFIG` error at start-up and not a `CONNECTION` error at every call.
//! Certificates are checked against the host name of the URL (`127.0.0.1` needs an
//! IP address in the certificate's subject alternative names). rustls's crypto
//! provider is `ring` (see `docs/dependencies.md`), installed as the process default
//! the first time a TLS configuration is built unless the application installed one.
//!
//! Without `tls_ca_file` the trust anchors are the Mozilla roots compiled in
//! (redis-rs's `tls-rustls-webpki-roots`), not the system store: redis-rs would
//! otherwise read and parse the system store synchronously on *every* connect,
//! inside the async task, where no deadline can interrupt it (a `rediss://`
//! connect with a 300 ms timeout measured 711 ms on a loaded machine).

use redis::{ClientTlsConfig, ConnectionAddr, ConnectionInfo, TlsCertificates};

use super::options::Options;
use crate::error::{Error, Result};

/// Reads the certificate files named by the options; `None` when none is named.
pub(crate) fn certificates(options: &Options) -> Result<Option<TlsCertificates>> {
    let client_tls = match (&options.tls_client_cert_file, &options.tls_client_key_file) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some(ClientTlsConfig {
            client_cert: read_pem("tls_client_cert_file", cert)?,
            client_key: read_pem("tls_client_key_file", key)?,
        }),
        _ => {
            return Err(Error::config(
                "tls_client_cert_file and tls_client_key_file go together: set both or neither",
            ))
        }
    };
    let root_cert = match &options.tls_ca_file {
        Some(path) => Some(read_pem("tls_ca_file", path)?),
        None => None,
    };
    if client_tls.is_none() && root_cert.is_none() {
        return Ok(None);
    }
    Ok(Some(TlsCertificates {
        client_tls,
        root_cert,
    }))
}

/// Largest PEM file read (a CA bundle is a few hundred KiB at most): a path to a
/// device such as `/dev/zero` must not hang or exhaust memory.
const MAX_PEM_BYTES: u64 = 4 << 20;

fn read_pem(option: &str, path: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let cannot = |e: std::io::Error| Error::config(format!("{option}: cannot read {path:?}: {e}"));
    let file = std::fs::File::open(path).map_err(cannot)?;
    if !file.metadata().map_err(cannot)?.is_file() {
        return Err(Error::config(format!("{option}: {path:?} is not a file")));
    }
    let mut bytes = Vec::new();
    file.take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(Error::config(format!(
            "{option}: {path:?} is larger than {MAX_PEM_BYTES} bytes"
        )));
    }
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(Error::config(format!(
            "{option}: {path:?} is not a PEM file"
        )));
    }
    Ok(bytes)
}

/// Attaches the certificates to a `rediss://` address (other addresses unchanged)
/// and makes sure rustls has a crypto provider.
pub(crate) fn apply(info: ConnectionInfo, tls: &Option<TlsCertificates>) -> Result<ConnectionInfo> {
    if !matches!(info.addr(), ConnectionAddr::TcpTls { .. }) {
        return Ok(info);
    }
    install_crypto_provider();
    match tls {
        None => Ok(info),
        Some(certs) => redis::Client::build_with_tls(info, certs.clone())
            .map(|client| client.get_connection_info().clone())
            .map_err(|e| {
                Error::config(format!(
                    "invalid TLS certificates: {}",
                    e.detail().unwrap_or("unreadable PEM")
                ))
            }),
    }
}

/// TLS options with a URL that is not `rediss://` would be silently ignored:
/// refuse them, and refuse a cluster whose seeds mix TLS and plain addresses.
pub(crate) fn check_schemes(
    options: &Options,
    url: &ConnectionInfo,
    seeds: &[ConnectionInfo],
) -> Result<()> {
    let tls_options = options.tls_ca_file.is_some()
        || options.tls_client_cert_file.is_some()
        || options.tls_client_key_file.is_some();
    let any_tls = if seeds.is_empty() {
        is_tls(url)
    } else {
        if seeds.iter().any(is_tls) && !seeds.iter().all(is_tls) {
            return Err(Error::config(
                "cluster_nodes mix rediss:// and redis:// addresses",
            ));
        }
        seeds.iter().any(is_tls)
    };
    if tls_options && !any_tls {
        return Err(Error::config(
            "tls_* options need a rediss:// URL (or rediss:// cluster_nodes)",
        ));
    }
    Ok(())
}

/// Installs `ring` as rustls's process-wide provider unless one is installed.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: a provider is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Whether an address is `rediss://`.
fn is_tls(info: &ConnectionInfo) -> bool {
    matches!(info.addr(), ConnectionAddr::TcpTls { .. })
}
