//! Paging, the same for every paged RPC (SearchSpans, SearchTraces,
//! SearchLogs, ListMetrics): keyset paging on the sort key, never OFFSET.
//!
//! - A request's `page` gives the page size (0: the configured default; more
//!   than the maximum: RESOURCE_EXHAUSTED naming the limit) and the token of
//!   the previous response.
//! - A page token is opaque to callers: the hex of its fields joined by
//!   U+001F, first a tag naming the RPC and its sort order, then the sort
//!   key of the last item returned. A token is accepted only by the RPC and
//!   order that made it; anything else is INVALID_ARGUMENT
//!   `page.page_token: not a token from this service`.
//! - The next page asks for items strictly after that key in the sort order,
//!   so items arriving later never shift pages already returned.

use std::str::FromStr;

use airis_proto::airis::common::v1::{PageInfo, PageRequest};

use crate::{Error, query::Limits};

/// The name of the paging field in every paged request.
const FIELD: &str = "page";

/// Separates a token's fields. Keys write only numbers and hexadecimal
/// text, so it never occurs inside a field.
const SEPARATOR: char = '\u{1f}';

/// The sort key of the last item of a page, as a page token carries it.
pub trait PageKey: Sized {
    /// Appends the key's fields.
    fn write(&self, fields: &mut Vec<String>);
    /// Reads the key back; `None` when a field is malformed.
    fn read(fields: &mut Fields) -> Option<Self>;
}

/// One page of a request: its size and where the previous page stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<K> {
    /// The RPC and order the tokens of this page belong to.
    tag: String,
    /// Items per page.
    pub size: u32,
    /// The sort key of the previous page's last item; `None` on the first
    /// page.
    pub after: Option<K>,
}

impl<K: PageKey> Page<K> {
    /// The page `request` asks for, for the RPC and order named by `tag`.
    pub fn new(
        tag: impl Into<String>,
        request: Option<&PageRequest>,
        limits: &Limits,
    ) -> Result<Self, Error> {
        let tag = tag.into();
        let size = match request.map_or(0, |p| p.page_size) {
            0 => limits.default_page_size,
            n if n > limits.max_page_size => {
                return Err(Error::LimitExceeded(format!(
                    "{FIELD}.page_size: {n} is more than analytics.limits.max_page_size ({})",
                    limits.max_page_size
                )));
            }
            n => n,
        };
        let token = request.map_or("", |p| p.page_token.as_str());
        let after = decode(&tag, token)?;
        Ok(Self { tag, size, after })
    }

    /// Rows to ask the store for: one more than the page, which tells
    /// whether another page follows.
    pub fn fetch(&self) -> u64 {
        u64::from(self.size) + 1
    }

    /// The token of the page after the one ending at `last`.
    pub fn token(&self, last: &K) -> String {
        let mut fields = vec![self.tag.clone()];
        last.write(&mut fields);
        hex::encode(fields.join(&SEPARATOR.to_string()))
    }

