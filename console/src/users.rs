//! Operator accounts: a TOML file of names, roles and argon2id password hashes
//! (PHC strings). There is no default account and no default password; accounts
//! are made with `streetwatch console-user`, which writes the hash.
//!
//! ```toml
//! [[user]]
//! name = "duty-officer"
//! role = "operator"
//! password_hash = "$argon2id$v=19$m=19456,t=2,p=1$..."
//! # Optional: a district. The account then sees only incidents, cameras and
//! # evidence of these sites or grids (either matches); without both, everything.
//! sites = ["old-town"]
//! grids = ["g-0402"]
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};

use crate::error::{ConsoleError, UsersError};

/// What an account may do. Ordered: each role can do what the ones before it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Watches the feed and evidence.
    Viewer,
    /// Also acknowledges, dismisses and resolves incidents.
    Operator,
    /// Also reads the audit log.
    Admin,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grids: Vec<String>,
}

/// What part of the city an account may see: incidents and cameras of these sites
/// or grids. Empty lists (both): the whole city.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct District {
    pub sites: Vec<String>,
    pub grids: Vec<String>,
    /// An account no longer in the users file sees nothing.
    pub nothing: bool,
}

impl District {
    pub fn is_whole_city(&self) -> bool {
        !self.nothing && self.sites.is_empty() && self.grids.is_empty()
    }

    /// Whether a place (an incident's or a camera's site and grid) is in it.
    pub fn allows(&self, site: &str, grid: &str) -> bool {
        if self.nothing {
            return false;
        }
        self.is_whole_city()
            || (!site.is_empty() && self.sites.iter().any(|s| s == site))
            || (!grid.is_empty() && self.grids.iter().any(|g| g == grid))
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    user: Vec<UserEntry>,
}

/// The accounts, by name.
#[derive(Debug, Clone, Default)]
pub struct Users {
    by_name: BTreeMap<String, UserEntry>,
}

fn users_error(path: &Path, source: UsersError) -> ConsoleError {
    ConsoleError::Users { path: path.to_path_buf(), source }
}

fn invalid(path: &Path, what: impl Into<String>) -> ConsoleError {
    users_error(path, UsersError::Invalid(what.into()))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
}

impl Users {
    /// Reads and checks the file: every entry has a valid name (once) and a parsable
    /// argon2 hash. Errors name the file and the entry.
    pub fn load(path: &Path) -> Result<Users, ConsoleError> {
        let text = std::fs::read_to_string(path).map_err(|e| users_error(path, UsersError::Read(e)))?;
        let file: UsersFile = toml::from_str(&text).map_err(|e| users_error(path, UsersError::Parse(e)))?;
        let mut by_name = BTreeMap::new();
        for (i, u) in file.user.into_iter().enumerate() {
            if !valid_name(&u.name) {
                return Err(invalid(
                    path,
                    format!("user[{i}].name `{}`: 1-64 characters of letters, digits, - _ . @", u.name),
                ));
            }
            let parsed = PasswordHash::new(&u.password_hash).map_err(|e| {
                invalid(path, format!("user[{i}] ({}): password_hash is not a PHC string: {e}", u.name))
            })?;
            if parsed.algorithm.as_str() != "argon2id" {
                return Err(invalid(
                    path,
                    format!("user[{i}] ({}): password_hash must be argon2id, not {}", u.name, parsed.algorithm),
                ));
            }
            if by_name.contains_key(&u.name) {
                return Err(invalid(path, format!("user[{i}]: `{}` appears twice", u.name)));
            }
            by_name.insert(u.name.clone(), u);
        }
        if by_name.is_empty() {
            return Err(invalid(path, "no [[user]] entry: nobody could log in"));
        }
        Ok(Users { by_name })
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// A short fingerprint of the account's password hash: what a session remembers
    /// of the password it was opened with (a changed password ends the sessions).
    pub fn credential_of(&self, name: &str) -> Option<String> {
        use sha2::Digest;
        let u = self.by_name.get(name)?;
        Some(hex::encode(&sha2::Sha256::digest(u.password_hash.as_bytes())[..8]))
    }

    pub fn role_of(&self, name: &str) -> Option<Role> {
        self.by_name.get(name).map(|u| u.role)
    }

    /// The account's district (nothing at all for an unknown name).
    pub fn district_of(&self, name: &str) -> District {
        match self.by_name.get(name) {
            Some(u) => District { sites: u.sites.clone(), grids: u.grids.clone(), nothing: false },
            None => District { nothing: true, ..District::default() },
        }
    }

    /// The account's role when the password is right. Slow on purpose (argon2id):
    /// run it off the async workers. An unknown name costs the same as a wrong
    /// password, so timing does not tell which names exist.
    pub fn verify(&self, name: &str, password: &str) -> Option<Role> {
        let entry = self.by_name.get(name);
        let hash: &str = match entry {
            Some(u) => &u.password_hash,
            None => dummy_hash(),
        };
        let parsed = PasswordHash::new(hash).ok()?;
        let ok = verify_with_thread_memory(password.as_bytes(), &parsed);
        match (ok, entry) {
            (true, Some(u)) => Some(u.role),
            _ => None,
        }
    }
}

/// Verifies `password` against `hash` with this thread's own argon2 memory, reused
/// from one verification to the next. `verify_password` allocates its 19 MiB afresh
/// each time, and the allocator keeps most of those blocks: 40 bad logins left the
/// process 761 MiB larger. Reused, the login's hashing threads hold 19 MiB each.
/// The comparison is argon2's own constant-time one (`Output`'s equality).
fn verify_with_thread_memory(password: &[u8], hash: &PasswordHash<'_>) -> bool {
    thread_local! {
        static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let (Ok(params), Some(salt), Some(expected)) = (argon2::Params::try_from(hash), hash.salt, hash.hash) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(hash.algorithm) else { return false };
    let version = match hash.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else { return false };
    let needed = params.block_count();
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    let hashed = BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < needed {
            blocks.resize(needed, argon2::Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, &mut out, &mut blocks[..needed])
    });
    hashed.is_ok() && argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// A hash of a random password nobody knows, verified against for unknown names.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut secret = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut secret);
        hash_password(&hex::encode(secret)).unwrap_or_default()
    })
}

