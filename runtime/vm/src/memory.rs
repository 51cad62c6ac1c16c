//! Reading and writing `Region`s in a contract's linear memory.
//!
//! Every pointer the contract hands the host goes through here, and every offset is checked:
//! no arithmetic on contract-supplied numbers happens anywhere else.

use crate::errors::{VmError, VmResult};

/// Size of a `Region` in memory: three little-endian `u32`s.
pub(crate) const REGION_SIZE: usize = 12;

/// `#[repr(C)] struct Region { offset: u32, capacity: u32, length: u32 }`, as the contract
/// lays it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    pub(crate) offset: u32,
    pub(crate) capacity: u32,
    pub(crate) length: u32,
}

/// `u32` from wasm to a host index. Infallible on 32- and 64-bit hosts; checked anyway.
pub(crate) fn to_usize(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A host length to a wasm `u32`.
pub(crate) fn to_u32(n: usize, what: &'static str) -> VmResult<u32> {
    u32::try_from(n).map_err(|_| VmError::TooLarge {
        what,
        len: n,
        limit: to_usize(u32::MAX),
    })
}

/// `bytes[start..start + len]`, or an error naming what was out of bounds.
fn slice(memory: &[u8], start: u32, len: usize, what: &str) -> VmResult<core::ops::Range<usize>> {
    let start = to_usize(start);
    let end = start
        .checked_add(len)
        .filter(|end| *end <= memory.len())
        .ok_or_else(|| {
            VmError::region(format!(
                "{what} at {start}..{start}+{len} is outside the contract's memory of {} bytes",
                memory.len()
            ))
        })?;
    Ok(start..end)
}

/// Reads and validates the Region at `ptr`.
pub(crate) fn get_region(memory: &[u8], ptr: u32) -> VmResult<Region> {
    if ptr == 0 {
        return Err(VmError::region("region pointer is null"));
    }
    let range = slice(memory, ptr, REGION_SIZE, "region")?;
    let bytes = &memory[range];
    let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let region = Region {
        offset: word(0),
        capacity: word(4),
        length: word(8),
    };
    validate_region(&region)?;
    Ok(region)
}

fn validate_region(region: &Region) -> VmResult<()> {
    if region.offset == 0 {
        return Err(VmError::region("region has a null offset"));
    }
    if region.length > region.capacity {
        return Err(VmError::region(format!(
            "region length {} exceeds its capacity {}",
            region.length, region.capacity
        )));
    }
    if region.capacity > u32::MAX - region.offset {
        return Err(VmError::region(format!(
            "region at offset {} with capacity {} wraps around the address space",
            region.offset, region.capacity
        )));
    }
    Ok(())
}

/// Reads the data of the Region at `ptr`, refusing more than `max_length` bytes.
pub(crate) fn read_region(
    memory: &[u8],
    ptr: u32,
    max_length: usize,
    what: &'static str,
) -> VmResult<Vec<u8>> {
    let region = get_region(memory, ptr)?;
    let len = to_usize(region.length);
    if len > max_length {
        return Err(VmError::TooLarge {
            what,
            len,
            limit: max_length,
        });
    }
    let range = slice(memory, region.offset, len, "region data")?;
    Ok(memory[range].to_vec())
}

/// Writes `data` into the Region at `ptr` and sets its length.
pub(crate) fn write_region(memory: &mut [u8], ptr: u32, data: &[u8]) -> VmResult<()> {
    let region = get_region(memory, ptr)?;
    if data.len() > to_usize(region.capacity) {
        return Err(VmError::region(format!(
            "region capacity {} is too small for {} bytes",
            region.capacity,
            data.len()
        )));
    }
    let range = slice(memory, region.offset, data.len(), "region data")?;
    memory[range].copy_from_slice(data);
    let length = to_u32(data.len(), "region data")?;
    let len_range = slice(memory, ptr.saturating_add(8), 4, "region")?;
    memory[len_range].copy_from_slice(&length.to_le_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory_with_region(offset: u32, capacity: u32, length: u32) -> Vec<u8> {
        let mut mem = vec![0u8; 256];
        mem[16..20].copy_from_slice(&offset.to_le_bytes());
        mem[20..24].copy_from_slice(&capacity.to_le_bytes());
        mem[24..28].copy_from_slice(&length.to_le_bytes());
        mem
    }

    #[test]
    fn reads_and_writes_a_region() {
        let mut mem = memory_with_region(64, 10, 0);
        write_region(&mut mem, 16, b"hello").unwrap();
        assert_eq!(read_region(&mem, 16, 100, "data").unwrap(), b"hello");
        assert!(write_region(&mut mem, 16, b"far too long!").is_err());
    }

    #[test]
    fn refuses_bad_regions() {
        let mem = memory_with_region(64, 10, 11);
        assert!(read_region(&mem, 16, 100, "x")
            .unwrap_err()
            .to_string()
            .contains("exceeds its capacity"));
        let mem = memory_with_region(0, 10, 1);
        assert!(read_region(&mem, 16, 100, "x")
            .unwrap_err()
            .to_string()
            .contains("null offset"));
        let mem = memory_with_region(u32::MAX - 5, 10, 1);
        assert!(read_region(&mem, 16, 100, "x")
            .unwrap_err()
            .to_string()
            .contains("wraps"));
        let mem = memory_with_region(250, 10, 10);
        assert!(read_region(&mem, 16, 100, "x")
            .unwrap_err()
            .to_string()
            .contains("outside"));
        assert!(read_region(&mem, 0, 100, "x")
            .unwrap_err()
            .to_string()
            .contains("null"));
        assert!(read_region(&mem, 250, 100, "x").is_err());
        assert!(read_region(&mem, u32::MAX, 100, "x").is_err());
        let mem = memory_with_region(64, 100, 50);
        let err = read_region(&mem, 16, 10, "key").unwrap_err();
        assert_eq!(
            err.to_string(),
            "key is 50 bytes, over the limit of 10 bytes"
        );
    }
}
