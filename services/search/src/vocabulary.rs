//! The tenant's names, and how a word of a question finds one: exactly,
//! through the tenant's synonyms, through the built-in glossary, by sound
//! (Hangul written for an English name) or by spelling.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;

/// What the tenant's telemetry names, and its synonyms.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Vocabulary {
    pub services: Vec<String>,
    /// Operation (span) names per service.
    pub operations: BTreeMap<String, Vec<String>>,
    pub metrics: Vec<String>,
    /// Attribute keys, with frequent values.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// A word of the tenant's own (lowercase) for one of its names.
    pub synonyms: BTreeMap<String, String>,
}

/// How a word matched a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum How {
    Exact,
    Synonym,
    Glossary,
    Sound,
    Spelling,
}

impl How {
    /// Whether the match is an approximation the asker should confirm.
    pub fn approximate(self) -> bool {
        matches!(self, How::Sound | How::Spelling)
    }
}

/// The built-in glossary: Korean words for what services do, and the
/// English words their names hold for it.
pub(crate) const GLOSSARY: &[(&str, &[&str])] = &[
    ("결제", &["payment", "payments", "billing", "pay"]),
    ("페이", &["pay", "payment"]),
    ("장바구니", &["cart", "basket"]),
    ("주문", &["order", "orders"]),
    ("인증", &["auth", "authentication", "identity"]),
    ("로그인", &["auth", "login"]),
    ("사용자", &["user", "users", "account"]),
    ("유저", &["user", "users"]),
    ("회원", &["user", "users", "member", "account"]),
    ("계정", &["account", "user"]),
    ("재고", &["inventory", "stock"]),
    ("배송", &["shipping", "delivery", "shipment"]),
    ("검색", &["search"]),
    ("알림", &["notification", "notifications", "notify"]),
    ("상품", &["catalog", "product", "products"]),
    ("카탈로그", &["catalog"]),
    ("추천", &["recommendation", "recommendations"]),
    ("게이트웨이", &["gateway"]),
    ("프론트엔드", &["frontend"]),
    ("프론트", &["frontend"]),
    ("광고", &["ad", "ads"]),
    ("메일", &["mail", "email"]),
    ("이메일", &["email", "mail"]),
];

/// English words too common to be read as a part of a name on their own
/// ("search logs", "order by"): they name a service only when it is
/// called that exactly, or with "service" or "api" after them.
pub const AMBIGUOUS: &[&str] = &[
    "search", "order", "orders", "ad", "ads", "user", "users", "api", "web", "pay", "mail",
    "stock", "account", "member", "login", "identity", "delivery",
];

/// The parts of a name: `order-service` → order, service.
pub(crate) fn parts(name: &str) -> impl Iterator<Item = &str> {
    name.split(['-', '_', '.', ' ']).filter(|p| !p.is_empty())
}

