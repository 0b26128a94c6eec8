//! Words of a question: split at spaces, quotes kept whole, Hangul and
//! Latin letters or digits written together split apart ("500ms넘게",
//! "3시부터", "checkout서비스"), each with its place in the question in
//! UTF-16 code units (what a browser marks with).

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Letters, digits and the punctuation names hold (`.`, `-`, `/`, `_`).
    Word,
    /// Hangul.
    Hangul,
    /// Text between quotes, without them.
    Quote,
    /// A comparison sign: `>`, `>=`, `<`, `<=`, `~`.
    Sign,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// As typed.
    pub text: String,
    /// Lowercase.
    pub norm: String,
    pub kind: Kind,
    /// UTF-16 offsets into the question; `end` exclusive.
    pub start: u32,
    pub end: u32,
}

impl Token {
    /// A number and the unit written after it: `500ms` → (500, "ms"),
    /// `1.5` → (1.5, ""), `99th` → (99, "th"), `9am` → (9, "am").
    pub fn number(&self) -> Option<(f64, &str)> {
        if self.kind != Kind::Word {
            return None;
        }
        let s = self.norm.as_str();
        let digits = s
            .char_indices()
            .take_while(|(_, c)| c.is_ascii_digit() || *c == '.')
            .last()
            .map(|(i, c)| i + c.len_utf8())?;
        let (number, unit) = s.split_at(digits);
        // "1.4.2" is a version, "1." a sentence's end.
        if number.matches('.').count() > 1 || number.ends_with('.') || number.starts_with('.') {
            return None;
        }
        if unit.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == ':') {
            return None;
        }
        number.parse().ok().map(|n| (n, unit))
    }

    /// A whole number with nothing after it.
    pub fn integer(&self) -> Option<u64> {
        match self.number() {
            Some((n, "")) if n.fract() == 0.0 && n >= 0.0 => Some(n as u64),
            _ => None,
        }
    }

    /// A clock time `14:00`, `9:30`: (hour, minute).
    pub fn clock(&self) -> Option<(u8, u8)> {
        let (h, m) = self.norm.split_once(':')?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u8, u8) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some((h, m))
    }
}

/// Quotes and their closing marks.
const QUOTES: [(char, char); 6] = [
    ('"', '"'),
    ('\'', '\''),
    ('“', '”'),
    ('‘', '’'),
    ('「', '」'),
    ('『', '』'),
];

fn is_hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}')
}

/// Punctuation that ends a word rather than belonging to it.
fn is_trailing(c: char) -> bool {
    matches!(
        c,
        ',' | '?'
            | '!'
            | '.'
            | ';'
            | ':'
            | ')'
            | '('
            | '['
            | ']'
            | '，'
            | '。'
            | '？'
            | '！'
            | '…'
            | '\''
    )
}

