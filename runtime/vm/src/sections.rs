//! The "sections" encoding of lists of byte strings that CosmWasm uses across the boundary
//! (`db_next` results, `ed25519_batch_verify` arguments): each section is followed by its
//! length as a big-endian `u32`.

use crate::errors::{VmError, VmResult};

/// Encodes sections: `s1 ‖ len(s1) ‖ s2 ‖ len(s2) ‖ …`.
pub(crate) fn encode_sections(sections: &[&[u8]]) -> VmResult<Vec<u8>> {
    let total = sections.iter().map(|s| s.len() + 4).sum();
    let mut out = Vec::with_capacity(total);
    for section in sections {
        let len = u32::try_from(section.len())
            .map_err(|_| VmError::communication("section longer than 4 GiB"))?;
        out.extend_from_slice(section);
        out.extend_from_slice(&len.to_be_bytes());
    }
    Ok(out)
}

/// Decodes sections, reading lengths from the end.
pub(crate) fn decode_sections(data: &[u8]) -> VmResult<Vec<&[u8]>> {
    let mut sections = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let split = rest
            .len()
            .checked_sub(4)
            .ok_or_else(|| VmError::communication("sections encoding is truncated"))?;
        let (head, len) = rest.split_at(split);
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        let len = crate::memory::to_usize(len);
        let start = head.len().checked_sub(len).ok_or_else(|| {
            VmError::communication("a section's length is larger than the data before it")
        })?;
        sections.push(&head[start..]);
        rest = &head[..start];
    }
    sections.reverse();
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let parts: [&[u8]; 3] = [b"key", b"", b"value"];
        let encoded = encode_sections(&parts).unwrap();
        assert_eq!(&encoded[..7], b"key\0\0\0\x03");
        assert_eq!(decode_sections(&encoded).unwrap(), parts);
        assert!(decode_sections(b"ab").is_err());
        assert!(decode_sections(b"a\0\0\0\x05").is_err());
    }
}