impl Vocabulary {
    /// The lookups a question's words go through, built once per refresh
    /// of the vocabulary, so that reading a question never scans every
    /// name.
    pub fn index(self) -> Names {
        let mut names = Names::default();
        for service in &self.services {
            let lower = service.to_lowercase();
            names.services.insert(lower.clone(), service.clone());
            let mut keys: Vec<String> = parts(&lower).map(str::to_owned).collect();
            for part in keys.clone() {
                // "payments" finds payment, "order" finds orders-api.
                match part.strip_suffix('s') {
                    Some(singular) if !singular.is_empty() => keys.push(singular.to_owned()),
                    _ => keys.push(format!("{part}s")),
                }
            }
            for key in keys {
                push_unique(names.parts.entry(key).or_default(), service);
            }
            for sound in
                std::iter::once(sound_of_latin(&lower)).chain(parts(&lower).map(sound_of_latin))
            {
                if sound.len() >= 2 {
                    push_unique(names.sounds.entry(sound).or_default(), service);
                }
            }
            names
                .by_length
                .entry(lower.chars().count())
                .or_default()
                .push((lower, service.clone()));
        }
        for operations in self.operations.values() {
            for operation in operations {
                let lower = operation.to_lowercase();
                names.operation_words = names.operation_words.max(lower.split(' ').count());
                if names
                    .operations
                    .insert(lower.clone(), operation.clone())
                    .is_none()
                {
                    names.operation_list.push((lower, operation.clone()));
                }
            }
        }
        names.operation_list.sort();
        for metric in &self.metrics {
            let lower = metric.to_lowercase();
            names.metrics.insert(lower.clone(), metric.clone());
            for part in parts(&lower) {
                push_unique(
                    names.metric_parts.entry(part.to_owned()).or_default(),
                    metric,
                );
            }
        }
        for (key, values) in &self.attributes {
            for value in values {
                names
                    .values
                    .entry(value.to_lowercase())
                    .or_default()
                    .push((key.clone(), value.clone()));
            }
        }
        let keys = names
            .services
            .iter()
            .chain(names.metrics.iter())
            .chain(names.operation_list.iter().map(|(l, n)| (l, n)));
        let mut by_key: BTreeMap<(usize, String), Vec<String>> = BTreeMap::new();
        for (lower, name) in keys {
            for key in std::iter::once(lower.as_str()).chain(parts(lower)) {
                let names = by_key.entry((key.len(), key.to_owned())).or_default();
                // A part many names share ("get") suggests a few of them.
                if names.len() < 3 && !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        names.suggest = by_key.into_iter().map(|((l, k), n)| (l, k, n)).collect();
        names.vocabulary = self;
        names
    }
}

fn push_unique(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|n| n == name) {
        list.push(name.to_owned());
    }
}

/// A vocabulary ready for questions ([`Vocabulary::index`]).
#[derive(Clone, Debug, Default)]
pub struct Names {
    vocabulary: Vocabulary,
    /// Lowercase service name → name.
    services: HashMap<String, String>,
    /// A part of service names (and its singular or plural) → the services.
    parts: HashMap<String, Vec<String>>,
    /// The consonant skeleton of a service name or part → the services.
    sounds: HashMap<String, Vec<String>>,
    /// Services by the length of their name, for spelling.
    by_length: BTreeMap<usize, Vec<(String, String)>>,
    /// Lowercase operation name → name.
    operations: HashMap<String, String>,
    /// Every operation (lowercase, name), sorted.
    operation_list: Vec<(String, String)>,
    /// The most words an operation name has.
    operation_words: usize,
    metrics: HashMap<String, String>,
    metric_parts: HashMap<String, Vec<String>>,
    /// A frequent attribute value (lowercase) → (key, value) pairs.
    values: HashMap<String, Vec<(String, String)>>,
    /// (length in bytes, lowercase name or part, a few names holding it)
    /// for every service, metric and operation, by length: what an
    /// unplaced word is compared with for suggestions.
    suggest: Vec<(usize, String, Vec<String>)>,
}

impl Names {
    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocabulary
    }

    /// Whether `name` is one of the tenant's services.
    pub fn has_service(&self, name: &str) -> bool {
        self.services
            .get(&name.to_lowercase())
            .is_some_and(|n| n == name)
    }

