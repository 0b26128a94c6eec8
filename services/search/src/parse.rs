//! The grammar: a question's tokens read in passes, each placing the words
//! of one kind of part (quoted text, comparisons, time, summaries, bounds,
//! outcome, signal, attributes, names) and marking them used, so that a
//! word is placed once; what no pass places, and no list of words that
//! carry no meaning holds, comes back unplaced.

use airis_proto::airis::analytics::v1::{AttributeFilter, AttributeScope, MatchOperator};
use airis_proto::airis::common::v1::TimeRange;
use airis_proto::airis::search::v1::{
    Aggregation, DurationBound, Interpretation, Order, Signal, Source, Status, Unplaced,
    ValueBound, VersionComparison,
};
use jiff::Span;

use crate::clock::{Clock, Range};
use crate::lexer::{Kind, Token, tokenize};
use crate::vocabulary::Names;
use crate::words::*;

/// What a question was understood as.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parsed {
    pub interpretation: Interpretation,
    pub sources: Vec<Source>,
    pub unplaced: Vec<Unplaced>,
    pub confidence: f64,
    /// Whether the question is mostly Korean.
    pub korean: bool,
}

const NANOS_PER_MS: f64 = 1e6;

struct Parser<'a> {
    utf16: Vec<u16>,
    tokens: Vec<Token>,
    /// Each token's forms: as typed (lowercase), then without particles.
    forms: Vec<Vec<String>>,
    used: Vec<bool>,
    vocabulary: &'a Names,
    clock: &'a Clock,
    out: Interpretation,
    sources: Vec<Source>,
    /// Names matched only approximately.
    approximate: usize,
    /// Where an error word was, to become a status or a severity once the
    /// signal is known.
    error_words: Option<(usize, usize)>,
    /// Whether a severity word (경고, warning, ...) set the severity: the
    /// question is about logs unless it says otherwise.
    severity_words: bool,
}

/// Reads `question` over `vocabulary`, its times in `clock`'s zone.
pub fn parse(question: &str, vocabulary: &Names, clock: &Clock) -> Parsed {
    let tokens = tokenize(question);
    let forms = tokens.iter().map(forms).collect();
    let mut p = Parser {
        utf16: question.encode_utf16().collect(),
        used: vec![false; tokens.len()],
        tokens,
        forms,
        vocabulary,
        clock,
        out: Interpretation::default(),
        sources: Vec::new(),
        approximate: 0,
        error_words: None,
        severity_words: false,
    };
    p.quoted_text();
    p.comparison();
    p.versions_compared();
    p.time();
    p.group_by();
    p.order_and_limit();
    p.aggregation();
    p.status_codes();
    p.severity();
    p.outcome();
    p.signal();
    p.operations();
    p.attributes();
    p.services();
    p.metric();
    p.spelled_names();
    p.durations();
    p.values();
    p.limits();
    p.stopwords();
    p.finish()
}

/// A token's forms: itself, then (Hangul) without the particles and
/// endings after it, one and two of them.
fn forms(token: &Token) -> Vec<String> {
    let mut out = vec![token.norm.clone()];
    if token.kind != Kind::Hangul {
        return out;
    }
    let mut current = token.norm.clone();
    for _ in 0..3 {
        let Some(stripped) = PARTICLES
            .iter()
            .filter(|p| current.len() > p.len())
            .find_map(|p| {
                current
                    .strip_suffix(p)
                    .filter(|stem| particle_fits(stem, p))
            })
        else {
            break;
        };
        current = stripped.to_owned();
        if !out.contains(&current) {
            out.push(current.clone());
        }
    }
    out
}

/// Whether particle `p` may follow `stem`: 이/은/을/과/으로 follow a
/// final consonant, 가/는/를/와/라는 a vowel (so 게이트웨이 keeps its 이,
/// and 사이 is not 사 with a particle).
fn particle_fits(stem: &str, p: &str) -> bool {
    let Some(last) = stem.chars().last() else {
        return false;
    };
    if !('\u{AC00}'..='\u{D7A3}').contains(&last) {
        return true;
    }
    let batchim = !(last as u32 - 0xAC00).is_multiple_of(28);
    let rieul = (last as u32 - 0xAC00) % 28 == 8;
    match p {
        "이" | "은" | "을" | "과" | "이나" | "이라는" | "이라고" | "이랑" | "으로" | "으로는"
        | "으로부터" => batchim,
        "가" | "는" | "를" | "와" | "나" | "라는" | "라고" | "랑" => !batchim,
        "로" => !batchim || rieul,
        _ => true,
    }
}

