//! Writes the fuzz targets' seed corpora: `consign-fuzz-seeds DIR` fills `DIR/<target>/` with
//! real inputs, made the way the node, the storage node and the inbox receive them.

use std::fs;
use std::path::Path;

use consign_types::{
    coins, contract_address, humanize_address, Msg, Registration, SecretKey, Signed, Tx, TxBody,
    UploadGrant, REGISTRATION_DOMAIN, UPLOAD_DOMAIN,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: consign-fuzz-seeds DIR (writes DIR/<target>/<seed>)")?;
    let dir = Path::new(&dir);
    let write = |target: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
        fs::create_dir_all(dir.join(target))?;
        fs::write(dir.join(target).join(name), bytes)
    };
    let alice = SecretKey::from_seed("alice");
    let bob = SecretKey::from_seed("bob");
    let contract = humanize_address(&contract_address(1, 1));
    let sha256 = consign_types::storage::sha256_hex(b"the data");

    // tx: signed transactions of several kinds, a tampered one, hashes and gas prices.
    let body = |messages: Vec<Msg>| TxBody {
        chain_id: "consign-dev".into(),
        sender: alice.address(),
        sequence: 7,
        gas_limit: 200_000,
        fee: coins(5_000, "ucsn"),
        memo: "seed".into(),
        messages,
    };
    let txs = [
        (
            "bank_send",
            vec![Msg::BankSend {
                to: bob.address(),
                amount: coins(100, "ucsn"),
            }],
        ),
        (
            "execute",
            vec![Msg::Execute {
                contract: contract.clone(),
                msg: br#"{"buy":{"offer_id":1}}"#.to_vec().into(),
                funds: coins(1_000, "ucsn"),
            }],
        ),
        (
            "instantiate2",
            vec![Msg::Instantiate2 {
                code_id: 1,
                msg: b"{}".to_vec().into(),
                funds: vec![],
                label: "sale".into(),
                admin: Some(alice.address()),
                salt: b"salt".to_vec().into(),
            }],
        ),
        (
            "store_code",
            vec![Msg::StoreCode {
                wasm: b"\0asm\x01\0\0\0".to_vec().into(),
            }],
        ),
    ];
    for (name, messages) in txs {
        let tx = Tx::sign(body(messages), &alice);
        write("tx", &format!("{name}.json"), &tx.to_bytes())?;
        if name == "bank_send" {
            let mut forged = tx.clone();
            forged.body.sequence = 8;
            write("tx", "forged.json", &forged.to_bytes())?;
            write(
                "tx",
                "hash.txt",
                Tx::hash(&tx.to_bytes()).to_string().as_bytes(),
            )?;
        }
    }
    write("tx", "gas_price.txt", b"0.025ucsn")?;

    // signed: an upload grant (header form), a registration (header form and JSON body).
    let grant = UploadGrant {
        node_id: "c0ffee".into(),
        sha256: sha256.clone(),
        size: 8,
        expires: 1_900_000_000,
    };
    let registration = Registration {
        node_id: "c0ffee".into(),
        chain_id: "consign-dev".into(),
        contract: contract.clone(),
        offer_id: 1,
        sha256: sha256.clone(),
        nonce: "0123456789abcdef".into(),
        issued_at: 1_800_000_000,
        custody: None,
    };
    let signed_grant = Signed::sign(UPLOAD_DOMAIN, grant, &alice);
    let signed_registration = Signed::sign(REGISTRATION_DOMAIN, registration, &alice);
    write(
        "signed",
        "grant.header",
        signed_grant.to_header_value().as_bytes(),
    )?;
    write(
        "signed",
        "registration.header",
        signed_registration.to_header_value().as_bytes(),
    )?;
    write(
        "signed",
        "registration.json",
        &serde_json::to_vec(&signed_registration)?,
    )?;

    // delivery_headers: a storage node's delivery, with and without the optional headers.
    let full = format!(
        "x-consign-contract: {contract}\nx-consign-purchase-id: 4\nx-consign-offer-id: 1\n\
         x-consign-content-sha256: {sha256}\nx-consign-content-size: 8\nx-consign-sequence: 9\n\
         idempotency-key: consign-dev/{contract}/4\ncontent-type: application/octet-stream\n"
    );
    write("delivery_headers", "full.txt", full.as_bytes())?;
    let minimal = format!(
        "x-consign-contract: {contract}\nx-consign-purchase-id: 4\nx-consign-offer-id: 1\n\
         x-consign-content-sha256: {}\nx-consign-content-size: 0\n",
        sha256.to_ascii_uppercase()
    );
    write("delivery_headers", "minimal.txt", minimal.as_bytes())?;

    // check_wasm: small contracts, one accepted and one breaking several rules at once.
    const REQUIRED: &str = r#"(memory (export "memory") 17)
        (func (export "allocate") (param i32) (result i32) local.get 0)
        (func (export "deallocate") (param i32))
        (func (export "interface_version_8"))"#;
    let modules = [
        (
            "contract",
            r#"(import "env" "db_read" (func (param i32) (result i32)))
            (table 1 1 funcref)
            (func (export "instantiate") (param i32 i32 i32) (result i32) i32.const 0)
            (func (export "query") (param i32 i32) (result i32) i32.const 0)
            (func (export "requires_iterator"))"#,
        ),
        (
            "bad",
            r#"(import "env" "no_such_import" (func (param i64)))
            (import "wasi" "fd_write" (func))
            (table 3000 funcref)
            (func (export "requires_teleportation"))
            (func (export "float") (param f32) (result f32) local.get 0)"#,
        ),
    ];
    for (name, extra) in modules {
        let wasm = wat::parse_str(format!("(module {extra} {REQUIRED})"))?;
        write("check_wasm", &format!("{name}.wasm"), &wasm)?;
    }
    write("check_wasm", "empty.wasm", &wat::parse_str("(module)")?)?;

    // parsers: sizes.
    for (name, text) in [("mib", "512MiB"), ("fraction", "1.5 GB"), ("bytes", "1024")] {
        write("parsers", &format!("{name}.txt"), text.as_bytes())?;
    }
    Ok(())
}
