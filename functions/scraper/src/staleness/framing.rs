//! The varint framing the state object and its series blocks share: LEB128 varints,
//! zig-zagged `i64`, length-prefixed byte strings, and a reader that names what it was
//! reading and where when the bytes end or lie.

use super::codec::DecodeError;

/// Appends `value` as a LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends `bytes` with its length in front.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// `v` as an unsigned number, small for small magnitudes of either sign.
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// The inverse of [`zigzag`].
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Reads framed values from a byte slice; every error names the field and offset.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`; `what` names them in errors (`state header`, `series
    /// block`).
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { bytes, at: 0, what }
    }

    /// Whether every byte was read.
    pub fn is_done(&self) -> bool {
        self.at == self.bytes.len()
    }

    /// A corruption error at the current offset.
    pub fn corrupt(&self, what: &str) -> DecodeError {
        DecodeError::Corrupt(format!("{what} ({} byte {})", self.what, self.at))
    }

    /// One varint.
    pub fn varint(&mut self, what: &str) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.at) else {
                return Err(self.corrupt(&format!("{what} cut short")));
            };
            self.at += 1;
            value |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.corrupt(&format!("{what} is not a varint")))
    }

    /// One varint that must fit a `usize`.
    pub fn size(&mut self, what: &str) -> Result<usize, DecodeError> {
        let value = self.varint(what)?;
        usize::try_from(value).map_err(|_| self.corrupt(&format!("{what} too large")))
    }

    /// Eight little-endian bytes.
    pub fn fixed64(&mut self, what: &str) -> Result<u64, DecodeError> {
        let bytes = self.take(8, what)?;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(array))
    }

    /// A length-prefixed byte string.
    pub fn bytes(&mut self, what: &str) -> Result<&'a [u8], DecodeError> {
        let len = self.size(what)?;
        self.take(len, what)
    }

    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.corrupt(&format!("{what} runs past the end")))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_round_trips_extremes() {
        for v in [0, 1, -1, i64::MAX, i64::MIN, 1_765_000_000_000] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn values_round_trip_and_a_short_read_names_the_field() {
        let mut out = Vec::new();
        put_varint(&mut out, 300);
        put_bytes(&mut out, b"abc");
        out.extend_from_slice(&7u64.to_le_bytes());
        let mut reader = Reader::new(&out, "test");
        assert_eq!(reader.varint("n").unwrap(), 300);
        assert_eq!(reader.bytes("s").unwrap(), b"abc");
        assert_eq!(reader.fixed64("f").unwrap(), 7);
        assert!(reader.is_done());
        let error = reader.varint("count").unwrap_err().to_string();
        assert!(error.contains("count cut short (test byte"), "{error}");
        let mut over = Reader::new(&[0x80; 11], "test");
        assert!(over.varint("big").is_err());
    }
}
