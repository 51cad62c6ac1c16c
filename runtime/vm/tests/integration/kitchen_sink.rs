//! The well-behaved contract, exercising every host import through `cosmwasm-std`'s APIs.

use consign_sdk::{DeliveryAddress, DeliveryInstruction};
use consign_vm::VmError;
use cosmwasm_std::{Binary, ContractResult, MigrateInfo, Reply, SubMsgResult};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::{addr, env, Harness};

const AGE_KEY: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

fn sink() -> Harness {
    let mut h = Harness::new("kitchen_sink");
    let res = h.instantiate(&addr(1), json!({"count": 5})).unwrap();
    assert!(matches!(res, ContractResult::Ok(_)), "{res:?}");
    h
}

fn instruction(purchase_id: u64) -> DeliveryInstruction {
    DeliveryInstruction {
        offer_id: 3,
        purchase_id,
        buyer: addr(2).to_string(),
        recipient: DeliveryAddress {
            endpoint: "https://buyer.example/inbox".into(),
            key: AGE_KEY.into(),
        },
        content_sha256: hex::encode(Sha256::digest(b"the data")),
        size: 8,
        deadline: None,
    }
}

#[test]
fn counter_and_storage_round_trip() {
    let mut h = sink();
    h.execute_ok(&addr(1), json!({"increment": {}}));
    let count: Value = h.query(json!({"counter": {}}));
    assert_eq!(count, json!({"count": 6}));
    let creator: Value = h.query(json!({"creator": {}}));
    assert_eq!(creator["creator"], addr(1).to_string());
    for (k, v) in [("b", "2"), ("a", "1"), ("c", "3"), ("d", "4")] {
        h.execute_ok(&addr(1), json!({"set": {"key": k, "value": v}}));
    }
    h.execute_ok(&addr(1), json!({"remove": {"key": "d"}}));
    let list: Value = h.query(json!({"list": {}}));
    assert_eq!(
        list,
        json!({"entries": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}, {"key": "c", "value": "3"}]})
    );
    let keys: Value = h.query(json!({"keys": {"descending": true, "limit": 2}}));
    assert_eq!(keys, json!({"keys": ["c", "b"]}));
    let values: Value = h.query(json!({"values": {"start_after": "a"}}));
    assert_eq!(values, json!({"values": ["2", "3"]}));
    let get: Value = h.query(json!({"get": {"key": "zz"}}));
    assert_eq!(get, json!({"value": null}));
}

#[test]
fn env_reaches_the_contract_as_cosmwasm_std_encodes_it() {
    let mut h = sink();
    let seen: cosmwasm_std::Env = h.query(json!({"env": {}}));
    assert_eq!(seen, env());
}

#[test]
fn a_failed_call_leaves_storage_untouched() {
    let mut h = sink();
    let before = h.snapshot();
    let res = h
        .execute(
            &addr(1),
            json!({"set_then_fail": {"key": "x", "value": "y", "message": "no"}}),
        )
        .unwrap();
    match res {
        ContractResult::Err(msg) => assert!(msg.ends_with("error: no"), "{msg}"),
        ok => panic!("{ok:?}"),
    }
    assert_eq!(h.snapshot(), before);
    let err = h.execute(&addr(1), json!({"panic": {}})).unwrap_err();
    assert!(matches!(err, VmError::Aborted { .. }), "{err}");
    assert_eq!(h.snapshot(), before);
}

#[test]
fn a_valid_delivery_appears_in_the_result() {
    let mut h = sink();
    let res = h.execute_ok(
        &addr(1),
        json!({"deliver": {"instruction": instruction(7)}}),
    );
    assert!(res
        .attributes
        .iter()
        .any(|a| a.key == "delivered" && a.value == "7"));
    assert_eq!(h.last.as_ref().unwrap().deliveries, vec![instruction(7)]);
}

