//! [`DeliveryHeaders`]: the `x-consign-*` headers of a delivery, parsed and checked.

use reqwest::header::HeaderMap;
use serde::Serialize;

use super::InboxError;
use crate::storage::delivery_headers as h;
use crate::validate_address;

/// What a delivery's headers claim. Nothing here is trusted as is: the inbox checks the
/// purchase on-chain and takes the digest and size from the offer; the headers must agree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeliveryHeaders {
    /// The data-sale contract (a valid bech32 address).
    pub contract: String,
    /// The purchase id.
    pub purchase_id: u64,
    /// The offer id.
    pub offer_id: u64,
    /// SHA-256 of the plaintext, lowercase hex.
    pub content_sha256: String,
    /// The plaintext's size in bytes.
    pub content_size: u64,
    /// The delivery log's sequence number, if sent.
    pub sequence: Option<u64>,
    /// The sender's idempotency key, if sent.
    pub idempotency_key: Option<String>,
    /// With the custody headers: the delivery is one piece of a k-of-n custody set.
    pub custody: Option<CustodyHeaders>,
}

/// The headers of a delivery that is one piece of a k-of-n custody set (issue 14): storage node
/// `index`'s fragment in the body and its key share in [`KEY_SHARE`](h::KEY_SHARE).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct CustodyHeaders {
    /// The piece's index, below `n`.
    pub index: u16,
    /// The set's `k` (pieces needed): must be the offer's.
    pub k: u16,
    /// The set's `n` (pieces made): must be the offer's.
    pub n: u16,
    /// The key share, sealed to the buyer's recipient (not checked here).
    #[serde(skip)]
    pub sealed_share: String,
}

impl std::fmt::Debug for CustodyHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustodyHeaders")
            .field("index", &self.index)
            .field("k", &self.k)
            .field("n", &self.n)
            .finish_non_exhaustive()
    }
}

impl CustodyHeaders {
    /// The custody headers, if the delivery has any: all of index, k, n and the key share, or
    /// none of them.
    fn parse(headers: &HeaderMap) -> Result<Option<Self>, InboxError> {
        let names = [h::CUSTODY_INDEX, h::CUSTODY_K, h::CUSTODY_N, h::KEY_SHARE];
        if names.iter().all(|name| !headers.contains_key(*name)) {
            return Ok(None);
        }
        let small = |name: &'static str| -> Result<u16, InboxError> {
            let value = required(headers, name)?;
            value.parse().map_err(|_| InboxError::BadHeader {
                header: name,
                reason: format!("`{value}` is not a decimal number below 65536"),
            })
        };
        let (index, k, n) = (
            small(h::CUSTODY_INDEX)?,
            small(h::CUSTODY_K)?,
            small(h::CUSTODY_N)?,
        );
        if k == 0 || k > n {
            return Err(InboxError::BadHeader {
                header: h::CUSTODY_K,
                reason: format!("k = {k} of n = {n}: it must be 1 ≤ k ≤ n"),
            });
        }
        if index >= n {
            return Err(InboxError::BadHeader {
                header: h::CUSTODY_INDEX,
                reason: format!("piece {index} of n = {n}: the index must be below n"),
            });
        }
        Ok(Some(Self {
            index,
            k,
            n,
            sealed_share: required(headers, h::KEY_SHARE)?.to_owned(),
        }))
    }
}

impl DeliveryHeaders {
    /// Reads the headers of a delivery request: the contract, purchase id, offer id, content
    /// SHA-256 and size are required; the sequence and the idempotency key are optional; the
    /// custody headers come all together (index below n, 1 ≤ k ≤ n) or not at all.
    ///
    /// # Errors
    ///
    /// [`InboxError::MissingHeader`] or [`InboxError::BadHeader`], naming the header.
    pub fn parse(headers: &HeaderMap) -> Result<Self, InboxError> {
        let contract = required(headers, h::CONTRACT)?;
        validate_address(contract).map_err(|e| InboxError::BadHeader {
            header: h::CONTRACT,
            reason: e.to_string(),
        })?;
        let content_sha256 = required(headers, h::CONTENT_SHA256)?.to_ascii_lowercase();
        if content_sha256.len() != 64 || !content_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(InboxError::BadHeader {
                header: h::CONTENT_SHA256,
                reason: format!("`{content_sha256}` is not a SHA-256 digest (64 hex characters)"),
            });
        }
        Ok(Self {
            contract: contract.to_owned(),
            purchase_id: number(h::PURCHASE_ID, required(headers, h::PURCHASE_ID)?)?,
            offer_id: number(h::OFFER_ID, required(headers, h::OFFER_ID)?)?,
            content_sha256,
            content_size: number(h::CONTENT_SIZE, required(headers, h::CONTENT_SIZE)?)?,
            sequence: optional(headers, h::SEQUENCE)?
                .map(|v| number(h::SEQUENCE, v))
                .transpose()?,
            idempotency_key: optional(headers, h::IDEMPOTENCY_KEY)?.map(str::to_owned),
            custody: CustodyHeaders::parse(headers)?,
        })
    }
}

fn optional<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>, InboxError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(InboxError::BadHeader {
            header: name,
            reason: "it is given more than once".into(),
        });
    }
    let text = value.to_str().map_err(|_| InboxError::BadHeader {
        header: name,
        reason: "it is not visible ASCII".into(),
    })?;
    Ok(Some(text.trim()))
}

fn required<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, InboxError> {
    match optional(headers, name)? {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(InboxError::MissingHeader { header: name }),
    }
}