impl Parser<'_> {
    fn len(&self) -> usize {
        self.tokens.len()
    }

    fn free(&self, i: usize) -> bool {
        i < self.len() && !self.used[i]
    }

    /// Token `i` is free and one of its forms is in `words`.
    fn is(&self, i: usize, words: &[&str]) -> bool {
        self.free(i) && self.forms[i].iter().any(|f| words.contains(&f.as_str()))
    }

    /// Tokens `i..` are free and read `words` in order.
    fn seq(&self, i: usize, words: &[&str]) -> bool {
        words.iter().enumerate().all(|(k, w)| self.is(i + k, &[w]))
    }

    /// The question's text of tokens `from..to`.
    fn text(&self, from: usize, to: usize) -> (String, u32, u32) {
        let (start, end) = (self.tokens[from].start, self.tokens[to - 1].end);
        let text = String::from_utf16_lossy(&self.utf16[start as usize..end as usize]);
        (text, start, end)
    }

    /// Marks tokens `from..to` used, as the source of `field` (none: words
    /// that carry no part of their own).
    fn take(&mut self, from: usize, to: usize, field: Option<String>) {
        for used in &mut self.used[from..to.min(self.tokens.len())] {
            *used = true;
        }
        if let Some(field) = field {
            let (text, start, end) = self.text(from, to.min(self.tokens.len()));
            // Parts of one field from adjacent words read as one source.
            if let Some(last) = self.sources.last_mut()
                && last.field == field
                && last.end < start
                && self.utf16[last.end as usize..start as usize]
                    .iter()
                    .all(|c| *c == b' ' as u16)
            {
                last.end = end;
                last.text =
                    String::from_utf16_lossy(&self.utf16[last.start as usize..end as usize]);
                return;
            }
            self.sources.push(Source {
                field,
                text,
                start,
                end,
            });
        }
    }

    // === Free text ===

    fn quoted_text(&mut self) {
        let mut texts = Vec::new();
        for i in 0..self.len() {
            if self.tokens[i].kind == Kind::Quote {
                let t = &self.tokens[i].text;
                texts.push(if t.contains(' ') {
                    format!("\"{t}\"")
                } else {
                    t.clone()
                });
                self.take(i, i + 1, Some("text".into()));
                // "'timeout'이라는", "“결제 실패” 포함된"
                if self.is(i + 1, TEXT_MARKERS_AFTER) {
                    self.take(i + 1, i + 2, None);
                }
                if i > 0 && self.is(i - 1, TEXT_MARKERS_BEFORE) {
                    self.take(i - 1, i, None);
                }
            }
        }
        // Unquoted: "타임아웃이라는 로그", "timeout 포함", "containing timeout".
        for i in 0..self.len() {
            if !self.free(i) {
                continue;
            }
            if self.is(i, TEXT_MARKERS_AFTER) && i > 0 && self.free(i - 1) {
                let word = self.tokens[i - 1].text.clone();
                texts.push(word);
                self.take(i - 1, i, Some("text".into()));
                self.take(i, i + 1, None);
                continue;
            }
            let token = &self.tokens[i];
            if token.kind == Kind::Hangul
                && let Some(stem) = TEXT_MARKERS_AFTER
                    .iter()
                    .filter(|m| token.norm.len() > m.len())
                    .find_map(|m| {
                        token
                            .norm
                            .strip_suffix(m)
                            .filter(|stem| particle_fits(stem, m))
                    })
            {
                texts.push(stem.to_owned());
                self.take(i, i + 1, Some("text".into()));
                continue;
            }
            if self.is(i, TEXT_MARKERS_BEFORE) && self.free(i + 1) {
                let word = self.tokens[i + 1].text.clone();
                self.take(i, i + 1, None);
                texts.push(word);
                self.take(i + 1, i + 2, Some("text".into()));
            }
        }
        if !texts.is_empty() {
            self.out.text = texts.join(" ");
        }
    }

    // === Comparison with an earlier range ===

    fn comparison(&mut self) {
        for i in 0..self.len() {
            // "higher than last week": the comparative goes with it.
            let lead = usize::from(
                self.is(
                    i,
                    &[
                        "higher", "lower", "worse", "better", "more", "less", "slower", "faster",
                    ],
                ) && self.is(i + 1, &["than"])
                    && (self.is(i + 2, &["yesterday"]) || self.seq(i + 2, &["last", "week"])),
            );
            let i = i + lead;
            let shift = if self.is(i, &["어제보다", "전날보다"]) {
                Some((1, 1))
            } else if self.is(i, &["지난주보다", "저번주보다"]) {
                Some((7, 1))
            } else if self.is(i, &["지난", "저번"]) && self.is(i + 1, &["주보다"]) {
                Some((7, 2))
            } else if self.is(i, &["than", "vs", "versus"]) && self.is(i + 1, &["yesterday"]) {
                Some((1, 2))
            } else if self.seq(i, &["compared", "to", "yesterday"])
                || self.seq(i, &["compared", "with", "yesterday"])
            {
                Some((1, 3))
            } else if self.is(i, &["than", "vs", "versus"]) && self.seq(i + 1, &["last", "week"]) {
                Some((7, 3))
            } else if self.seq(i, &["compared", "to", "last", "week"])
                || self.seq(i, &["compared", "with", "last", "week"])
            {
                Some((7, 4))
            } else {
                None
            };
            if let Some((days, len)) = shift {
                self.out.compare_shift_nano = days * 86_400 * 1_000_000_000;
                self.take(i - lead, i + len, Some("compare_shift_nano".into()));
            }
        }
    }

    // === Comparison of two versions ===

    /// Token `i` is a free version: `v2`, `v1.4`, `1.4.2`, a number after
    /// "version" (`version 2`), or one of the tenant's `service.version`
    /// values that is not a bare number (a tenant's version "3" is no
    /// reason to read "top 3" as one).
    fn version_at(&self, i: usize) -> bool {
        if !self.free(i) {
            return false;
        }
        let token = &self.tokens[i];
        let bare_number = token.norm.chars().all(|c| c.is_ascii_digit() || c == '.');
        is_version(&token.norm)
            || i > 0
                && self.is(i - 1, &["버전", "version"])
                && token.number().is_some_and(|(_, unit)| unit.is_empty())
            || is_dotted_version(&token.norm)
            || !bare_number
                && self
                    .vocabulary
                    .vocabulary()
                    .attributes
                    .get(VERSION)
                    .is_some_and(|v| v.contains(&token.text))
    }

    /// The version token `i` names: as typed, or "v2" for "version 2"
    /// when that is how the tenant's versions are written.
    fn version_text(&self, i: usize) -> String {
        let text = &self.tokens[i].text;
        let tenant = self.vocabulary.vocabulary().attributes.get(VERSION);
        let with_v = format!("v{text}");
        if text.starts_with(|c: char| c.is_ascii_digit())
            && tenant.is_some_and(|v| v.contains(&with_v) && !v.contains(text))
        {
            return with_v;
        }
        text.clone()
    }

    /// The first token after `i` that is not a particle written apart or
    /// the word "version" ("v2 버전이", "version 2").
    fn past_version_words(&self, i: usize) -> usize {
        let mut j = i + 1;
        while self.is(
            j,
            &[
                "가", "이", "는", "은", "을", "를", "의", "버전", "version", "ver",
            ],
        ) {
            j += 1;
        }
        j
    }

    /// Token `i` says "than" the Korean way: 보다 written apart, or onto a
    /// version word ("버전보다", "안정판보다").
    fn than_ko(&self, i: usize) -> bool {
        self.free(i)
            && (self.tokens[i].norm == THAN_KO
                || self.tokens[i].norm.ends_with(THAN_KO)
                    && self.forms[i].iter().any(|f| {
                        ["버전", "version"].contains(&f.as_str())
                            || STABLE_WORDS.contains(&f.as_str())
                            || CANARY_WORDS.contains(&f.as_str())
                    }))
    }

    /// "checkout v2 vs v1", "v2가 v1보다 느려?", "v1보다 v2가", "is v2
    /// slower than v1", "compare v2 with v1", "v2 error rate vs v1",
    /// "카나리 비교", "canary v2 vs stable", "버전 비교": the candidate and
    /// baseline versions (empty: chosen when asked). Two versions in one
    /// question are always compared: spans have one version, so both as
    /// filters would match nothing.
    fn versions_compared(&mut self) {
        if self.out.compare_shift_nano != 0 {
            return;
        }
        let n = self.len();
        let mut versions: Vec<usize> = Vec::new();
        for i in 0..n {
            if self.version_at(i)
                && !versions
                    .iter()
                    .any(|&v| self.version_text(v) == self.version_text(i))
            {
                versions.push(i);
            }
        }
        let field = Some("compare_versions".to_owned());
        if let [a, b, ..] = versions[..] {
            let text = |k: usize| self.version_text(k);
            // "canary v2", "v2 카나리", "stable version 1".
            let near = |k: usize, words: &[&str]| {
                k > 0 && self.is(k - 1, words)
                    || k > 1 && self.is(k - 2, words) && self.is(k - 1, &["버전", "version"])
                    || self.is(self.past_version_words(k), words)
            };
            // Which is judged: as the words say ("A보다", "than B",
            // "canary A", "stable B"), else the newer.
            let than_before = |k: usize| {
                k > 0 && self.is(k - 1, THAN)
                    || k > 1 && self.is(k - 2, &["compared"]) && self.is(k - 1, &["to", "with"])
            };
            let baseline_is_b = self.than_ko(self.past_version_words(b))
                || self.than_ko(b + 1)
                || than_before(b)
                || near(b, STABLE_WORDS)
                || near(a, CANARY_WORDS);
            let baseline_is_a = self.than_ko(self.past_version_words(a))
                || self.than_ko(a + 1)
                || than_before(a)
                || near(a, STABLE_WORDS)
                || near(b, CANARY_WORDS);
            let (candidate, baseline) = match (baseline_is_a, baseline_is_b) {
                (false, true) => (text(a), text(b)),
                (true, false) => (text(b), text(a)),
                _ => newer_first(&text(a), &text(b)),
            };
            self.out.compare_versions = Some(VersionComparison {
                candidate,
                baseline,
            });
            for k in [a, b] {
                let mut from = k;
                let mut to = self.past_version_words(k);
                // The words that set it against the other.
                if self.than_ko(to) {
                    to += 1;
                }
                let named: &[&[&str]] = &[CANARY_WORDS, STABLE_WORDS, &["버전", "version"]];
                let joining: &[&[&str]] = &[VERSUS, AND_WORDS, THAN, COMPARATIVES, &["compared"]];
                while from > 0
                    && named
                        .iter()
                        .chain(if k == b { joining } else { &[] })
                        .any(|words| self.is(from - 1, words))
                {
                    from -= 1;
                }
                if self.is(to, CANARY_WORDS) || self.is(to, STABLE_WORDS) {
                    to += 1;
                }
                self.take(from, to, field.clone());
            }
        } else if let Some((candidate, baseline)) = self.canary_compared(versions.first().copied())
        {
            self.out.compare_versions = Some(VersionComparison {
                candidate,
                baseline,
            });
        } else {
            return;
        }
        // What the comparison is said with: the compare words anywhere;
        // a comparative next to its words ("v1보다 느려?", "is the canary
        // worse") or ending a Korean question ("카나리 체크아웃 느려?"),
        // but not a bound's ("more than 500ms", "500ms or more", "경고
        // 이상 or higher").
        for i in 0..n {
            if self.is(i, COMPARE_WORDS) {
                self.take(i, i + 1, field.clone());
                if self.is(i + 1, &["with", "to", "and"]) {
                    self.take(i + 1, i + 2, None);
                }
            }
        }
        let compared: Vec<bool> = (0..n)
            .map(|k| {
                let t = &self.tokens[k];
                self.sources
                    .iter()
                    .any(|s| s.field == "compare_versions" && t.start >= s.start && t.end <= s.end)
            })
            .collect();
        for i in 0..n {
            let next_to = i > 0 && compared[i - 1] || compared.get(i + 1) == Some(&true);
            let ends_korean = i + 1 == n && self.tokens[i].kind == Kind::Hangul;
            let bound = self.is(i + 1, THAN)
                && self.tokens.get(i + 2).is_some_and(|t| t.number().is_some())
                || i > 0 && self.is(i - 1, &["or", "and", "또는", "이상", "이하"]);
            if self.is(i, COMPARATIVES) && (next_to || ends_korean) && !bound {
                self.take(i, i + 1, field.clone());
            }
        }
    }

    /// "카나리 비교", "canary v2 vs stable", "카나리가 안정 버전보다 느려?",
    /// "is the canary worse than v1", "버전 비교", "compare versions": the
    /// version named (`version`, the question's one) is the canary's when
    /// written with it, else the baseline; the others are chosen when
    /// asked. Takes the words it read.
    fn canary_compared(&mut self, version: Option<usize>) -> Option<(String, String)> {
        let n = self.len();
        let field = Some("compare_versions".to_owned());
        let version_word = |p: &Self, i: usize| p.is(i, &["버전", "version", "versions", "버전들"]);
        let Some(c) = (0..n).find(|&i| self.is(i, CANARY_WORDS)) else {
            // "버전 비교", "compare versions": both chosen when asked.
            let i = (0..n).find(|&i| {
                version_word(self, i)
                    && (self.is(i + 1, COMPARE_WORDS) || i > 0 && self.is(i - 1, COMPARE_WORDS))
            })?;
            self.take(i, i + 1, field);
            return Some((String::new(), String::new()));
        };
        let mut to = c + 1;
        if version_word(self, to) {
            to += 1;
        }
        // A stable word close by ("canary vs stable", "안정 버전보다"),
        // with its "version" and 보다.
        let stable = (to..n.min(to + 3))
            .chain(c.saturating_sub(3)..c)
            .find(|&i| self.is(i, STABLE_WORDS) || self.than_ko(i) && !self.is(i, CANARY_WORDS));
        let (mut candidate, mut baseline) = (String::new(), String::new());
        if let Some(k) = version {
            let text = self.version_text(k);
            // "canary v2", "v2 카나리", "카나리 버전 v2"; a version after
            // "than", "vs" or a stable word is the baseline.
            let with_canary = k + 1 == c || k == to;
            let against = k > 0
                && (self.is(k - 1, THAN)
                    || self.is(k - 1, VERSUS)
                    || self.is(k - 1, STABLE_WORDS)
                    || k > 1 && version_word(self, k - 1) && self.is(k - 2, STABLE_WORDS));
            let mut from = k;
            while from > 0
                && [
                    VERSUS,
                    THAN,
                    COMPARATIVES,
                    STABLE_WORDS,
                    &["버전", "version"],
                ]
                .iter()
                .any(|words| self.is(from - 1, words))
            {
                from -= 1;
            }
            let mut past = self.past_version_words(k);
            if self.than_ko(past) {
                past += 1;
            }
            if with_canary && !against {
                candidate = text;
            } else {
                baseline = text;
            }
            self.take(from, past, field.clone());
        }
        self.take(c, to, field.clone());
        if let Some(s) = stable.filter(|&s| self.free(s)) {
            let mut s_to = s + 1;
            while version_word(self, s_to) || self.than_ko(s_to) {
                s_to += 1;
            }
            self.take(s, s_to, field.clone());
            // What joins them: "canary vs stable", "카나리와 안정 버전".
            let between = if s > to { to..s } else { s_to..c };
            if between.clone().all(|k| {
                self.is(k, VERSUS)
                    || self.is(k, AND_WORDS)
                    || self.is(k, THAN)
                    || self.is(k, COMPARATIVES)
            }) && !between.is_empty()
            {
                self.take(between.start, between.end, field);
            }
        }
        Some((candidate, baseline))
    }

    // === Time ===

    fn set_time(&mut self, range: Range, from: usize, to: usize) {
        // A second range in one question, or one that ends before it
        // starts: its words stay unplaced.
        if self.out.time_range.is_some() || range.end <= range.start {
            return;
        }
        self.out.time_range = Some(TimeRange {
            start_unix_nano: range.start,
            end_unix_nano: range.end,
        });
        self.take(from, to, Some("time_range".into()));
    }

    fn time(&mut self) {
        let mut i = 0;
        while i < self.len() {
            if let Some((range, len)) = self.time_at(i) {
                self.set_time(range, i, i + len);
                i += len;
            } else {
                i += 1;
            }
        }
    }

    /// A count word: a number, or 한/두/세/네.
    fn count_at(&self, i: usize) -> Option<u64> {
        if !self.free(i) {
            return None;
        }
        if let Some(n) = self.tokens[i].integer() {
            return Some(n);
        }
        match self.tokens[i].norm.as_str() {
            "한" | "a" | "an" | "one" => Some(1),
            "두" | "two" => Some(2),
            "세" | "three" => Some(3),
            "네" | "four" => Some(4),
            "다섯" | "five" => Some(5),
            "열" | "ten" => Some(10),
            _ => None,
        }
    }

    /// A span length written `N unit` over one or two tokens ("30분",
    /// "2h", "3 hours"): the span and the tokens read. A Korean unit token
    /// may carry what follows it ("시간동안"): `rest` says what.
    fn length_at(&self, i: usize) -> Option<(Span, usize, String)> {
        if !self.free(i) {
            return None;
        }
        // "2h", "30m", "7d" in one token.
        if let Some((n, unit)) = self.tokens[i].number()
            && n.fract() == 0.0
            && !unit.is_empty()
            && let Some(span) = span_of(n as i64, unit)
        {
            return Some((span, 1, String::new()));
        }
        let n = self.count_at(i)? as i64;
        if !self.free(i + 1) {
            return None;
        }
        let unit = &self.tokens[i + 1].norm;
        if let Some(span) = span_of(n, unit) {
            return Some((span, 2, String::new()));
        }
        // Korean units with what follows: 시간동안, 분간, 일간, 주간.
        for u in KO_TIME_UNITS {
            if let Some(rest) = unit.strip_prefix(u)
                && let Some(span) = span_of(n, u)
            {
                return Some((span, 2, rest.to_owned()));
            }
        }
        None
    }

    /// A clock time at `i`: (hour, minute, tokens, what followed it in its
    /// last token, like 부터 of 3시부터). Korean: [오전|오후] N 시 [M 분];
    /// English: 9am, 9 am, 9:30, 14:00, 3pm, noon, midnight.
    fn clock_at(&self, i: usize) -> Option<(u8, u8, usize, String)> {
        if !self.free(i) {
            return None;
        }
        let mut k = i;
        let mut half: Option<bool> = None; // Some(true): afternoon
        if self.is(k, &["오전", "아침", "새벽"]) {
            half = Some(false);
            k += 1;
        } else if self.is(k, &["오후", "저녁", "밤"]) {
            half = Some(true);
            k += 1;
        }
        if !self.free(k) {
            return None;
        }
        let token = &self.tokens[k];
        // 14:00, 9:30 (am|pm)?
        if let Some((h, m)) = token.clock() {
            let mut len = k + 1 - i;
            let mut h = h;
            if self.is(k + 1, &["am", "a.m"]) {
                len += 1;
                h %= 12;
            } else if self.is(k + 1, &["pm", "p.m"]) {
                len += 1;
                h = h % 12 + 12;
            } else if half == Some(true) && h < 12 {
                h += 12;
            }
            return Some((h, m, len, String::new()));
        }
        if let Some((n, unit)) = token.number()
            && n.fract() == 0.0
            && (1.0..=12.0).contains(&n)
            && (unit == "am" || unit == "pm")
        {
            let h = (n as u8) % 12 + if unit == "pm" { 12 } else { 0 };
            return Some((h, 0, k + 1 - i, String::new()));
        }
        if token.norm == "noon" || token.norm == "정오" {
            return Some((12, 0, k + 1 - i, String::new()));
        }
        if token.norm == "midnight" || token.norm == "자정" {
            return Some((0, 0, k + 1 - i, String::new()));
        }
        let n = token.integer()?;
        if n > 24 {
            return None;
        }
        let mut h = n as u8;
        // English: "9 am".
        if self.is(k + 1, &["am", "pm"]) {
            let pm = self.tokens[k + 1].norm == "pm";
            if !(1..=12).contains(&h) {
                return None;
            }
            h = h % 12 + if pm { 12 } else { 0 };
            return Some((h, 0, k + 2 - i, String::new()));
        }
        // Korean: N 시[suffix] [M 분[suffix]] | N 시 반
        if !self.free(k + 1) {
            return None;
        }
        let rest = self.tokens[k + 1].norm.strip_prefix('시')?;
        // "시간" is a length, not a clock.
        if rest.starts_with('간') {
            return None;
        }
        let mut len = k + 2 - i;
        let mut minute = 0u8;
        let mut rest = rest.to_owned();
        if let Some(r) = rest.strip_prefix('반') {
            minute = 30;
            rest = r.to_owned();
        } else if rest.is_empty()
            && let Some(m) = self.tokens.get(k + 2).and_then(Token::integer)
            && m < 60
            && self.free(k + 3)
            && let Some(r) = self.tokens[k + 3].norm.strip_prefix('분')
        {
            minute = m as u8;
            len += 2;
            rest = r.to_owned();
        }
        match half {
            Some(true) if h < 12 => h += 12,
            Some(false) if h == 12 => h = 0,
            None if (1..=6).contains(&h) => h += 12,
            _ => {}
        }
        if h == 24 {
            h = 0;
        }
        Some((h, minute, len, rest))
    }

    /// A day word at `i`: the day (0 today, 1 yesterday, ...) and tokens.
    fn day_at(&self, i: usize) -> Option<(i64, usize)> {
        if self.is(i, &["오늘", "today", "금일"]) {
            Some((0, 1))
        } else if self.is(i, &["어제", "yesterday", "전날", "어제의"]) {
            Some((1, 1))
        } else if self.is(i, &["그저께", "그제", "엊그제", "그끄저께"]) {
            Some((if self.is(i, &["그끄저께"]) { 3 } else { 2 }, 1))
        } else if self.seq(i, &["the", "day", "before", "yesterday"]) {
            Some((2, 4))
        } else if self.seq(i, &["day", "before", "yesterday"]) {
            Some((2, 3))
        } else {
            None
        }
    }

    fn time_at(&self, i: usize) -> Option<(Range, usize)> {
        let clock = self.clock;
        // 지난/최근 N unit [동안]; last/past N unit; in the last N unit
        let mut k = i;
        let mut lead = false;
        if self.seq(k, &["in", "the"])
            || self.seq(k, &["over", "the"])
            || self.seq(k, &["during", "the"])
            || self.seq(k, &["for", "the"])
            || self.seq(k, &["within", "the"])
        {
            k += 2;
        }
        if self.is(
            k,
            &[
                "지난",
                "최근",
                "지난번",
                "last",
                "past",
                "previous",
                "recent",
            ],
        ) {
            lead = true;
            k += 1;
        }
        if lead {
            if let Some((span, len, _rest)) = self.length_at(k) {
                let mut end = k + len;
                if self.is(end, KO_DURING) || self.is(end, &["사이", "사이에"]) {
                    end += 1;
                }
                return Some((clock.last(span), end - i));
            }
            // "last hour", "past day", "last 24h"
            let norm = self.tokens.get(k).map(|t| t.norm.as_str());
            let calendar_week = self.is(i, &["last", "지난", "지난번"]) && k == i + 1;
            match norm {
                Some("hour") if self.free(k) => {
                    return Some((clock.last(Span::new().hours(1)), k + 1 - i));
                }
                Some("minute") if self.free(k) => {
                    return Some((clock.last(Span::new().minutes(1)), k + 1 - i));
                }
                Some("day") if self.free(k) && !self.is(k + 1, &["before"]) => {
                    return Some((clock.last(Span::new().hours(24)), k + 1 - i));
                }
                Some("week") | Some("주") | Some("주간") if self.free(k) => {
                    if calendar_week {
                        let monday = clock.monday();
                        let start = clock.midnight(monday.saturating_sub(Span::new().days(7)));
                        return Some((
                            Range {
                                start,
                                end: clock.midnight(monday),
                            },
                            k + 1 - i,
                        ));
                    }
                    return Some((clock.last(Span::new().days(7)), k + 1 - i));
                }
                Some("month") if self.free(k) => {
                    return Some((clock.last(Span::new().days(30)), k + 1 - i));
                }
                _ => {}
            }
        }
        // 지난주, 저번 주
        if self.is(i, &["지난주", "저번주", "지난주간"])
            || (self.is(i, &["저번"]) && self.is(i + 1, &["주"]))
        {
            let len = if self.is(i, &["저번"]) { 2 } else { 1 };
            let monday = clock.monday();
            return Some((
                Range {
                    start: clock.midnight(monday.saturating_sub(Span::new().days(7))),
                    end: clock.midnight(monday),
                },
                len,
            ));
        }
        // 이번 주, this week; 이번 달, this month
        if self.is(i, &["이번주", "금주"])
            || self.seq(i, &["이번", "주"])
            || self.seq(i, &["this", "week"])
        {
            let len = if self.is(i, &["이번주", "금주"]) {
                1
            } else {
                2
            };
            return Some((self.since(clock.midnight(clock.monday())), len));
        }
        if self.is(i, &["이번달", "이달"])
            || self.seq(i, &["이번", "달"])
            || self.seq(i, &["this", "month"])
        {
            let len = if self.is(i, &["이번달", "이달"]) {
                1
            } else {
                2
            };
            return Some((self.since(clock.midnight(clock.first_of_month())), len));
        }
        // N일 전 / N days ago: that day.
        if let Some(n) = self.count_at(i) {
            if self.is(i + 1, &["일전"]) {
                return Some((clock.day(n as i64), 2));
            }
            if self.is(i + 1, &["일"]) && self.is(i + 2, &["전", "전에"]) {
                return Some((clock.day(n as i64), 3));
            }
            if self.is(i + 1, &["days", "day"]) && self.is(i + 2, &["ago"]) {
                return Some((clock.day(n as i64), 3));
            }
            // N시간 전부터 / since N hours ago: from then to now.
            if let Some((span, len, rest)) = self.length_at(i) {
                if rest.is_empty() && self.is(i + len, &["전부터", "전에서"]) {
                    return Some((clock.last(span), len + 1));
                }
                // 30분 동안, 2시간 이내
                if KO_DURING.contains(&rest.as_str()) && !rest.is_empty() {
                    return Some((clock.last(span), len));
                }
                // Not 사이: "3초 사이" is a duration's bound.
                if rest.is_empty() && self.is(i + len, KO_DURING) && !self.is(i + len, &["사이"])
                {
                    return Some((clock.last(span), len + 1));
                }
            }
        }
        // since / from / after / between [day] clock [day]; [day] [clock][부터|이후|까지]
        let english_from = self.is(i, &["since", "from", "after"]);
        let english_between = self.is(i, &["between"]);
        let mut k = i + usize::from(english_from || english_between);
        let mut day: Option<i64> = None;
        if let Some((d, len)) = self.day_at(k) {
            day = Some(d);
            k += len;
            if self.is(k, &["at"]) {
                k += 1;
            }
        }
        let start_clock = self.clock_at(k);
        let Some((h, m, len, rest)) = start_clock else {
            // A day alone: "어제", "since yesterday", "오늘부터"
            let (d, len) = day.map(|d| (d, k - i))?;
            if d == 0 {
                let extra = usize::from(self.is(k, &["부터", "이후"]));
                return Some((self.since(clock.day(0).start), len + extra));
            }
            if english_from
                || self.is(k, &["부터", "이후"])
                || self.forms[k - 1].iter().any(|f| f.ends_with("부터"))
            {
                let extra = usize::from(self.is(k, &["부터", "이후"]));
                return Some((self.since(clock.day(d).start), len + extra));
            }
            return Some((clock.day(d), len));
        };
        k += len;
        // "3pm yesterday"
        if day.is_none()
            && let Some((d, len)) = self.day_at(k)
        {
            day = Some(d);
            k += len;
        }
        let date = clock
            .today()
            .saturating_sub(Span::new().days(day.unwrap_or(0)));
        let start = clock.at(date, h, m);
        let mut rest = rest;
        // "오전 9시 이후", "14:00 부터"
        if rest.is_empty() && self.is(k, &["부터", "이후", "이후로", "에서", "부터의"])
        {
            rest = self.tokens[k].norm.clone();
            k += 1;
        }
        let to_word = english_between && self.is(k, &["and"])
            || self.is(k, &["to", "until", "till", "and", "~", "-"])
            || rest.starts_with("에서")
            || rest.starts_with("부터");
        if to_word {
            let skip = usize::from(self.is(k, &["to", "until", "till", "and", "~", "-"]));
            if let Some((h2, m2, len2, rest2)) = self.clock_at(k + skip) {
                let mut end_k = k + skip + len2;
                let mut h2 = h2;
                // "오후 2시부터 3시까지": the afternoon carries over.
                if h2 < h && h2 + 12 < 24 && h >= 12 {
                    h2 += 12;
                }
                if rest2.is_empty() && self.is(end_k, &["까지", "사이", "사이에", "사이의"])
                {
                    end_k += 1;
                }
                let mut day2 = day;
                if day2.is_none()
                    && let Some((d, len)) = self.day_at(end_k)
                {
                    day2 = Some(d);
                    end_k += len;
                }
                let date2 = clock
                    .today()
                    .saturating_sub(Span::new().days(day2.unwrap_or(0)));
                let date = if day.is_none() { date2 } else { date };
                let start = clock.at(date, h, m);
                return Some((
                    Range {
                        start,
                        end: clock.at(date2, h2, m2),
                    },
                    end_k - i,
                ));
            }
        }
        if english_from || english_between || rest.starts_with("부터") || rest.starts_with("이후")
        {
            // "since 14:00" at 10:30 means yesterday's 14:00.
            let start = if day.is_none() && start > clock.now() {
                clock.at(date.saturating_sub(Span::new().days(1)), h, m)
            } else {
                start
            };
            return Some((self.since(start), k - i));
        }
        if rest.starts_with("까지") {
            let from = clock.midnight(date);
            return Some((
                Range {
                    start: from,
                    end: start,
                },
                k - i,
            ));
        }
        None
    }

    /// From `start` to now.
    fn since(&self, start: u64) -> Range {
        Range {
            start,
            end: self.clock.now(),
        }
    }

    // === Group by, order, limit, aggregation ===

    fn push_group(&mut self, key: &str, from: usize, to: usize) {
        if !self.out.group_by.iter().any(|g| g == key) {
            let field = format!("group_by[{}]", self.out.group_by.len());
            self.out.group_by.push(key.to_owned());
            self.take(from, to, Some(field));
        } else {
            self.take(from, to, None);
        }
    }

    fn group_by(&mut self) {
        for i in 0..self.len() {
            if !self.free(i) {
                continue;
            }
            // English: by / per / grouped by / broken down by + a group word.
            let lead = if self.is(i, &["by", "per"]) {
                1
            } else if self.seq(i, &["grouped", "by"]) || self.seq(i, &["group", "by"]) {
                2
            } else if self.seq(i, &["broken", "down", "by"]) {
                3
            } else if self.seq(i, &["for", "each"]) {
                2
            } else {
                0
            };
            if lead > 0 {
                if let Some((key, len)) = self.group_word(i + lead) {
                    self.push_group(key, i, i + lead + len);
                }
                continue;
            }
            // Korean: 서비스별, 상태 코드별, operation별
            let token = self.tokens[i].norm.clone();
            if self.tokens[i].kind == Kind::Hangul {
                let stem = ["별로", "별", "마다"]
                    .iter()
                    .find_map(|s| token.strip_suffix(s))
                    .filter(|s| !s.is_empty());
                if let Some(stem) = stem {
                    if let Some(key) = group_key(stem) {
                        // "상태 코드별"
                        let from = if key == STATUS_CODE
                            && i > 0
                            && self.is(i - 1, &["상태", "http", "응답"])
                        {
                            i - 1
                        } else {
                            i
                        };
                        self.push_group(key, from, i + 1);
                    }
                } else if (token == "별" || token == "별로" || token == "마다")
                    && i > 0
                    && self.free(i - 1)
                {
                    let from = if i > 1
                        && self.free(i - 2)
                        && group_key(&format!(
                            "{} {}",
                            self.tokens[i - 2].norm,
                            self.tokens[i - 1].norm
                        ))
                        .is_some()
                    {
                        i - 2
                    } else {
                        i - 1
                    };
                    let words: Vec<&str> =
                        (from..i).map(|k| self.tokens[k].norm.as_str()).collect();
                    if let Some(key) = group_key(&words.join(" ")) {
                        self.push_group(key, from, i + 1);
                    }
                }
            }
        }
    }

    /// A group word at `i` (service, operations, status code, ...): its key
    /// and tokens.
    fn group_word(&self, i: usize) -> Option<(&'static str, usize)> {
        if !self.free(i) {
            return None;
        }
        if self.free(i + 1) {
            let two = format!("{} {}", self.tokens[i].norm, self.tokens[i + 1].norm);
            if let Some(key) = group_key(&two) {
                return Some((key, 2));
            }
        }
        group_key(&self.tokens[i].norm).map(|k| (k, 1))
    }

    fn order_and_limit(&mut self) {
        for i in 0..self.len() {
            if !self.free(i) {
                continue;
            }
            // 가장 오래된 (before 느린: 오래된 holds 오래), oldest
            let old = if self.is(i, &["가장", "제일"]) && self.is(i + 1, &["오래된", "예전"])
                || self.is(i, &["오래된"]) && self.is(i + 1, &["순", "순으로", "순서로"])
                || self.seq(i, &["oldest", "first"])
            {
                Some(2)
            } else if self.is(i, &["oldest", "earliest"]) {
                Some(1)
            } else {
                None
            };
            if let Some(len) = old {
                self.out.order = Order::OldestFirst as i32;
                self.take(i, i + len, Some("order".into()));
                continue;
            }
            // 가장/제일 느린, 느린 순, slowest, longest
            let slow = if self.is(i, &["가장", "제일"]) && self.is(i + 1, SLOW_KO)
                || self.is(i, SLOW_KO) && self.is(i + 1, &["순", "순서", "순으로", "순서로"])
            {
                Some(2)
            } else if self.is(
                i,
                &["느린순", "느린순으로", "오래걸린순", "slowest", "longest"],
            ) {
                Some(1)
            } else {
                None
            };
            if let Some(len) = slow {
                self.out.order = Order::LongestFirst as i32;
                let mut end = i + len;
                if self.is(end, &["first"]) {
                    end += 1;
                }
                // "slowest 5", "느린 순으로 20개", "5 slowest"
                if let Some(n) = self
                    .tokens
                    .get(end)
                    .and_then(Token::integer)
                    .filter(|_| self.free(end))
                {
                    let counted = end + 1 + usize::from(self.is(end + 1, COUNTERS));
                    self.set_limit(n, end, counted);
                } else if i > 0
                    && let Some(n) = self.tokens[i - 1].integer().filter(|_| self.free(i - 1))
                {
                    self.set_limit(n, i - 1, i);
                }
                self.take(i, end, Some("order".into()));
                continue;
            }
            // 상위 N(개), top N, 하위 N, bottom N
            let rank = if self.is(i, &["상위", "top", "탑"]) {
                Some(Order::LargestFirst)
            } else if self.is(i, &["하위", "bottom"]) {
                Some(Order::SmallestFirst)
            } else if self.seq(i, &["가장", "많은"])
                || self.is(i, &["most"]) && !(i > 0 && self.is(i - 1, &["at"]))
            {
                Some(Order::LargestFirst)
            } else if self.seq(i, &["가장", "적은"]) || self.is(i, &["fewest"]) {
                Some(Order::SmallestFirst)
            } else {
                None
            };
            if let Some(order) = rank {
                let word_len = if self.is(i, &["가장"]) { 2 } else { 1 };
                if self.out.order != Order::LongestFirst as i32 {
                    self.out.order = order as i32;
                }
                self.take(i, i + word_len, Some("order".into()));
                let k = i + word_len;
                if let Some(n) = self
                    .tokens
                    .get(k)
                    .and_then(Token::integer)
                    .filter(|_| self.free(k))
                {
                    let mut end = k + 1;
                    if self.is(end, COUNTERS) {
                        end += 1;
                    }
                    self.set_limit(n, k, end);
                }
            }
        }
    }

    fn set_limit(&mut self, n: u64, from: usize, to: usize) {
        if n == 0 || self.out.limit != 0 {
            return;
        }
        self.out.limit = n.min(1000) as u32;
        self.take(from, to, Some("limit".into()));
    }

    /// N개, N건, limit N, first N: what is left of limits after the rest.
    fn limits(&mut self) {
        for i in 0..self.len() {
            if !self.free(i) {
                continue;
            }
            if let Some(n) = self.tokens[i].integer()
                && self.is(i + 1, COUNTERS)
            {
                self.set_limit(n, i, i + 2);
            } else if self.is(i, &["limit", "first"])
                && let Some(n) = self.tokens.get(i + 1).and_then(Token::integer)
                && self.free(i + 1)
            {
                self.set_limit(n, i, i + 2);
            }
        }
    }

    fn set_aggregation(&mut self, aggregation: Aggregation, quantile: f64, from: usize, to: usize) {
        if self.out.aggregation != Aggregation::Unspecified as i32 {
            return;
        }
        self.out.aggregation = aggregation as i32;
        self.out.quantile = quantile;
        self.take(from, to, Some("aggregation".into()));
    }

    fn aggregation(&mut self) {
        for i in 0..self.len() {
            if !self.free(i) {
                continue;
            }
            // Error rate first: "error rate" is not errors.
            if self.is(i, ERROR_RATE_KO) {
                self.set_aggregation(Aggregation::ErrorRate, 0.0, i, i + 1);
            } else if self.is(i, &["에러", "오류", "실패", "error", "failure", "errors"])
                && self.is(
                    i + 1,
                    &["율", "률", "비율", "rate", "ratio", "비중", "rates"],
                )
            {
                self.set_aggregation(Aggregation::ErrorRate, 0.0, i, i + 2);
            } else if let Some(q) = quantile_word(&self.tokens[i].norm) {
                let mut end = i + 1;
                if self.is(
                    end,
                    &["percentile", "퍼센타일", "백분위", "백분위수", "quantile"],
                ) {
                    end += 1;
                }
                self.set_aggregation(Aggregation::Quantile, q, i, end);
            } else if let Some((n, unit)) = self.tokens[i].number()
                && (unit.is_empty() || unit == "th")
                && n > 0.0
                && n < 100.0
                && self.is(
                    i + 1,
                    &["percentile", "퍼센타일", "백분위", "백분위수", "번째"],
                )
            {
                let mut end = i + 2;
                if self.is(end, &["percentile", "백분위"]) {
                    end += 1;
                }
                self.set_aggregation(Aggregation::Quantile, n / 100.0, i, end);
            } else if self.is(i, &["중앙값", "중간값", "median", "p50값"]) {
                self.set_aggregation(Aggregation::Quantile, 0.5, i, i + 1);
            } else if self.is(i, &["몇", "how"])
                && self.is(i + 1, &["개", "건", "번", "개나", "건이나", "many", "much"])
            {
                self.set_aggregation(Aggregation::Count, 0.0, i, i + 2);
            } else if self.is(
                i,
                &[
                    "몇개",
                    "몇건",
                    "몇번",
                    "개수",
                    "건수",
                    "갯수",
                    "count",
                    "횟수",
                    "수",
                    "요청수",
                    "에러수",
                    "오류수",
                ],
            ) {
                self.set_aggregation(Aggregation::Count, 0.0, i, i + 1);
            } else if self.seq(i, &["number", "of"]) || self.seq(i, &["total", "number", "of"]) {
                let len = if self.is(i, &["total"]) { 3 } else { 2 };
                self.set_aggregation(Aggregation::Count, 0.0, i, i + len);
            } else if self.is(i, &["초당", "처리량", "throughput", "rps", "qps", "tps"]) {
                self.set_aggregation(Aggregation::Rate, 0.0, i, i + 1);
            } else if self.seq(i, &["per", "second"]) || self.seq(i, &["request", "rate"]) {
                self.set_aggregation(Aggregation::Rate, 0.0, i, i + 2);
            } else if self.is(i, &["rate"]) {
                self.set_aggregation(Aggregation::Rate, 0.0, i, i + 1);
            } else if self.is(i, &["평균", "average", "avg", "mean"]) {
                self.set_aggregation(Aggregation::Avg, 0.0, i, i + 1);
            } else if self.is(i, &["최대", "최댓값", "최대값", "max", "maximum", "peak"]) {
                self.set_aggregation(Aggregation::Max, 0.0, i, i + 1);
            } else if self.is(i, &["최소", "최솟값", "최소값", "min", "minimum"]) {
                self.set_aggregation(Aggregation::Min, 0.0, i, i + 1);
            } else if self.is(i, &["합계", "총합", "합", "총", "sum", "total"]) {
                self.set_aggregation(Aggregation::Sum, 0.0, i, i + 1);
            }
        }
    }

    // === Outcome, severity, signal ===

    fn status_codes(&mut self) {
        for i in 0..self.len() {
            if !self.free(i) {
                continue;
            }
            // ("500s" are seconds, not status codes.)
            let Some(code) = self.tokens[i].integer().filter(|c| (100..=599).contains(c)) else {
                continue;
            };
            let before = i > 0 && self.is(i - 1, STATUS_CODE_WORDS);
            let after = self.is(i + 1, STATUS_CODE_WORDS) || self.is(i + 1, ERROR_WORDS);
            if !(before || after) {
                continue;
            }
            let mut from = i;
            let mut to = i + 1;
            if before {
                from = i - 1;
                // "status code 500", "http status 500"
                if from > 0 && self.is(from - 1, &["http", "status", "상태", "응답"]) {
                    from -= 1;
                }
            }
            if after {
                to = i + 2;
                if self.is(to - 1, &["status", "상태"]) && self.is(to, &["code", "코드"]) {
                    to += 1;
                }
            }
            self.push_attribute(
                STATUS_CODE,
                MatchOperator::Equals,
                &code.to_string(),
                false,
                from,
                to,
            );
        }
    }

    fn set_severity(&mut self, min: i32, max: i32, from: usize, to: usize) {
        if self.out.min_severity_number != 0 || self.out.max_severity_number != 0 {
            return;
        }
        self.severity_words = true;
        self.out.min_severity_number = min;
        self.out.max_severity_number = max;
        self.take(from, to, Some("min_severity_number".into()));
    }

    fn severity(&mut self) {
        for i in 0..self.len() {
            if !self.free(i) {
                continue;
            }
            let level = SEVERITIES
                .iter()
                .find(|(words, _, _)| self.is(i, words))
                .map(|(_, min, max)| (*min, *max));
            let Some((min, max)) = level else { continue };
            // "경고 이상", "warning or above", "warn and above"
            // (Not "에러 이상 징후": anomalies of errors.)
            let above = if self.is(i + 1, &["이상", "이상의", "이상인"])
                && !self.is(i + 2, &["징후", "탐지", "현상"])
            {
                Some(1)
            } else if self.seq(i + 1, &["or", "above"])
                || self.seq(i + 1, &["and", "above"])
                || self.seq(i + 1, &["or", "higher"])
                || self.seq(i + 1, &["and", "higher"])
                || self.seq(i + 1, &["or", "worse"])
            {
                Some(2)
            } else {
                None
            };
            match above {
                Some(len) => self.set_severity(min, 0, i, i + 1 + len),
                None if min == 17 => {
                    // An error word: a severity only in a logs question,
                    // decided once the signal is known.
                    continue;
                }
                None => self.set_severity(min, max, i, i + 1),
            }
        }
    }

    fn outcome(&mut self) {
        for i in 0..self.len() {
            if !self.free(i) {
                continue;
            }
            if self.is(i, ERROR_WORDS) {
                // Later error words repeat the first.
                if self.error_words.is_none() {
                    self.error_words = Some((i, i + 1));
                }
                self.take(i, i + 1, None);
            } else if self.is(i, OK_WORDS) {
                self.out.status = Status::Ok as i32;
                self.take(i, i + 1, Some("status".into()));
            }
        }
    }

    fn signal(&mut self) {
        for i in 0..self.len() {
            if !self.free(i) {
                continue;
            }
            let found = SIGNALS
                .iter()
                .find(|(words, _)| self.is(i, words))
                .map(|(_, s)| *s);
            let (signal, len) = match found {
                Some(signal) => (signal, 1),
                None if self.seq(i, &["which", "services"])
                    || self.seq(i, &["list", "services"])
                    || self.seq(i, &["what", "services"])
                    || self.seq(i, &["어떤", "서비스"])
                    || self.seq(i, &["어느", "서비스"])
                    || self.seq(i, &["서비스", "목록"]) =>
                {
                    (Signal::Services, 2)
                }
                None if self.seq(i, &["이상", "징후"])
                    || self.seq(i, &["이상", "탐지"])
                    || self.seq(i, &["이상", "현상"]) =>
                {
                    (Signal::Anomalies, 2)
                }
                None => continue,
            };
            let current = self.out.signal;
            // Logs and metrics outrank the default words for requests.
            if current == Signal::Unspecified as i32
                || (current == Signal::Traces as i32 && signal != Signal::Traces)
            {
                self.out.signal = signal as i32;
                self.sources.retain(|s| s.field != "signal");
                self.take(i, i + len, Some("signal".into()));
            } else {
                self.take(i, i + len, None);
            }
        }
    }

    // === Attributes ===

    fn push_attribute(
        &mut self,
        key: &str,
        operator: MatchOperator,
        value: &str,
        resource: bool,
        from: usize,
        to: usize,
    ) {
        let filter = AttributeFilter {
            key: key.to_owned(),
            operator: operator as i32,
            value: value.to_owned(),
            scope: if resource {
                AttributeScope::Resource as i32
            } else {
                AttributeScope::Unspecified as i32
            },
        };
        if self.out.attributes.contains(&filter) {
            self.take(from, to, None);
            return;
        }
        let field = format!("attributes[{}]", self.out.attributes.len());
        self.out.attributes.push(filter);
        self.take(from, to, Some(field));
    }

    fn attributes(&mut self) {
        for i in 0..self.len() {
            if !self.free(i) {
                continue;
            }
            let token = self.tokens[i].clone();
            // KEY=VALUE, KEY!=VALUE, KEY:VALUE
            if token.kind == Kind::Word {
                let split = token
                    .text
                    .split_once("!=")
                    .map(|(k, v)| (k, v, MatchOperator::NotEquals))
                    .or_else(|| {
                        token
                            .text
                            .split_once('=')
                            .map(|(k, v)| (k, v, MatchOperator::Equals))
                    })
                    .or_else(|| {
                        token
                            .text
                            .split_once(':')
                            .filter(|(k, _)| {
                                k.contains('.')
                                    || self.vocabulary.vocabulary().attributes.contains_key(*k)
                            })
                            .map(|(k, v)| (k, v, MatchOperator::Equals))
                    });
                if let Some((key, value, operator)) = split
                    && !key.is_empty()
                    && !value.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                {
                    self.push_attribute(key, operator, value, is_resource_key(key), i, i + 1);
                    continue;
                }
            }
            // HTTP methods, as typed in capitals.
            if METHODS.contains(&token.text.as_str()) {
                self.push_attribute(METHOD, MatchOperator::Equals, &token.text, false, i, i + 1);
                continue;
            }
            // Versions: v2, version 1.4.2, 버전 v2, v2 버전
            let version_word = |p: &Self, k: usize| p.is(k, &["버전", "version", "ver"]);
            if is_version(&token.norm)
                || self
                    .vocabulary
                    .vocabulary()
                    .attributes
                    .get(VERSION)
                    .is_some_and(|v| v.contains(&token.text))
                    && (i > 0 && version_word(self, i - 1) || version_word(self, i + 1))
            {
                let from = if i > 0 && version_word(self, i - 1) {
                    i - 1
                } else {
                    i
                };
                let to = if version_word(self, i + 1) {
                    i + 2
                } else {
                    i + 1
                };
                self.push_attribute(VERSION, MatchOperator::Equals, &token.text, true, from, to);
                continue;
            }
            // 파드 NAME, pod NAME
            if self.is(i, &["파드", "pod", "포드"])
                && self.free(i + 1)
                && self.tokens[i + 1].kind == Kind::Word
            {
                let name = self.tokens[i + 1].text.clone();
                self.push_attribute(POD, MatchOperator::Equals, &name, true, i, i + 2);
                continue;
            }
            // Environments.
            if let Some((_, env)) = ENVIRONMENTS.iter().find(|(words, _)| self.is(i, words)) {
                let mut to = i + 1;
                if self.is(to, &["환경", "환경에서", "environment", "env"]) {
                    to += 1;
                }
                self.push_attribute(ENVIRONMENT, MatchOperator::Equals, env, true, i, to);
                continue;
            }
            // A frequent value of one of the tenant's attributes (not a
            // number: 500 alone is no status code, 2 no version).
            if token.norm.len() > 2
                && !token.norm.chars().all(|c| c.is_ascii_digit())
                && let Some((key, value)) = self.vocabulary.attribute_value(&token.text)
                && key != STATUS_CODE
            {
                self.push_attribute(
                    &key,
                    MatchOperator::Equals,
                    &value,
                    is_resource_key(&key),
                    i,
                    i + 1,
                );
            }
        }
    }

    // === Names ===

    fn push_operation(&mut self, operation: &str, from: usize, to: usize) {
        if self.out.operations.iter().any(|o| o == operation) {
            return;
        }
        let field = format!("operations[{}]", self.out.operations.len());
        self.out.operations.push(operation.to_owned());
        self.take(from, to, Some(field));
    }

    fn operations(&mut self) {
        let longest = self.vocabulary.operation_words().max(1);
        let mut i = 0;
        while i < self.len() {
            let mut matched = false;
            for n in (1..=longest).rev() {
                if i + n > self.len() || (i..i + n).any(|k| !self.free(k)) {
                    continue;
                }
                let phrase = self.tokens[i..i + n]
                    .iter()
                    .map(|t| t.norm.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                if let Some(name) = self.vocabulary.operation(&phrase).map(str::to_owned) {
                    self.push_operation(&name, i, i + n);
                    i += n;
                    matched = true;
                    break;
                }
            }
            if matched {
                continue;
            }
            // A path: the operations ending with it (a path starts with
            // `/`, so /tracking ends GET /shipments/{id}/tracking).
            if self.free(i) && self.tokens[i].text.starts_with('/') && self.tokens[i].text.len() > 1
            {
                let found = self.vocabulary.operations_ending(&self.tokens[i].norm);
                if !found.is_empty() {
                    let mut from = i;
                    // "POST /checkout" when the method was written too
                    if i > 0
                        && !self.used[i - 1]
                        && METHODS.contains(&self.tokens[i - 1].text.as_str())
                    {
                        from = i - 1;
                    }
                    for name in found {
                        self.push_operation(&name, from, i + 1);
                    }
                }
            }
            i += 1;
        }
    }

    fn services(&mut self) {
        for i in 0..self.len() {
            if !self.free(i) {
                continue;
            }
            let token = self.tokens[i].clone();
            if token.kind == Kind::Quote || token.kind == Kind::Sign {
                continue;
            }
            // "order service", "search api", "결제 서비스"
            let qualifier = self.is(i + 1, SERVICE_WORDS);
            let mut found = None;
            for form in &self.forms[i] {
                let stem = strip_service_suffix(form);
                for word in [form.as_str(), stem] {
                    let qualified = qualifier || stem != form.as_str();
                    if word.is_empty()
                        || word.chars().all(|c| c.is_ascii_digit())
                        || STOPWORDS.contains(&word) && !(qualified && word.is_ascii())
                    {
                        continue;
                    }
                    if let Some(hit) = self.vocabulary.services(word, qualified) {
                        found = Some(hit);
                        break;
                    }
                }
                if found.is_some() {
                    break;
                }
            }
            let Some((names, how)) = found else { continue };
            if how.approximate() {
                self.approximate += 1;
            }
            let to = if qualifier { i + 2 } else { i + 1 };
            let mut first = true;
            for name in names {
                if self.out.service_names.contains(&name) {
                    continue;
                }
                let field = format!("service_names[{}]", self.out.service_names.len());
                self.out.service_names.push(name);
                if first {
                    self.take(i, to, Some(field));
                    first = false;
                }
            }
            self.take(i, to, None);
        }
    }

    fn metric(&mut self) {
        for i in 0..self.len() {
            if !self.free(i) || !self.out.metric_name.is_empty() {
                continue;
            }
            let found = self.forms[i].iter().find_map(|f| self.vocabulary.metric(f));
            if let Some((name, _)) = found {
                let parts: Vec<String> = name.split(['.', '_']).map(str::to_lowercase).collect();
                self.out.metric_name = name;
                self.out.signal = Signal::Metrics as i32;
                self.sources.retain(|s| s.field != "signal");
                // The metric's other parts written next to it: "kafka
                // consumer lag".
                let mut from = i;
                while from > 0 && self.free(from - 1) && parts.contains(&self.tokens[from - 1].norm)
                {
                    from -= 1;
                }
                let mut to = i + 1;
                while self.free(to)
                    && (parts.contains(&self.tokens[to].norm)
                        || self.is(
                            to,
                            &[
                                "사용률",
                                "사용량",
                                "usage",
                                "utilization",
                                "metric",
                                "메트릭",
                            ],
                        ))
                {
                    to += 1;
                }
                self.take(from, to, Some("metric_name".into()));
            }
        }
    }

    /// Operation and metric names one or two letters off, for words
    /// written as identifiers (`ReserveStok`, `kafka.consumer.lagg`), never
    /// for plain words.
    fn spelled_names(&mut self) {
        for i in 0..self.len() {
            let token = &self.tokens[i];
            let identifier = token.kind == Kind::Word
                && token.text.is_ascii()
                && (token.text.contains(['.', '_'])
                    || token.text.chars().skip(1).any(|c| c.is_ascii_uppercase()));
            if !self.free(i) || !identifier {
                continue;
            }
            let word = token.norm.clone();
            if let Some(name) = self.vocabulary.operation_spelled(&word) {
                self.approximate += 1;
                self.push_operation(&name, i, i + 1);
                continue;
            }
            if self.out.metric_name.is_empty()
                && let Some(name) = self.vocabulary.metric_spelled(&word)
            {
                self.out.metric_name = name;
                self.out.signal = Signal::Metrics as i32;
                self.sources.retain(|s| s.field != "signal");
                self.approximate += 1;
                self.take(i, i + 1, Some("metric_name".into()));
            }
        }
    }

    // === Bounds ===

    /// A duration written at `i`: nanoseconds and tokens.
    fn duration_at(&self, i: usize) -> Option<(u64, usize, String)> {
        if !self.free(i) {
            return None;
        }
        if let Some((n, unit)) = self.tokens[i].number()
            && !unit.is_empty()
        {
            let nanos = duration_unit(unit)? * n;
            return Some((nanos.round() as u64, 1, String::new()));
        }
        let (n, unit) = self.tokens[i].number()?;
        if !unit.is_empty() || !self.free(i + 1) {
            return None;
        }
        let next = &self.tokens[i + 1].norm;
        if let Some(scale) = duration_unit(next) {
            return Some(((scale * n).round() as u64, 2, String::new()));
        }
        // Korean unit with what follows: 초이상, 초를, 초가, 분넘게
        for u in ["밀리초", "초", "분", "시간"] {
            if let Some(rest) = next.strip_prefix(u) {
                let scale = duration_unit(u)?;
                return Some(((scale * n).round() as u64, 2, rest.to_owned()));
            }
        }
        None
    }

    fn set_bound(&mut self, min: bool, nanos: u64, inclusive: bool, from: usize, to: usize) {
        let bound = Some(DurationBound {
            nano: nanos,
            inclusive,
        });
        if min {
            self.out.min_duration = bound;
            self.take(from, to, Some("min_duration".into()));
        } else {
            self.out.max_duration = bound;
            self.take(from, to, Some("max_duration".into()));
        }
    }

    fn durations(&mut self) {
        self.bounds(false);
    }

    fn values(&mut self) {
        if !self.out.metric_name.is_empty() {
            self.bounds(true);
        }
    }

    /// Durations (or values, for a metric) with a comparison before or
    /// after them, and ranges between two.
    fn bounds(&mut self, values: bool) {
        let read = |p: &Self, k: usize| -> Option<(f64, usize, String)> {
            if values {
                let (n, unit) = p.tokens.get(k).filter(|_| p.free(k))?.number()?;
                (unit.is_empty() || unit == "%").then_some((n, 1, String::new()))
            } else {
                p.duration_at(k).map(|(n, len, rest)| (n as f64, len, rest))
            }
        };
        let mut i = 0;
        while i < self.len() {
            // 200ms-400ms, one token
            if !values
                && self.free(i)
                && let Some((a, b)) = dashed_range(&self.tokens[i].norm)
            {
                self.set_range(false, a, b, i, i + 1);
                i += 1;
                continue;
            }
            // between A and B, A~B, A에서 B 사이, A부터 B 사이
            let between = self.is(i, &["between"]);
            let a_at = i + usize::from(between);
            if let Some((a, alen, arest)) = read(self, a_at).or_else(|| {
                // "between 100 and 200ms": A's unit from B.
                let (n, unit) = self
                    .tokens
                    .get(a_at)
                    .filter(|_| self.free(a_at))?
                    .number()?;
                unit.is_empty().then_some((n, 1, "?".to_owned()))
            }) {
                let mut k = a_at + alen;
                let joined = self.is(k, &["and", "~", "-", "to", "에서", "부터"]);
                let ko_joined = arest == "에서" || arest == "부터";
                if (between && self.is(k, &["and"])) || joined || ko_joined {
                    if !ko_joined {
                        k += 1;
                    }
                    if let Some((b, blen, brest)) = read(self, k) {
                        let mut end = k + blen;
                        if brest.is_empty()
                            && self.is(end, &["사이", "사이의", "사이에", "사이인", "사이로"])
                        {
                            end += 1;
                        }
                        let ok = between
                            || brest.starts_with("사이")
                            || self
                                .forms
                                .get(end - 1)
                                .is_some_and(|f| f.iter().any(|f| f.starts_with("사이")))
                            || self.is(k - 1, &["~", "-"]);
                        if ok {
                            let a = if arest == "?" {
                                // Same unit as B.
                                let (bn, _) = self.tokens[k].number().unwrap_or((b, ""));
                                if bn != 0.0 { a * b / bn } else { a }
                            } else {
                                a
                            };
                            self.set_range(values, a, b, i, end);
                            i = end;
                            continue;
                        }
                    }
                }
            }
            // English comparison before: more than 500ms, over 2s, > 1s
            let before = COMPARISONS_BEFORE
                .iter()
                .find(|(words, _, _)| self.seq(i, words))
                .map(|(words, min, inclusive)| (words.len(), *min, *inclusive));
            if let Some((len, min, inclusive)) = before
                && let Some((n, nlen, _)) = read(self, i + len)
            {
                let mut end = i + len + nlen;
                // "more than 2 seconds or more" is not a thing; "at least 2s"
                if self.is(end, &["long", "longer"]) {
                    end += 1;
                }
                self.set_value_or_duration(values, min, n, inclusive, i, end);
                i = end;
                continue;
            }
            // Comparison after: 500ms 넘게, 2초 이상, 1s or more
            if let Some((n, nlen, rest)) = read(self, i) {
                let mut end = i + nlen;
                let after = if !rest.is_empty() {
                    comparison_after(&rest).map(|c| (c, 0))
                } else {
                    COMPARISONS_AFTER
                        .iter()
                        .find(|(words, _, _)| {
                            self.seq(end, words) || words.len() == 1 && self.is(end, words)
                        })
                        .map(|(words, min, inclusive)| ((*min, *inclusive), words.len()))
                };
                if let Some(((min, inclusive), len)) = after {
                    end += len;
                    self.set_value_or_duration(values, min, n, inclusive, i, end);
                    i = end;
                    continue;
                }
                // "2초보다 오래"
                if rest == "보다" || self.is(end, &["보다"]) {
                    let k = if rest == "보다" { end } else { end + 1 };
                    if self.is(k, SLOWER_KO) {
                        self.set_value_or_duration(values, true, n, false, i, k + 1);
                        i = k + 1;
                        continue;
                    }
                    if self.is(k, FASTER_KO) {
                        self.set_value_or_duration(values, false, n, false, i, k + 1);
                        i = k + 1;
                        continue;
                    }
                }
            }
            i += 1;
        }
    }

    fn set_value_or_duration(
        &mut self,
        values: bool,
        min: bool,
        n: f64,
        inclusive: bool,
        from: usize,
        to: usize,
    ) {
        if values {
            let bound = Some(ValueBound {
                value: n,
                inclusive,
            });
            let field = if min { "min_value" } else { "max_value" };
            if min {
                self.out.min_value = bound;
            } else {
                self.out.max_value = bound;
            }
            self.take(from, to, Some(field.into()));
        } else {
            self.set_bound(min, n.round() as u64, inclusive, from, to);
        }
    }

    fn set_range(&mut self, values: bool, a: f64, b: f64, from: usize, to: usize) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        if values {
            self.out.min_value = Some(ValueBound {
                value: lo,
                inclusive: true,
            });
            self.out.max_value = Some(ValueBound {
                value: hi,
                inclusive: true,
            });
            self.take(from, to, Some("min_value".into()));
        } else {
            self.out.min_duration = Some(DurationBound {
                nano: lo.round() as u64,
                inclusive: true,
            });
            self.out.max_duration = Some(DurationBound {
                nano: hi.round() as u64,
                inclusive: true,
            });
            self.take(from, to, Some("min_duration".into()));
        }
    }

    // === What is left ===

    fn stopwords(&mut self) {
        for i in 0..self.len() {
            if self.free(i)
                && (self.forms[i]
                    .iter()
                    .any(|f| STOPWORDS.contains(&f.as_str()))
                    || self.tokens[i].kind == Kind::Hangul
                        && self.forms[i].iter().any(|f| {
                            KO_ENDINGS.iter().any(|e| {
                                f.ends_with(e) && STOPWORDS.contains(&&f[..f.len() - e.len()])
                            })
                        }))
            {
                self.take(i, i + 1, None);
            }
        }
    }

    fn finish(mut self) -> Parsed {
        // An error word: the severity of a logs question, else the outcome.
        if let Some((from, to)) = self.error_words {
            let logs = self.out.signal == Signal::Logs as i32;
            if self.out.aggregation == Aggregation::ErrorRate as i32 {
                // The error rate counts errors; it does not filter them.
            } else if logs {
                if self.out.min_severity_number == 0 {
                    self.out.min_severity_number = 17;
                    self.sources
                        .push(self.source_of("min_severity_number", from, to));
                }
            } else if !self.out.attributes.iter().any(|a| a.key == STATUS_CODE) {
                self.out.status = Status::Error as i32;
                self.sources.push(self.source_of("status", from, to));
            }
        }
        // A severity says the question is about logs.
        if self.severity_words && self.out.signal == Signal::Unspecified as i32 {
            self.out.signal = Signal::Logs as i32;
        }
        if self.out.signal == Signal::Unspecified as i32 {
            self.out.signal = Signal::Traces as i32;
        }
        if self.out.time_range.is_none() {
            let range = self.clock.last(Span::new().hours(1));
            self.out.time_range = Some(TimeRange {
                start_unix_nano: range.start,
                end_unix_nano: range.end,
            });
        }
        self.sources.sort_by_key(|s| s.start);
        let mut unplaced: Vec<Unplaced> = Vec::new();
        let mut content = 0usize;
        for i in 0..self.len() {
            if self.tokens[i].kind != Kind::Sign {
                content += 1;
            }
            if self.used[i] {
                continue;
            }
            let token = &self.tokens[i];
            unplaced.push(Unplaced {
                text: token.text.clone(),
                start: token.start,
                end: token.end,
                suggestions: Vec::new(),
            });
        }
        let unplaced_words = self.used.iter().filter(|u| !**u).count();
        for u in &mut unplaced {
            let stem = forms(&Token {
                text: u.text.clone(),
                norm: u.text.to_lowercase(),
                kind: if u
                    .text
                    .chars()
                    .any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c))
                {
                    Kind::Hangul
                } else {
                    Kind::Word
                },
                start: 0,
                end: 0,
            });
            u.suggestions = self
                .vocabulary
                .suggestions(stem.last().map_or(&u.text, |s| s));
        }
        let placed = content.saturating_sub(unplaced_words);
        let mut confidence = if content == 0 {
            0.0
        } else {
            placed as f64 / content as f64
        };
        confidence *= 0.8f64.powi(self.approximate as i32);
        let hangul = self
            .tokens
            .iter()
            .filter(|t| t.kind == Kind::Hangul)
            .count();
        Parsed {
            interpretation: self.out,
            sources: self.sources,
            unplaced,
            confidence: (confidence * 100.0).round() / 100.0,
            korean: hangul * 2 >= self.tokens.len().max(1),
        }
    }

    fn source_of(&self, field: &str, from: usize, to: usize) -> Source {
        let (text, start, end) = self.text(from, to);
        Source {
            field: field.to_owned(),
            text,
            start,
            end,
        }
    }
}

