//! The data-sale contract in a cw-multi-test `App`, beside another contract that calls it, with
//! the bank holding real balances: purchases move funds into escrow and emit the delivery
//! instruction exactly when the chain would record one (`consign-multitest`).

use consign_market::{
    created_offer_id, created_purchase_id, ExecuteMsg, InstantiateMsg, NewOffer, PurchaseResponse,
    QueryMsg,
};
use consign_multitest::cw_multi_test::{App, AppResponse, ContractWrapper, Executor};
use consign_multitest::{contract, deliveries, Delivery};
use consign_sdk::cosmwasm_std::{
    coins, to_json_binary, Addr, Binary, Coin, ReplyOn, StdError, SubMsg, Uint128, WasmMsg,
};
use consign_sdk::{DeliveryAddress, DeliveryInstruction};

const DIGEST: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SIZE: u64 = 1024;
const PRICE: u128 = 100;
const DENOM: &str = "ucsn";

struct Market {
    app: App,
    market: Addr,
    /// A contract that buys on someone's behalf: dispatches any submessage, records its replies,
    /// and fails its reply when the submessage's payload says `fail`.
    proxy: Addr,
    seller: Addr,
    buyer: Addr,
    offer_id: u64,
}

fn recipient() -> DeliveryAddress {
    DeliveryAddress {
        endpoint: "https://buyer.example/inbox".into(),
        key: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p".into(),
    }
}

/// The market with one offer at 100ucsn; the buyer and the proxy hold 1000ucsn each.
fn market() -> Market {
    let api = consign_sdk::testing::MockApi::default();
    let (seller, buyer, arbiter, owner) = (
        api.addr_make("seller"),
        api.addr_make("buyer"),
        api.addr_make("arbiter"),
        api.addr_make("owner"),
    );
    let mut app = App::default();
    let market_code = app.store_code(contract(ContractWrapper::new(
        data_sale::contract::execute,
        data_sale::contract::instantiate,
        data_sale::contract::query,
    )));
    let proxy_code = app.store_code(contract(
        ContractWrapper::new(proxy::execute, proxy::instantiate, proxy::query)
            .with_reply(proxy::reply),
    ));
    let market = app
        .instantiate_contract(
            market_code,
            owner.clone(),
            &InstantiateMsg {
                arbiter: arbiter.to_string(),
                release_window_seconds: 3600,
                arbitration_window_seconds: None,
            },
            &[],
            "data-sale",
            None,
        )
        .unwrap();
    let proxy = app
        .instantiate_contract(
            proxy_code,
            owner,
            &proxy::InstantiateMsg {},
            &[],
            "proxy",
            None,
        )
        .unwrap();
    app.init_modules(|router, _, storage| {
        for who in [&buyer, &proxy] {
            router
                .bank
                .init_balance(storage, who, coins(1000, DENOM))
                .unwrap();
        }
    });
    let offer = NewOffer::new(coins(PRICE, DENOM), DIGEST, SIZE, "Daily prices");
    let res = app
        .execute_contract(
            seller.clone(),
            market.clone(),
            &ExecuteMsg::create_offer(offer),
            &[],
        )
        .unwrap();
    let offer_id = created_offer_id(&res.events, market.as_str()).unwrap();
    // Creating an offer delivers nothing.
    assert!(deliveries(&res).is_empty());
    Market {
        app,
        market,
        proxy,
        seller,
        buyer,
        offer_id,
    }
}

impl Market {
    fn balance(&self, who: &Addr) -> u128 {
        self.app
            .wrap()
            .query_balance(who, DENOM)
            .unwrap()
            .amount
            .try_into()
            .map(|amount: Uint128| amount.u128())
            .unwrap()
    }

    fn purchase(&self, id: u64) -> Result<PurchaseResponse, StdError> {
        self.app
            .wrap()
            .query_wasm_smart(&self.market, &QueryMsg::purchase(id))
    }

    fn buy(&mut self, buyer: &Addr, funds: &[Coin]) -> Result<AppResponse, StdError> {
        self.app.execute_contract(
            buyer.clone(),
            self.market.clone(),
            &ExecuteMsg::purchase(self.offer_id, recipient()),
            funds,
        )
    }

