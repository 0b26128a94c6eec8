//! EdDSA (Ed25519) JSON Web Tokens: signing, verification and the JWKS
//! document that Envoy's jwt_authn and Istio's RequestAuthentication fetch.
//!
//! Only what AIRIS-MON issues is accepted: header `alg` must be `EdDSA` and
//! `kid` this key's id; `iss` and `aud` must match; `exp` must be in the
//! future. Anything else is [`JwtError`], which the service reports as
//! UNAUTHENTICATED without details.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};

/// The claims of every AIRIS-MON token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// User name, or `ingest` for ingest tokens.
    pub sub: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: i64,
    /// Token id: revocation and listing refer to it.
    pub jti: String,
    pub tenant: String,
    /// `viewer`, `editor`, `admin`, or `ingest`.
    pub role: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("not a JWT")]
    Malformed,
    #[error("unsupported header")]
    Header,
    #[error("bad signature")]
    Signature,
    #[error("wrong issuer or audience")]
    Foreign,
    #[error("expired")]
    Expired,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

/// The gateway's signing key, with the id it publishes it under.
#[derive(Clone)]
pub struct Keys {
    signing: SigningKey,
    verifying: VerifyingKey,
    kid: String,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// Keys from a 32-byte Ed25519 seed.
    pub fn from_seed(seed: &[u8; 32], issuer: &str, audience: &str) -> Self {
        let signing = SigningKey::from_bytes(seed);
        let verifying = signing.verifying_key();
        // The key id names the public key, so a rotated key gets a new id.
        let kid = hex::encode(&verifying.as_bytes()[..8]);
        Self {
            signing,
            verifying,
            kid,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Signs `claims` into a compact JWT.
    pub fn sign(&self, claims: &Claims) -> String {
        let header = Header {
            alg: "EdDSA".to_owned(),
            typ: "JWT".to_owned(),
            kid: self.kid.clone(),
        };
        // Serialising plain structs of strings and integers cannot fail.
        let header = B64.encode(serde_json::to_vec(&header).expect("header serialises"));
        let payload = B64.encode(serde_json::to_vec(claims).expect("claims serialise"));
        let signing_input = format!("{header}.{payload}");
        let signature = self.signing.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", B64.encode(signature.to_bytes()))
    }

    /// Verifies `token` at `now` (seconds since the epoch).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, JwtError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let decode = |part: &str| B64.decode(part).map_err(|_| JwtError::Malformed);
        let parsed: Header =
            serde_json::from_slice(&decode(header)?).map_err(|_| JwtError::Malformed)?;
        if parsed.alg != "EdDSA" || parsed.kid != self.kid {
            return Err(JwtError::Header);
        }
        let signature =
            Signature::from_slice(&decode(signature)?).map_err(|_| JwtError::Malformed)?;
        let signing_input = &token[..header.len() + 1 + payload.len()];
        self.verifying
            .verify(signing_input.as_bytes(), &signature)
            .map_err(|_| JwtError::Signature)?;
        let claims: Claims =
            serde_json::from_slice(&decode(payload)?).map_err(|_| JwtError::Malformed)?;
        if claims.iss != self.issuer || claims.aud != self.audience {
            return Err(JwtError::Foreign);
        }
        if claims.exp <= now {
            return Err(JwtError::Expired);
        }
        Ok(claims)
    }

    /// The JWKS document (RFC 7517, OKP key of RFC 8037).
    pub fn jwks(&self) -> String {
        serde_json::json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": self.kid,
                "x": B64.encode(self.verifying.as_bytes()),
            }]
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_seed(&[7; 32], "airis-gateway", "airis")
    }

    fn claims() -> Claims {
        Claims {
            iss: "airis-gateway".into(),
            aud: "airis".into(),
            sub: "kim".into(),
            iat: 1_000,
            exp: 2_000,
            jti: "t1".into(),
            tenant: "acme".into(),
            role: "admin".into(),
        }
    }

    #[test]
    fn signed_tokens_verify_until_they_expire() {
        let keys = keys();
        let token = keys.sign(&claims());
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(keys.verify(&token, 1_500), Ok(claims()));
        assert_eq!(keys.verify(&token, 2_000), Err(JwtError::Expired));
    }

    #[test]
    fn tampering_other_keys_and_foreign_claims_are_refused() {
        let keys = keys();
        let token = keys.sign(&claims());
        // Another tenant spliced into the payload.
        let mut forged = claims();
        forged.tenant = "globex".into();
        let parts: Vec<&str> = token.split('.').collect();
        let payload = B64.encode(serde_json::to_vec(&forged).unwrap());
        let spliced = format!("{}.{payload}.{}", parts[0], parts[2]);
        assert_eq!(keys.verify(&spliced, 1_500), Err(JwtError::Signature));
        // Signed by another key with the same kid is impossible (the kid
        // names the key), so another key is a header mismatch.
        let other = Keys::from_seed(&[8; 32], "airis-gateway", "airis");
        assert_eq!(
            keys.verify(&other.sign(&claims()), 1_500),
            Err(JwtError::Header)
        );
        // alg none.
        let none = format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none","typ":"JWT","kid":"x"}"#),
            parts[1]
        );
        assert_eq!(keys.verify(&none, 1_500), Err(JwtError::Header));
        let foreign = Keys::from_seed(&[7; 32], "someone-else", "airis");
        assert_eq!(
            keys.verify(
                &foreign.sign(&Claims {
                    iss: "someone-else".into(),
                    ..claims()
                }),
                1_500
            ),
            Err(JwtError::Foreign)
        );
        for garbage in ["", "a.b", "a.b.c.d", "!!.??.**", "e30.e30.AAAA"] {
            assert!(keys.verify(garbage, 1_500).is_err(), "{garbage}");
        }
    }

    #[test]
    fn jwks_publishes_the_public_key() {
        let keys = keys();
        let jwks: serde_json::Value = serde_json::from_str(&keys.jwks()).unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["kid"], keys.kid());
        let x = B64.decode(key["x"].as_str().unwrap()).unwrap();
        assert_eq!(x, keys.verifying.as_bytes());
    }
}
