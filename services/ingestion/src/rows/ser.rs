//! Zero-copy serialization helpers: row fields that borrow the decoded OTLP
//! messages and write them straight into the RowBinary buffer.

use airis_proto::otlp::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use std::fmt::Write as _;

use super::value::write_any_value;

/// An attribute value written as the exporter's string (`String` column).
#[derive(Clone, Copy)]
pub(crate) struct AnyStr<'a>(pub(crate) Option<&'a AnyValue>);

impl Serialize for AnyStr<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.and_then(|v| v.value.as_ref()) {
            Some(Value::StringValue(s)) => serializer.serialize_str(s),
            None => serializer.serialize_str(""),
            Some(Value::BoolValue(b)) => {
                serializer.serialize_str(if *b { "true" } else { "false" })
            }
            Some(Value::IntValue(i)) => {
                // No allocation for the most common non-string attributes.
                let mut buf = StackStr::default();
                let _ = write!(buf, "{i}");
                serializer.serialize_str(buf.as_str())
            }
            Some(other) => {
                let mut out = String::new();
                write_any_value(&mut out, other);
                serializer.serialize_str(&out)
            }
        }
    }
}

/// A small string on the stack, for formatting integers.
#[derive(Default)]
struct StackStr {
    buf: [u8; 24],
    len: usize,
}

impl StackStr {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Attributes as `Map(LowCardinality(String), String)`, in the order sent.
#[derive(Clone, Copy)]
pub(crate) struct Attrs<'a>(pub(crate) &'a [KeyValue]);

impl Serialize for Attrs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for kv in self.0 {
            map.serialize_entry(kv.key.as_str(), &AnyStr(kv.value.as_ref()))?;
        }
        map.end()
    }
}

/// Lowercase hex of an id; `""` when the id is empty or all zeros
/// (the exporter's `TraceIDToHexOrEmptyString`).
#[derive(Clone, Copy)]
pub(crate) struct HexId<'a>(pub(crate) &'a [u8]);

/// Lowercase hex of an id of `N` bytes; an empty id is written as `N` zero
/// bytes (the exporter hex-encodes exemplar ids without the empty check).
#[derive(Clone, Copy)]
pub(crate) struct HexFixed<'a, const N: usize>(pub(crate) &'a [u8]);

const HEX: &[u8; 16] = b"0123456789abcdef";

fn serialize_hex<S: Serializer>(serializer: S, bytes: &[u8]) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 64];
    if bytes.len() * 2 <= buf.len() {
        for (i, b) in bytes.iter().enumerate() {
            buf[2 * i] = HEX[usize::from(b >> 4)];
            buf[2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
        let text = std::str::from_utf8(&buf[..bytes.len() * 2]).unwrap_or_default();
        serializer.serialize_str(text)
    } else {
        serializer.serialize_str(&hex::encode(bytes))
    }
}

impl Serialize for HexId<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.iter().all(|b| *b == 0) {
            serializer.serialize_str("")
        } else {
            serialize_hex(serializer, self.0)
        }
    }
}

impl<const N: usize> Serialize for HexFixed<'_, N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            serialize_hex(serializer, &[0u8; N])
        } else {
            serialize_hex(serializer, self.0)
        }
    }
}

/// One column of a `Nested` structure: `Array(T)` made of one field of each
/// element of a slice.
pub(crate) struct Column<'a, T, R>(pub(crate) &'a [T], pub(crate) fn(&'a T) -> R);

impl<T, R: Serialize> Serialize for Column<'_, T, R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&(self.1)(item))?;
        }
        seq.end()
    }
}

/// Nanoseconds since the epoch as a `DateTime64(9)` value. Times past
/// 2262-04-11 (beyond `i64`) are clamped.
pub(crate) fn nanos(unix_nano: u64) -> i64 {
    i64::try_from(unix_nano).unwrap_or(i64::MAX)
}
