//! `stateful-redis report FILE`: the Markdown report with charts from a recording
//! made earlier. Needs no server.

use std::path::{Path, PathBuf};

use serde_json::json;
use stateful_redis::monitor::read_recording;
use stateful_redis::Monitor;
use stateful_redis_cli::{report, CliError};

use crate::ReportArgs;

pub fn run(args: &ReportArgs, json: bool) -> Result<(), CliError> {
    let snapshots = read_recording(&args.file)?;
    let last = snapshots.last().ok_or_else(|| {
        CliError::new(
            "DATA",
            format!("{}: the recording holds no snapshot", args.file.display()),
        )
    })?;
    let suggestions = Monitor::suggestions_for(last);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_report_dir(&args.file));
    let files = report::write(
        &out,
        &report::ReportInput {
            source: format!("recording {}", args.file.display()),
            snapshots: &snapshots,
            bench: None,
            suggestions: &suggestions,
        },
    )
    .map_err(|m| CliError::new("INTERNAL", m))?;
    if json {
        println!(
            "{}",
            json!({
                "markdown": files.markdown,
                "json": files.json,
                "charts": files.charts,
                "snapshots": snapshots.len(),
            })
        );
    } else {
        println!("{}", files.markdown.display());
        println!("{}", files.json.display());
        for chart in &files.charts {
            println!("{}", chart.display());
        }
    }
    Ok(())
}

fn default_report_dir(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "recording".into());
    file.with_file_name(format!("{stem}-report"))
}
