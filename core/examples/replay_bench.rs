//! Replay a lines file through the native engine, as NativeEngine.process_batch does
//! (decode, process, encode every output), and print events per CPU second.
//!
//! cargo run --release --example replay_bench -- LINES NICHES_JSON [PASSES]

use std::time::Instant;

use _native::decode;
use _native::engine::config::EngineConfig;
use _native::engine::Engine;

fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_owned();
            let f: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = f.get(11)?.parse().ok()?;
            let stime: f64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let raw = std::fs::read(&args[1]).expect("lines");
    let lines: Vec<&[u8]> = raw.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let niches: Vec<(String, Vec<String>)> =
        serde_json::from_slice(&std::fs::read(&args[2]).expect("niches")).expect("niches json");
    let passes: usize = args.get(3).and_then(|p| p.parse().ok()).unwrap_or(3);
    let now_us = 1_900_000_000_000_000;
    for _ in 0..passes {
        let mut engine = Engine::new(EngineConfig::default());
        for (name, tags) in &niches {
            engine.matcher.set_niche(name, tags);
        }
        let (cpu0, wall0) = (cpu_seconds(), Instant::now());
        let mut checksum: u64 = 0xcbf29ce484222325;
        let mut count = 0usize;
        for batch in lines.chunks(1000) {
            let mut outputs = Vec::new();
            for line in batch {
                if let Ok(event) = decode::decode(Some(line), now_us) {
                    engine.process(&event, &mut outputs);
                }
            }
            for output in &outputs {
                for b in output.to_json_bytes() {
                    checksum = (checksum ^ b as u64).wrapping_mul(0x100000001b3);
                }
                count += 1;
            }
        }
        let cpu = cpu_seconds() - cpu0;
        let wall = wall0.elapsed().as_secs_f64();
        println!(
            "{} events: cpu {:.3}s ({:.0} ev/cpu-s), wall {:.3}s ({:.0} ev/s); {} outputs, checksum {:016x}",
            lines.len(), cpu, lines.len() as f64 / cpu, wall, lines.len() as f64 / wall, count, checksum
        );
    }
}
