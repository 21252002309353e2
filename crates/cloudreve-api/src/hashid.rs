//! Cloudreve's object ids: the standard hashids algorithm (default alphabet, no minimum
//! length) over `[number, type]`, with a per-deployment salt.

use harsh::Harsh;

/// The type tag of a user id.
pub const USER: u64 = 1;
/// The type tag of a group id.
pub const GROUP: u64 = 7;

/// Longer inputs are no id this deployment hands out (and could overflow the decoder).
const MAX_ID_CHARS: usize = 12;

/// Encodes and decodes ids with the deployment's salt. `Debug` does not show the salt.
#[derive(Clone)]
pub struct HashIds(Harsh);

impl std::fmt::Debug for HashIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashIds(<salt redacted>)")
    }
}

impl HashIds {
    pub fn new(salt: &str) -> anyhow::Result<Self> {
        let harsh = Harsh::builder()
            .salt(salt)
            .build()
            .map_err(|e| anyhow::anyhow!("hashids: {e}"))?;
        Ok(Self(harsh))
    }

    /// The raw hashid of some numbers.
    pub fn encode(&self, values: &[u64]) -> String {
        self.0.encode(values)
    }

    /// The id of object `number` of type `kind` (`[number, kind]`).
    pub fn id(&self, number: u64, kind: u64) -> String {
        self.0.encode(&[number, kind])
    }

    /// The number an id of type `kind` names, or `None` when it is no such id.
    pub fn number(&self, id: &str, kind: u64) -> Option<u64> {
        if id.is_empty()
            || id.len() > MAX_ID_CHARS
            || !id.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return None;
        }
        match self.0.decode(id).ok()?.as_slice() {
            [number, k] if *k == kind => Some(*number),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_test_vectors_hold() {
        let ids = HashIds::new("this is my salt").unwrap();
        assert_eq!(ids.encode(&[1, 2, 3]), "laHquq");
        assert_eq!(ids.encode(&[12345]), "NkK9");
    }

    #[test]
    fn the_upstream_reference_vectors_hold() {
        let ids = HashIds::new("cloudreve-test-salt").unwrap();
        assert_eq!(ids.id(1, USER), "Y5Tb");
        assert_eq!(ids.id(2, USER), "DLfx");
        assert_eq!(ids.id(3, USER), "PvSd");
        assert_eq!(ids.id(42, USER), "obIP");
        assert_eq!(ids.id(1, GROUP), "l9Tp");
        assert_eq!(ids.id(2, GROUP), "QZf8");
    }

    #[test]
    fn a_user_id_decodes_only_as_a_user_id() {
        let ids = HashIds::new("salt").unwrap();
        let id = ids.id(42, USER);
        assert_eq!(ids.number(&id, USER), Some(42));
        assert_eq!(ids.number(&id, GROUP), None);
        assert_eq!(ids.number(&ids.encode(&[42]), USER), None);
        assert_eq!(ids.number(&ids.encode(&[42, 1, 3]), USER), None);
        for junk in [
            "",
            "x",
            "!!!!",
            "ZZZZZZZZZZZZZZZZZZZZZZZZ",
            "zzzzzzzzzzzz",
            "é",
        ] {
            assert_eq!(ids.number(junk, USER), None, "{junk}");
        }
    }
}