/// `n` of a calendar unit, for time ranges.
fn span_of(n: i64, unit: &str) -> Option<Span> {
    let n = n.clamp(0, 100_000);
    Some(match unit {
        "초" | "s" | "sec" | "secs" | "second" | "seconds" => Span::new().seconds(n),
        "분" | "m" | "min" | "mins" | "minute" | "minutes" => Span::new().minutes(n),
        "시간" | "h" | "hr" | "hrs" | "hour" | "hours" => Span::new().hours(n),
        "일" | "d" | "day" | "days" => Span::new().hours(24 * n.min(10_000)),
        "주" | "주일" | "w" | "week" | "weeks" => Span::new().hours(24 * 7 * n.min(1_000)),
        _ => return None,
    })
}

/// Nanoseconds in one of a duration unit.
fn duration_unit(unit: &str) -> Option<f64> {
    Some(match unit {
        "ns" | "나노초" => 1.0,
        "us" | "µs" | "μs" | "마이크로초" => 1e3,
        "ms" | "msec" | "millisecond" | "milliseconds" | "밀리초" => NANOS_PER_MS,
        "s" | "sec" | "secs" | "second" | "seconds" | "초" => 1e9,
        "m" | "min" | "mins" | "minute" | "minutes" | "분" => 60e9,
        "h" | "hr" | "hour" | "hours" | "시간" => 3600e9,
        _ => return None,
    })
}

