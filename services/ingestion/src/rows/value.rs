//! OTLP `AnyValue` → `String`, byte for byte as the Collector's ClickHouse
//! exporter stores it (pdata's `Value.AsString()`):
//!
//! - string: as is; empty value: `""`;
//! - bool: `true` / `false`; int: decimal;
//! - double: Go's JSON number formatting (shortest round-trip digits, `%f`
//!   style, exponent form below 1e-6 and from 1e21 on: `1e-7`, `1e+21`);
//!   NaN/±Inf: `json: unsupported value: NaN` (what pdata writes);
//! - bytes: standard base64 with padding;
//! - array / kvlist: JSON of the raw value, as Go's `encoding/json` without
//!   HTML escaping writes it: map keys sorted, a repeated key keeps its last
//!   value, bytes as base64 strings, empty values as `null`; if the value
//!   holds a NaN or infinite double, Go fails to encode it and stores `""`.

use airis_proto::otlp::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use std::fmt::Write as _;

/// The exporter's string for an attribute or body value.
#[cfg(test)]
pub(crate) fn any_value_string(value: Option<&AnyValue>) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => Cow::Borrowed(s.as_str()),
        None => Cow::Borrowed(""),
        Some(other) => {
            let mut out = String::new();
            write_any_value(&mut out, other);
            Cow::Owned(out)
        }
    }
}

/// Appends the exporter's string for `value` to `out`.
pub(crate) fn write_any_value(out: &mut String, value: &Value) {
    match value {
        Value::StringValue(s) => out.push_str(s),
        Value::BoolValue(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::IntValue(i) => {
            let _ = write!(out, "{i}");
        }
        Value::DoubleValue(f) => {
            if f.is_finite() {
                write_go_float(out, *f);
            } else {
                out.push_str("json: unsupported value: ");
                out.push_str(go_non_finite(*f));
            }
        }
        Value::BytesValue(bytes) => write_base64(out, bytes),
        Value::ArrayValue(array) => {
            let start = out.len();
            if write_json_array(out, &array.values).is_err() {
                out.truncate(start);
            }
        }
        Value::KvlistValue(list) => {
            let start = out.len();
            if write_json_object(out, &list.values).is_err() {
                out.truncate(start);
            }
        }
        // Only meaningful inside profiles (an index into a string table);
        // pdata has no such value type for other signals.
        Value::StringValueStrindex(_) => {}
    }
}

fn go_non_finite(f: f64) -> &'static str {
    if f.is_nan() {
        "NaN"
    } else if f > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

/// Go's `strconv.FormatFloat` as `encoding/json` uses it for float64.
pub(crate) fn write_go_float(out: &mut String, f: f64) {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let start = out.len();
        let _ = write!(out, "{f:e}");
        // Rust writes `1e21` / `1e-7`; Go writes `1e+21` / `1e-7`.
        if let Some(e) = out[start..].find('e') {
            let at = start + e + 1;
            if out.as_bytes().get(at) != Some(&b'-') {
                out.insert(at, '+');
            }
        }
    } else {
        // Rust's Display is the shortest round-trip representation without
        // exponent, as Go's 'f' format with precision -1.
        let _ = write!(out, "{f}");
    }
}

/// A double Go's JSON encoder refuses.
#[derive(Debug)]
struct Unsupported;

fn write_json_value(out: &mut String, value: Option<&AnyValue>) -> Result<(), Unsupported> {
    match value.and_then(|v| v.value.as_ref()) {
        None | Some(Value::StringValueStrindex(_)) => out.push_str("null"),
        Some(Value::StringValue(s)) => write_json_string(out, s),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(f)) => {
            if !f.is_finite() {
                return Err(Unsupported);
            }
            write_go_float(out, *f);
        }
        Some(Value::BytesValue(bytes)) => {
            out.push('"');
            write_base64(out, bytes);
            out.push('"');
        }
        Some(Value::ArrayValue(array)) => write_json_array(out, &array.values)?,
        Some(Value::KvlistValue(list)) => write_json_object(out, &list.values)?,
    }
    Ok(())
}

fn write_json_array(out: &mut String, values: &[AnyValue]) -> Result<(), Unsupported> {
    out.push('[');
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_value(out, Some(value))?;
    }
    out.push(']');
    Ok(())
}

fn write_json_object(out: &mut String, values: &[KeyValue]) -> Result<(), Unsupported> {
    // Go marshals a map: keys sorted bytewise, one entry per key (the last
    // one assigned wins when pdata builds the map).
    let mut entries: Vec<&KeyValue> = values.iter().collect();
    entries.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
    out.push('{');
    let mut first = true;
    for (i, kv) in entries.iter().enumerate() {
        if entries.get(i + 1).is_some_and(|next| next.key == kv.key) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        write_json_string(out, &kv.key);
        out.push(':');
        write_json_value(out, kv.value.as_ref())?;
    }
    out.push('}');
    Ok(())
}

