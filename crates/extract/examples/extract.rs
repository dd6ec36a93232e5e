//! Extracts one file natively and prints its text (or `--markdown`, or
//! `--json` elements). Used by the quality report and for debugging:
//! `cargo run --release -p quire-extract --example extract -- path/to/file.docx`.

use quire_extract::extract;
use quire_extract::media::media_type_for_filename;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: extract <file> [--markdown|--json]");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let Some(media_type) = media_type_for_filename(path) else {
        eprintln!("{path}: unknown extension");
        std::process::exit(3);
    };
    match extract(media_type, &bytes) {
        Ok(ex) if args.iter().any(|a| a == "--markdown") => println!("{}", ex.markdown()),
        Ok(ex) if args.iter().any(|a| a == "--json") => {
            println!(
                "{}",
                serde_json::to_string_pretty(&ex.elements).unwrap_or_default()
            )
        }
        Ok(ex) => {
            println!("{}", ex.text());
            for w in ex.warnings {
                eprintln!("warning: {w}");
            }
        }
        Err(e) => {
            eprintln!("{path}: {} ({e})", e.code());
            std::process::exit(1);
        }
    }
}
