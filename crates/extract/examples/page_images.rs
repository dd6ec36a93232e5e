//! Writes the scanned pages of a PDF (pages without text, read by OCR in
//! jobs) as PGM images, decoded as a job decodes them:
//! `cargo run -p quire-extract --example page_images -- in.pdf out-dir`.
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, pdf, dir] = args.as_slice() else {
        eprintln!("usage: page_images IN.pdf OUT-DIR");
        std::process::exit(2);
    };
    let bytes = std::fs::read(pdf).expect("read the PDF");
    let (ex, scans) =
        quire_extract::extract_with_scans("application/pdf", &bytes).expect("extract");
    eprintln!(
        "pages {}, {} scanned, text {:?}",
        ex.pages,
        scans.len(),
        ex.text().chars().take(80).collect::<String>()
    );
    for w in &ex.warnings {
        eprintln!("warning: {w}");
    }
    for scan in &scans {
        match scan.raster(&quire_extract::Limits::default()) {
            Ok(r) => {
                let path = format!("{dir}/page-{}.pgm", scan.page);
                let mut f = std::fs::File::create(&path).expect("create");
                write!(f, "P5\n{} {}\n255\n", r.width, r.height).expect("write");
                f.write_all(&r.gray).expect("write");
                println!("{path}: {}x{}", r.width, r.height);
            }
            Err(e) => println!("page {}: {e}", scan.page),
        }
    }
}