/// A JSON string as Go's encoder writes it with HTML escaping off.
fn write_json_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut plain_from = 0;
    for (i, c) in s.char_indices() {
        let escape: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\u{2028}' => Some("\\u2028"),
            '\u{2029}' => Some("\\u2029"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.push_str(&s[plain_from..i]);
        plain_from = i + c.len_utf8();
        match escape {
            Some(e) => out.push_str(e),
            None => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
        }
    }
    out.push_str(&s[plain_from..]);
    out.push('"');
}

/// Standard base64 with padding, as Go's `base64.StdEncoding`.
pub(crate) fn write_base64(out: &mut String, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.reserve(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(ALPHABET[(n >> 18) as usize & 63] as char);
        out.push(ALPHABET[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            ALPHABET[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            ALPHABET[n as usize & 63] as char
        } else {
            '='
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airis_proto::kv::{any_value, kv};
    use airis_proto::otlp::tonic::common::v1::{ArrayValue, KeyValueList};

    fn s(value: Value) -> String {
        any_value_string(Some(&any_value(value))).into_owned()
    }

    #[test]
    fn scalars() {
        assert_eq!(s(Value::StringValue("x".into())), "x");
        assert_eq!(s(Value::BoolValue(true)), "true");
        assert_eq!(s(Value::BoolValue(false)), "false");
        assert_eq!(s(Value::IntValue(-42)), "-42");
        assert_eq!(s(Value::IntValue(i64::MAX)), "9223372036854775807");
        assert_eq!(any_value_string(None), "");
        assert_eq!(any_value_string(Some(&AnyValue { value: None })), "");
    }

    #[test]
    fn doubles_format_like_go() {
        let cases = [
            (1.0, "1"),
            (-0.0, "-0"),
            (0.0, "0"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (123456789.0, "123456789"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (-2.5e-10, "-2.5e-10"),
            (12.375, "12.375"),
        ];
        for (f, want) in cases {
            assert_eq!(s(Value::DoubleValue(f)), want, "{f:?}");
        }
        assert_eq!(
            s(Value::DoubleValue(f64::NAN)),
            "json: unsupported value: NaN"
        );
        assert_eq!(
            s(Value::DoubleValue(f64::INFINITY)),
            "json: unsupported value: +Inf"
        );
    }

    #[test]
    fn bytes_are_base64() {
        assert_eq!(s(Value::BytesValue(vec![])), "");
        assert_eq!(s(Value::BytesValue(b"f".to_vec())), "Zg==");
        assert_eq!(s(Value::BytesValue(b"fo".to_vec())), "Zm8=");
        assert_eq!(s(Value::BytesValue(b"foo".to_vec())), "Zm9v");
        assert_eq!(s(Value::BytesValue(vec![0xfb, 0xff])), "+/8=");
    }

    #[test]
    fn arrays_and_maps_are_go_json() {
        let array = Value::ArrayValue(ArrayValue {
            values: vec![
                any_value(Value::StringValue("a\"b<&>\n\u{1}\u{2028}é".into())),
                any_value(Value::IntValue(1)),
                any_value(Value::DoubleValue(2.5)),
                any_value(Value::BoolValue(true)),
                AnyValue { value: None },
                any_value(Value::BytesValue(b"hi".to_vec())),
            ],
        });
        assert_eq!(
            s(array),
            r#"["a\"b<&>\n\u0001\u2028é",1,2.5,true,null,"aGk="]"#
        );
        let map = Value::KvlistValue(KeyValueList {
            values: vec![
                kv("z", Value::IntValue(1)),
                kv("a", Value::StringValue("first".into())),
                kv(
                    "m",
                    Value::KvlistValue(KeyValueList {
                        values: vec![
                            kv("y", Value::BoolValue(false)),
                            kv("x", Value::DoubleValue(1e21)),
                        ],
                    }),
                ),
                kv("a", Value::StringValue("last".into())),
            ],
        });
        assert_eq!(s(map), r#"{"a":"last","m":{"x":1e+21,"y":false},"z":1}"#);
        let empty = Value::KvlistValue(KeyValueList { values: vec![] });
        assert_eq!(s(empty), "{}");
        let bad = Value::ArrayValue(ArrayValue {
            values: vec![any_value(Value::DoubleValue(f64::NAN))],
        });
        assert_eq!(s(bad), "");
    }
}
