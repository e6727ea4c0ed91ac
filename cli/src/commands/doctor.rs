//! `stateful-redis doctor`: prints the verdict of the library's checks
//! (`stateful_redis_cli::doctor`); exit code 1 when one failed.

use std::process::ExitCode;

use stateful_redis::config::Options;
use stateful_redis_cli::{doctor, CliError};

use super::current_runtime;

pub fn run(options: &Options, json: bool) -> Result<ExitCode, CliError> {
    let runtime = current_runtime()?;
    let d = doctor::diagnose_options(options, &runtime);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&d).expect("serializable")
        );
    } else {
        print!("{}", d.text());
    }
    Ok(if d.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
