//! The detector's state as bytes, to store it and resume a series after a
//! restart: every field in declaration order, little-endian, no padding.
//!
//! [`codec_fields!`] lists a struct's fields once and builds both
//! directions from the list, and it constructs the struct from all of them,
//! so a field added to a struct but not to its list does not compile.
//! A state written by another layout is refused as a whole
//! ([`super::Detector::decode`] checks a version byte and the
//! configuration), never half-read.

pub(crate) trait Codec: Sized {
    fn put(&self, out: &mut Vec<u8>);
    /// `None` when `input` ends early.
    fn get(input: &mut &[u8]) -> Option<Self>;
}

fn take<const N: usize>(input: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = input.split_first_chunk::<N>()?;
    *input = rest;
    Some(*head)
}

macro_rules! codec_numbers {
    ($($t:ty),*) => {$(
        impl Codec for $t {
            fn put(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(input: &mut &[u8]) -> Option<Self> {
                take(input).map(<$t>::from_le_bytes)
            }
        }
    )*};
}
codec_numbers!(f64, i64, u64, i32, u32, u8);

impl Codec for bool {
    fn put(&self, out: &mut Vec<u8>) {
        u8::from(*self).put(out);
    }
    fn get(input: &mut &[u8]) -> Option<Self> {
        match u8::get(input)? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

/// As a `u64`, so the bytes do not depend on the platform's word size.
impl Codec for usize {
    fn put(&self, out: &mut Vec<u8>) {
        (*self as u64).put(out);
    }
    fn get(input: &mut &[u8]) -> Option<Self> {
        usize::try_from(u64::get(input)?).ok()
    }
}

impl<T: Codec> Codec for Option<T> {
    fn put(&self, out: &mut Vec<u8>) {
        self.is_some().put(out);
        if let Some(value) = self {
            value.put(out);
        }
    }
    fn get(input: &mut &[u8]) -> Option<Self> {
        Some(if bool::get(input)? {
            Some(T::get(input)?)
        } else {
            None
        })
    }
}

impl<T: Codec + Copy + Default, const N: usize> Codec for [T; N] {
    fn put(&self, out: &mut Vec<u8>) {
        for value in self {
            value.put(out);
        }
    }
    fn get(input: &mut &[u8]) -> Option<Self> {
        let mut values = [T::default(); N];
        for value in &mut values {
            *value = T::get(input)?;
        }
        Some(values)
    }
}

/// `impl Codec` for a struct from the list of its fields:
/// `codec_fields!([const N: usize] Profile<N> { mean, visits })`.
macro_rules! codec_fields {
    ([$($generics:tt)*] $ty:ty { $($field:ident),* $(,)? }) => {
        impl<$($generics)*> $crate::detect::codec::Codec for $ty {
            fn put(&self, out: &mut Vec<u8>) {
                $( $crate::detect::codec::Codec::put(&self.$field, out); )*
            }
            fn get(input: &mut &[u8]) -> Option<Self> {
                Some(Self {
                    $( $field: $crate::detect::codec::Codec::get(input)?, )*
                })
            }
        }
    };
}
pub(crate) use codec_fields;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_bit_for_bit() {
        let mut out = Vec::new();
        (-0.0f64).put(&mut out);
        f64::MIN_POSITIVE.put(&mut out);
        i64::MIN.put(&mut out);
        Some(7u32).put(&mut out);
        None::<i64>.put(&mut out);
        [1u8, 2, 3].put(&mut out);
        usize::MAX.put(&mut out);
        let mut input = out.as_slice();
        assert_eq!(
            f64::get(&mut input).map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
        assert_eq!(f64::get(&mut input), Some(f64::MIN_POSITIVE));
        assert_eq!(i64::get(&mut input), Some(i64::MIN));
        assert_eq!(Option::<u32>::get(&mut input), Some(Some(7)));
        assert_eq!(Option::<i64>::get(&mut input), Some(None));
        assert_eq!(<[u8; 3]>::get(&mut input), Some([1, 2, 3]));
        assert_eq!(usize::get(&mut input), Some(usize::MAX));
        assert!(input.is_empty());
    }

    #[test]
    fn short_or_malformed_input_is_refused() {
        assert_eq!(u64::get(&mut [1u8, 2, 3].as_slice()), None);
        assert_eq!(bool::get(&mut [2u8].as_slice()), None);
        assert_eq!(Option::<u8>::get(&mut [1u8].as_slice()), None);
    }
}
