//! Tenant ids: what every request, Kafka record, row and cache key is
//! scoped by. Who a request acts for is [`crate::auth`]'s to decide.

use std::sync::Arc;

/// A validated tenant id, cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant(Arc<str>);

impl Tenant {
    /// Checks the tenant id format: `[a-z0-9][a-z0-9_-]{0,62}`. Ids end up
    /// in Kafka headers, ClickHouse rows and cache keys, so they are kept
    /// boring.
    pub fn parse(id: &str) -> Result<Self, &'static str> {
        let bytes = id.as_bytes();
        if bytes.is_empty() || bytes.len() > 63 {
            return Err("must be 1 to 63 characters");
        }
        if !(bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit()) {
            return Err("must start with a lowercase letter or digit");
        }
        if !bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_')
        {
            return Err("may contain only a-z, 0-9, '-' and '_'");
        }
        Ok(Self(Arc::from(id)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_format() {
        assert!(Tenant::parse("acme-prod_1").is_ok());
        for bad in ["", "-x", "A", "a b", "a/b", &"x".repeat(64)] {
            assert!(Tenant::parse(bad).is_err(), "{bad:?}");
        }
    }
}
