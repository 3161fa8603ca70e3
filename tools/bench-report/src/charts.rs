//! The SVG charts, drawn with `plotters` from the benches' JSON figures. Each returns
//! the file name and title of what it drew, or `None` when the figures hold nothing to
//! draw.

use std::path::Path;

use plotters::prelude::*;
use serde_json::Value;

/// A drawn chart: file name and title.
pub type Drawn = Option<(String, String)>;

const SIZE: (u32, u32) = (760, 440);

/// Colours by series, cycling.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// One named line of points.
struct Line {
    name: String,
    points: Vec<(f64, f64)>,
    dashed: bool,
}

fn f(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn rows(figures: &Value) -> Vec<&Value> {
    figures
        .pointer("/figures/rows")
        .and_then(Value::as_array)
        .map(|r| r.iter().collect())
        .unwrap_or_default()
}

/// Throughput against N, mcpd beside the raw floor, for each runtime.
pub fn throughput(figures: &Value, path: &Path) -> anyhow::Result<Drawn> {
    let rows = rows(figures);
    let mut lines: Vec<Line> = Vec::new();
    for row in &rows {
        let (runtime, side) = (s(row, "runtime"), s(row, "side"));
        let name = if side == "raw" {
            format!("{runtime}: raw floor")
        } else {
            format!("{runtime}: through mcpd")
        };
        let point = (f(row, "n"), f(row, "calls_per_s"));
        match lines.iter_mut().find(|l| l.name == name) {
            Some(l) => l.points.push(point),
            None => lines.push(Line {
                name,
                points: vec![point],
                dashed: side == "raw",
            }),
        }
    }
    for l in &mut lines {
        l.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    draw(
        path,
        "Throughput against N agents calling at once",
        ("agents calling at once (N)", "calls per second"),
        &lines,
    )
}

/// The distribution of per-call latency (cumulative share of calls) at the largest N, for
/// each runtime and side.
pub fn latency(figures: &Value, path: &Path) -> anyhow::Result<Drawn> {
    let rows = rows(figures);
    let max_n = rows.iter().map(|r| f(r, "n")).fold(0.0, f64::max);
    let mut lines = Vec::new();
    for row in rows.iter().filter(|r| f(r, "n") == max_n) {
        let mut ms: Vec<f64> = row
            .get("latencies_ms")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        ms.sort_by(f64::total_cmp);
        let count = ms.len() as f64;
        let points = ms
            .iter()
            .enumerate()
            .map(|(i, v)| (*v, (i + 1) as f64 / count))
            .collect();
        lines.push(Line {
            name: format!("{} {} (N={max_n})", s(row, "runtime"), s(row, "side")),
            points,
            dashed: s(row, "side") == "raw",
        });
    }
    draw(
        path,
        &format!("Per-call latency at N = {max_n} (cumulative)"),
        ("milliseconds per call", "share of calls"),
        &lines,
    )
}

/// mcpd's RSS against the clients held open, one line per transport.
pub fn rss(figures: &Value, path: &Path) -> anyhow::Result<Drawn> {
    let series = figures
        .pointer("/figures/series")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let lines: Vec<Line> = series
        .iter()
        .map(|t| Line {
            name: s(t, "label").to_string(),
            points: t
                .get("points")
                .and_then(Value::as_array)
                .map(|p| {
                    p.iter()
                        .map(|p| (f(p, "clients"), f(p, "rss_mib")))
                        .collect()
                })
                .unwrap_or_default(),
            dashed: false,
        })
        .collect();
    draw(
        path,
        "mcpd resident memory against open clients",
        ("open clients", "VmRSS (MiB)"),
        &lines,
    )
}

/// Draws `lines` on axes from 0 to a little past their largest values.
fn draw(
    path: &Path,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    lines: &[Line],
) -> anyhow::Result<Drawn> {
    if lines.iter().all(|l| l.points.is_empty()) {
        return Ok(None);
    }
    let all = lines.iter().flat_map(|l| l.points.iter());
    let x_max = all.clone().map(|p| p.0).fold(0.0, f64::max).max(1e-9) * 1.05;
    let y_max = all.map(|p| p.1).fold(0.0, f64::max).max(1e-9) * 1.1;
    {
        let root = SVGBackend::new(path, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .light_line_style(RGBColor(238, 238, 238))
            .draw()?;
        for (i, line) in lines.iter().enumerate() {
            let colour = PALETTE[(i / 2 * 2 + usize::from(line.dashed)) % PALETTE.len()];
            let style = ShapeStyle::from(colour).stroke_width(2);
            if line.dashed {
                chart
                    .draw_series(DashedLineSeries::new(line.points.clone(), 8, 5, style))?
                    .label(line.name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            } else {
                chart
                    .draw_series(LineSeries::new(line.points.clone(), style))?
                    .label(line.name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            }
            if line.points.len() <= 20 {
                chart.draw_series(
                    line.points
                        .iter()
                        .map(|p| Circle::new(*p, 3, colour.filled())),
                )?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Some((file, title.to_string())))
}