    /// Has the proxy buy the offer with `funds`, as submessage 1 with `reply_on`; its reply fails
    /// if `payload` is `fail`.
    fn buy_through_proxy(
        &mut self,
        funds: Vec<Coin>,
        reply_on: ReplyOn,
        payload: &[u8],
    ) -> Result<AppResponse, StdError> {
        let purchase = SubMsg {
            id: 1,
            payload: Binary::from(payload),
            msg: WasmMsg::Execute {
                contract_addr: self.market.to_string(),
                msg: to_json_binary(&ExecuteMsg::purchase(self.offer_id, recipient())).unwrap(),
                funds,
            }
            .into(),
            gas_limit: None,
            reply_on,
        };
        self.app.execute_contract(
            self.buyer.clone(),
            self.proxy.clone(),
            &proxy::ExecuteMsg::Dispatch {
                messages: vec![purchase],
                data: None,
            },
            &[],
        )
    }
}

#[test]
fn a_purchase_holds_the_payment_and_carries_the_delivery_instruction() {
    let mut m = market();
    let buyer = m.buyer.clone();
    let res = m.buy(&buyer, &coins(PRICE, DENOM)).unwrap();
    let purchase_id = created_purchase_id(&res.events, m.market.as_str()).unwrap();
    assert_eq!(
        deliveries(&res),
        [Delivery {
            contract: m.market.clone(),
            instruction: DeliveryInstruction {
                offer_id: m.offer_id,
                purchase_id,
                buyer: buyer.to_string(),
                recipient: recipient(),
                content_sha256: DIGEST.into(),
                size: SIZE,
                deadline: None,
            },
        }]
    );
    // The payment moved into the contract's escrow.
    assert_eq!(m.balance(&buyer), 1000 - PRICE);
    assert_eq!(m.balance(&m.market), PRICE);

    // The buyer confirms: the seller is paid, and settling delivers nothing more.
    let res = m
        .app
        .execute_contract(
            buyer,
            m.market.clone(),
            &ExecuteMsg::confirm_receipt(purchase_id),
            &[],
        )
        .unwrap();
    assert!(deliveries(&res).is_empty());
    assert_eq!(m.balance(&m.seller), PRICE);
    assert_eq!(m.balance(&m.market), 0);
}

#[test]
fn a_refused_purchase_moves_nothing_and_delivers_nothing() {
    let mut m = market();
    let buyer = m.buyer.clone();
    let err = m.buy(&buyer, &coins(PRICE - 1, DENOM)).unwrap_err();
    assert!(err.to_string().contains("99ucsn"), "{err}");
    assert_eq!(m.balance(&buyer), 1000);
    assert!(m.purchase(1).is_err());

    // The next purchase is number 1, and its response holds only its own delivery.
    let res = m.buy(&buyer, &coins(PRICE, DENOM)).unwrap();
    let delivered = deliveries(&res);
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].instruction.purchase_id, 1);
}

#[test]
fn a_contract_buying_through_a_submessage_shares_its_fate() {
    let mut m = market();
    let proxy = m.proxy.clone();

    // Wrong funds, caught by the proxy's reply_on_error: the proxy's execution succeeds, but the
    // purchase failed, so no delivery and no payment.
    let res = m
        .buy_through_proxy(coins(PRICE - 1, DENOM), ReplyOn::Error, b"")
        .unwrap();
    assert!(deliveries(&res).is_empty());
    assert_eq!(m.balance(&proxy), 1000);
    let replies: proxy::RepliesResponse = m
        .app
        .wrap()
        .query_wasm_smart(&proxy, &proxy::QueryMsg::Replies {})
        .unwrap();
    assert!(replies.replies[0].result.contains("99ucsn"), "{replies:?}");

    // The purchase succeeds but the proxy's reply fails: the whole execution is reverted, the
    // delivery, the escrow and the purchase with it.
    let err = m
        .buy_through_proxy(coins(PRICE, DENOM), ReplyOn::Success, b"fail")
        .unwrap_err();
    assert!(err.to_string().contains("reply asked to fail"), "{err}");
    assert_eq!(m.balance(&proxy), 1000);
    assert!(m.purchase(1).is_err());

    // Succeeding end to end: the market delivers to the proxy, its buyer.
    let res = m
        .buy_through_proxy(coins(PRICE, DENOM), ReplyOn::Success, b"")
        .unwrap();
    let delivered = deliveries(&res);
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].contract, m.market);
    assert_eq!(delivered[0].instruction.buyer, proxy.as_str());
    assert_eq!(delivered[0].instruction.purchase_id, 1);
    assert_eq!(m.purchase(1).unwrap().buyer, proxy);
    assert_eq!(m.balance(&proxy), 1000 - PRICE);
}
