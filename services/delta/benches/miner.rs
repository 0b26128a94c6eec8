//! Speed of the log template miner, single-threaded:
//!
//! ```text
//! cargo bench -p airis-delta --bench miner
//! ```
//!
//! Two million raw log lines (as a service logs them, variables unmasked:
//! the miner masks them itself) from 1,000 message shapes in English and
//! Korean, 5 to 20 words each, with numbers, ids, durations and paths in
//! them; each line goes through `Miner::add` as it does when a cohort's
//! records are mined. Reports lines per second and the templates found.
#![allow(clippy::print_stdout)] // a report is what a bench binary is for

use std::hint::black_box;
use std::time::Instant;

use airis_delta::templates::Miner;

const WORDS_EN: [&str; 24] = [
    "request",
    "failed",
    "payment",
    "order",
    "user",
    "cart",
    "timeout",
    "retry",
    "connection",
    "refused",
    "database",
    "query",
    "slow",
    "cache",
    "miss",
    "token",
    "expired",
    "rejected",
    "inventory",
    "reserved",
    "shipping",
    "label",
    "created",
    "queue",
];
const WORDS_KO: [&str; 24] = [
    "요청",
    "실패",
    "결제",
    "주문",
    "사용자",
    "장바구니",
    "시간초과",
    "재시도",
    "연결이",
    "거부됨",
    "데이터베이스",
    "쿼리",
    "느림",
    "캐시",
    "미스",
    "토큰",
    "만료",
    "거절",
    "재고",
    "예약됨",
    "배송",
    "라벨",
    "생성됨",
    "대기열",
];

/// Deterministic numbers.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A shape: fixed words, and the positions that vary.
struct Shape {
    words: Vec<&'static str>,
    variables: Vec<usize>,
}

fn shapes(noise: &mut Noise, n: usize) -> Vec<Shape> {
    (0..n)
        .map(|i| {
            let dictionary = if i % 3 == 0 { &WORDS_KO } else { &WORDS_EN };
            let len = 5 + noise.below(16) as usize;
            let words = (0..len)
                .map(|_| dictionary[noise.below(dictionary.len() as u64) as usize])
                .collect();
            let variables = (0..len).filter(|_| noise.below(4) == 0).collect();
            Shape { words, variables }
        })
        .collect()
}

fn line(shape: &Shape, noise: &mut Noise, out: &mut String) {
    out.clear();
    for (i, word) in shape.words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if shape.variables.contains(&i) {
            match noise.below(4) {
                0 => out.push_str(&noise.below(100_000).to_string()),
                1 => out.push_str(&format!("{}ms", noise.below(5_000))),
                2 => out.push_str(&format!("/cart/{}", noise.below(1_000_000))),
                _ => out.push_str(&format!("{:016x}", noise.next())),
            }
        } else {
            out.push_str(word);
        }
    }
}

fn main() {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let shapes = shapes(&mut noise, 1_000);
    // The lines are made before the clock starts: only mining is timed.
    let mut lines = Vec::with_capacity(2_000_000);
    let mut buffer = String::new();
    for _ in 0..2_000_000 {
        // A few shapes are logged much more than the rest, as in services.
        let shape = &shapes[(noise.below(1_000) * noise.below(1_000) / 1_000) as usize];
        line(shape, &mut noise, &mut buffer);
        lines.push(buffer.clone());
    }
    let bytes: usize = lines.iter().map(String::len).sum();
    for run in 0..3 {
        let mut miner = Miner::new();
        let started = Instant::now();
        for (i, line) in lines.iter().enumerate() {
            miner.add(black_box(line), line, i % 2, 9, "svc", 1);
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "run {run}: {} lines ({:.0} MiB) in {elapsed:.2} s: {:.0} k lines/s, {} templates from 1,000 shapes",
            lines.len(),
            bytes as f64 / (1 << 20) as f64,
            lines.len() as f64 / elapsed / 1e3,
            miner.templates().len()
        );
    }
}
