//! Reports: a Markdown file and SVG charts built from the monitor's snapshots,
//! either a recording made earlier (`stateful-redis report FILE`) or the
//! recording a benchmark makes of itself (`bench --report DIR`).
//!
//! Throughput over time comes from consecutive snapshots (count deltas over
//! wall-clock deltas); latency percentiles per operation from the last snapshot of
//! the period. Charts are drawn by `plotters`' SVG backend, which writes text as
//! `<text>` elements: no font files are read, so nothing depends on fontconfig.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use stateful_redis::{MetricsSnapshot, Suggestion};

use crate::workload::{self, RunResult};

/// One line of the throughput chart: (seconds since the period began, ops/s).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// What a report is made of.
pub struct ReportInput<'a> {
    /// Where the snapshots came from (shown in the report).
    pub source: String,
    pub snapshots: &'a [MetricsSnapshot],
    /// The benchmark's own measurements, when the report is of a `bench` run.
    pub bench: Option<&'a RunResult>,
    pub suggestions: &'a [Suggestion],
}

/// Files written by [`write`].
#[derive(Debug)]
pub struct ReportFiles {
    pub markdown: PathBuf,
    /// The same data as JSON (`report.json`).
    pub json: PathBuf,
    pub charts: Vec<PathBuf>,
}

/// Ops/s between consecutive snapshots, for all operations together ("all") and
/// for each operation that ran. A reset (the period got shorter) starts again from
/// zero.
pub fn throughput_series(snapshots: &[MetricsSnapshot]) -> Vec<Series> {
    let Some(first) = snapshots.first() else {
        return Vec::new();
    };
    let origin_ms = first.taken_at_ms as f64 - first.period_seconds * 1000.0;
    // Every operation that ran at some point gets a point at every step.
    let ran: std::collections::BTreeSet<&str> = snapshots
        .iter()
        .flat_map(|s| s.operations.iter())
        .filter(|op| op.count > 0)
        .map(|op| op.name.as_str())
        .collect();
    let mut prev_ms = origin_ms;
    let mut prev_period = 0.0;
    let mut prev: BTreeMap<&str, u64> = BTreeMap::new();
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for snap in snapshots {
        if snap.period_seconds < prev_period {
            prev.clear();
            prev_ms = snap.taken_at_ms as f64 - snap.period_seconds * 1000.0;
        }
        prev_period = snap.period_seconds;
        let dt = (snap.taken_at_ms as f64 - prev_ms) / 1000.0;
        if dt <= 0.0 {
            continue;
        }
        let t = (snap.taken_at_ms as f64 - origin_ms) / 1000.0;
        let mut total = 0u64;
        for op in &snap.operations {
            let before = prev.get(op.name.as_str()).copied().unwrap_or(0);
            let delta = op.count.saturating_sub(before);
            total += delta;
            if ran.contains(op.name.as_str()) {
                series
                    .entry(op.name.clone())
                    .or_default()
                    .push((t, delta as f64 / dt));
            }
            prev.insert(op.name.as_str(), op.count);
        }
        series
            .entry("all".to_string())
            .or_default()
            .push((t, total as f64 / dt));
        prev_ms = snap.taken_at_ms as f64;
    }
    let mut out: Vec<Series> = Vec::new();
    if let Some(points) = series.remove("all") {
        out.push(Series {
            name: "all".into(),
            points,
        });
    }
    out.extend(
        series
            .into_iter()
            .map(|(name, points)| Series { name, points }),
    );
    out
}

fn chart_err(e: impl std::fmt::Display) -> String {
    format!("cannot draw the chart: {e}")
}