fn number(name: &'static str, value: &str) -> Result<u64, InboxError> {
    value.parse().map_err(|_| InboxError::BadHeader {
        header: name,
        reason: format!("`{value}` is not a decimal number"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn contract() -> String {
        crate::humanize_address(&crate::contract_address(1, 1))
    }

    fn headers(contract: &str, purchase: u64, sha: &str, size: u64) -> HeaderMap {
        let mut map = HeaderMap::new();
        let mut set = |name: &'static str, value: String| {
            map.insert(name, HeaderValue::from_str(&value).unwrap());
        };
        set(h::CONTRACT, contract.to_owned());
        set(h::PURCHASE_ID, purchase.to_string());
        set(h::OFFER_ID, "1".into());
        set(h::CONTENT_SHA256, sha.to_owned());
        set(h::CONTENT_SIZE, size.to_string());
        set(h::SEQUENCE, "9".into());
        map
    }

    #[test]
    fn complete_headers_parse() {
        let sha = "AB".repeat(32);
        let parsed = DeliveryHeaders::parse(&headers(&contract(), 4, &sha, 10)).unwrap();
        assert_eq!(parsed.contract, contract());
        assert_eq!(parsed.purchase_id, 4);
        assert_eq!(parsed.offer_id, 1);
        assert_eq!(parsed.content_sha256, "ab".repeat(32));
        assert_eq!(parsed.content_size, 10);
        assert_eq!(parsed.sequence, Some(9));
        assert_eq!(parsed.idempotency_key, None);
    }

    #[test]
    fn missing_and_garbled_headers_are_named() {
        let sha = "ab".repeat(32);
        let mut map = headers(&contract(), 4, &sha, 10);
        map.remove(h::PURCHASE_ID);
        let err = DeliveryHeaders::parse(&map).unwrap_err();
        assert!(matches!(err, InboxError::MissingHeader { header } if header == h::PURCHASE_ID));
        assert_eq!(err.status(), 400);

        for (name, value, expected) in [
            (h::PURCHASE_ID, "four", "not a decimal number"),
            (h::CONTENT_SIZE, "-1", "not a decimal number"),
            (h::CONTENT_SHA256, "abc", "not a SHA-256"),
            (h::CONTRACT, "consign1nope", "x-consign-contract"),
            (h::SEQUENCE, "x", "not a decimal number"),
        ] {
            let mut map = headers(&contract(), 4, &sha, 10);
            map.insert(name, HeaderValue::from_static(value));
            let err = DeliveryHeaders::parse(&map).unwrap_err();
            assert_eq!(err.status(), 400, "{name}: {err}");
            assert!(err.to_string().contains(name), "{err}");
            assert!(err.to_string().contains(expected), "{err}");
        }

        let mut map = headers(&contract(), 4, &sha, 10);
        map.append(h::PURCHASE_ID, HeaderValue::from_static("5"));
        let err = DeliveryHeaders::parse(&map).unwrap_err();
        assert!(err.to_string().contains("more than once"), "{err}");
    }

    #[test]
    fn custody_headers_come_whole_and_consistent() {
        let sha = "ab".repeat(32);
        let piece = |index: &'static str, k: &'static str, n: &'static str| {
            let mut map = headers(&contract(), 4, &sha, 10);
            map.insert(h::CUSTODY_INDEX, HeaderValue::from_static(index));
            map.insert(h::CUSTODY_K, HeaderValue::from_static(k));
            map.insert(h::CUSTODY_N, HeaderValue::from_static(n));
            map.insert(h::KEY_SHARE, HeaderValue::from_static("c2VhbGVk"));
            map
        };
        let parsed = DeliveryHeaders::parse(&piece("2", "2", "3")).unwrap();
        let custody = parsed.custody.unwrap();
        assert_eq!((custody.index, custody.k, custody.n), (2, 2, 3));
        assert_eq!(custody.sealed_share, "c2VhbGVk");
        assert!(!format!("{custody:?}").contains("c2VhbGVk"));
        assert_eq!(
            DeliveryHeaders::parse(&headers(&contract(), 4, &sha, 10))
                .unwrap()
                .custody,
            None
        );

        for (map, header, expected) in [
            (piece("3", "2", "3"), h::CUSTODY_INDEX, "below n"),
            (piece("0", "4", "3"), h::CUSTODY_K, "1 ≤ k ≤ n"),
            (piece("0", "0", "3"), h::CUSTODY_K, "1 ≤ k ≤ n"),
            (piece("70000", "2", "3"), h::CUSTODY_INDEX, "below 65536"),
        ] {
            let err = DeliveryHeaders::parse(&map).unwrap_err();
            assert_eq!(err.status(), 400, "{err}");
            assert!(err.to_string().contains(header), "{err}");
            assert!(err.to_string().contains(expected), "{err}");
        }
        // A piece without its share (or a share without the rest) is half a piece.
        let mut map = piece("0", "2", "3");
        map.remove(h::KEY_SHARE);
        let err = DeliveryHeaders::parse(&map).unwrap_err();
        assert!(matches!(err, InboxError::MissingHeader { header } if header == h::KEY_SHARE));
        let mut map = headers(&contract(), 4, &sha, 10);
        map.insert(h::KEY_SHARE, HeaderValue::from_static("c2VhbGVk"));
        let err = DeliveryHeaders::parse(&map).unwrap_err();
        assert!(matches!(err, InboxError::MissingHeader { header } if header == h::CUSTODY_INDEX));
    }
}