/// `200ms-400ms`, `1-2s`: a range of durations in one word, nanoseconds.
fn dashed_range(word: &str) -> Option<(f64, f64)> {
    let (a, b) = word.split_once('-')?;
    fn parse(s: &str) -> Option<(f64, &str)> {
        let digits = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = s[..digits].parse().ok()?;
        Some((n, &s[digits..]))
    }
    let (bn, bunit) = parse(b)?;
    let bscale = duration_unit(bunit)?;
    let (an, ascale) = match parse(a) {
        Some((n, unit)) => (n, duration_unit(unit)?),
        None => (a.parse().ok()?, bscale),
    };
    Some((an * ascale, bn * bscale))
}

/// `p99` → 0.99, `p99.9` → 0.999, `p50` → 0.5.
fn quantile_word(word: &str) -> Option<f64> {
    let n: f64 = word.strip_prefix('p')?.parse().ok()?;
    (n > 0.0 && n < 100.0).then_some(n / 100.0)
}

/// `1.4.2`: a version without a `v`, told from a number by its two dots
/// (an IPv4 address has three) and from a date (`2026.12.01`) by its
/// first part.
fn is_dotted_version(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
        && parts[0].len() < 4
}

/// Two versions compared without saying which is judged: the newer one is
/// (`v10` after `v9`, `1.10.0` after `1.9.3`); versions that do not read
/// as numbers keep the order they were written in.
pub(crate) fn newer_first(a: &str, b: &str) -> (String, String) {
    let numbers = |v: &str| -> Option<Vec<u64>> {
        v.trim_start_matches(['v', 'V'])
            .split('.')
            .map(|part| part.parse().ok())
            .collect()
    };
    match (numbers(a), numbers(b)) {
        (Some(x), Some(y)) if y > x => (b.to_owned(), a.to_owned()),
        _ => (a.to_owned(), b.to_owned()),
    }
}