    /// Cuts `items` (fetched with [`Page::fetch`]) to the page and says
    /// where the next one starts: empty when this is the last page.
    pub fn finish<T>(&self, items: &mut Vec<T>, key: impl FnOnce(&T) -> K) -> PageInfo {
        let size = self.size as usize;
        let next_page_token = if items.len() > size {
            items.truncate(size);
            items
                .last()
                .map(|last| self.token(&key(last)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        PageInfo { next_page_token }
    }
}

/// The fields of a token after its tag, read in order.
pub struct Fields(std::vec::IntoIter<String>);

impl Fields {
    /// The next field as text written with [`hex::encode`].
    pub fn hex_text(&mut self) -> Option<String> {
        String::from_utf8(hex::decode(self.0.next()?).ok()?).ok()
    }

    /// The next field parsed as a number.
    pub fn number<T: FromStr>(&mut self) -> Option<T> {
        self.0.next()?.parse().ok()
    }

    /// The next field as a lowercase hexadecimal id of at most 32
    /// characters (trace and span ids, possibly empty).
    pub fn hex_id(&mut self) -> Option<String> {
        let text = self.0.next()?;
        (text.len() <= 32 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| text.to_ascii_lowercase())
    }
}

fn invalid() -> Error {
    Error::InvalidArgument(format!("{FIELD}.page_token: not a token from this service"))
}

/// The key in `token`, made by [`Page::token`] for `tag`; `None` for an
/// empty token (the first page).
fn decode<K: PageKey>(tag: &str, token: &str) -> Result<Option<K>, Error> {
    if token.is_empty() {
        return Ok(None);
    }
    let bytes = hex::decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.split(SEPARATOR).map(str::to_owned);
    if parts.next().as_deref() != Some(tag) {
        return Err(invalid());
    }
    let mut fields = Fields(parts.collect::<Vec<_>>().into_iter());
    let key = K::read(&mut fields).ok_or_else(invalid)?;
    // Every field read, none left over.
    if fields.0.next().is_some() {
        return Err(invalid());
    }
    Ok(Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Key {
        ts: i64,
        id: String,
    }

    impl PageKey for Key {
        fn write(&self, fields: &mut Vec<String>) {
            fields.push(self.ts.to_string());
            fields.push(self.id.clone());
        }

        fn read(fields: &mut Fields) -> Option<Self> {
            Some(Self {
                ts: fields.number()?,
                id: fields.hex_id()?,
            })
        }
    }

    fn request(size: u32, token: &str) -> PageRequest {
        PageRequest {
            page_size: size,
            page_token: token.to_owned(),
        }
    }

    fn page(tag: &str, token: &str) -> Result<Page<Key>, Error> {
        Page::new(tag, Some(&request(2, token)), &Limits::default())
    }

    #[test]
    fn tokens_round_trip_for_their_tag_only() {
        let first = page("spans:1", "").unwrap();
        assert_eq!(first.after, None);
        assert_eq!(first.fetch(), 3);
        let key = Key {
            ts: -5,
            id: "ab".repeat(16),
        };
        let token = first.token(&key);
        assert_eq!(page("spans:1", &token).unwrap().after, Some(key));
        for bad in [
            "zz".to_owned(),
            "'; DROP TABLE x".to_owned(),
            hex::encode("spans:1"),
            hex::encode("spans:1\u{1f}1\u{1f}ab\u{1f}extra"),
            hex::encode("spans:1\u{1f}x\u{1f}ab"),
            hex::encode("spans:1\u{1f}1\u{1f}' OR 1=1"),
        ] {
            let err = page("spans:1", &bad).unwrap_err();
            assert_eq!(
                err.to_string(),
                "page.page_token: not a token from this service"
            );
        }
        // Another RPC's or another order's token.
        assert!(page("spans:2", &token).is_err());
        assert!(page("traces:1", &token).is_err());
    }

    #[test]
    fn sizes_default_and_are_bounded() {
        let limits = Limits::default();
        let default = Page::<Key>::new("t", None, &limits).unwrap();
        assert_eq!(default.size, limits.default_page_size);
        let err = Page::<Key>::new("t", Some(&request(limits.max_page_size + 1, "")), &limits)
            .unwrap_err();
        assert!(matches!(err, Error::LimitExceeded(_)));
        assert!(err.to_string().starts_with("page.page_size"), "{err}");
    }

    #[test]
    fn finish_cuts_the_page_and_points_past_its_last_item() {
        let page = page("t", "").unwrap();
        let key = |n: &i64| Key {
            ts: *n,
            id: String::new(),
        };
        let mut items = vec![1, 2, 3];
        let info = page.finish(&mut items, key);
        assert_eq!(items, [1, 2]);
        let next: Page<Key> = Page::new(
            "t",
            Some(&request(2, &info.next_page_token)),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(next.after.map(|k| k.ts), Some(2));
        let mut items = vec![1, 2];
        assert_eq!(page.finish(&mut items, key).next_page_token, "");
    }
}
