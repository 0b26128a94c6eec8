//! Users provisioned from configuration, with Argon2id password hashes.

use std::collections::HashMap;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};

use crate::Role;

/// One user (`[[gateway.users]]`).
#[derive(Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub tenant: String,
    pub username: String,
    /// PHC string from `airis hash-password`, e.g. `$argon2id$v=19$...`.
    pub password_hash: String,
    pub role: Role,
}

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("gateway.users[{index}]: invalid tenant {tenant:?}: {reason}")]
    Tenant {
        index: usize,
        tenant: String,
        reason: &'static str,
    },
    #[error("gateway.users[{index}]: empty username")]
    Username { index: usize },
    #[error("gateway.users[{index}]: password_hash is not a PHC string: {reason}")]
    Hash { index: usize, reason: String },
    #[error("gateway.users[{index}]: {tenant}/{username} appears twice")]
    Duplicate {
        index: usize,
        tenant: String,
        username: String,
    },
}

/// `airis config` prints the configuration: hashes stay out of it.
impl std::fmt::Debug for UserConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserConfig")
            .field("tenant", &self.tenant)
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .finish()
    }
}

struct User {
    hash: String,
    role: Role,
}

/// Password checks running at once: each holds about 19 MiB of Argon2
/// memory, so a flood of logins waits here rather than exhausting memory.
const CONCURRENT_CHECKS: usize = 8;

/// The configured users, by (tenant, username).
pub struct Users {
    users: HashMap<(String, String), User>,
    checks: tokio::sync::Semaphore,
    /// Checked when the user is unknown, so that unknown users take as
    /// long to refuse as wrong passwords.
    dummy: String,
}

impl Users {
    pub fn new(configs: &[UserConfig]) -> Result<Self, UsersError> {
        let mut users = HashMap::new();
        for (index, user) in configs.iter().enumerate() {
            airis_runtime::tenant::Tenant::parse(&user.tenant).map_err(|reason| {
                UsersError::Tenant {
                    index,
                    tenant: user.tenant.clone(),
                    reason,
                }
            })?;
            if user.username.is_empty() {
                return Err(UsersError::Username { index });
            }
            PasswordHash::new(&user.password_hash).map_err(|e| UsersError::Hash {
                index,
                reason: e.to_string(),
            })?;
            let key = (user.tenant.clone(), user.username.clone());
            if users.contains_key(&key) {
                return Err(UsersError::Duplicate {
                    index,
                    tenant: user.tenant.clone(),
                    username: user.username.clone(),
                });
            }
            users.insert(
                key,
                User {
                    hash: user.password_hash.clone(),
                    role: user.role,
                },
            );
        }
        Ok(Self {
            users,
            checks: tokio::sync::Semaphore::new(CONCURRENT_CHECKS),
            dummy: hash_password("not a password").expect("hashing a constant works"),
        })
    }

    /// The role of `tenant`/`username` if they are configured: what a
    /// session's user may do now, whatever they could when they signed in.
    pub fn role(&self, tenant: &str, username: &str) -> Option<Role> {
        self.users
            .get(&(tenant.to_owned(), username.to_owned()))
            .map(|user| user.role)
    }

    /// The role of `tenant`/`username` if `password` is theirs. Runs the
    /// (deliberately slow) hash check on a blocking thread.
    pub async fn check(&self, tenant: &str, username: &str, password: &str) -> Option<Role> {
        let (hash, role) = match self.users.get(&(tenant.to_owned(), username.to_owned())) {
            Some(user) => (user.hash.clone(), Some(user.role)),
            None => (self.dummy.clone(), None),
        };
        let password = password.to_owned();
        // The semaphore lives as long as `self`; it is never closed.
        let _permit = self.checks.acquire().await.ok()?;
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        if matches { role } else { None }
    }
}

/// An Argon2id PHC string for `password` with a random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(tenant: &str, username: &str, password: &str, role: Role) -> UserConfig {
        UserConfig {
            tenant: tenant.into(),
            username: username.into(),
            password_hash: hash_password(password).unwrap(),
            role,
        }
    }

    #[tokio::test]
    async fn passwords_are_checked_per_tenant() {
        let users = Users::new(&[
            user("acme", "kim", "s3cret 비밀", Role::Admin),
            user("globex", "kim", "other", Role::Viewer),
        ])
        .unwrap();
        assert_eq!(
            users.check("acme", "kim", "s3cret 비밀").await,
            Some(Role::Admin)
        );
        assert_eq!(
            users.check("globex", "kim", "other").await,
            Some(Role::Viewer)
        );
        assert_eq!(users.check("acme", "kim", "other").await, None);
        assert_eq!(users.check("globex", "kim", "s3cret 비밀").await, None);
        assert_eq!(users.check("acme", "lee", "s3cret 비밀").await, None);
    }

    #[test]
    fn bad_configuration_names_the_entry() {
        let good = user("acme", "kim", "pw", Role::Viewer);
        let mut plain = good.clone();
        plain.password_hash = "pw".into();
        let err = Users::new(&[good.clone(), plain]).err().unwrap();
        assert!(
            err.to_string()
                .starts_with("gateway.users[1]: password_hash"),
            "{err}"
        );
        let err = Users::new(&[good.clone(), good.clone()]).err().unwrap();
        assert!(err.to_string().contains("appears twice"), "{err}");
        let mut bad_tenant = good.clone();
        bad_tenant.tenant = "Acme!".into();
        assert!(Users::new(&[bad_tenant]).is_err());
        // Hashes are salted: the same password hashes differently.
        assert_ne!(hash_password("pw").unwrap(), hash_password("pw").unwrap());
    }

    /// The users the local configurations ship sign in with the passwords
    /// their comments and the docs give.
    #[tokio::test]
    async fn shipped_users_sign_in() {
        #[derive(serde::Deserialize)]
        struct Shipped {
            gateway: crate::GatewayConfig,
        }
        for file in ["local.toml", "mesh.toml"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../config")
                .join(file);
            let shipped: Shipped =
                airis_runtime::config::load(Some(&path), &Default::default()).unwrap();
            let users = Users::new(&shipped.gateway.users).unwrap();
            assert_eq!(
                users.check("demo", "admin", "admin").await,
                Some(Role::Admin),
                "{file}"
            );
            assert_eq!(
                users.check("demo", "viewer", "viewer").await,
                Some(Role::Viewer),
                "{file}"
            );
        }
    }
}
