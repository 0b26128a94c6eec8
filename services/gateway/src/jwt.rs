//! EdDSA (Ed25519) JSON Web Tokens: signing, verification and the JWKS
//! document that Envoy's jwt_authn and Istio's RequestAuthentication fetch.
//!
//! Only what AIRIS-MON issues is accepted: header `alg` must be `EdDSA` and
//! `kid` this key's id; `iss` and `aud` must match; `exp` must not be past.
//! Anything else is [`JwtError`], which the service reports as
//! UNAUTHENTICATED without details.
//!
//! Encoding, decoding and claim validation are `jsonwebtoken`'s; the
//! Ed25519 arithmetic is ed25519-dalek's, plugged in as a
//! [`CryptoProvider`] that knows EdDSA only.

use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{
    Algorithm, AlgorithmFamily, DecodingKey, EncodingKey, Header, Validation, signature,
};

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

/// The gateway's signing key, with the id it publishes it under.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    kid: String,
    jwks: String,
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
        // Another provider installed first (none is, today) would support
        // EdDSA with the same key formats, so losing the race is fine.
        let _ = EDDSA.install_default();
        let signing = SigningKey::from_bytes(seed);
        let public = signing.verifying_key().to_bytes();
        // The key id names the public key, so a rotated key gets a new id.
        let kid = hex::encode(&public[..8]);
        // PKCS#8 and the raw public key: the formats jsonwebtoken's own
        // providers expect of Ed25519 keys.
        let der = signing
            .to_pkcs8_der()
            .expect("an Ed25519 key encodes as PKCS#8");
        let decoding = DecodingKey::from_ed_der(&public);
        let mut jwk = Jwk::from_decoding_key(&decoding, Some(Algorithm::EdDSA))
            .expect("a 32-byte Ed25519 public key makes a JWK");
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let jwks = serde_json::to_string(&JwkSet { keys: vec![jwk] }).expect("a JWK serialises");
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        // Our own clock signs and checks; Envoy allows its own skew.
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding,
            validation,
            kid,
            jwks,
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
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        // Claims of strings and integers serialise, and the key is ours.
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("signing with our key works")
    }

    /// Verifies `token` now: signature, header, issuer, audience, expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            // Readable, but not a header of ours (`alg: none`, no `alg`).
            ErrorKind::Json(_) | ErrorKind::Utf8(_) => JwtError::Header,
            _ => JwtError::Malformed,
        })?;
        if header.alg != Algorithm::EdDSA || header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(JwtError::Header);
        }
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => JwtError::Signature,
                ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => JwtError::Foreign,
                ErrorKind::ExpiredSignature => JwtError::Expired,
                ErrorKind::InvalidAlgorithm => JwtError::Header,
                _ => JwtError::Malformed,
            })
    }

    /// The JWKS document (RFC 7517, OKP key of RFC 8037).
    pub fn jwks(&self) -> &str {
        &self.jwks
    }
}

/// EdDSA and nothing else.
static EDDSA: CryptoProvider = CryptoProvider {
    signer_factory: eddsa_signer,
    verifier_factory: eddsa_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: |_| Err(ErrorKind::UnsupportedAlgorithm.into()),
        rsa_pub_components_from_public_key: |_| Err(ErrorKind::UnsupportedAlgorithm.into()),
        ec_pub_components_from_private_key: |_, _| Err(ErrorKind::UnsupportedAlgorithm.into()),
        ed_pub_components_from_private_key: ed_public_key,
        compute_digest: |_, _| Err(ErrorKind::UnsupportedAlgorithm.into()),
    },
};

fn eddsa_signer(
    algorithm: &Algorithm,
    key: &EncodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    if *algorithm != Algorithm::EdDSA || key.family() != AlgorithmFamily::Ed {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let key = SigningKey::from_pkcs8_der(key.as_bytes()).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(Ed25519Signer(key)))
}

fn eddsa_verifier(
    algorithm: &Algorithm,
    key: &DecodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::EdDSA || key.family() != AlgorithmFamily::Ed {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let bytes: &[u8; 32] = key
        .try_get_as_bytes()?
        .try_into()
        .map_err(|_| ErrorKind::InvalidEddsaKey)?;
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(Ed25519Verifier(key)))
}