/// Draws the throughput chart (one line per series) as SVG.
pub fn throughput_chart(series: &[Series], path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (960, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(chart_err)?;
    let t_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(1.0f64, f64::max);
    let y_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(1.0f64, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption("Throughput over time", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..t_max, 0.0..y_max)
        .map_err(chart_err)?;
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("ops/s")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(chart_err)?;
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let width = if s.name == "all" { 3 } else { 1 };
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(width),
            ))
            .map_err(chart_err)?
            .label(s.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(chart_err)?;
    root.present().map_err(chart_err)
}

/// Latency percentiles of one operation, in microseconds: p50, p90, p99, p99.9.
pub type Percentiles = (String, [f64; 4]);

/// The percentiles of every operation that ran, from a snapshot.
pub fn latency_percentiles(snapshot: &MetricsSnapshot) -> Vec<Percentiles> {
    snapshot
        .operations
        .iter()
        .filter(|op| op.count > 0)
        .map(|op| {
            let l = &op.latency_ms;
            (
                op.name.clone(),
                [l.p50 * 1e3, l.p90 * 1e3, l.p99 * 1e3, l.p999 * 1e3],
            )
        })
        .collect()
}

const PERCENTILE_NAMES: [&str; 4] = ["p50", "p90", "p99", "p99.9"];

/// Draws grouped bars (one group per operation, one bar per percentile) as SVG.
pub fn latency_chart(ops: &[Percentiles], path: &Path) -> Result<(), String> {
    let root = SVGBackend::new(path, (960, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(chart_err)?;
    let n = ops.len().max(1);
    let y_max = ops
        .iter()
        .flat_map(|(_, p)| p.iter().copied())
        .fold(1.0f64, f64::max)
        * 1.1;
    let names: Vec<String> = ops.iter().map(|(name, _)| name.clone()).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption("Latency percentiles per operation", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..y_max)
        .map_err(chart_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.01 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc("microseconds")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(chart_err)?;
    for (j, label) in PERCENTILE_NAMES.iter().enumerate() {
        let color = Palette99::pick(j).to_rgba();
        chart
            .draw_series(ops.iter().enumerate().map(|(i, (_, p))| {
                let left = i as f64 - 0.4 + j as f64 * 0.2;
                Rectangle::new([(left, 0.0), (left + 0.18, p[j])], color.filled())
            }))
            .map_err(chart_err)?
            .label(*label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(chart_err)?;
    root.present().map_err(chart_err)
}

/// Writes `report.md`, `throughput.svg` and `latency.svg` into `dir`.
pub fn write(dir: &Path, input: &ReportInput<'_>) -> Result<ReportFiles, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the report folder {}: {e}", dir.display()))?;
    let last = input
        .snapshots
        .last()
        .ok_or_else(|| format!("{}: no snapshot to report on", input.source))?;
    let series = throughput_series(input.snapshots);
    let percentiles = latency_percentiles(last);
    let throughput_svg = dir.join("throughput.svg");
    let latency_svg = dir.join("latency.svg");
    throughput_chart(&series, &throughput_svg)?;
    latency_chart(&percentiles, &latency_svg)?;
    let markdown = dir.join("report.md");
    std::fs::write(&markdown, markdown_text(input, last))
        .map_err(|e| format!("cannot write {}: {e}", markdown.display()))?;
    let json = dir.join("report.json");
    let value = serde_json::json!({
        "source": input.source,
        "snapshots": input.snapshots.len(),
        "bench": input.bench,
        "throughput": series
            .iter()
            .map(|s| serde_json::json!({"name": s.name, "points": s.points}))
            .collect::<Vec<_>>(),
        "latency_us": percentiles
            .iter()
            .map(|(name, p)| serde_json::json!({
                "name": name, "p50": p[0], "p90": p[1], "p99": p[2], "p999": p[3]
            }))
            .collect::<Vec<_>>(),
        "last_snapshot": last,
        "suggestions": input.suggestions,
    });
    std::fs::write(
        &json,
        serde_json::to_string_pretty(&value).expect("serializable"),
    )
    .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
    Ok(ReportFiles {
        markdown,
        json,
        charts: vec![throughput_svg, latency_svg],
    })
}

fn markdown_text(input: &ReportInput<'_>, last: &MetricsSnapshot) -> String {
    let mut md = String::new();
    let first = &input.snapshots[0];
    let span = (last.taken_at_ms.saturating_sub(first.taken_at_ms)) as f64 / 1000.0;
    let _ = writeln!(md, "# stateful-redis performance report\n");
    let _ = writeln!(
        md,
        "Source: {} — {} snapshot(s), {:.1} s between the first and the last; \
         period covered by the last: {:.1} s.\n",
        input.source,
        input.snapshots.len(),
        span,
        last.period_seconds
    );
    if let Some(bench) = input.bench {
        let _ = writeln!(
            md,
            "## Benchmark\n\n{} calls in flight, {:.1} s: **{:.0} ops/s**, p50 {:.1} µs, \
             p99 {:.1} µs, {} errors (measured by the workload generator).\n",
            bench.concurrency,
            bench.duration_s,
            bench.ops_per_s,
            bench.p50_us,
            bench.p99_us,
            bench.errors
        );
        let _ = writeln!(md, "```text\n{}```\n", workload::table(bench));
    }
    let _ = writeln!(md, "## Operations (monitor, last snapshot)\n");
    let _ = writeln!(
        md,
        "| operation | count | errors | error rate | ops/s (period) | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for op in last.operations.iter().filter(|op| op.count > 0) {
        let l = &op.latency_ms;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.4} | {:.0} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            op.name,
            op.count,
            op.errors,
            op.error_rate,
            op.count as f64 / last.period_seconds.max(1e-9),
            l.p50,
            l.p90,
            l.p99,
            l.p999,
            l.max
        );
    }
    let _ = writeln!(
        md,
        "\n## Throughput over time\n\n![throughput over time](throughput.svg)\n"
    );
    let _ = writeln!(
        md,
        "## Latency percentiles per operation\n\n![latency percentiles](latency.svg)\n"
    );
    let errors: Vec<_> = last
        .errors_by_code
        .iter()
        .filter(|(_, n)| **n > 0)
        .collect();
    let _ = writeln!(md, "## Errors by code\n");
    if errors.is_empty() {
        let _ = writeln!(md, "None.\n");
    } else {
        for (code, n) in errors {
            let _ = writeln!(md, "- `{code}`: {n}");
        }
        md.push('\n');
    }
    let p = &last.pool;
    let _ = writeln!(
        md,
        "## Connections and scripts\n\n- connections {}, in flight peak {}, max in flight {}, \
         contended calls {}, waits {} ({:.1} ms), reconnects {}\n- EVALSHA calls {}, NOSCRIPT reloads {}\n",
        p.connections,
        p.in_flight_peak,
        p.max_in_flight,
        p.contended_calls,
        p.waits,
        p.wait_ms_total,
        p.reconnects,
        last.scripts.evalsha_calls,
        last.scripts.noscript_reloads
    );
    let _ = writeln!(md, "## Active alerts (last snapshot)\n");
    if last.alerts.is_empty() {
        let _ = writeln!(md, "None.\n");
    } else {
        for a in &last.alerts {
            let _ = writeln!(
                md,
                "- `{}` ({:?}): value {:.3}, threshold {:.3}",
                a.metric, a.state, a.value, a.threshold
            );
        }
        md.push('\n');
    }
    let _ = writeln!(md, "## Suggestions\n");
    if input.suggestions.is_empty() {
        let _ = writeln!(md, "None.");
    } else {
        for s in input.suggestions {
            let _ = writeln!(md, "- **{:?}** `{}`: {}", s.severity, s.id, s.message);
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(taken_at_ms: u64, period_seconds: f64, counts: &[(&str, u64)]) -> MetricsSnapshot {
        let mut json = serde_json::json!({
            "schema_version": 1,
            "taken_at_ms": taken_at_ms,
            "uptime_seconds": period_seconds,
            "period_seconds": period_seconds,
            "operations": [],
            "errors_by_code": {},
            "pool": {"connections": 1, "in_use": 0, "in_flight": 0, "in_flight_peak": 0,
                     "max_in_flight": 0, "contended_calls": 0, "waits": 0,
                     "wait_ms_total": 0.0, "wait_ms_p99": 0.0, "reconnects": 0},
            "scripts": {"evalsha_calls": 0, "noscript_reloads": 0},
            "alerts": []
        });
        let ops: Vec<_> = counts
            .iter()
            .map(|(name, count)| {
                serde_json::json!({
                    "name": name, "kind": "builtin", "count": count, "errors": 0,
                    "error_rate": 0.0, "errors_by_code": {},
                    "throughput": {"last_1s": 0.0, "last_10s": 0.0, "last_60s": 0.0},
                    "latency_ms": {"min": 0.1, "mean": 0.2, "p50": 0.2, "p90": 0.3,
                                   "p99": 0.4, "p999": 0.5, "max": 0.6},
                    "batch_items": 0, "batch_max": 0
                })
            })
            .collect();
        json["operations"] = serde_json::Value::Array(ops);
        serde_json::from_value(json).expect("a valid snapshot")
    }

    #[test]
    fn throughput_is_the_count_delta_over_the_time_delta() {
        let snaps = [
            snapshot(
                10_000,
                1.0,
                &[("get_linked_pod", 100), ("set_linked_pod", 0)],
            ),
            snapshot(
                11_000,
                2.0,
                &[("get_linked_pod", 300), ("set_linked_pod", 50)],
            ),
            snapshot(
                11_500,
                2.5,
                &[("get_linked_pod", 400), ("set_linked_pod", 50)],
            ),
        ];
        let series = throughput_series(&snaps);
        assert_eq!(series[0].name, "all");
        assert_eq!(
            series[0].points,
            vec![(1.0, 100.0), (2.0, 250.0), (2.5, 200.0)]
        );
        let set = series.iter().find(|s| s.name == "set_linked_pod").unwrap();
        assert_eq!(set.points, vec![(1.0, 0.0), (2.0, 50.0), (2.5, 0.0)]);
    }

    #[test]
    fn a_reset_restarts_the_series_from_zero() {
        let snaps = [
            snapshot(10_000, 1.0, &[("get_linked_pod", 100)]),
            // reset 0.5 s before this snapshot
            snapshot(11_000, 0.5, &[("get_linked_pod", 40)]),
        ];
        let series = throughput_series(&snaps);
        assert_eq!(series[0].points, vec![(1.0, 100.0), (2.0, 80.0)]);
    }

    #[test]
    fn charts_are_svg_with_text() {
        let dir = std::env::temp_dir().join(format!("sr-report-test-{}", std::process::id()));
        let snaps = [
            snapshot(10_000, 1.0, &[("get_linked_pod", 100)]),
            snapshot(11_000, 2.0, &[("get_linked_pod", 300)]),
        ];
        let files = write(
            &dir,
            &ReportInput {
                source: "test".into(),
                snapshots: &snaps,
                bench: None,
                suggestions: &[],
            },
        )
        .unwrap();
        for chart in &files.charts {
            let svg = std::fs::read_to_string(chart).unwrap();
            assert!(svg.starts_with("<svg") && svg.contains("<text"));
        }
        let md = std::fs::read_to_string(&files.markdown).unwrap();
        assert!(md.contains("| get_linked_pod | 300 |"), "{md}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
