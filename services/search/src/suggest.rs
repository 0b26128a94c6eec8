//! Completions of the word being typed (`SearchService.Suggest`): every
//! name of the tenant's, each name part, synonym and glossary word that
//! leads to one, in one sorted list, so that a prefix is a binary search
//! and a short scan.

use std::collections::HashSet;

use airis_proto::airis::search::v1::{Suggestion, SuggestionKind};

use crate::vocabulary::{GLOSSARY, Vocabulary, parts};

/// The words of a name a completion may start at: those of
/// [`parts`], and the segments of a path (`/payment-status`).
fn starts(lower: &str) -> impl Iterator<Item = &str> {
    lower
        .split(['-', '_', '.', ' ', '/', ':'])
        .filter(|p| !p.is_empty())
}

/// Longest prefix, in bytes.
pub const MAX_PREFIX_BYTES: usize = 128;
/// Completions when the request does not say.
pub const DEFAULT_LIMIT: usize = 10;
/// Most completions a request may ask for.
pub const MAX_LIMIT: usize = 50;

/// How a key leads to its name; the order completions are ranked in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    /// The key is the whole name.
    Name,
    /// The key is a part of the name (`api` of payment-api).
    Part,
    /// The key is a synonym or glossary word for it.
    Word,
}

#[derive(Clone, Debug)]
struct Entry {
    /// Lowercase.
    key: String,
    reach: Reach,
    suggestion: Suggestion,
}

/// The completions of one vocabulary ([`Completions::new`]).
#[derive(Clone, Debug, Default)]
pub struct Completions {
    /// Sorted by key.
    entries: Vec<Entry>,
}

fn kind_rank(kind: i32) -> u8 {
    match SuggestionKind::try_from(kind).unwrap_or(SuggestionKind::Unspecified) {
        SuggestionKind::Service => 0,
        SuggestionKind::Metric => 1,
        SuggestionKind::Operation => 2,
        SuggestionKind::Attribute => 3,
        SuggestionKind::AttributeValue => 4,
        SuggestionKind::Unspecified => 5,
    }
}

impl Completions {
    pub fn new(vocabulary: &Vocabulary) -> Self {
        let mut entries = Vec::new();
        let mut add = |key: &str, reach: Reach, suggestion: &Suggestion| {
            entries.push(Entry {
                key: key.to_lowercase(),
                reach,
                suggestion: suggestion.clone(),
            });
        };
        let named = |text: &str, kind: SuggestionKind| Suggestion {
            text: text.to_owned(),
            kind: kind as i32,
            ..Suggestion::default()
        };
        let with_parts = |s: &Suggestion, add: &mut dyn FnMut(&str, Reach, &Suggestion)| {
            let lower = s.text.to_lowercase();
            add(&lower, Reach::Name, s);
            let mut seen = HashSet::new();
            // A part the name starts with is found as the name already.
            for part in starts(&lower).filter(|p| !lower.starts_with(*p)) {
                if seen.insert(part.to_owned()) {
                    add(part, Reach::Part, s);
                }
            }
        };
        for service in &vocabulary.services {
            with_parts(&named(service, SuggestionKind::Service), &mut add);
        }
        for metric in &vocabulary.metrics {
            with_parts(&named(metric, SuggestionKind::Metric), &mut add);
        }
        for (service, operations) in &vocabulary.operations {
            for operation in operations {
                let mut s = named(operation, SuggestionKind::Operation);
                s.service_name = service.clone();
                with_parts(&s, &mut add);
            }
        }
        for (key, values) in &vocabulary.attributes {
            with_parts(&named(key, SuggestionKind::Attribute), &mut add);
            for value in values {
                let mut s = named(value, SuggestionKind::AttributeValue);
                s.attribute = key.clone();
                add(value, Reach::Name, &s);
            }
        }
        // Glossary words lead to the services whose name holds one of
        // their English words (결제 → payment-api).
        for (word, english) in GLOSSARY {
            for service in &vocabulary.services {
                let lower = service.to_lowercase();
                if parts(&lower).any(|p| english.contains(&p)) {
                    let mut s = named(service, SuggestionKind::Service);
                    s.via = (*word).to_owned();
                    add(word, Reach::Word, &s);
                }
            }
        }
        for (word, name) in &vocabulary.synonyms {
            let kind = if vocabulary.services.contains(name) {
                SuggestionKind::Service
            } else if vocabulary.metrics.contains(name) {
                SuggestionKind::Metric
            } else {
                continue;
            };
            let mut s = named(name, kind);
            s.via = word.clone();
            add(word, Reach::Word, &s);
        }
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        Self { entries }
    }