fn ed_public_key(
    private_der: &[u8],
    curve: &EllipticCurve,
) -> jsonwebtoken::errors::Result<Vec<u8>> {
    if *curve != EllipticCurve::Ed25519 {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let key = SigningKey::from_pkcs8_der(private_der).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(key.verifying_key().to_bytes().to_vec())
}

struct Ed25519Signer(SigningKey);

impl signature::Signer<Vec<u8>> for Ed25519Signer {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(ed25519_dalek::Signer::sign(&self.0, message)
            .to_bytes()
            .to_vec())
    }
}

impl JwtSigner for Ed25519Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct Ed25519Verifier(VerifyingKey);

impl signature::Verifier<Vec<u8>> for Ed25519Verifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        let signature = Signature::from_slice(signature).map_err(|_| signature::Error::new())?;
        ed25519_dalek::Verifier::verify(&self.0, message, &signature)
            .map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Ed25519Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airis_runtime::clock::now_unix_secs;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    fn keys() -> Keys {
        Keys::from_seed(&[7; 32], "airis-gateway", "airis")
    }

    fn claims() -> Claims {
        let now = now_unix_secs();
        Claims {
            iss: "airis-gateway".into(),
            aud: "airis".into(),
            sub: "kim".into(),
            iat: now - 10,
            exp: now + 1_000,
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
        assert_eq!(keys.verify(&token), Ok(claims()));
        let expired = Claims {
            exp: now_unix_secs() - 1,
            ..claims()
        };
        assert_eq!(keys.verify(&keys.sign(&expired)), Err(JwtError::Expired));
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
        assert_eq!(keys.verify(&spliced), Err(JwtError::Signature));
        // Signed by another key with the same kid is impossible (the kid
        // names the key), so another key is a header mismatch.
        let other = Keys::from_seed(&[8; 32], "airis-gateway", "airis");
        assert_eq!(keys.verify(&other.sign(&claims())), Err(JwtError::Header));
        // alg none.
        let none = format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none","typ":"JWT","kid":"x"}"#),
            parts[1]
        );
        assert_eq!(keys.verify(&none), Err(JwtError::Header));
        // Our key, but HMAC claimed in the header.
        let hs256 = format!(
            "{}.{}.{}",
            B64.encode(format!(
                r#"{{"alg":"HS256","typ":"JWT","kid":"{}"}}"#,
                keys.kid()
            )),
            parts[1],
            parts[2]
        );
        assert_eq!(keys.verify(&hs256), Err(JwtError::Header));
        let foreign = Keys::from_seed(&[7; 32], "someone-else", "airis");
        for claims in [
            Claims {
                iss: "someone-else".into(),
                ..claims()
            },
            Claims {
                aud: "another-audience".into(),
                ..claims()
            },
        ] {
            assert_eq!(
                keys.verify(&foreign.sign(&claims)),
                Err(JwtError::Foreign),
                "{claims:?}"
            );
        }
        for garbage in ["", "a.b", "a.b.c.d", "!!.??.**", "e30.e30.AAAA"] {
            assert!(keys.verify(garbage).is_err(), "{garbage}");
        }
    }

    /// Tokens are signed the way they always were (header `alg`, `typ`,
    /// `kid`; base64url without padding; Ed25519 over `header.payload`), so
    /// ingest tokens minted before still verify, and ours verify with
    /// nothing but the JWKS document and an Ed25519 implementation.
    #[test]
    fn tokens_and_jwks_are_plain_ed25519() {
        let keys = keys();
        let signing = SigningKey::from_bytes(&[7; 32]);
        let header = format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{}"}}"#, keys.kid());
        let input = format!(
            "{}.{}",
            B64.encode(header),
            B64.encode(serde_json::to_vec(&claims()).unwrap())
        );
        let signature = ed25519_dalek::Signer::sign(&signing, input.as_bytes());
        let by_hand = format!("{input}.{}", B64.encode(signature.to_bytes()));
        assert_eq!(keys.verify(&by_hand), Ok(claims()));

        let jwks: serde_json::Value = serde_json::from_str(keys.jwks()).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["kid"], keys.kid());
        let x: [u8; 32] = B64
            .decode(key["x"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(x, signing.verifying_key().to_bytes());

        let token = keys.sign(&claims());
        let parts: Vec<&str> = token.split('.').collect();
        let header: serde_json::Value =
            serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "EdDSA");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], keys.kid());
        let signature = Signature::from_slice(&B64.decode(parts[2]).unwrap()).unwrap();
        ed25519_dalek::Verifier::verify(
            &VerifyingKey::from_bytes(&x).unwrap(),
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &signature,
        )
        .expect("verifies with the published key");
    }
}
