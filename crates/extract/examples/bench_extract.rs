//! Native extraction speed per format over the shared corpus, beside
//! pdftotext on the same PDFs. `cargo run --release -p quire-extract --example bench_extract`
//! (or `npm run bench:extract`, which also measures inside wrangler dev).

use quire_extract::extract;
use quire_extract::media::media_type_for_filename;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Totals {
    files: usize,
    bytes: u64,
    pages: u64,
    time: Duration,
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Mean time of `f` over enough runs to fill ~200 ms (at least 3).
fn time_it(mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut runs = 0u32;
    while runs < 3 || (start.elapsed() < Duration::from_millis(200) && runs < 200) {
        f();
        runs += 1;
    }
    start.elapsed() / runs
}

fn row(name: &str, t: &Totals) {
    let secs = t.time.as_secs_f64().max(1e-9);
    println!(
        "| {name} | {} | {:.2} | {:.1} | {:.1} | {:.2} |",
        t.files,
        t.bytes as f64 / 1e6,
        t.bytes as f64 / 1e6 / secs,
        t.pages as f64 / secs,
        secs * 1000.0 / t.files as f64
    );
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/example-docs")
        });
    let mut all = Vec::new();
    files(&dir, &mut all);
    all.sort();
    let mut ours: BTreeMap<String, Totals> = BTreeMap::new();
    let mut reference = Totals::default();
    let pdftotext = Command::new("pdftotext").arg("-v").output().is_ok();
    for path in &all {
        let name = path.to_string_lossy();
        let Some(media_type) = media_type_for_filename(&name) else {
            continue;
        };
        let bytes = std::fs::read(path).unwrap_or_default();
        let Ok(ex) = extract(media_type, &bytes) else {
            continue;
        };
        let time = time_it(|| {
            let _ = extract(media_type, &bytes);
        });
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let t = ours.entry(ext.clone()).or_default();
        t.files += 1;
        t.bytes += bytes.len() as u64;
        t.pages += u64::from(ex.pages);
        t.time += time;
        if ext == "pdf" && pdftotext {
            let time = time_it(|| {
                let _ = Command::new("pdftotext")
                    .arg(path)
                    .arg("/dev/null")
                    .output();
            });
            reference.files += 1;
            reference.bytes += bytes.len() as u64;
            reference.pages += u64::from(ex.pages);
            reference.time += time;
        }
    }
    println!("| format | files | MB | MB/s | pages/s | ms/file |");
    println!("|---|---|---|---|---|---|");
    for (ext, t) in &ours {
        row(ext, t);
    }
    if reference.files > 0 {
        row("pdf (pdftotext, process per file)", &reference);
    }
}