    /// At most `limit` completions of `prefix`, ranked as the proto says;
    /// one per name (and service, for operations).
    pub fn complete(&self, prefix: &str, limit: usize) -> Vec<Suggestion> {
        let prefix = prefix.trim().to_lowercase();
        if prefix.is_empty() || limit == 0 {
            return Vec::new();
        }
        let from = self
            .entries
            .partition_point(|e| e.key.as_str() < prefix.as_str());
        let mut found: Vec<&Entry> = self.entries[from..]
            .iter()
            .take_while(|e| e.key.starts_with(&prefix))
            .collect();
        found.sort_by(|a, b| {
            (
                a.reach,
                kind_rank(a.suggestion.kind),
                a.suggestion.text.len(),
                &a.suggestion.text,
            )
                .cmp(&(
                    b.reach,
                    kind_rank(b.suggestion.kind),
                    b.suggestion.text.len(),
                    &b.suggestion.text,
                ))
        });
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for entry in found {
            let s = &entry.suggestion;
            if seen.insert((
                s.kind,
                s.text.clone(),
                s.service_name.clone(),
                s.attribute.clone(),
            )) {
                out.push(s.clone());
                if out.len() == limit {
                    break;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        let mut v = Vocabulary {
            services: ["payment-api", "checkout", "cart", "payroll"]
                .map(str::to_owned)
                .to_vec(),
            metrics: vec!["http.server.duration".to_owned()],
            ..Vocabulary::default()
        };
        v.operations.insert(
            "checkout".into(),
            vec!["POST /checkout".into(), "GET /payment-status".into()],
        );
        v.attributes
            .insert("http.route".into(), vec!["/pay".into(), "/cart".into()]);
        v.synonyms.insert("지불".into(), "payment-api".into());
        v
    }

    fn texts(list: &[Suggestion]) -> Vec<&str> {
        list.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn names_starting_with_the_prefix_come_first_then_parts_then_words() {
        let c = Completions::new(&vocabulary());
        let got = c.complete("Pay", 10);
        assert_eq!(
            texts(&got),
            ["payroll", "payment-api", "GET /payment-status"]
        );
        assert_eq!(got[0].kind, SuggestionKind::Service as i32);
        // "payment-status" is a part of an operation's name.
        let got = c.complete("payment", 10);
        assert_eq!(texts(&got), ["payment-api", "GET /payment-status"]);
        assert_eq!(got[1].service_name, "checkout");
        let got = c.complete("dur", 10);
        assert_eq!(texts(&got), ["http.server.duration"]);
        assert_eq!(got[0].kind, SuggestionKind::Metric as i32);
    }

    #[test]
    fn korean_words_reach_names_through_the_glossary_and_synonyms() {
        let c = Completions::new(&vocabulary());
        let got = c.complete("결", 10);
        assert_eq!(texts(&got), ["payment-api"]);
        assert_eq!(got[0].via, "결제");
        let got = c.complete("지", 10);
        assert_eq!(texts(&got), ["payment-api"]);
        assert_eq!(got[0].via, "지불");
        assert_eq!(texts(&c.complete("장바", 10)), ["cart"]);
    }

    #[test]
    fn attribute_keys_and_values_complete_with_their_key() {
        let c = Completions::new(&vocabulary());
        let got = c.complete("/ca", 10);
        assert_eq!(texts(&got), ["/cart"]);
        assert_eq!(got[0].attribute, "http.route");
        assert_eq!(got[0].kind, SuggestionKind::AttributeValue as i32);
        assert_eq!(texts(&c.complete("route", 10)), ["http.route"]);
    }

    #[test]
    fn nothing_for_an_empty_or_unknown_prefix_and_at_most_the_limit() {
        let c = Completions::new(&vocabulary());
        assert!(c.complete("", 10).is_empty());
        assert!(c.complete("  ", 10).is_empty());
        assert!(c.complete("zzz", 10).is_empty());
        assert_eq!(c.complete("p", 1).len(), 1);
        assert!(c.complete("p", 0).is_empty());
    }
}
