//! The two protobuf messages wasmd puts in a submessage's reply data, encoded by hand: contracts
//! (through `cw-utils`) decode them to learn an instantiated contract's address.

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn bytes_field(field: u8, bytes: &[u8], out: &mut Vec<u8>) {
    if bytes.is_empty() {
        return;
    }
    out.push(field << 3 | 2);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// `MsgInstantiateContractResponse { string address = 1; bytes data = 2; }`
pub(super) fn instantiate_response(address: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    bytes_field(1, address.as_bytes(), &mut out);
    bytes_field(2, data, &mut out);
    out
}

/// `MsgExecuteContractResponse { bytes data = 1; }` (and the migrate response, same shape).
pub(super) fn execute_response(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    bytes_field(1, data, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_protobuf() {
        assert_eq!(execute_response(b"hi"), b"\x0a\x02hi");
        assert_eq!(instantiate_response("a", b""), b"\x0a\x01a");
        let long = vec![7u8; 300];
        let encoded = execute_response(&long);
        assert_eq!(&encoded[..3], &[0x0a, 0xac, 0x02]);
    }
}