fn is_version(word: &str) -> bool {
    word.strip_prefix('v').is_some_and(|rest| {
        !rest.is_empty()
            && rest.chars().next().is_some_and(|c| c.is_ascii_digit())
            && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

/// Whether `key` names a resource attribute (`service.version`,
/// `k8s.pod.name`) rather than a span or log record one.
pub(crate) fn is_resource_key(key: &str) -> bool {
    RESOURCE_PREFIXES.iter().any(|p| key.starts_with(p))
}

fn group_key(word: &str) -> Option<&'static str> {
    GROUPS
        .iter()
        .find(|(words, _)| words.contains(&word))
        .map(|(_, key)| *key)
}

/// `서비스` or `-service` after a name: the name alone.
fn strip_service_suffix(word: &str) -> &str {
    for suffix in ["서비스", "service", "api", "svc"] {
        if let Some(stem) = word.strip_suffix(suffix)
            && !stem.is_empty()
        {
            return stem.trim_end_matches(['-', '_', ' ']);
        }
    }
    word
}

/// What a Korean comparison written onto its unit says: (minimum,
/// inclusive).
fn comparison_after(rest: &str) -> Option<(bool, bool)> {
    COMPARISONS_AFTER
        .iter()
        .filter(|(words, _, _)| words.len() == 1)
        .find(|(words, _, _)| {
            rest == words[0] || rest.starts_with(words[0]) && words[0].chars().count() >= 2
        })
        .map(|(_, min, inclusive)| (*min, *inclusive))
}
