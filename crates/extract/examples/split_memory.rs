//! Peak heap of a PDF read whole beside the same PDF read in parts of
//! pages by range (what a split job's parts do), natively, measured by a
//! counting allocator in the same run. The whole read holds the file (as
//! a job reading it whole does); a part reads only the byte spans it asks
//! for, from the file.
//!
//! `cargo run --release -p quire-extract --example split_memory -- FILE.pdf [PAGES_PER_PART]`
//! (`npm run bench:split` builds a 1,000-page PDF and runs this too).

use quire_extract::sparse::{Fault, Sparse};
use quire_extract::split::read_part;
use quire_extract::{extract_with_scans, Limits};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

struct Counting;
static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = NOW.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        NOW.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f`, returning its output and the heap's peak above where it
/// started.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = NOW.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed) - base)
}

fn mib(n: usize) -> String {
    format!("{:.1} MiB", n as f64 / 1024.0 / 1024.0)
}

/// Reads pages `first..=last` from the file by the spans they ask for:
/// the bytes fetched and the rounds of fetches.
fn read_from(file: &mut std::fs::File, size: u64, (first, last): (u32, u32)) -> (u64, u32) {
    let limits = Limits::default();
    let mut sparse = Sparse::new(size, limits.clone());
    let mut rounds = 0;
    loop {
        match read_part(&mut sparse, first, last, &limits) {
            Ok(_) => return (sparse.fetched(), rounds),
            Err(Fault::Failed(e)) => panic!("pages {first}-{last}: {e}"),
            Err(Fault::Need(spans)) => {
                rounds += 1;
                for (at, len) in spans {
                    let len = len.min(size - at);
                    let mut buf = vec![0; len as usize];
                    file.seek(SeekFrom::Start(at)).expect("seek");
                    file.read_exact(&mut buf).expect("read");
                    sparse.supply(at, buf);
                }
            }
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("a PDF file");
    let per_part: u32 = args
        .next()
        .map_or(50, |n| n.parse().expect("pages per part"));
    let size = std::fs::metadata(&path).expect("the file").len();

    let started = Instant::now();
    let (pages, whole_peak) = peak_of(|| {
        let bytes = std::fs::read(&path).expect("read");
        let (ex, _) = extract_with_scans("application/pdf", &bytes).expect("whole read");
        ex.pages
    });
    println!(
        "whole: {pages} pages, {size} bytes, peak heap {}, {} ms",
        mib(whole_peak),
        started.elapsed().as_millis()
    );

    let mut file = std::fs::File::open(&path).expect("open");
    let mut worst = 0;
    let started_all = Instant::now();
    for (i, first) in (1..=pages).step_by(per_part as usize).enumerate() {
        let last = (first + per_part - 1).min(pages);
        let started = Instant::now();
        let ((fetched, rounds), peak) = peak_of(|| read_from(&mut file, size, (first, last)));
        worst = worst.max(peak);
        println!(
            "part {i} (pages {first}-{last}): peak heap {}, fetched {} in {rounds} rounds, {} ms",
            mib(peak),
            mib(fetched as usize),
            started.elapsed().as_millis()
        );
    }
    println!(
        "parts: largest peak heap {} ({:.2}x the whole read's {}), all parts one after another {} ms",
        mib(worst),
        worst as f64 / whole_peak.max(1) as f64,
        mib(whole_peak),
        started_all.elapsed().as_millis()
    );
}