    /// The services `word` names, and how. `word` is lowercase and has no
    /// particle; `qualified` says "service" or "api" followed it, so even a
    /// common word may be a name's part.
    pub fn services(&self, word: &str, qualified: bool) -> Option<(Vec<String>, How)> {
        if word.is_empty() {
            return None;
        }
        if let Some(name) = self.services.get(word) {
            return Some((vec![name.clone()], How::Exact));
        }
        // A metric's or operation's own name is not a service's, however
        // close it is spelled.
        if self.metrics.contains_key(word) || self.operations.contains_key(word) {
            return None;
        }
        if let Some(name) = self.vocabulary.synonyms.get(word)
            && self.services.values().any(|s| s == name)
        {
            return Some((vec![name.clone()], How::Synonym));
        }
        // A Korean word of the glossary, or an English word that is a part
        // of names ("order" of order-service).
        let (concepts, how): (Vec<&str>, How) = match GLOSSARY.iter().find(|(ko, _)| *ko == word) {
            Some((_, en)) => (en.to_vec(), How::Glossary),
            None if word.is_ascii() && (qualified || !AMBIGUOUS.contains(&word)) => {
                (vec![word], How::Exact)
            }
            None => (Vec::new(), How::Exact),
        };
        for concept in concepts {
            if let Some(found) = self.parts.get(concept) {
                return Some((sorted(found.iter().cloned()), how));
            }
        }
        if word.chars().all(is_hangul_syllable) {
            let key = sound_of_hangul(word);
            if let Some(found) = self.sounds.get(&key)
                && key.len() >= 2
                && found.len() == 1
            {
                return Some((found.clone(), How::Sound));
            }
        } else if word.is_ascii() {
            let len = word.chars().count();
            let near: Vec<(&str, &str)> = self
                .by_length
                .range(len.saturating_sub(2)..=len + 2)
                .flat_map(|(_, names)| names.iter().map(|(l, n)| (l.as_str(), n.as_str())))
                .collect();
            let lowers: Vec<&str> = near.iter().map(|(l, _)| *l).collect();
            if let Some(lower) = closest_spelling(word, &lowers)
                && let Some((_, name)) = near.iter().find(|(l, _)| *l == lower)
            {
                return Some((vec![(*name).to_owned()], How::Spelling));
            }
        }
        None
    }

    /// The operation called exactly `phrase` (lowercase).
    pub fn operation(&self, phrase: &str) -> Option<&str> {
        self.operations.get(phrase).map(String::as_str)
    }

    /// The most words an operation name has.
    pub fn operation_words(&self) -> usize {
        self.operation_words
    }

    /// Operations whose name ends with `path` (lowercase, starting with
    /// `/`), sorted.
    pub fn operations_ending(&self, path: &str) -> Vec<String> {
        self.operation_list
            .iter()
            .filter(|(lower, _)| lower.ends_with(path))
            .map(|(_, name)| name.clone())
            .collect()
    }

    /// The operation one or two letters off `word`, among names of one word.
    pub fn operation_spelled(&self, word: &str) -> Option<String> {
        let lowers: Vec<&str> = self
            .operation_list
            .iter()
            .filter(|(lower, _)| !lower.contains(' ') && lower.len().abs_diff(word.len()) <= 2)
            .map(|(lower, _)| lower.as_str())
            .collect();
        let lower = closest_spelling(word, &lowers)?;
        self.operations.get(lower).cloned()
    }

    /// The metric one or two letters off `word`.
    pub fn metric_spelled(&self, word: &str) -> Option<String> {
        let lowers: Vec<&str> = self
            .metrics
            .keys()
            .filter(|l| l.len().abs_diff(word.len()) <= 2)
            .map(String::as_str)
            .collect();
        let lower = closest_spelling(word, &lowers)?;
        self.metrics.get(lower).cloned()
    }

    /// The attribute whose frequent value `word` is, when only one is:
    /// (key, value as stored). A value written with capitals matches only
    /// as written (`GET` is a method, "get me" is not).
    /// A service's own name is the service, whatever attributes also hold
    /// it (a client span's `server.address` or `peer.service`).
    pub fn attribute_value(&self, word: &str) -> Option<(String, String)> {
        if self.services.contains_key(&word.to_lowercase()) {
            return None;
        }
        match self.values.get(&word.to_lowercase()).map(Vec::as_slice) {
            Some([one]) if one.1 == word || !one.1.chars().any(char::is_uppercase) => {
                Some(one.clone())
            }
            _ => None,
        }
    }

