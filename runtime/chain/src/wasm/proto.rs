//! The protobuf messages wasmd puts in a submessage's reply (`data` and `msg_responses`), encoded
//! by hand: contracts (through `cw-utils`) decode the wasm ones to learn an instantiated
//! contract's address, and staking contracts read an unbonding's completion time from
//! `MsgUndelegateResponse`.

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

fn varint_field(field: u8, n: u64, out: &mut Vec<u8>) {
    if n == 0 {
        return;
    }
    out.push(field << 3);
    varint(n, out);
}

/// `google.protobuf.Timestamp { int64 seconds = 1; int32 nanos = 2; }`
fn timestamp(time: cosmwasm_std::Timestamp) -> Vec<u8> {
    let mut out = Vec::new();
    varint_field(1, time.seconds(), &mut out);
    varint_field(2, time.subsec_nanos(), &mut out);
    out
}

/// `cosmos.base.v1beta1.Coin { string denom = 1; string amount = 2; }`
fn coin(coin: &cosmwasm_std::Coin) -> Vec<u8> {
    let mut out = Vec::new();
    bytes_field(1, coin.denom.as_bytes(), &mut out);
    bytes_field(2, coin.amount.to_string().as_bytes(), &mut out);
    out
}

/// `MsgUndelegateResponse { Timestamp completion_time = 1; Coin amount = 2; }`
pub(crate) fn undelegate_response(
    completion: cosmwasm_std::Timestamp,
    amount: &cosmwasm_std::Coin,
) -> Vec<u8> {
    let mut out = Vec::new();
    bytes_field(1, &timestamp(completion), &mut out);
    bytes_field(2, &coin(amount), &mut out);
    out
}

/// `MsgBeginRedelegateResponse { Timestamp completion_time = 1; }`
pub(crate) fn redelegate_response(completion: cosmwasm_std::Timestamp) -> Vec<u8> {
    let mut out = Vec::new();
    bytes_field(1, &timestamp(completion), &mut out);
    out
}

/// `MsgWithdrawDelegatorRewardResponse { repeated Coin amount = 1; }`
pub(crate) fn withdraw_response(amount: &[cosmwasm_std::Coin]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in amount {
        bytes_field(1, &coin(c), &mut out);
    }
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
        // completion_time {seconds: 1700000000}, amount {denom: "u", amount: "5"}.
        let undelegate = undelegate_response(
            cosmwasm_std::Timestamp::from_seconds(1_700_000_000),
            &cosmwasm_std::Coin::new(5u128, "u"),
        );
        assert_eq!(
            undelegate,
            b"\x0a\x06\x08\x80\xe2\xcf\xaa\x06\x12\x06\x0a\x01u\x12\x015"
        );
        assert_eq!(withdraw_response(&[]), b"");
    }
}
