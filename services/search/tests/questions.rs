//! The labelled questions (tests/data/search/questions.tsv): each read as
//! the tenant of tests/data/search/vocabulary.toml asks it, on Thursday
//! 2026-12-03 10:30 in Seoul, and compared with its expected
//! interpretation in the canonical form. The exact-match rate must stay at
//! 95 % or more (docs/benchmarks.md reports it); every miss is printed.
#![allow(clippy::print_stdout)] // the rate and the misses are the report

use std::path::PathBuf;

use airis_proto::airis::search::v1::InterpretRequest;
use airis_search::{Clock, Names, Vocabulary, canonical::canonical, interpret, parse};

const NOW: u64 = 1_796_261_400_000_000_000;
const ZONE: &str = "Asia/Seoul";

fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/search")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn vocabulary() -> Names {
    let vocabulary: Vocabulary = toml::from_str(&data("vocabulary.toml")).expect("vocabulary.toml");
    vocabulary.index()
}

fn cases() -> Vec<(usize, String, String)> {
    cases_of("questions.tsv")
}

fn cases_of(file: &str) -> Vec<(usize, String, String)> {
    data(file)
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(n, l)| {
            let (q, a) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("{file}:{}: no tab", n + 1));
            (n + 1, q.to_owned(), a.trim().to_owned())
        })
        .collect()
}

#[test]
fn labelled_questions_are_understood() {
    understood("questions.tsv", 200);
}

/// The second set, written from docs/search.md alone by someone who had
/// seen neither the parser nor the first set.
#[test]
fn held_out_questions_are_understood() {
    understood("heldout.tsv", 150);
}

fn understood(file: &str, at_least: usize) {
    let vocabulary = vocabulary();
    let clock = Clock::new(ZONE, NOW).unwrap();
    let cases = cases_of(file);
    assert!(
        cases.len() >= at_least,
        "{file}: {} questions, at least {at_least}",
        cases.len()
    );
    let hangul = |s: &str| s.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c));
    let latin = |s: &str| s.chars().any(|c| c.is_ascii_alphabetic());
    let mut misses = Vec::new();
    let (mut ko, mut en, mut mixed) = ((0, 0), (0, 0), (0, 0));
    for (line, question, expected) in &cases {
        let got = canonical(&parse(question, &vocabulary, &clock), &clock);
        let group = if hangul(question) && latin(question) && !question.contains('"') {
            &mut mixed
        } else if hangul(question) {
            &mut ko
        } else {
            &mut en
        };
        group.0 += 1;
        if got == *expected {
            group.1 += 1;
        } else {
            misses.push(format!(
                "{file}:{line}: {question}\n  expected {expected}\n  got      {got}"
            ));
        }
    }
    let matched = cases.len() - misses.len();
    let rate = matched as f64 / cases.len() as f64;
    println!(
        "{file}: exact match {matched} of {} ({:.1} %); Korean {}/{}, English {}/{}, mixed {}/{}",
        cases.len(),
        rate * 100.0,
        ko.1,
        ko.0,
        en.1,
        en.0,
        mixed.1,
        mixed.0
    );
    for miss in &misses {
        println!("{miss}");
    }
    assert!(
        rate >= 0.95,
        "{file}: exact match {:.1} %, below 95 %",
        rate * 100.0
    );
}

/// A small deterministic generator, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Characters that stress the lexer: quotes, signs, digits, units, Hangul
/// syllables and jamo, control characters, emoji, SQL.
const ALPHABET: &[&str] = &[
    "\"",
    "'",
    "“",
    "」",
    ">",
    "<=",
    "~",
    "-",
    ".",
    ":",
    "=",
    "!=",
    "/",
    "0",
    "9",
    "500",
    "ms",
    "초",
    "시",
    "분",
    "부터",
    "까지",
    "사이",
    "이상",
    "지난",
    "어제",
    "오후",
    "3",
    "pm",
    "between",
    "and",
    "last",
    "p99",
    "by",
    "top",
    "상위",
    "개",
    "결제",
    "checkout",
    "에러",
    "로그",
    "\u{0}",
    "\u{7}",
    "\t",
    "\n",
    "😀",
    "ㅋ",
    "ᄀ",
    " ",
    " ",
    " ",
    "'; DROP TABLE otel_traces; --",
    "%",
    "1.5",
    "s",
    "v2",
    "pod",
    "파드",
    "==",
    ">>",
    "<<",
    "\\",
    "{",
    "}",
    "12:99",
    "25:00",
    "99999999999999999999",
];

#[test]
fn no_question_panics_or_escapes_its_bounds() {
    let vocabulary = vocabulary();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let questions: Vec<String> = cases().into_iter().map(|(_, q, _)| q).collect();
    for round in 0..20_000 {
        let question = if round % 2 == 0 {
            let n = 1 + rng.below(24);
            (0..n)
                .map(|_| ALPHABET[rng.below(ALPHABET.len())])
                .collect::<String>()
        } else {
            // A labelled question cut and spliced with noise.
            let q: Vec<char> = questions[rng.below(questions.len())].chars().collect();
            let cut = rng.below(q.len() + 1);
            let mut s: String = q[..cut].iter().collect();
            s.push_str(ALPHABET[rng.below(ALPHABET.len())]);
            s.extend(&q[rng.below(q.len() + 1)..]);
            s
        };
        let request = InterpretRequest {
            question: question.clone(),
            locale: String::new(),
            time_zone: ZONE.into(),
            now_unix_nano: NOW,
        };
        let Ok((response, _)) = interpret(&request, &vocabulary, NOW) else {
            continue;
        };
        let len16 = question.encode_utf16().count() as u32;
        for s in &response.sources {
            assert!(s.start <= s.end && s.end <= len16, "{question:?}: {s:?}");
        }
        for u in &response.unplaced {
            assert!(u.start <= u.end && u.end <= len16, "{question:?}: {u:?}");
        }
        let i = response.interpretation.unwrap();
        let range = i.time_range.unwrap();
        assert!(
            range.start_unix_nano <= range.end_unix_nano,
            "{question:?}: {range:?}"
        );
        // Names come from the vocabulary only.
        for s in &i.service_names {
            assert!(vocabulary.has_service(s), "{question:?}: {s}");
        }
        assert!((0.0..=1.0).contains(&response.confidence));
    }
}

#[test]
fn over_long_questions_are_refused() {
    let request = InterpretRequest {
        question: "결제 에러 ".repeat(2000),
        locale: "ko".into(),
        time_zone: ZONE.into(),
        now_unix_nano: NOW,
    };
    let err = interpret(&request, &vocabulary(), NOW).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("question: 28000 bytes, at most 1024"),
        "{err}"
    );
}
