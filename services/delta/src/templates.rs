//! Log templates: a Drain-style miner (He et al., "Drain: An Online Log
//! Parsing Approach with Fixed Depth Tree", ICWS 2017).
//!
//! A record's body is split into words at whitespace; a word holding a
//! digit is a variable (`<*>`: numbers, ids, durations, addresses, and in
//! Korean the counted nouns such as `3건`). Records are routed by their
//! number of words, then by their first [`PREFIX`] words (variables share
//! one branch), to a short list of templates; a record joins the most
//! similar one (the share of positions with the same word) when that share
//! is at least [`SIMILARITY`], and the template's differing positions
//! become `<*>`; otherwise it starts a template of its own. Korean needs
//! nothing special: its words are separated by spaces too, and particles
//! stay attached to their word, so `결제가` and `결제를` are different
//! words, as they would be different spellings in English.
//!
//! The miner counts records per cohort, so both cohorts of a comparison
//! share one set of templates.

use std::collections::HashMap;

/// What a variable word becomes.
pub const WILDCARD: &str = "<*>";
/// Words that route a record before the similarity search.
const PREFIX: usize = 2;
/// Least share of equal positions for a record to join a template.
const SIMILARITY: f64 = 0.5;
/// Children of one routing node; beyond, new words share the wildcard
/// branch, so a flood of distinct first words cannot grow the tree.
const MAX_CHILDREN: usize = 100;
/// Longest example kept, in bytes.
pub const EXAMPLE_BYTES: usize = 512;
/// Records with more words are cut to this many (the rest is one
/// variable), so a huge record costs no more than a long one.
const MAX_WORDS: usize = 64;

/// Whether a word varies from record to record.
pub fn is_variable(word: &str) -> bool {
    word.bytes().any(|b| b.is_ascii_digit())
}

/// One template and what each cohort logged of it.
#[derive(Clone, Debug)]
pub struct Template {
    words: Vec<Box<str>>,
    /// Records per cohort.
    pub counts: [u64; 2],
    /// The highest severity number of its records.
    pub severity: u8,
    /// One record per cohort, cut to [`EXAMPLE_BYTES`].
    pub examples: [Option<String>; 2],
    /// Services that logged it, sorted.
    pub services: Vec<String>,
}

impl Template {
    /// The template as text: its words joined by spaces.
    pub fn text(&self) -> String {
        self.words.join(" ")
    }

    /// Share of positions where `words` equals the template, and how many
    /// of the template's wildcards stand against a word.
    fn similarity(&self, words: &[&str]) -> (f64, usize) {
        let mut same = 0;
        let mut wild = 0;
        // A wildcard agrees with a wildcard (two records varying in the same
        // place are alike there) and is neutral against a word.
        for (t, w) in self.words.iter().zip(words) {
            if &**t == *w {
                same += 1;
            } else if &**t == WILDCARD {
                wild += 1;
            }
        }
        (same as f64 / self.words.len().max(1) as f64, wild)
    }
}

#[derive(Default)]
struct Node {
    children: HashMap<Box<str>, Node>,
    /// Templates of the records routed here (indices into the miner's).
    templates: Vec<usize>,
}

/// The miner; see the module documentation.
#[derive(Default)]
pub struct Miner {
    by_length: HashMap<usize, Node>,
    templates: Vec<Template>,
}

