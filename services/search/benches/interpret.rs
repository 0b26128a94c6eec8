//! Speed of reading a question, single-threaded:
//!
//! ```text
//! cargo bench -p airis-search --bench interpret
//! ```
//!
//! Every labelled question (tests/data/search/questions.tsv) read over a
//! tenant vocabulary of 10,000 names: the labelled tenant's, plus services,
//! operations and metrics generated to bring it to that size, as a large
//! tenant has. Each question is read 200 times; the report gives p50, p99
//! and the slowest of all readings, and how long building the vocabulary
//! took. Then the same questions are read while another thread refreshes
//! that vocabulary without pause, as the search service does once a
//! minute: built apart (`Indexed::new`, the names and the completions) and
//! swapped in under the lock questions take it from.
#![allow(clippy::print_stdout)] // a report is what a bench binary is for

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use airis_search::catalog::Indexed;
use airis_search::{Clock, Vocabulary, parse};

const NOW: u64 = 1_796_261_400_000_000_000;
const ROUNDS: usize = 200;
/// Readings of each question while the vocabulary is refreshed.
const ROUNDS_REFRESHED: usize = 50;

fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/search")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn main() {
    let started = Instant::now();
    let mut vocabulary: Vocabulary = toml::from_str(&data("vocabulary.toml")).expect("vocabulary");
    let words = [
        "billing", "ledger", "fraud", "risk", "coupon", "promo", "review", "rating", "media",
        "image", "video", "chat", "message", "profile", "session", "wallet", "point", "reward",
        "loyalty", "tax", "invoice", "refund", "report", "audit", "config", "feature", "flag",
        "geo", "map", "route",
    ];
    let mut names = 0;
    'fill: for a in words {
        for b in [
            "service", "api", "worker", "batch", "gateway", "sync", "consumer", "job",
        ] {
            for c in ["", "-v2", "-kr", "-us", "-eu"] {
                let service = format!("{a}-{b}{c}");
                let operations: Vec<String> = ["GET", "POST", "PUT", "DELETE"]
                    .iter()
                    .flat_map(|m| {
                        ["", "/{id}", "/search"]
                            .iter()
                            .map(move |p| format!("{m} /{a}s{p}"))
                    })
                    .collect();
                names += 1 + operations.len() + 1;
                vocabulary.metrics.push(format!("{a}.{b}{c}.queue.depth"));
                vocabulary.operations.insert(service.clone(), operations);
                vocabulary.services.push(service);
                if names >= 10_000 {
                    break 'fill;
                }
            }
        }
    }
    let total = vocabulary.services.len()
        + vocabulary.metrics.len()
        + vocabulary.operations.values().map(Vec::len).sum::<usize>();
    let (services, operations, metrics) = (
        vocabulary.services.len(),
        vocabulary.operations.values().map(Vec::len).sum::<usize>(),
        vocabulary.metrics.len(),
    );
    let source = vocabulary.clone();
    let vocabulary = vocabulary.index();
    let built = started.elapsed();
    let clock = Clock::new("Asia/Seoul", NOW).expect("clock");
    let questions: Vec<String> = data("questions.tsv")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t').map(|(q, _)| q.to_owned()))
        .collect();
    let mut times: Vec<Duration> = Vec::with_capacity(questions.len() * ROUNDS);
    let mut per_question = vec![Duration::ZERO; questions.len()];
    for _ in 0..ROUNDS {
        for (i, q) in questions.iter().enumerate() {
            let t = Instant::now();
            black_box(parse(black_box(q), &vocabulary, &clock));
            let took = t.elapsed();
            per_question[i] += took;
            times.push(took);
        }
    }
    let mut slowest: Vec<(Duration, &String)> = per_question
        .iter()
        .map(|d| *d / ROUNDS as u32)
        .zip(&questions)
        .collect();
    slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "vocabulary: {services} services, {operations} operations, {metrics} metrics ({total} names), indexed in {built:?}"
    );
    println!(
        "{} questions x {ROUNDS}: p50 {:?}, p99 {:?}, max {:?}",
        questions.len(),
        at(0.5),
        at(0.99),
        times[times.len() - 1]
    );
    println!("slowest questions, mean of {ROUNDS} readings:");
    for (took, q) in slowest.iter().take(5) {
        println!("  {took:?}  {q}");
    }

    // The same questions while the vocabulary is refreshed without pause.
    let current = Arc::new(RwLock::new(Arc::new(Indexed::new(source.clone(), 0))));
    let stop = Arc::new(AtomicBool::new(false));
    let refreshes = Arc::new(AtomicUsize::new(0));
    let refresher = {
        let (current, stop, refreshes) = (current.clone(), stop.clone(), refreshes.clone());
        std::thread::spawn(move || {
            let mut build = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let fresh = Arc::new(Indexed::new(source.clone(), 0));
                build += t.elapsed();
                *current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
                refreshes.fetch_add(1, Ordering::Relaxed);
            }
            build
        })
    };
    let mut times: Vec<Duration> = Vec::with_capacity(questions.len() * ROUNDS_REFRESHED);
    let reading = Instant::now();
    for _ in 0..ROUNDS_REFRESHED {
        for q in &questions {
            let t = Instant::now();
            let names = current.read().unwrap_or_else(|e| e.into_inner()).clone();
            black_box(parse(black_box(q), &names.names, &clock));
            times.push(t.elapsed());
        }
    }
    let read_for = reading.elapsed();
    stop.store(true, Ordering::Relaxed);
    let build = refresher.join().expect("refresher");
    let refreshed = refreshes.load(Ordering::Relaxed).max(1);
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "while refreshed ({refreshed} refreshes in {read_for:?}, each built in {:?} on average): p50 {:?}, p99 {:?}, max {:?}",
        build / refreshed as u32,
        at(0.5),
        at(0.99),
        times[times.len() - 1]
    );
}