    /// The metric `word` names: exactly, or as the one metric holding it
    /// as a part (`cpu` → `process.cpu.utilization`).
    pub fn metric(&self, word: &str) -> Option<(String, How)> {
        if let Some(m) = self.metrics.get(word) {
            return Some((m.clone(), How::Exact));
        }
        let word = match word {
            "씨피유" => "cpu",
            "메모리" => "memory",
            "커넥션" | "연결" => "connection",
            "랙" | "지연량" => "lag",
            w => w,
        };
        // Parts every team says of requests, not of one metric.
        if [
            "http", "server", "client", "request", "count", "used", "usage", "duration", "latency",
            "time", "size", "total",
        ]
        .contains(&word)
        {
            return None;
        }
        match self.metric_parts.get(word).map(Vec::as_slice) {
            Some([one]) => Some((one.clone(), How::Exact)),
            _ => None,
        }
    }

    /// Every name a word could have meant, the closest first: for an
    /// unplaced word's suggestions.
    pub fn suggestions(&self, word: &str) -> Vec<String> {
        let mut scored: Vec<(usize, String)> = Vec::new();
        let mut push = |name: &str, d: usize| {
            if !scored.iter().any(|(_, n)| n == name) {
                scored.push((d, name.to_owned()));
            }
        };
        let word = word.to_lowercase();
        if word.chars().all(is_hangul_syllable) {
            let key = sound_of_hangul(&word);
            if key.len() >= 2 {
                for (sound, services) in &self.sounds {
                    if sound.len().abs_diff(key.len()) > 1 {
                        continue;
                    }
                    let d = distance(&key, sound, 1);
                    if d <= 1 {
                        for s in services {
                            push(s, d + 1);
                        }
                    }
                }
            }
        } else {
            let allowed = (word.chars().count() / 3).max(1);
            // Only keys of about the word's length can be that close.
            let len = word.len();
            let from = self.suggest.partition_point(|(l, _, _)| *l + allowed < len);
            for (l, key, names) in &self.suggest[from..] {
                if *l > len + allowed {
                    break;
                }
                let d = distance(&word, key, allowed);
                if d <= allowed {
                    for name in names {
                        push(name, d);
                    }
                }
            }
            // Names holding the word: services and metrics, not the many
            // operations.
            if word.len() >= 3 {
                for (lower, name) in self.services.iter().chain(self.metrics.iter()) {
                    if lower.contains(&word) {
                        push(name, allowed + 1);
                    }
                }
            }
        }
        scored.sort();
        scored.into_iter().take(3).map(|(_, n)| n).collect()
    }
}

/// The one name within the typo tolerance of `word`: one edit for words of
/// five to seven letters, two from eight; none when two names tie.
pub fn closest_spelling<'a>(word: &str, names: &[&'a str]) -> Option<&'a str> {
    let len = word.chars().count();
    let allowed = match len {
        0..=4 => return None,
        5..=7 => 1,
        _ => 2,
    };
    let mut best: Option<(usize, &str)> = None;
    let mut tied = false;
    for name in names {
        let d = distance(word, name, allowed);
        if d == 0 || d > allowed {
            continue;
        }
        match best {
            Some((b, _)) if d > b => {}
            Some((b, _)) if d == b => tied = true,
            _ => {
                best = Some((d, name));
                tied = false;
            }
        }
    }
    if tied { None } else { best.map(|(_, n)| n) }
}

