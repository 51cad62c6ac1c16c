//! Simulations and the paginated lists: a simulation reports the gas the same transaction uses
//! in a block, changes nothing (state, sequences, the VM's code store), verifies what it can,
//! and the lists page through codes, a code's contracts and a contract's storage.

use consign_chain::{CheckError, Pending};
use consign_types::{coins, Binary, Msg, Timestamp, Tx, TxBody};
use serde_json::json;

use crate::common::{addr, key, wasm, TestChain, CHAIN_ID, GAS};

const CAP: u64 = 100_000_000;

fn now() -> Timestamp {
    Timestamp::from_seconds(1_800_000_000)
}

fn transfer(token: &str, to: &str, amount: u64) -> Vec<Msg> {
    vec![Msg::Execute {
        contract: token.into(),
        msg: Binary::new(
            serde_json::to_vec(
                &json!({"transfer": {"recipient": addr(to), "amount": amount.to_string()}}),
            )
            .unwrap(),
        ),
        funds: vec![],
    }]
}

fn token(chain: &mut TestChain) -> (u64, String) {
    let code_id = chain.store("cw20_base");
    let token = chain.instantiate(
        code_id,
        json!({"name": "Consign Token", "symbol": "CSN", "decimals": 6,
               "initial_balances": [{"address": addr("alice"), "amount": "1000"}]}),
        "token",
    );
    (code_id, token)
}

#[test]
fn a_simulation_reports_the_blocks_gas_and_changes_nothing() {
    let mut chain = TestChain::new();
    let (_, token) = token(&mut chain);
    let bytes = chain.signed("alice", transfer(&token, "bob", 400));
    let hash = chain.app.state_hash();
    let sequence = chain.app.sequence(&addr("alice"));
    let view = chain.app.view();

    let simulated = view
        .simulate(&bytes, &Pending::default(), CAP, now())
        .unwrap();
    assert_eq!(simulated.code, 0, "{}", simulated.log);
    assert_eq!(simulated.gas_limit, CAP);
    assert!(simulated.events.iter().any(|e| e.ty == "wasm"));
    // Nothing moved: the state hash, the sequence, the balances, the contract's answer.
    assert_eq!(chain.app.state_hash(), hash);
    assert_eq!(chain.app.sequence(&addr("alice")), sequence);
    assert_eq!(
        chain.query(&token, json!({"balance": {"address": addr("bob")}})),
        json!({"balance": "0"})
    );
    // The same twice, and the same as the block.
    let again = view
        .simulate(&bytes, &Pending::default(), CAP, now())
        .unwrap();
    assert_eq!(again.gas_used, simulated.gas_used);
    let mut outcome = chain.block(vec![bytes]);
    let result = outcome.results.remove(0);
    assert_eq!(result.code, 0, "{}", result.log);
    assert_eq!(result.gas_used, simulated.gas_used);
}

#[test]
fn a_failing_transaction_is_simulated_with_its_reason() {
    let mut chain = TestChain::new();
    let (_, token) = token(&mut chain);
    let bytes = chain.signed("bob", transfer(&token, "alice", 1));
    let simulated = chain
        .app
        .view()
        .simulate(&bytes, &Pending::default(), CAP, now())
        .unwrap();
    assert_eq!(simulated.code, 5_000);
    assert!(simulated.log.contains("Cannot Sub"), "{}", simulated.log);
    assert!(
        simulated.events.iter().all(|e| e.ty == "tx"),
        "only the fee's event: {:?}",
        simulated.events
    );
    assert_eq!(chain.app.sequence(&addr("bob")), 0);
}

#[test]
fn the_checks_refuse_what_could_never_be_committed() {
    let chain = TestChain::new();
    let view = chain.app.view();
    let send = vec![Msg::BankSend {
        to: addr("bob"),
        amount: coins(5, "ucsn"),
    }];
    let refuse = |bytes: &[u8]| {
        view.simulate(bytes, &Pending::default(), CAP, now())
            .unwrap_err()
    };

    let err = refuse(b"{\"body\": 42}");
    assert!(matches!(err, CheckError::Tx(_)), "{err}");
    let err = refuse(b"");
    assert!(matches!(err, CheckError::Tx(_)), "{err}");

    // A wrong sequence, the wrong chain, a sender that does not exist.
    let err = refuse(&chain.sign("alice", send.clone(), GAS, 7));
    assert!(
        matches!(err, CheckError::Sequence { expected: 0, .. }),
        "{err}"
    );
    let body = |sender: &str, chain_id: &str| TxBody {
        chain_id: chain_id.into(),
        sender: addr(sender),
        sequence: 0,
        gas_limit: GAS,
        fee: vec![],
        memo: String::new(),
        messages: send.clone(),
    };
    let err = refuse(&Tx::sign(body("alice", "elsewhere"), &key("alice")).to_bytes());
    assert!(matches!(err, CheckError::ChainId { .. }), "{err}");
    let err = refuse(&Tx::sign(body("mallory", CHAIN_ID), &key("mallory")).to_bytes());
    assert!(matches!(err, CheckError::UnknownAccount { .. }), "{err}");
    // Counting the sender's pending transactions, sequence 0 is taken.
    let pending = Pending::count(1);
    let err = view
        .simulate(
            &Tx::sign(body("alice", CHAIN_ID), &key("alice")).to_bytes(),
            &pending,
            CAP,
            now(),
        )
        .unwrap_err();
    assert!(
        matches!(err, CheckError::Sequence { expected: 1, .. }),
        "{err}"
    );

    // A signature is optional, but one that is there must verify, and the key must be the
    // sender's either way.
    let mut unsigned = Tx::sign(body("alice", CHAIN_ID), &key("alice"));
    unsigned.signature = Binary::default();
    let simulated = view
        .simulate(&unsigned.to_bytes(), &Pending::default(), CAP, now())
        .unwrap();
    assert_eq!(simulated.code, 0, "{}", simulated.log);
    let mut forged = Tx::sign(body("alice", CHAIN_ID), &key("bob"));
    let err = refuse(&forged.to_bytes());
    assert!(err.to_string().contains("signer"), "{err}");
    forged.signature = Binary::default();
    let err = refuse(&forged.to_bytes());
    assert!(err.to_string().contains("public key"), "{err}");
    let mut tampered = Tx::sign(body("alice", CHAIN_ID), &key("alice"));
    tampered.body.memo = "changed".into();
    let err = refuse(&tampered.to_bytes());
    assert!(err.to_string().contains("signature"), "{err}");
}