#[test]
fn an_invalid_delivery_fails_the_call_with_the_reason() {
    let mut h = sink();
    let before = h.snapshot();
    let mut bad = instruction(8);
    bad.buyer = "cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu".into();
    let err = h
        .execute(&addr(1), json!({"deliver": {"instruction": bad}}))
        .unwrap_err();
    assert!(matches!(err, VmError::InvalidDelivery { .. }), "{err}");
    assert!(err.to_string().contains("buyer address"), "{err}");
    assert!(err.to_string().contains("Wrong bech32 prefix"), "{err}");
    assert_eq!(h.snapshot(), before);
    assert!(h.last.as_ref().unwrap().deliveries.is_empty());
}

#[test]
fn a_delivery_in_a_failed_call_is_dropped() {
    let mut h = sink();
    let res = h
        .execute(
            &addr(1),
            json!({"deliver_then_fail": {"instruction": instruction(9)}}),
        )
        .unwrap();
    assert!(matches!(res, ContractResult::Err(_)), "{res:?}");
    assert!(h.last.as_ref().unwrap().deliveries.is_empty());
}

#[test]
fn debug_messages_are_collected() {
    let mut h = sink();
    h.execute_ok(&addr(1), json!({"debug": {"message": "hello host"}}));
    assert_eq!(h.last.as_ref().unwrap().debug_messages, vec!["hello host"]);
}

#[test]
fn gas_is_deterministic() {
    let mut a = sink();
    let mut b = sink();
    a.execute_ok(&addr(1), json!({"set": {"key": "k", "value": "v"}}));
    b.execute_ok(&addr(1), json!({"set": {"key": "k", "value": "v"}}));
    assert_eq!(a.gas_used(), b.gas_used());
    assert!(a.gas_used() > 10_000, "{}", a.gas_used());
}

#[test]
fn addresses_validate_canonicalize_and_humanize() {
    let mut h = sink();
    let ok: Value = h.query(json!({"addr_validate": {"addr": addr(3)}}));
    assert_eq!(ok, json!({"ok": addr(3)}));
    let upper: Value = h.query(json!({"addr_validate": {"addr": addr(3).as_str().to_uppercase()}}));
    assert!(
        upper["error"]
            .as_str()
            .unwrap()
            .ends_with("Address is not normalized"),
        "{upper}"
    );
    let wrong: Value = h
        .query(json!({"addr_validate": {"addr": "cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu"}}));
    assert!(
        wrong["error"]
            .as_str()
            .unwrap()
            .contains("Wrong bech32 prefix"),
        "{wrong}"
    );
    let empty: Value = h.query(json!({"addr_validate": {"addr": ""}}));
    assert!(
        empty["error"].as_str().unwrap().ends_with("Input is empty"),
        "{empty}"
    );
    let canonical: Value = h.query(json!({"addr_canonicalize": {"addr": addr(3)}}));
    assert_eq!(canonical, json!({"ok": Binary::new(vec![3; 20])}));
    let human: Value = h.query(json!({"addr_humanize": {"canonical": Binary::new(vec![3; 20])}}));
    assert_eq!(human, json!({"ok": addr(3)}));
}

