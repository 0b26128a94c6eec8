//! OTLP attributes built in one line: key-values, values, arrays and
//! key-value lists, for whoever produces OTLP (the demo, benchmarks) or
//! tests code that reads it.
//!
//! ```
//! use airis_proto::kv::{array, kv, kvlist};
//!
//! let attributes = vec![
//!     kv("service.name", "checkout"),
//!     kv("http.response.status_code", 200),
//!     kv("tags", array(["a", "b"])),
//!     kv("user", kvlist([kv("id", 7_i64), kv("admin", false)])),
//! ];
//! assert_eq!(attributes[0].key, "service.name");
//! ```

use crate::otlp::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList, any_value};

/// Anything an attribute value or a log body can be made of.
pub trait IntoAnyValue {
    fn into_any_value(self) -> AnyValue;
}

impl IntoAnyValue for AnyValue {
    fn into_any_value(self) -> AnyValue {
        self
    }
}

impl IntoAnyValue for any_value::Value {
    fn into_any_value(self) -> AnyValue {
        AnyValue { value: Some(self) }
    }
}

macro_rules! into_any_value {
    ($($t:ty => |$v:ident| $value:expr;)*) => {$(
        impl IntoAnyValue for $t {
            fn into_any_value(self) -> AnyValue {
                let $v = self;
                AnyValue { value: Some($value) }
            }
        }
    )*};
}

into_any_value! {
    &str => |s| any_value::Value::StringValue(s.to_owned());
    &String => |s| any_value::Value::StringValue(s.clone());
    String => |s| any_value::Value::StringValue(s);
    bool => |b| any_value::Value::BoolValue(b);
    // An integer literal is an i32 unless said otherwise.
    i32 => |i| any_value::Value::IntValue(i64::from(i));
    i64 => |i| any_value::Value::IntValue(i);
    f64 => |f| any_value::Value::DoubleValue(f);
    Vec<u8> => |b| any_value::Value::BytesValue(b);
}

/// An attribute: `key` and its value.
pub fn kv(key: &str, value: impl IntoAnyValue) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(value.into_any_value()),
        ..Default::default()
    }
}

/// A value, e.g. a log record's body.
pub fn any_value(value: impl IntoAnyValue) -> AnyValue {
    value.into_any_value()
}

/// An array value.
pub fn array<T: IntoAnyValue>(values: impl IntoIterator<Item = T>) -> AnyValue {
    any_value::Value::ArrayValue(ArrayValue {
        values: values.into_iter().map(T::into_any_value).collect(),
    })
    .into_any_value()
}

/// A key-value list value (a map).
pub fn kvlist(values: impl IntoIterator<Item = KeyValue>) -> AnyValue {
    any_value::Value::KvlistValue(KeyValueList {
        values: values.into_iter().collect(),
    })
    .into_any_value()
}

#[cfg(test)]
mod tests {
    use super::*;
    use any_value::Value;

    fn value_of(kv: &KeyValue) -> Option<&Value> {
        kv.value.as_ref()?.value.as_ref()
    }

    #[test]
    fn scalars() {
        let owned = String::from("b");
        let cases = [
            (kv("s", "a"), Value::StringValue("a".into())),
            (kv("s", &owned), Value::StringValue("b".into())),
            (kv("s", owned.clone()), Value::StringValue("b".into())),
            (kv("b", true), Value::BoolValue(true)),
            (kv("i", 200), Value::IntValue(200)),
            (kv("i", -1_i64), Value::IntValue(-1)),
            (kv("f", 1.5), Value::DoubleValue(1.5)),
            (kv("x", vec![1_u8, 2]), Value::BytesValue(vec![1, 2])),
            (kv("v", Value::IntValue(3)), Value::IntValue(3)),
        ];
        for (built, want) in cases {
            assert_eq!(value_of(&built), Some(&want), "{}", built.key);
            assert_eq!(built.key_strindex, 0);
        }
        assert_eq!(kv("k", "v").key, "k");
        assert_eq!(
            kv("n", AnyValue { value: None }).value,
            Some(AnyValue { value: None })
        );
    }

    #[test]
    fn containers() {
        assert_eq!(
            array(["a", "b"]),
            any_value(Value::ArrayValue(ArrayValue {
                values: vec![any_value("a"), any_value("b")],
            }))
        );
        assert_eq!(
            kvlist([kv("k", 1)]),
            any_value(Value::KvlistValue(KeyValueList {
                values: vec![kv("k", 1_i64)],
            }))
        );
        assert_eq!(
            array(Vec::<AnyValue>::new()),
            any_value(Value::ArrayValue(ArrayValue::default()))
        );
    }
}
