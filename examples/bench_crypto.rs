//! Encryption-at-rest throughput (pure-Rust AES-256-GCM, 64 KiB segments),
//! natively: `cargo run --release --example bench_crypto`.

use quire::crypto::{decrypt, encrypt, MasterKeys};
use std::time::Instant;

fn main() {
    let keys = MasterKeys::parse("k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=", None)
        .unwrap_or_else(|e| panic!("{e}"));
    let plain = vec![0x5Au8; 25 * 1024 * 1024];
    let start = Instant::now();
    let sealed = encrypt(&keys, &plain, [7; 51]).unwrap_or_default();
    let enc = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let back = decrypt(&keys, &sealed).unwrap_or_default();
    let dec = start.elapsed().as_secs_f64();
    assert_eq!(back.len(), plain.len());
    let mb = plain.len() as f64 / 1e6;
    println!(
        "25 MiB: encrypt {:.0} MB/s, decrypt {:.0} MB/s, overhead {} bytes",
        mb / enc,
        mb / dec,
        sealed.len() - plain.len()
    );
}