#[test]
fn secp256k1_verify_and_recover() {
    let mut h = sink();
    let key = k256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
    let hash = Sha256::digest(b"message");
    let (sig, recid): (k256::ecdsa::Signature, _) = key.sign_prehash_recoverable(&hash).unwrap();
    let sig = sig.normalize_s().unwrap_or(sig);
    let pubkey = key
        .verifying_key()
        .to_encoded_point(true)
        .as_bytes()
        .to_vec();
    let b = |v: &[u8]| Binary::new(v.to_vec());
    let ok: Value = h.query(json!({"secp256k1_verify": {"hash": b(&hash), "signature": b(&sig.to_bytes()), "pubkey": b(&pubkey)}}));
    assert_eq!(ok, json!({"ok": true}));
    let other = Sha256::digest(b"other");
    let bad: Value = h.query(json!({"secp256k1_verify": {"hash": b(&other), "signature": b(&sig.to_bytes()), "pubkey": b(&pubkey)}}));
    assert_eq!(bad, json!({"ok": false}));
    let malformed: Value = h.query(json!({"secp256k1_verify": {"hash": b(&hash), "signature": b(&sig.to_bytes()), "pubkey": b(&[1, 2, 3])}}));
    assert!(
        malformed["error"].as_str().unwrap().contains("public key"),
        "{malformed}"
    );
    let recovered: Value = h.query(json!({"secp256k1_recover": {"hash": b(&hash), "signature": b(&sig.to_bytes()), "recovery_param": recid.to_byte()}}));
    let uncompressed = key
        .verifying_key()
        .to_encoded_point(false)
        .as_bytes()
        .to_vec();
    // The reference recovers the uncompressed key.
    assert_eq!(recovered, json!({"ok": b(&uncompressed)}));
    let bad_param: Value = h.query(json!({"secp256k1_recover": {"hash": b(&hash), "signature": b(&sig.to_bytes()), "recovery_param": 7}}));
    assert!(
        bad_param["error"].as_str().unwrap().contains("recovery"),
        "{bad_param}"
    );
}

#[test]
fn secp256r1_verify_and_recover() {
    let mut h = sink();
    let b = |v: &[u8]| Binary::new(v.to_vec());
    let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let hash = Sha256::digest(b"message");
    let sig: p256::ecdsa::Signature =
        p256::ecdsa::signature::hazmat::PrehashSigner::sign_prehash(&key, &hash).unwrap();
    let sig = sig.normalize_s().unwrap_or(sig);
    let pubkey = key
        .verifying_key()
        .to_encoded_point(true)
        .as_bytes()
        .to_vec();
    let verify = |h: &mut Harness, hash: &[u8], pubkey: &[u8]| -> Value {
        h.query(json!({"secp256r1_verify": {"hash": b(hash), "signature": b(&sig.to_bytes()), "pubkey": b(pubkey)}}))
    };
    assert_eq!(verify(&mut h, &hash, &pubkey), json!({"ok": true}));
    assert_eq!(
        verify(&mut h, &Sha256::digest(b"other"), &pubkey),
        json!({"ok": false})
    );
    let malformed = verify(&mut h, &hash, &[3; 33]);
    assert!(malformed["error"].is_string(), "{malformed}");
    // One of the two recovery parameters gives back the signer's (uncompressed) key.
    let uncompressed = key
        .verifying_key()
        .to_encoded_point(false)
        .as_bytes()
        .to_vec();
    let recovered: Vec<Value> = [0u8, 1]
        .iter()
        .map(|param| {
            h.query(json!({"secp256r1_recover": {"hash": b(&hash), "signature": b(&sig.to_bytes()), "recovery_param": param}}))
        })
        .collect();
    assert!(
        recovered.contains(&json!({"ok": b(&uncompressed)})),
        "{recovered:?}"
    );
}

#[test]
fn ed25519_verify_and_batch_verify() {
    // RFC 8032, test 1.
    let pubkey =
        hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").unwrap();
    let sig = hex::decode("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b").unwrap();
    let b = |v: &[u8]| Binary::new(v.to_vec());
    let mut h = sink();
    let ok: Value = h.query(
        json!({"ed25519_verify": {"message": b(b""), "signature": b(&sig), "pubkey": b(&pubkey)}}),
    );
    assert_eq!(ok, json!({"ok": true}));
    let bad: Value = h.query(
        json!({"ed25519_verify": {"message": b(b"x"), "signature": b(&sig), "pubkey": b(&pubkey)}}),
    );
    assert_eq!(bad, json!({"ok": false}));
    let batch: Value = h.query(json!({"ed25519_batch_verify": {"messages": [b(b""), b(b"")], "signatures": [b(&sig), b(&sig)], "pubkeys": [b(&pubkey)]}}));
    assert_eq!(batch, json!({"ok": true}));
    let mismatch: Value = h.query(json!({"ed25519_batch_verify": {"messages": [b(b"")], "signatures": [b(&sig), b(&sig)], "pubkeys": [b(&pubkey), b(&pubkey), b(&pubkey)]}}));
    assert!(mismatch.get("error").is_some(), "{mismatch}");
}