/// An argon2id PHC hash of `password` with a fresh random salt (default parameters:
/// 19 MiB, 2 passes, as OWASP recommends).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt_bytes = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes)?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
}

/// Limits an existing account to a district (empty lists: the whole city).
pub fn set_district(path: &Path, name: &str, sites: &[String], grids: &[String]) -> Result<(), ConsoleError> {
    let text = std::fs::read_to_string(path).map_err(|e| users_error(path, UsersError::Read(e)))?;
    let mut file: UsersFile = toml::from_str(&text).map_err(|e| users_error(path, UsersError::Parse(e)))?;
    let entry =
        file.user.iter_mut().find(|u| u.name == name).ok_or_else(|| invalid(path, format!("no account `{name}`")))?;
    entry.sites = sites.to_vec();
    entry.grids = grids.to_vec();
    write_users(path, &file)
}

fn write_users(path: &Path, file: &UsersFile) -> Result<(), ConsoleError> {
    let body = toml::to_string(file).map_err(|e| users_error(path, UsersError::Serialize(e)))?;
    let text =
        format!("# streetwatch console accounts (argon2id hashes); edit with `streetwatch console-user`.\n{body}");
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| users_error(path, UsersError::Folder(e)))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| restrict_permissions(&tmp))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| users_error(path, UsersError::Write(e)))
}

/// Adds the account to the file, or replaces its role and password (its district
/// stays); creates the file when missing. Written to a temporary file first, then renamed.
pub fn upsert_user(path: &Path, name: &str, role: Role, password: &str) -> Result<(), ConsoleError> {
    if !valid_name(name) {
        return Err(invalid(path, format!("name `{name}`: 1-64 characters of letters, digits, - _ . @")));
    }
    if password.chars().count() < 12 {
        return Err(invalid(path, "the password must have at least 12 characters"));
    }
    let mut file: UsersFile = match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| users_error(path, UsersError::Parse(e)))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => UsersFile::default(),
        Err(e) => return Err(users_error(path, UsersError::Read(e))),
    };
    let password_hash = hash_password(password).map_err(|e| users_error(path, UsersError::Hash(e)))?;
    match file.user.iter_mut().find(|u| u.name == name) {
        Some(u) => {
            u.role = role;
            u.password_hash = password_hash;
        }
        None => file.user.push(UserEntry {
            name: name.to_string(),
            role,
            password_hash,
            sites: Vec::new(),
            grids: Vec::new(),
        }),
    }
    write_users(path, &file)
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_written_hashed_and_verified() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        upsert_user(&path, "ana", Role::Operator, "correct horse battery").unwrap();
        upsert_user(&path, "bo", Role::Viewer, "another long secret").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("correct horse"), "the password itself is never stored");
        assert!(text.contains("$argon2id$"));
        let users = Users::load(&path).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users.verify("ana", "correct horse battery"), Some(Role::Operator));
        assert_eq!(users.verify("ana", "correct horse batterY"), None);
        assert_eq!(users.verify("nobody", "correct horse battery"), None);
        // Changing the password replaces the entry.
        upsert_user(&path, "ana", Role::Admin, "a new long password").unwrap();
        let users = Users::load(&path).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users.verify("ana", "correct horse battery"), None);
        assert_eq!(users.verify("ana", "a new long password"), Some(Role::Admin));
        assert!(upsert_user(&path, "ana", Role::Admin, "short").is_err());
    }

    #[test]
    fn a_district_allows_its_sites_or_grids_only() {
        let d = District { sites: vec!["north".into()], grids: vec!["g2".into()], nothing: false };
        assert!(d.allows("north", "") && d.allows("", "g2") && d.allows("south", "g2"));
        assert!(!d.allows("south", "g1") && !d.allows("", ""));
        assert!(District::default().allows("", "") && District::default().is_whole_city());
        let gone = District { nothing: true, ..District::default() };
        assert!(!gone.allows("north", "g2") && !gone.is_whole_city());
    }

    #[test]
    fn bad_files_name_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.toml");
        std::fs::write(&path, "[[user]]\nname = \"x\"\nrole = \"operator\"\npassword_hash = \"plain\"\n").unwrap();
        let e = crate::error::chain(&Users::load(&path).unwrap_err());
        assert!(e.contains("users.toml") && e.contains("user[0] (x)") && e.contains("PHC"), "{e}");
        std::fs::write(&path, "[[user]]\nname = \"x\"\nrole = \"boss\"\npassword_hash = \"plain\"\n").unwrap();
        let e = crate::error::chain(&Users::load(&path).unwrap_err());
        assert!(e.contains("boss"), "{e}");
        std::fs::write(&path, "").unwrap();
        assert!(crate::error::chain(&Users::load(&path).unwrap_err()).contains("nobody could log in"));
    }
}
