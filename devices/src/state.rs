//! Serde helpers for device state (machine snapshots): arrays longer than serde's
//! built-in 32 elements, and the placeholder that stands for a host disk backend in a
//! deserialised device until the machine moves the real one back in.

use crate::block::{BlockDevice, MemDisk};
use serde::{de::Error, Deserialize, Deserializer, Serialize, Serializer};

/// `#[serde(with = "crate::state::big")]` for `[T; N]` of any length.
pub mod big {
    use super::*;

    pub fn serialize<S: Serializer, T: Serialize, const N: usize>(
        a: &[T; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(a.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>, const N: usize>(
        d: D,
    ) -> Result<[T; N], D::Error> {
        let v = Vec::<T>::deserialize(d)?;
        let n = v.len();
        v.try_into()
            .map_err(|_| D::Error::custom(format!("array of {n} elements, expected {N}")))
    }
}

/// The stand-in for a disk backend in a deserialised device (backends are host
/// resources; the machine keeps the ones it has).
pub fn detached() -> Box<dyn BlockDevice> {
    Box::new(MemDisk::default())
}

/// `#[serde(with = "crate::state::wide")]` for an `i128` (JSON numbers stop at 64 bits).
pub mod wide {
    use super::*;

    pub fn serialize<S: Serializer>(v: &i128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}