#[test]
fn bls12_381_hash_aggregate_and_pairing() {
    let mut h = sink();
    let b = |v: &[u8]| Binary::new(v.to_vec());
    let g1: Value = h.query(json!({"bls12381_hash_to_g1": {"msg": b(b"abc"), "dst": b(b"QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_")}}));
    let point: Binary = serde_json::from_value(g1["ok"].clone()).expect("a point");
    assert_eq!(point.len(), 48);
    let agg: Value = h.query(json!({"bls12381_aggregate_g1": {"points": point}}));
    assert_eq!(agg["ok"], json!(point));
    let g2: Value = h.query(json!({"bls12381_hash_to_g2": {"msg": b(b"abc"), "dst": b(b"dst")}}));
    let g2_point: Binary = serde_json::from_value(g2["ok"].clone()).expect("a G2 point");
    assert_eq!(g2_point.len(), 96);
    let not_points: Value = h.query(json!({"bls12381_aggregate_g1": {"points": b(&[1; 47])}}));
    assert!(not_points.get("error").is_some(), "{not_points}");
    let pairing: Value = h.query(json!({"bls12381_pairing_equality": {"ps": point, "qs": g2_point, "r": point, "s": g2_point}}));
    assert_eq!(pairing, json!({"ok": true}));
}

#[test]
fn chain_queries_go_through_the_querier() {
    let mut h = sink();
    h.querier
        .balances
        .insert((addr(4).to_string(), "ucsn".into()), 1234);
    let res: Value = h.query(json!({"balance": {"address": addr(4), "denom": "ucsn"}}));
    assert_eq!(res, json!({"ok": {"denom": "ucsn", "amount": "1234"}}));
}

#[test]
fn migrate_sudo_and_reply_entry_points() {
    let mut h = sink();
    let info = MigrateInfo {
        sender: addr(1),
        old_migrate_version: Some(1),
    };
    let res = {
        let vm = h.vm;
        let backend = consign_vm::Backend {
            api: crate::common::api(),
            storage: std::mem::take(&mut h.storage),
            querier: h.querier.clone(),
        };
        let mut i = vm
            .instance(&h.checksum, backend, &Default::default())
            .unwrap();
        let migrate = i
            .call_migrate::<cosmwasm_std::Empty>(&env(), b"{}", &info)
            .unwrap();
        let sudo = i
            .call_sudo::<cosmwasm_std::Empty>(&env(), br#"{"record":{"note":"hi"}}"#)
            .unwrap();
        #[allow(deprecated)]
        let reply = Reply {
            id: 1,
            payload: Binary::default(),
            gas_used: 0,
            result: SubMsgResult::Err("boom".into()),
        };
        let reply = i.call_reply::<cosmwasm_std::Empty>(&env(), &reply).unwrap();
        h.storage = i.finish().backend.storage;
        (migrate, sudo, reply)
    };
    assert!(matches!(res.0, ContractResult::Ok(_)), "{:?}", res.0);
    assert!(matches!(res.1, ContractResult::Ok(_)), "{:?}", res.1);
    assert!(matches!(res.2, ContractResult::Ok(_)), "{:?}", res.2);
    let migrate: Value = h.query(json!({"get": {"key": "migrate"}}));
    assert!(
        migrate["value"].as_str().unwrap().contains("old_version=1"),
        "{migrate}"
    );
    let sudo: Value = h.query(json!({"get": {"key": "sudo"}}));
    assert_eq!(sudo, json!({"value": "hi"}));
}
