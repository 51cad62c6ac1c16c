//! The world the inbox tests share: a chain with the data-sale contract, a storage node, an
//! offer whose seller has gone, and deliveries posted by hand as a storage node (or a stranger)
//! would.

use std::io::Write as _;
use std::path::PathBuf;

use consign_client::seal::seal;
use consign_client::storage::delivery_headers as h;
use consign_tests::{deploy_data_sale, ok_json, show_purchase, DevNode, Seller, Sold, StorageNode};
use serde_json::Value;

use consign_tests::inbox::TIMEOUT;

/// A chain with the data-sale contract, a storage node allowed to deliver to loopback, and an
/// offer of `plaintext` whose seller has gone for good.
pub(crate) struct World {
    _tmp: tempfile::TempDir,
    pub(crate) dir: PathBuf,
    pub(crate) node: DevNode,
    pub(crate) market: String,
    pub(crate) storage: StorageNode,
    pub(crate) seller: String,
    pub(crate) sold: Sold,
    pub(crate) plaintext: Vec<u8>,
}

impl World {
    pub(crate) fn new(plaintext: Vec<u8>) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let node = DevNode::start(&dir.join("chain")).unwrap();
        let market = deploy_data_sale(&node).unwrap();
        let storage =
            StorageNode::start(&dir.join("storage"), &node.url, &["--allow-private-egress"])
                .unwrap();
        let file = dir.join("survey.bin");
        std::fs::write(&file, &plaintext).unwrap();
        let seller = Seller::new(&node, &dir.join("seller")).unwrap();
        let address = seller.key.address();
        let sold = seller.sell(&node, &storage, &market, &file).unwrap();
        seller.vanish().unwrap();
        std::fs::remove_file(&file).unwrap();
        World {
            _tmp: tmp,
            dir,
            node,
            market,
            storage,
            seller: address,
            sold,
            plaintext,
        }
    }

    pub(crate) fn consign(&self, args: &[&str]) -> std::process::Output {
        self.node.consign(args).unwrap()
    }

    pub(crate) fn balance(&self, who: &str) -> u128 {
        let out = ok_json(&self.consign(&["query", "bank", "balances", who, "--output", "json"]));
        out["balances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["denom"] == "ucsn")
            .map_or(0, |c| c["amount"].as_str().unwrap().parse().unwrap())
    }

    pub(crate) fn purchase(&self, id: u64) -> Value {
        show_purchase(&self.node, &self.market, id).unwrap()
    }

    /// `consign keys age NAME` in the chain's home: the recipient it prints.
    pub(crate) fn age_key(&self, name: &str) -> String {
        self.node.age_key(name).unwrap()
    }
}

/// POSTs a delivery to the inbox by hand, as a storage node would: returns the status and the
/// JSON answer.
pub(crate) fn post(
    url: &str,
    market: &str,
    purchase_id: u64,
    sold: &Sold,
    sha256: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{url}/deliveries"))
            .header(h::CONTRACT, market)
            .header(h::PURCHASE_ID, purchase_id.to_string())
            .header(h::OFFER_ID, sold.offer_id.to_string())
            .header(h::CONTENT_SHA256, sha256)
            .header(h::CONTENT_SIZE, sold.size.to_string())
            .header(
                h::IDEMPOTENCY_KEY,
                format!("consign-dev/{market}/{purchase_id}"),
            )
            .body(body)
            .timeout(TIMEOUT)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

pub(crate) fn sealed(recipient: &str, plaintext: &[u8]) -> Vec<u8> {
    let mut sealer = seal(recipient, Vec::new()).unwrap();
    sealer.write_all(plaintext).unwrap();
    sealer.finish().unwrap()
}

/// A loopback port nobody listens on (bound, then released).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
