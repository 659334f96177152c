//! Ed25519 key files: a private key (mode 0600, never overwritten without `force`) and its public
//! key beside it (`<file>.pub`), and the key id that names a public key in checkpoints, manifests
//! and reports (`ed25519:` + the first 16 hex digits of SHA-256 over the public key).
//!
//! Both files are text: `#` comment lines, then the key as 64 hex digits (the private file holds
//! the 32-byte seed). A private key file readable by group or others is refused, like ssh does.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::EvidenceError;

/// The id of a public key: `ed25519:` + 16 hex digits of its SHA-256.
pub fn key_id(key: &VerifyingKey) -> String {
    let digest = cavra_core::integrity::hex(&Sha256::digest(key.as_bytes()));
    format!("ed25519:{}", &digest[..16])
}

/// A new signing key from the operating system's randomness.
pub fn generate() -> Result<SigningKey, EvidenceError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| EvidenceError::Io {
        context: "cannot get randomness for a key".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Where the public key of the private key file `private` goes: `<private>.pub`.
pub fn public_path(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Writes `key` to `private` (mode 0600) and its public key to `<private>.pub` (mode 0644).
/// Refuses to replace either file unless `force`; never follows a symlink at either path.
pub fn write_key_files(private: &Path, key: &SigningKey, force: bool) -> Result<PathBuf, EvidenceError> {
    let public = public_path(private);
    for path in [private, public.as_path()] {
        if fs::symlink_metadata(path).is_ok() {
            if !force {
                return Err(EvidenceError::Exists(path.to_path_buf()));
            }
            fs::remove_file(path).map_err(EvidenceError::io(format!("cannot replace `{}`", path.display())))?;
        }
    }
    if let Some(dir) = private.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(EvidenceError::io(format!("cannot create `{}`", dir.display())))?;
    }
    let id = key_id(&key.verifying_key());
    let secret = format!(
        "# cavra evidence signing key (Ed25519), {id}. Keep it secret: it signs checkpoints and bundles.\n{}\n",
        cavra_core::integrity::hex(key.as_bytes())
    );
    write_new(private, secret.as_bytes(), 0o600)?;
    let public_text = format!(
        "# cavra evidence public key (Ed25519), {id}. Give it to auditors: `cavra evidence verify --public-key`.\n{}\n",
        cavra_core::integrity::hex(key.verifying_key().as_bytes())
    );
    write_new(&public, public_text.as_bytes(), 0o644)?;
    Ok(public)
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), EvidenceError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(EvidenceError::io(format!("cannot create `{}`", path.display())))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(EvidenceError::io(format!("cannot write `{}`", path.display())))
}

/// The 32 bytes a key file holds.
fn read_key_bytes(path: &Path) -> Result<[u8; 32], EvidenceError> {
    let text = fs::read_to_string(path).map_err(EvidenceError::io(format!("cannot read `{}`", path.display())))?;
    let bad = |message: &str| EvidenceError::Key {
        path: path.to_path_buf(),
        message: message.to_owned(),
    };
    let hex: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let bytes = decode_hex(&hex).ok_or_else(|| bad("expected 64 hex digits after the `#` comment lines"))?;
    bytes.try_into().map_err(|_| bad("expected 64 hex digits (32 bytes)"))
}

/// Reads a private key file; refuses one that group or others may read.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, EvidenceError> {
    let meta = fs::metadata(path).map_err(EvidenceError::io(format!("cannot read `{}`", path.display())))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(EvidenceError::Key {
            path: path.to_path_buf(),
            message: format!(
                "is readable by others (mode {:o}); run `chmod 600` on it",
                meta.permissions().mode() & 0o777
            ),
        });
    }
    Ok(SigningKey::from_bytes(&read_key_bytes(path)?))
}

/// Reads a public key file (a private key file is refused: an auditor needs only the public key).
pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, EvidenceError> {
    let bytes = read_key_bytes(path)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| EvidenceError::Key {
        path: path.to_path_buf(),
        message: "is not a valid Ed25519 public key".into(),
    })
}

/// The signature of `message` by `key`, as 128 hex digits.
pub fn sign(key: &SigningKey, message: &[u8]) -> String {
    cavra_core::integrity::hex(&key.sign(message).to_bytes())
}

/// Whether `signature` (hex) is `key`'s signature of `message` (strict Ed25519 verification).
pub fn verify(key: &VerifyingKey, message: &[u8], signature: &str) -> bool {
    let Some(bytes) = decode_hex(signature) else {
        return false;
    };
    let Ok(bytes) = <[u8; 64]>::try_from(bytes.as_slice()) else {
        return false;
    };
    let signature = Signature::from_bytes(&bytes);
    key.verify_strict(message, &signature).is_ok() && key.verify(message, &signature).is_ok()
}

/// Lowercase or uppercase hex to bytes.
pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| (c as char).to_digit(16);
            u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Key files round-trip, the private one is 0600, and neither is replaced without force.
    #[test]
    fn key_files_round_trip_and_are_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("k/evidence.key");
        let key = generate().unwrap();
        let public = write_key_files(&private, &key, false).unwrap();
        assert_eq!(public, dir.path().join("k/evidence.key.pub"));
        let mode = fs::metadata(&private).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_signing_key(&private).unwrap().to_bytes(), key.to_bytes());
        assert_eq!(read_verifying_key(&public).unwrap(), key.verifying_key());
        assert!(matches!(
            write_key_files(&private, &generate().unwrap(), false),
            Err(EvidenceError::Exists(_))
        ));
        let other = generate().unwrap();
        write_key_files(&private, &other, true).unwrap();
        assert_eq!(read_signing_key(&private).unwrap().to_bytes(), other.to_bytes());
    }

    /// A private key readable by others is refused.
    #[test]
    fn loose_private_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("evidence.key");
        write_key_files(&private, &generate().unwrap(), false).unwrap();
        fs::set_permissions(&private, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(read_signing_key(&private), Err(EvidenceError::Key { .. })));
    }

    /// A signature verifies with its key only, and only over the same bytes.
    #[test]
    fn signatures() {
        let key = generate().unwrap();
        let sig = sign(&key, b"payload");
        assert!(verify(&key.verifying_key(), b"payload", &sig));
        assert!(!verify(&key.verifying_key(), b"payloaD", &sig));
        assert!(!verify(&generate().unwrap().verifying_key(), b"payload", &sig));
        assert!(!verify(&key.verifying_key(), b"payload", "zz"));
    }
}