/// Edits (insert, delete, substitute, swap two neighbours) from `a` to
/// `b`, or `usize::MAX` when more than `max`: the rows stop as soon as
/// every cell is over it, so most names cost a few cells.
pub fn distance(a: &str, b: &str, max: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max || a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    // Three rows: two back for a swap, one back, and the one filled.
    let width = b.len() + 1;
    let mut before: Vec<usize> = vec![usize::MAX / 2; width];
    let mut last: Vec<usize> = (0..width).collect();
    let mut row: Vec<usize> = vec![0; width];
    for i in 1..=a.len() {
        row[0] = i;
        let mut least = row[0];
        for j in 1..width {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (last[j] + 1).min(row[j - 1] + 1).min(last[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            row[j] = d;
            least = least.min(d);
        }
        if least > max {
            return usize::MAX;
        }
        std::mem::swap(&mut before, &mut last);
        std::mem::swap(&mut last, &mut row);
    }
    match last[b.len()] {
        d if d <= max => d,
        _ => usize::MAX,
    }
}

fn is_hangul_syllable(c: char) -> bool {
    ('\u{AC00}'..='\u{D7A3}').contains(&c)
}

/// Consonant classes, the key both scripts are compared by: vowels differ
/// too much between an English spelling and its Hangul to count.
const INITIALS: [&str; 19] = [
    "K", "K", "N", "T", "T", "L", "M", "P", "P", "S", "S", "", "J", "J", "C", "K", "T", "P", "H",
];
const FINALS: [&str; 28] = [
    "", "K", "K", "K", "N", "N", "N", "T", "L", "K", "M", "P", "L", "L", "P", "L", "M", "P", "P",
    "T", "T", "G", "T", "T", "K", "T", "P", "T",
];

/// The consonant skeleton of Hangul: 체크아웃 → CKT, 페이먼트 → PMNT.
pub fn sound_of_hangul(word: &str) -> String {
    let mut key = String::new();
    for c in word.chars().filter(|c| is_hangul_syllable(*c)) {
        let index = c as u32 - 0xAC00;
        let initial = (index / (21 * 28)) as usize;
        let last = (index % 28) as usize;
        push_class(&mut key, INITIALS[initial]);
        push_class(&mut key, FINALS[last]);
    }
    key
}

fn push_class(key: &mut String, class: &str) {
    if !class.is_empty() && !key.ends_with(class) {
        key.push_str(class);
    }
}

/// The consonant skeleton of an English word as Korean writes it:
/// checkout → CKT, payment → PMNT, notification → NTPKSN.
pub fn sound_of_latin(word: &str) -> String {
    let w: Vec<char> = word
        .to_lowercase()
        .chars()
        .filter(char::is_ascii_alphabetic)
        .collect();
    let vowel = |i: usize| w.get(i).is_some_and(|c| "aeiouy".contains(*c));
    let mut key = String::new();
    let mut i = 0;
    while i < w.len() {
        let rest: String = w[i..].iter().take(4).collect();
        let (class, used) = if rest.starts_with("tion") || rest.starts_with("sion") {
            ("SN", 4)
        } else if rest.starts_with("ch") {
            ("C", 2)
        } else if rest.starts_with("sh") {
            ("S", 2)
        } else if rest.starts_with("ph") {
            ("P", 2)
        } else if rest.starts_with("th") {
            ("S", 2)
        } else if rest.starts_with("ck") {
            ("K", 2)
        } else if rest.starts_with("ng") {
            ("G", 2)
        } else if rest.starts_with("qu") {
            ("K", 2)
        } else {
            let c = w[i];
            let class = match c {
                'a' | 'e' | 'i' | 'o' | 'u' | 'y' | 'w' => "",
                'c' if w.get(i + 1).is_some_and(|n| "eiy".contains(*n)) => "S",
                'c' | 'k' | 'g' | 'q' => "K",
                'x' => "KS",
                'f' | 'v' | 'b' | 'p' => "P",
                'd' | 't' => "T",
                's' => "S",
                'z' | 'j' => "J",
                'm' => "M",
                'n' => "N",
                'l' => "L",
                'h' => "H",
                'r' if vowel(i + 1) => "L",
                _ => "",
            };
            (class, 1)
        };
        for part in class.chars() {
            push_class(&mut key, &part.to_string());
        }
        i += used;
    }
    key
}

/// The names a word list holds, once each, sorted.
pub fn sorted(names: impl IntoIterator<Item = String>) -> Vec<String> {
    names
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Names {
        Vocabulary {
            services: [
                "checkout",
                "payment",
                "order-service",
                "auth-api",
                "search-api",
                "notification",
                "inventory",
                "catalog",
                "frontend",
                "recommendation",
                "shipping",
                "cart",
            ]
            .map(String::from)
            .to_vec(),
            synonyms: [("pg".to_owned(), "payment".to_owned())].into(),
            metrics: vec!["process.cpu.utilization".into(), "jvm.memory.used".into()],
            attributes: [
                ("server.address".to_owned(), vec!["checkout".to_owned()]),
                ("http.route".to_owned(), vec!["/cart".to_owned()]),
            ]
            .into(),
            ..Vocabulary::default()
        }
        .index()
    }

    #[test]
    fn a_services_name_is_the_service_not_an_attribute_value_holding_it() {
        let names = vocabulary();
        assert_eq!(names.attribute_value("checkout"), None);
        assert_eq!(
            names.attribute_value("/cart"),
            Some(("http.route".to_owned(), "/cart".to_owned()))
        );
    }

    #[test]
    fn hangul_and_english_sound_alike() {
        for (ko, en) in [
            ("체크아웃", "checkout"),
            ("페이먼트", "payment"),
            ("카탈로그", "catalog"),
            ("인벤토리", "inventory"),
            ("프론트엔드", "frontend"),
            ("노티피케이션", "notification"),
            ("레커멘데이션", "recommendation"),
            ("카트", "cart"),
            ("쉬핑", "shipping"),
        ] {
            assert_eq!(sound_of_hangul(ko), sound_of_latin(en), "{ko} {en}");
        }
        assert_ne!(sound_of_hangul("결제"), sound_of_latin("payment"));
    }

    #[test]
    fn words_find_services() {
        let v = vocabulary();
        let find = |w: &str, q: bool| v.services(w, q);
        assert_eq!(
            find("checkout", false),
            Some((vec!["checkout".into()], How::Exact))
        );
        assert_eq!(
            find("pg", false),
            Some((vec!["payment".into()], How::Synonym))
        );
        assert_eq!(
            find("결제", false),
            Some((vec!["payment".into()], How::Glossary))
        );
        assert_eq!(
            find("주문", false),
            Some((vec!["order-service".into()], How::Glossary))
        );
        assert_eq!(
            find("인증", false),
            Some((vec!["auth-api".into()], How::Glossary))
        );
        assert_eq!(
            find("payments", false),
            Some((vec!["payment".into()], How::Exact))
        );
        assert_eq!(
            find("페이먼트", false),
            Some((vec!["payment".into()], How::Sound))
        );
        assert_eq!(
            find("paymnet", false),
            Some((vec!["payment".into()], How::Spelling))
        );
        assert_eq!(
            find("chekout", false),
            Some((vec!["checkout".into()], How::Spelling))
        );
        // A common word alone is not a name's part; with "service" it is.
        assert_eq!(find("search", false), None);
        assert_eq!(
            find("search", true),
            Some((vec!["search-api".into()], How::Exact))
        );
        assert_eq!(find("billing", false), None);
        assert_eq!(
            find("배송", false),
            Some((vec!["shipping".into()], How::Glossary))
        );
    }

    #[test]
    fn metrics_by_name_or_part() {
        let v = vocabulary();
        assert_eq!(v.metric("cpu").unwrap().0, "process.cpu.utilization");
        assert_eq!(v.metric("메모리").unwrap().0, "jvm.memory.used");
        assert_eq!(v.metric("jvm.memory.used").unwrap().1, How::Exact);
        assert!(v.metric("disk").is_none());
    }

    #[test]
    fn suggestions_are_close_names() {
        let v = vocabulary();
        assert_eq!(v.suggestions("paymnt")[0], "payment");
        assert_eq!(v.suggestions("checkot")[0], "checkout");
        assert!(v.suggestions("zzzzzz").is_empty());
    }

    #[test]
    fn distance_counts_swaps_once() {
        assert_eq!(distance("paymnet", "payment", 2), 1);
        assert_eq!(distance("chekout", "checkout", 2), 1);
        assert_eq!(distance("abc", "abc", 0), 0);
        assert_eq!(distance("kitten", "sitting", 3), 3);
        assert_eq!(distance("kitten", "sitting", 2), usize::MAX);
        assert_eq!(distance("ca", "abc", 3), 3);
        assert_eq!(
            closest_spelling("paymnet", &["payment", "shipment"]),
            Some("payment")
        );
        assert_eq!(closest_spelling("cart", &["card"]), None);
    }
}
