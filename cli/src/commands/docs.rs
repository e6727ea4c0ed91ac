//! `stateful-redis completions SHELL` and `stateful-redis man`: a completion
//! script and the man page, generated from the clap definitions of `main.rs`
//! (`clap_complete`, `clap_mangen`), so they never drift from the flags.

use std::io::Write;

use clap_complete::Shell;
use stateful_redis_cli::CliError;

/// Prints the completion script of `shell` on stdout.
pub fn completions(mut cmd: clap::Command, shell: Shell) -> Result<(), CliError> {
    let name = cmd.get_name().to_string();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    print(&out)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print(bytes: &[u8]) -> Result<(), CliError> {
    match std::io::stdout().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::new("INTERNAL", format!("cannot write: {e}")))
        }
        _ => Ok(()),
    }
}

/// Prints the man page (roff, section 1) on stdout, the subcommands included.
pub fn man(cmd: clap::Command) -> Result<(), CliError> {
    let mut out = Vec::new();
    let cannot = |e: std::io::Error| CliError::new("INTERNAL", format!("man page: {e}"));
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(&mut out).map_err(cannot)?;
    man.render_name_section(&mut out).map_err(cannot)?;
    man.render_synopsis_section(&mut out).map_err(cannot)?;
    man.render_description_section(&mut out).map_err(cannot)?;
    man.render_options_section(&mut out).map_err(cannot)?;
    man.render_subcommands_section(&mut out).map_err(cannot)?;
    render_environment(&cmd, &mut out).map_err(cannot)?;
    man.render_version_section(&mut out).map_err(cannot)?;
    print(&out)
}

/// An ENVIRONMENT section: every flag's variable, and the password's.
fn render_environment(cmd: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    writeln!(out, ".SH ENVIRONMENT")?;
    writeln!(
        out,
        ".TP\n\\fBSTATEFUL_REDIS_URL\\fR\nThe server's URL when --url is not given."
    )?;
    writeln!(
        out,
        ".TP\n\\fB{}\\fR\nThe password (never a flag: it would show in ps). Or --password-file.",
        crate::server::AUTH_ENV
    )?;
    for arg in cmd.get_arguments() {
        if let Some(env) = arg.get_env() {
            writeln!(
                out,
                ".TP\n\\fB{}\\fR\nAs --{}.",
                env.to_string_lossy(),
                arg.get_long().unwrap_or_default()
            )?;
        }
    }
    Ok(())
}
