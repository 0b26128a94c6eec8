//! A browser's session: a random secret in an HttpOnly cookie.
//!
//! Login sets the cookie; Refresh exchanges it for an access token; Logout
//! ends it. The cookie is HttpOnly (no script reads it, so an injected
//! script cannot carry the session away), SameSite=Strict (other sites'
//! pages cannot make the browser send it) and scoped to the auth service's
//! path, so no other call carries it. It is `Secure` when the edge says the
//! browser came over HTTPS (`x-forwarded-proto`); a local platform on
//! plain http://127.0.0.1 still works.
//!
//! The token store keeps sessions by id, the SHA-256 of the secret: an
//! admin listing tokens sees ids that open nothing.

use airis_proto::tonic::metadata::{Ascii, MetadataMap, MetadataValue};
use sha2::{Digest as _, Sha256};

use crate::Error;

pub const COOKIE: &str = "airis_session";
/// Where the browser sends the cookie: the auth service's RPCs only.
pub const COOKIE_PATH: &str = "/airis.gateway.v1.AuthService/";

/// A new secret: 256 random bits, hex.
pub fn new_secret() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// The session id under which the token store keeps `secret`.
pub fn id(secret: &str) -> String {
    hex::encode(&Sha256::digest(secret.as_bytes())[..16])
}

/// The session secret of the request's `cookie` metadata. HTTP/2 may split
/// cookies over several `cookie` entries; malformed pairs are skipped.
/// Two different session cookies are no session: a cookie planted by a
/// sibling domain or a longer path must not sign the browser in as someone
/// else.
pub fn secret(metadata: &MetadataMap) -> Option<String> {
    let mut found = metadata
        .get_all("cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim_matches('"'));
    let first = found.next()?;
    if found.any(|other| other != first) {
        return None;
    }
    // Only what new_secret makes: anything else is no session.
    (first.len() == 64 && first.bytes().all(|b| b.is_ascii_hexdigit())).then(|| first.to_owned())
}

/// Whether the browser reached the edge over HTTPS.
pub fn over_https(metadata: &MetadataMap) -> bool {
    metadata
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// The `set-cookie` value that stores `secret` for `max_age_secs`; an empty
/// secret with 0 clears the cookie.
pub fn set_cookie(secret: &str, max_age_secs: i64, secure: bool) -> MetadataValue<Ascii> {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{COOKIE}={secret}; Path={COOKIE_PATH}; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure}"
    );
    // Hex, digits and fixed ASCII text: always a valid header value.
    MetadataValue::try_from(value).expect("cookie is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookies(values: &[&str]) -> MetadataMap {
        let mut metadata = MetadataMap::new();
        for value in values {
            metadata.append("cookie", value.parse().unwrap());
        }
        metadata
    }

    #[test]
    fn the_secret_is_found_among_other_cookies_and_split_headers() {
        let secret = "ab".repeat(32);
        let found = secret_of(&[&format!("theme=dark; {COOKIE}={secret}; lang=ko")]);
        assert_eq!(found.as_deref(), Some(secret.as_str()));
        let found = secret_of(&["theme=dark", &format!("{COOKIE}={secret}")]);
        assert_eq!(found.as_deref(), Some(secret.as_str()));
    }

    fn secret_of(values: &[&str]) -> Option<String> {
        secret(&with_cookies(values))
    }

    #[test]
    fn two_different_session_cookies_are_no_session() {
        let (a, b) = ("ab".repeat(32), "cd".repeat(32));
        let planted = format!("{COOKIE}={a}; {COOKIE}={b}");
        assert_eq!(secret_of(&[&planted]), None);
        let repeated = format!("{COOKIE}={a}; {COOKIE}={a}");
        assert_eq!(secret_of(&[&repeated]).as_deref(), Some(a.as_str()));
    }

    #[test]
    fn anything_but_a_secret_we_made_is_no_session() {
        assert_eq!(secret_of(&[]), None);
        assert_eq!(secret_of(&["theme=dark"]), None);
        assert_eq!(secret_of(&[&format!("{COOKIE}=short")]), None);
        assert_eq!(secret_of(&[&format!("{COOKIE}={}", "zz".repeat(32))]), None);
        assert_eq!(
            secret_of(&[&format!("x{COOKIE}={}", "ab".repeat(32))]),
            None
        );
    }

    #[test]
    fn ids_are_stable_and_do_not_reveal_the_secret() {
        let secret = new_secret().unwrap();
        assert_eq!(secret.len(), 64);
        assert_eq!(id(&secret), id(&secret));
        assert_eq!(id(&secret).len(), 32);
        assert!(!secret.contains(&id(&secret)));
        assert_ne!(id(&secret), id(&new_secret().unwrap()));
    }

    #[test]
    fn cookies_are_http_only_strict_scoped_and_secure_over_https() {
        let cookie = set_cookie("s", 60, false);
        assert_eq!(
            cookie.to_str().unwrap(),
            "airis_session=s; Path=/airis.gateway.v1.AuthService/; Max-Age=60; HttpOnly; SameSite=Strict"
        );
        assert!(
            set_cookie("s", 60, true)
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );
        let mut metadata = MetadataMap::new();
        assert!(!over_https(&metadata));
        metadata.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(over_https(&metadata));
    }
}