impl Miner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `count` records of `cohort` (0 or 1) with this body (its
    /// variables may already be `<*>`), one of them as it was logged
    /// (`example`), their highest severity number and their service.
    pub fn add(
        &mut self,
        body: &str,
        example: &str,
        cohort: usize,
        severity: u8,
        service: &str,
        count: u64,
    ) {
        let mut words: Vec<&str> = body.split_whitespace().take(MAX_WORDS + 1).collect();
        if words.len() > MAX_WORDS {
            words.truncate(MAX_WORDS);
            words[MAX_WORDS - 1] = WILDCARD;
        }
        for word in &mut words {
            if is_variable(word) {
                *word = WILDCARD;
            }
        }
        let index = self.find_or_insert(&words);
        let template = &mut self.templates[index];
        template.counts[cohort] += count;
        template.severity = template.severity.max(severity);
        if template.examples[cohort].is_none() {
            template.examples[cohort] = Some(cut(example, EXAMPLE_BYTES));
        }
        if let Err(at) = template
            .services
            .binary_search_by(|s| s.as_str().cmp(service))
        {
            template.services.insert(at, service.to_owned());
        }
    }

    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    pub fn into_templates(self) -> Vec<Template> {
        self.templates
    }

    fn find_or_insert(&mut self, words: &[&str]) -> usize {
        let mut node = self.by_length.entry(words.len()).or_default();
        for word in words.iter().take(PREFIX) {
            let key: &str = if is_variable(word) || *word == WILDCARD {
                WILDCARD
            } else {
                word
            };
            let key = if node.children.contains_key(key) || node.children.len() < MAX_CHILDREN {
                key
            } else {
                WILDCARD
            };
            node = node.children.entry(key.into()).or_default();
        }
        // The most similar template; among equals, the one with more
        // wildcards (it already stands for more).
        let best = node
            .templates
            .iter()
            .map(|&i| (i, self.templates[i].similarity(words)))
            .max_by(|a, b| (a.1).0.total_cmp(&(b.1).0).then((a.1).1.cmp(&(b.1).1)));
        match best {
            Some((i, (similarity, _))) if similarity >= SIMILARITY => {
                let template = &mut self.templates[i];
                for (t, w) in template.words.iter_mut().zip(words) {
                    if &**t != *w && &**t != WILDCARD {
                        *t = WILDCARD.into();
                    }
                }
                i
            }
            _ => {
                let i = self.templates.len();
                self.templates.push(Template {
                    words: words.iter().map(|w| Box::from(*w)).collect(),
                    counts: [0, 0],
                    severity: 0,
                    examples: [None, None],
                    services: Vec::new(),
                });
                node.templates.push(i);
                i
            }
        }
    }
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(miner: &Miner) -> Vec<(String, [u64; 2])> {
        let mut all: Vec<_> = miner
            .templates()
            .iter()
            .map(|t| (t.text(), t.counts))
            .collect();
        all.sort();
        all
    }

    #[test]
    fn variables_merge_and_words_keep_templates_apart() {
        let mut miner = Miner::new();
        for (i, body) in [
            "POST /checkout failed with 502 after 120 ms",
            "POST /checkout failed with 503 after 95 ms",
            "slow request: GET /cart/12345 took 950 ms (threshold 500 ms)",
            "slow request: GET /cart/777 took 1200 ms (threshold 500 ms)",
            "user 42 logged in",
            "user 7 logged in",
            "user 7 logged out",
        ]
        .iter()
        .enumerate()
        {
            miner.add(body, body, i % 2, 9, "shop", 1);
        }
        assert_eq!(
            texts(&miner),
            vec![
                (
                    "POST /checkout failed with <*> after <*> ms".to_owned(),
                    [1, 1]
                ),
                (
                    "slow request: GET <*> took <*> ms (threshold <*> ms)".to_owned(),
                    [1, 1]
                ),
                ("user <*> logged <*>".to_owned(), [2, 1]),
            ]
        );
    }

    #[test]
    fn korean_records_mine_like_english_ones() {
        let mut miner = Miner::new();
        // As ClickHouse hands them over: every word holding a digit masked,
        // "(120" too.
        let (shape, logged) = (
            "요청 실패: POST /checkout → <*> <*> ms)",
            "요청 실패: POST /checkout → 502 (120 ms)",
        );
        miner.add(shape, logged, 0, 17, "checkout", 3);
        let body = "요청 실패: POST /checkout → 503 (88 ms)";
        miner.add(body, body, 1, 17, "checkout", 2);
        miner.add("결제 승인 완료: 주문 3건", "", 0, 9, "payment", 1);
        miner.add("결제 승인 완료: 주문 12건", "", 1, 9, "payment", 1);
        miner.add("결제 승인 거절: 카드 한도 초과", "", 1, 13, "payment", 1);
        let all = texts(&miner);
        assert!(
            all.contains(&("요청 실패: POST /checkout → <*> <*> ms)".to_owned(), [3, 2])),
            "{all:?}"
        );
        assert!(
            all.contains(&("결제 승인 완료: 주문 <*>".to_owned(), [1, 1])),
            "{all:?}"
        );
        // One word more than the approvals: a template of its own.
        assert!(
            all.contains(&("결제 승인 거절: 카드 한도 초과".to_owned(), [0, 1])),
            "{all:?}"
        );
        let failed = miner
            .templates()
            .iter()
            .find(|t| t.text().starts_with("요청"))
            .unwrap();
        assert_eq!(failed.severity, 17);
        assert_eq!(
            failed.examples[1].as_deref(),
            Some("요청 실패: POST /checkout → 503 (88 ms)")
        );
    }

    #[test]
    fn records_mostly_variable_still_share_a_template() {
        let mut miner = Miner::new();
        for i in 0..100 {
            let body = format!("{i} {} /cart/{i} reserved {i}ms timeout", i * 3);
            miner.add(&body, &body, 0, 9, "s", 1);
        }
        assert_eq!(
            texts(&miner),
            vec![("<*> <*> <*> reserved <*> timeout".to_owned(), [100, 0])]
        );
    }

    #[test]
    fn long_and_hostile_records_stay_bounded() {
        let mut miner = Miner::new();
        let long = "word ".repeat(10_000);
        miner.add(&long, &long, 0, 1, "s", 1);
        let template = &miner.templates()[0];
        assert_eq!(template.words.len(), MAX_WORDS);
        assert_eq!(template.examples[0].as_ref().unwrap().len(), EXAMPLE_BYTES);
        // A multi-byte character at the cut is not split.
        let korean = "가".repeat(300);
        assert!(cut(&korean, EXAMPLE_BYTES).len() <= EXAMPLE_BYTES);
        // Many distinct first words share the wildcard branch past the cap.
        for i in 0..500 {
            let a = format!("w{}x alpha beta", "abcdefghij".chars().nth(i % 10).unwrap());
            miner.add(&a, &a, 0, 1, "s", 1);
            let b = format!("{} alpha beta", "z".repeat(i % 200 + 1));
            miner.add(&b, &b, 1, 1, "s", 1);
        }
        assert!(miner.templates().len() < 400, "{}", miner.templates().len());
        miner.add("", "", 0, 1, "s", 1);
        miner.add("\u{0}\u{1}", "\u{0}\u{1}", 0, 1, "s", 1);
    }
}
