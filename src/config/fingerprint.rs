//! A fingerprint of the files a crew was read from, so that a session can tell when they have
//! changed since it was recorded.
//!
//! FNV-1a, 64 bits: written here in a few lines, the same on every build and platform, and
//! plenty to notice an edit. It is no defence against someone who crafts a collision, and
//! nothing relies on it for one: resuming compares the crews themselves.

use std::collections::BTreeMap;

const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    hash
}

/// The files read so far, each with the hash of its bytes: the crew file (named `""`), and
/// agent files by their names in the crew's directory (`agents/writer.yaml`).
#[derive(Debug, Default)]
pub(crate) struct Fingerprint {
    files: BTreeMap<String, u64>,
}

impl Fingerprint {
    pub fn add(&mut self, name: String, bytes: &[u8]) {
        self.files.insert(name, fnv1a(OFFSET_BASIS, bytes));
    }

    /// One hash over every file, in name order, names included: renaming an agent's file
    /// changes it as much as editing one does.
    pub fn hex(&self) -> String {
        let mut hash = OFFSET_BASIS;
        for (name, file) in &self.files {
            hash = fnv1a(hash, name.as_bytes());
            hash = fnv1a(hash, &[0]);
            hash = fnv1a(hash, &file.to_le_bytes());
        }
        format!("{hash:016x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_its_published_test_vectors() {
        assert_eq!(fnv1a(OFFSET_BASIS, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(OFFSET_BASIS, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(OFFSET_BASIS, b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn any_edit_rename_or_reorder_of_reading_shows() {
        let of = |files: &[(&str, &str)]| {
            let mut f = Fingerprint::default();
            for (name, text) in files {
                f.add(name.to_string(), text.as_bytes());
            }
            f.hex()
        };
        let base = of(&[("", "agents: [a]"), ("agents/a.yaml", "id: a")]);
        assert_eq!(base.len(), 16);
        assert_eq!(
            base,
            of(&[("agents/a.yaml", "id: a"), ("", "agents: [a]")]),
            "the order files are read in does not matter"
        );
        assert_ne!(base, of(&[("", "agents: [a]"), ("agents/a.yaml", "id: b")]));
        assert_ne!(base, of(&[("", "agents: [a]"), ("agents/b.yaml", "id: a")]));
    }
}
