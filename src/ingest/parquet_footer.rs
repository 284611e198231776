//! A structural check of a Parquet file's footer before polars reads it. polars'
//! metadata decoder trusts the lengths the file declares: a damaged footer announcing a
//! list of billions of entries makes it allocate tens of gigabytes and abort the process
//! (found by fuzzing), which no error handling can catch. This walks the footer's
//! Thrift compact encoding without building anything and refuses a length or count
//! larger than the bytes that remain, and nesting deeper than any real file has.

use crate::error::{Error, Result};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Structs nest a few levels in real footers (schema elements are a flat list).
const MAX_DEPTH: usize = 64;

/// Checks the footer of the Parquet file at `path`. A file that does not end with the
/// Parquet magic is left to polars, whose error says so.
///
/// # Errors
/// `Error::Malformed` when the footer's declared sizes do not fit the file.
pub fn check(path: &Path) -> Result<()> {
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let len = file.metadata().map_err(read_err)?.len();
    if len < 12 {
        return Ok(());
    }
    let mut tail = [0u8; 8];
    file.seek(SeekFrom::End(-8)).map_err(read_err)?;
    file.read_exact(&mut tail).map_err(read_err)?;
    if &tail[4..] != b"PAR1" {
        return Ok(());
    }
    let damaged = |what: String| Error::Malformed {
        path: path.to_path_buf(),
        message: format!("cannot be read as Parquet (damaged footer: {what})"),
    };
    let meta_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if meta_len > len - 12 {
        return Err(damaged(format!(
            "it declares {meta_len} bytes of metadata in a file of {len} bytes"
        )));
    }
    let mut meta = vec![0u8; meta_len as usize];
    file.seek(SeekFrom::End(-8 - meta_len as i64))
        .map_err(read_err)?;
    file.read_exact(&mut meta).map_err(read_err)?;
    let mut walk = Walk {
        bytes: &meta,
        at: 0,
    };
    walk.skip_struct(0).map_err(damaged)
}

/// A cursor over Thrift compact-protocol bytes that skips values, checking sizes.
struct Walk<'a> {
    bytes: &'a [u8],
    at: usize,
}

type Step = std::result::Result<(), String>;

impl Walk<'_> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn byte(&mut self) -> std::result::Result<u8, String> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| "the metadata ends inside a value".to_string())?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> std::result::Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift.min(63);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a number runs over ten bytes".into())
    }

    fn advance(&mut self, n: u64, what: &str) -> Step {
        if n > self.remaining() as u64 {
            return Err(format!(
                "{what} declares {n} bytes where {} remain",
                self.remaining()
            ));
        }
        self.at += n as usize;
        Ok(())
    }

    /// A count of elements, each at least one byte: more than the bytes left is a lie.
    fn count(&mut self, n: u64, what: &str) -> std::result::Result<u64, String> {
        if n > self.remaining() as u64 {
            return Err(format!(
                "a {what} declares {n} entries where {} bytes remain",
                self.remaining()
            ));
        }
        Ok(n)
    }

    fn skip_struct(&mut self, depth: usize) -> Step {
        if depth > MAX_DEPTH {
            return Err(format!("values nest deeper than {MAX_DEPTH} levels"));
        }
        loop {
            let header = self.byte()?;
            if header == 0 {
                return Ok(());
            }
            if header >> 4 == 0 {
                self.varint()?; // a field id written out in full
            }
            self.skip_value(header & 0x0f, depth, true)?;
        }
    }

    /// Skips one value of a compact type; booleans carry no byte as struct fields.
    fn skip_value(&mut self, kind: u8, depth: usize, in_struct: bool) -> Step {
        match kind {
            1 | 2 if in_struct => Ok(()),
            1..=3 => self.advance(1, "a byte"),
            4..=6 => self.varint().map(drop),
            7 => self.advance(8, "a double"),
            8 => {
                let n = self.varint()?;
                self.advance(n, "a string")
            }
            9 | 10 => {
                let header = self.byte()?;
                let mut n = u64::from(header >> 4);
                if n == 15 {
                    n = self.varint()?;
                }
                let n = self.count(n, "list")?;
                for _ in 0..n {
                    self.skip_value(header & 0x0f, depth + 1, false)?;
                }
                Ok(())
            }
            11 => {
                let n = self.varint()?;
                let n = self.count(n, "map")?;
                if n > 0 {
                    let types = self.byte()?;
                    for _ in 0..n {
                        self.skip_value(types >> 4, depth + 1, false)?;
                        self.skip_value(types & 0x0f, depth + 1, false)?;
                    }
                }
                Ok(())
            }
            12 => self.skip_struct(depth + 1),
            other => Err(format!("unknown value type {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(bytes: &[u8]) -> Step {
        Walk { bytes, at: 0 }.skip_struct(0)
    }

    #[test]
    fn honest_structures_pass_and_lies_are_named() {
        // field 1: i32 7; field 2: list of 2 binaries "ab", "c"; stop.
        assert_eq!(
            walk(&[0x15, 0x0e, 0x19, 0x28, 2, b'a', b'b', 1, b'c', 0]),
            Ok(())
        );
        // A list announcing 15+ (varint 2^32) entries in a few bytes.
        let lie = walk(&[0x19, 0xf8, 0x80, 0x80, 0x80, 0x80, 0x10, 0]).unwrap_err();
        assert!(lie.contains("declares 4294967296 entries"), "{lie}");
        let long = walk(&[0x18, 0x7f, b'x', 0]).unwrap_err();
        assert!(long.contains("a string declares 127 bytes"), "{long}");
        let deep = walk(&[0x1c; 200]).unwrap_err();
        assert!(deep.contains("nest deeper"), "{deep}");
        assert!(walk(&[0x15]).unwrap_err().contains("ends inside"));
    }

    #[test]
    fn real_files_pass() {
        use polars::prelude::*;
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("x.parquet");
        let mut df = df!("id" => ["a", "b"], "x" => [1.0, 2.0]).unwrap();
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .finish(&mut df)
            .unwrap();
        assert!(check(&path).is_ok());
        // The footer's length pointing before the start of the file.
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 8..n - 4].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let e = check(&path).unwrap_err().to_string();
        assert!(e.contains("declares 4294967295 bytes of metadata"), "{e}");
    }
}