/// Splits a question into tokens. Control characters and anything that is
/// neither a letter, a digit nor punctuation names use count as spaces.
pub fn tokenize(question: &str) -> Vec<Token> {
    let chars: Vec<(u32, char)> = {
        let mut at = 0u32;
        question
            .chars()
            .map(|c| {
                let here = at;
                at += c.len_utf16() as u32;
                (here, c)
            })
            .collect()
    };
    let end_of = |i: usize| -> u32 {
        chars
            .get(i)
            .map_or_else(|| question.encode_utf16().count() as u32, |(at, _)| *at)
    };
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        if c.is_whitespace() || c.is_control() {
            i += 1;
            continue;
        }
        // A quote, when it closes; a lone apostrophe is punctuation.
        if let Some(&(_, close)) = QUOTES.iter().find(|(open, _)| *open == c)
            && let Some(len) = chars[i + 1..].iter().position(|(_, c)| *c == close)
        {
            let inner: String = chars[i + 1..i + 1 + len].iter().map(|(_, c)| c).collect();
            let trimmed = inner.trim();
            if !trimmed.is_empty() {
                tokens.push(Token {
                    text: trimmed.to_owned(),
                    norm: trimmed.to_lowercase(),
                    kind: Kind::Quote,
                    start: chars[i].0,
                    end: end_of(i + len + 2),
                });
            }
            i += len + 2;
            continue;
        }
        if matches!(c, '>' | '<' | '~' | '≥' | '≤') {
            let mut text = c.to_string();
            if matches!(c, '>' | '<') && chars.get(i + 1).is_some_and(|(_, c)| *c == '=') {
                text.push('=');
            }
            let len = text.chars().count();
            let norm = match text.as_str() {
                "≥" => ">=".to_owned(),
                "≤" => "<=".to_owned(),
                _ => text.clone(),
            };
            tokens.push(Token {
                text,
                norm,
                kind: Kind::Sign,
                start: chars[i].0,
                end: end_of(i + len),
            });
            i += len;
            continue;
        }
        // A run of one script: Hangul, or everything else that is not a
        // space, a quote or a sign.
        let hangul = is_hangul(c);
        let begin = i;
        while i < chars.len() {
            let c = chars[i].1;
            if c.is_whitespace()
                || c.is_control()
                || is_hangul(c) != hangul
                || matches!(
                    c,
                    '>' | '<' | '≥' | '≤' | '"' | '“' | '”' | '「' | '」' | '『' | '』'
                )
                || (c == '~' && i > begin)
            {
                break;
            }
            i += 1;
        }
        if i == begin {
            // Something no rule reads (a lone sign of another kind).
            i += 1;
            continue;
        }
        let mut first = begin;
        let mut last = i;
        while first < last && is_trailing(chars[first].1) {
            first += 1;
        }
        // Trailing punctuation goes, except the `:` of `key:value` (which
        // has text after it anyway) and the `.` inside a name.
        while last > first && is_trailing(chars[last - 1].1) {
            last -= 1;
        }
        // `(s)` and the like leave nothing.
        if first == last {
            continue;
        }
        let text: String = chars[first..last].iter().map(|(_, c)| c).collect();
        if !text.chars().any(char::is_alphanumeric) && !matches!(text.as_str(), "=" | "!=") {
            continue;
        }
        tokens.push(Token {
            norm: text.to_lowercase(),
            text,
            kind: if hangul { Kind::Hangul } else { Kind::Word },
            start: chars[first].0,
            end: end_of(last),
        });
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(q: &str) -> Vec<String> {
        tokenize(q).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn scripts_written_together_are_split() {
        assert_eq!(
            texts("결제서비스에서 500ms넘게 걸린 요청"),
            ["결제서비스에서", "500ms", "넘게", "걸린", "요청"]
        );
        assert_eq!(texts("어제 오후 3시부터"), ["어제", "오후", "3", "시부터"]);
        assert_eq!(
            texts("checkout서비스의 p99.9?"),
            ["checkout", "서비스의", "p99.9"]
        );
    }

    #[test]
    fn quotes_signs_and_names_stay_whole() {
        let tokens =
            tokenize("logs with \"connection reset\" > 2s in http.server.request.duration");
        let kinds: Vec<_> = tokens.iter().map(|t| (t.text.as_str(), t.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("logs", Kind::Word),
                ("with", Kind::Word),
                ("connection reset", Kind::Quote),
                (">", Kind::Sign),
                ("2s", Kind::Word),
                ("in", Kind::Word),
                ("http.server.request.duration", Kind::Word),
            ]
        );
        assert_eq!(
            texts("GET /products/{id}, please."),
            ["GET", "/products/{id}", "please"]
        );
        // An apostrophe that closes nothing is no quote, nor part of a word
        // it ends.
        assert_eq!(texts("checkout's errors"), ["checkout's", "errors"]);
        assert_eq!(texts("errors'; DROP"), ["errors", "DROP"]);
    }

    #[test]
    fn offsets_are_utf16() {
        let tokens = tokenize("😀 결제 \"타임아웃\"");
        assert_eq!((tokens[0].start, tokens[0].end), (3, 5));
        assert_eq!((tokens[1].start, tokens[1].end), (6, 12));
        assert_eq!(tokens[1].text, "타임아웃");
    }

    #[test]
    fn numbers_and_clocks() {
        let n = |s: &str| tokenize(s)[0].number().map(|(n, u)| (n, u.to_owned()));
        assert_eq!(n("500ms"), Some((500.0, "ms".to_owned())));
        assert_eq!(n("1.5"), Some((1.5, String::new())));
        assert_eq!(n("99th"), Some((99.0, "th".to_owned())));
        assert_eq!(n("1.4.2"), None);
        assert_eq!(n("v2"), None);
        assert_eq!(tokenize("14:00")[0].clock(), Some((14, 0)));
        assert_eq!(tokenize("25:00")[0].clock(), None);
    }

    #[test]
    fn control_characters_are_spaces() {
        assert_eq!(
            texts("check\u{0}out\u{7}\terrors"),
            ["check", "out", "errors"]
        );
    }
}