#[test]
fn a_simulated_upload_is_checked_but_neither_stored_nor_compiled() {
    let chain = TestChain::new();
    let vm_dir = chain.dir.path().join("vm");
    let files = || walk(&vm_dir);
    let before = files();
    let upload = chain.signed(
        "alice",
        vec![Msg::StoreCode {
            wasm: Binary::new(wasm("kitchen_sink")),
        }],
    );
    let simulated = chain
        .app
        .view()
        .simulate(&upload, &Pending::default(), CAP, now())
        .unwrap();
    assert_eq!(simulated.code, 0, "{}", simulated.log);
    assert_eq!(simulated.code_id, Some(1));
    assert!(chain.app.code(1).is_none());
    assert_eq!(files(), before, "the VM's store is untouched");

    let junk = chain.signed(
        "alice",
        vec![Msg::StoreCode {
            wasm: Binary::new(b"not wasm".to_vec()),
        }],
    );
    let simulated = chain
        .app
        .view()
        .simulate(&junk, &Pending::default(), CAP, now())
        .unwrap();
    assert_ne!(simulated.code, 0);
    assert!(simulated.log.contains("rejected"), "{}", simulated.log);

    // The gas cap binds: below the intrinsic cost the upload is refused, above it it runs out.
    let intrinsic = consign_chain::gas::intrinsic(upload.len());
    let err = chain
        .app
        .view()
        .simulate(&upload, &Pending::default(), intrinsic - 1, now())
        .unwrap_err();
    assert!(matches!(err, CheckError::GasTooLow { .. }), "{err}");
    let simulated = chain
        .app
        .view()
        .simulate(&upload, &Pending::default(), intrinsic + 1_000, now())
        .unwrap();
    assert_eq!(simulated.code, 11, "{}", simulated.log);
    assert_eq!(simulated.gas_limit, intrinsic + 1_000);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn lists_page_through_codes_contracts_and_storage() {
    let mut chain = TestChain::new();
    let (cw20, token) = token(&mut chain);
    let other = chain.instantiate(
        cw20,
        json!({"name": "Other", "symbol": "OTH", "decimals": 0, "initial_balances": []}),
        "other",
    );
    let sink = chain.store("kitchen_sink");
    let view = chain.app.view();

    let page = view.codes(None, 1).unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].0, cw20);
    let next = view.codes(Some(cw20), 1).unwrap();
    assert_eq!(next.items[0].0, sink);
    assert!(view.codes(Some(sink), 1).unwrap().next.is_none());
    assert_eq!(view.codes(None, 100).unwrap().items.len(), 2);

    let mut expected = vec![token.clone(), other];
    expected.sort();
    let all = view.contracts_by_code(cw20, None, 100).unwrap();
    assert_eq!(all.items, expected);
    assert!(all.next.is_none());
    let first = view.contracts_by_code(cw20, None, 1).unwrap();
    assert_eq!(first.items, expected[..1]);
    let after = String::from_utf8(first.next.unwrap()).unwrap();
    let second = view.contracts_by_code(cw20, Some(&after), 1).unwrap();
    assert_eq!(second.items, expected[1..]);
    assert!(view
        .contracts_by_code(sink, None, 100)
        .unwrap()
        .items
        .is_empty());

    let state = view.contract_state(&token, None, 1000, 1 << 20).unwrap();
    assert!(state.next.is_none());
    assert!(state.items.iter().any(|(k, _)| k == b"token_info"));
    let mut paged = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = view
            .contract_state(&token, after.as_deref(), 2, 1 << 20)
            .unwrap();
        assert!(page.items.len() <= 2);
        paged.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, state.items);
    // The byte budget ends a page early but never returns an empty one.
    let tiny = view.contract_state(&token, None, 1000, 1).unwrap();
    assert_eq!(tiny.items.len(), 1);
    assert!(tiny.next.is_some());
    assert!(matches!(
        view.contract_state(&addr("alice"), None, 10, 1 << 20),
        Err(consign_chain::ChainError::NotFound(_))
    ));
}
