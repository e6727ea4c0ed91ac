//! Which server a command talks to: `--url`, else `$STATEFUL_REDIS_URL`, else a
//! private `redis-server` started for the lifetime of the command (kept in
//! `shutdown` so that a signal can stop it; see docs/cli.md).

use stateful_redis_cli::CliError;
use stateful_redis_testkit::LocalRedis;

use crate::shutdown;

/// The server's URL; a private one is kept in `shutdown` until the end.
pub fn url(url: Option<String>) -> Result<String, CliError> {
    if let Some(url) = url.or_else(|| std::env::var(stateful_redis::config::URL_ENV).ok()) {
        return Ok(url);
    }
    // Held while starting, so a signal handled meanwhile still stops the server.
    let mut slot = shutdown::server_slot();
    // A password keeps other local users out (docs/cli.md).
    let server = LocalRedis::builder().password().start().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CliError::new(
                "CONNECTION",
                "no --url and no $STATEFUL_REDIS_URL, and redis-server is not on PATH to start a \
                 private one: install it (Debian: apt-get install redis-server; or \
                 bash scripts/lib/install-redis.sh) or pass --url redis://HOST:PORT",
            )
        } else {
            CliError::new(
                "CONNECTION",
                format!("cannot start a private redis-server: {e}"),
            )
        }
    })?;
    eprintln!(
        "stateful-redis: no --url given: started a private redis-server on {} for this command",
        server.address()
    );
    let url = server.url();
    *slot = Some(server);
    Ok(url)
}
