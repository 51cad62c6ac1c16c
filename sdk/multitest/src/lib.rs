//! Test a Consign contract beside other contracts in one [`cw_multi_test::App`], with its
//! deliveries readable from each execution's response.
//!
//! cw-multi-test runs contracts natively, where [`consign_sdk::deliver`] only records the
//! instruction. Store the contract through [`contract`] and each of its calls is settled the way
//! the Consign chain settles it: a call that returns `Ok` has its instructions checked (the buyer
//! with the App's address API, as the VM does) and emitted as one `wasm-consign_delivery` event
//! each; a call that returns `Err` has them dropped. From there cw-multi-test's own rules give
//! the chain's: the events of a submessage that fails are dropped with its writes (even when its
//! error is caught by a `reply_on_error`), and a failed execution returns no response at all.
//! [`deliveries`] reads them back, in the order the chain would number them.
//!
//! ```
//! use consign_multitest::cw_multi_test::{App, ContractWrapper, Executor};
//! use consign_multitest::{contract, deliveries};
//! use consign_sdk::cosmwasm_std::{DepsMut, Empty, Env, MessageInfo, Response, StdError, StdResult};
//! use consign_sdk::{deliver, DeliveryAddress, DeliveryInstruction};
//!
//! /// Delivers to the sender, then fails if asked to.
//! fn execute(_: DepsMut, _: Env, info: MessageInfo, fail: bool) -> StdResult<Response> {
//!     deliver(&DeliveryInstruction {
//!         offer_id: 1,
//!         purchase_id: 1,
//!         buyer: info.sender.into_string(),
//!         recipient: DeliveryAddress {
//!             endpoint: "https://buyer.example/inbox".into(),
//!             key: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p".into(),
//!         },
//!         content_sha256: "ab".repeat(32),
//!         size: 5,
//!         deadline: None,
//!     })?;
//!     if fail {
//!         return Err(StdError::msg("refused after delivering"));
//!     }
//!     Ok(Response::new())
//! }
//! # fn instantiate(_: DepsMut, _: Env, _: MessageInfo, _: Empty) -> StdResult<Response> { Ok(Response::new()) }
//! # fn query(_: consign_sdk::cosmwasm_std::Deps, _: Env, _: Empty) -> StdResult<consign_sdk::cosmwasm_std::Binary> { Ok(Default::default()) }
//!
//! let mut app = App::default();
//! let code = app.store_code(contract(ContractWrapper::new(execute, instantiate, query)));
//! let owner = app.api().addr_make("owner");
//! let shop = app.instantiate_contract(code, owner, &Empty {}, &[], "shop", None)?;
//!
//! let buyer = app.api().addr_make("buyer");
//! let res = app.execute_contract(buyer.clone(), shop.clone(), &false, &[])?;
//! let delivered = deliveries(&res);
//! assert_eq!(delivered.len(), 1);
//! assert_eq!(delivered[0].contract, shop);
//! assert_eq!(delivered[0].instruction.buyer, buyer.as_str());
//!
//! // A failed execution has no response, and its delivery reaches nothing.
//! assert!(app.execute_contract(buyer, shop, &true, &[]).is_err());
//! # Ok::<(), StdError>(())
//! ```
//!
//! A contract instantiated with `App::instantiate_contract` returns only its address: to read
//! the deliveries of an `instantiate`, send a `WasmMsg::Instantiate` with `App::execute`, whose
//! response carries them. Unit tests without an `App` use [`consign_sdk::testing`] instead.
//!
//! # What differs from the chain
//!
//! - The delivery events are visible to a caller's `reply` (in `SubMsgResponse::events`); on the
//!   chain, deliveries are not events. A contract whose `reply` counts its submessage's events
//!   sees one more per delivery.
//! - A contract that emits an event of type `consign_delivery` itself is refused (its call
//!   fails), so no delivery can be forged by a wrapped contract; a contract stored without
//!   [`contract`] is not checked.
//! - The VM's limit of 64 instructions per call is not enforced.

pub use cw_multi_test;

use consign_sdk::cosmwasm_std::{
    Addr, Api, Binary, Checksum, CustomMsg, CustomQuery, Deps, DepsMut, Env, Event, MessageInfo,
    MigrateInfo, Reply, Response, StdError, StdResult,
};
use consign_sdk::testing::capture;
use consign_sdk::DeliveryInstruction;
use cw_multi_test::{AppResponse, Contract};

/// The type of the event each delivery is emitted as. cw-multi-test prefixes a contract's event
/// types with `wasm-`, so responses carry it as [`DELIVERY_EVENT_IN_RESPONSE`].
pub const DELIVERY_EVENT: &str = "consign_delivery";
/// [`DELIVERY_EVENT`] as it appears in an [`AppResponse`].
pub const DELIVERY_EVENT_IN_RESPONSE: &str = "wasm-consign_delivery";
/// The attribute of a delivery event that holds the instruction's JSON.
pub const INSTRUCTION_ATTRIBUTE: &str = "instruction";
/// The attribute cw-multi-test adds to every contract event: the emitting contract.
const CONTRACT_ATTRIBUTE: &str = "_contract_address";

/// One delivery instruction as the chain records it: the emitting contract and the instruction
/// (the chain adds a sequence number and the block; here, the order of [`deliveries`] is the
/// order of those numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The contract that called `deliver()`.
    pub contract: Addr,
    /// What it asked to deliver.
    pub instruction: DeliveryInstruction,
}

/// Wraps a contract for [`cw_multi_test::App::store_code`] so its deliveries are settled as on
/// the Consign chain and emitted in its responses; see the [crate docs](crate).
///
/// ```
/// # use consign_multitest::cw_multi_test::{App, ContractWrapper};
/// # use consign_sdk::cosmwasm_std::{Binary, Deps, DepsMut, Empty, Env, MessageInfo, Response, StdResult};
/// # fn execute(_: DepsMut, _: Env, _: MessageInfo, _: Empty) -> StdResult<Response> { Ok(Response::new()) }
/// # fn instantiate(_: DepsMut, _: Env, _: MessageInfo, _: Empty) -> StdResult<Response> { Ok(Response::new()) }
/// # fn query(_: Deps, _: Env, _: Empty) -> StdResult<Binary> { Ok(Binary::default()) }
/// let mut app = App::default();
/// let code_id = app.store_code(consign_multitest::contract(ContractWrapper::new(execute, instantiate, query)));
/// ```
pub fn contract<C, Q>(inner: impl Contract<C, Q> + 'static) -> Box<dyn Contract<C, Q>>
where
    C: CustomMsg + 'static,
    Q: CustomQuery + 'static,
{
    Box::new(Delivering { inner })
}

/// A contract whose deliveries are settled as on the Consign chain; made by [`contract`].
pub struct Delivering<T> {
    inner: T,
}

impl<T> Delivering<T> {
    /// Wraps `inner`; [`contract`] boxes it for `store_code` directly.
    pub fn new(inner: T) -> Self {
        Self { inner }
    }
}

impl<T, C, Q> Contract<C, Q> for Delivering<T>
where
    T: Contract<C, Q>,
    C: CustomMsg,
    Q: CustomQuery,
{
    fn instantiate(
        &self,
        deps: DepsMut<'_, Q>,
        env: Env,
        info: MessageInfo,
        msg: Vec<u8>,
    ) -> StdResult<Response<C>> {
        let api = deps.api;
        settle(
            api,
            capture(|| self.inner.instantiate(deps, env, info, msg)),
        )
    }

    fn execute(
        &self,
        deps: DepsMut<'_, Q>,
        env: Env,
        info: MessageInfo,
        msg: Vec<u8>,
    ) -> StdResult<Response<C>> {
        let api = deps.api;
        settle(api, capture(|| self.inner.execute(deps, env, info, msg)))
    }

    fn query(&self, deps: Deps<'_, Q>, env: Env, msg: Vec<u8>) -> StdResult<Binary> {
        let (answer, delivered) = capture(|| self.inner.query(deps, env, msg))?;
        if delivered.is_empty() {
            Ok(answer)
        } else {
            // The VM's words: a query cannot complete a sale.
            Err(StdError::msg(
                "invalid delivery instruction: deliver() cannot be called from a query: only a \
                 transaction can complete a sale",
            ))
        }
    }

    fn reply(&self, deps: DepsMut<'_, Q>, env: Env, msg: Reply) -> StdResult<Response<C>> {
        let api = deps.api;
        settle(api, capture(|| self.inner.reply(deps, env, msg)))
    }

    fn sudo(&self, deps: DepsMut<'_, Q>, env: Env, msg: Vec<u8>) -> StdResult<Response<C>> {
        let api = deps.api;
        settle(api, capture(|| self.inner.sudo(deps, env, msg)))
    }

    fn migrate(
        &self,
        deps: DepsMut<'_, Q>,
        env: Env,
        msg: Vec<u8>,
        info: MigrateInfo,
    ) -> StdResult<Response<C>> {
        let api = deps.api;
        settle(api, capture(|| self.inner.migrate(deps, env, msg, info)))
    }

    fn checksum(&self) -> Option<Checksum> {
        self.inner.checksum()
    }
}

/// Ends a call as the VM does: an `Ok` response keeps its instructions, each checked and added
/// as a [`DELIVERY_EVENT`]; any failure (the call's own, or a check here) fails the call.
fn settle<C: CustomMsg>(
    api: &dyn Api,
    result: StdResult<(Response<C>, Vec<DeliveryInstruction>)>,
) -> StdResult<Response<C>> {
    let (mut response, delivered) = result?;
    if response.events.iter().any(|e| e.ty == DELIVERY_EVENT) {
        return Err(StdError::msg(format!(
            "the event type `{DELIVERY_EVENT}` is reserved for Consign's delivery instructions; \
             call consign_sdk::deliver() to deliver, and name the contract's own event otherwise"
        )));
    }
    for instruction in delivered {
        // The VM checks the buyer with the chain's address API: a valid bech32 address of another
        // chain, or one not in its normal form, fails the call.
        match api.addr_validate(&instruction.buyer) {
            Ok(normal) if normal.as_str() == instruction.buyer => {}
            Ok(normal) => {
                return Err(StdError::msg(format!(
                    "invalid delivery instruction: buyer address {:?} is not in its normal form \
                     ({normal})",
                    instruction.buyer
                )))
            }
            Err(e) => {
                return Err(StdError::msg(format!(
                    "invalid delivery instruction: buyer address {:?} is invalid: {e}",
                    instruction.buyer
                )))
            }
        }
        let json = serde_json::to_string(&instruction).map_err(|e| {
            StdError::msg(format!("cannot encode a delivery instruction as JSON: {e}"))
        })?;
        response = response
            .add_event(Event::new(DELIVERY_EVENT).add_attribute(INSTRUCTION_ATTRIBUTE, json));
    }
    Ok(response)
}

/// The deliveries an execution made, in order: those of the contract called first, then those
/// of its submessages and replies as they ran, excluding any whose call or submessage failed.
///
/// # Panics
///
/// If a `wasm-consign_delivery` event does not hold an instruction, which happens only when a
/// contract stored without [`contract`] emits an event of that name itself.
pub fn deliveries(response: &AppResponse) -> Vec<Delivery> {
    response
        .events
        .iter()
        .filter(|event| event.ty == DELIVERY_EVENT_IN_RESPONSE)
        .map(|event| {
            let attribute = |key: &str| match event.attributes.iter().find(|a| a.key == key) {
                Some(a) => a.value.as_str(),
                None => panic!("a delivery event has no `{key}` attribute: {event:?}"),
            };
            let instruction = match serde_json::from_str(attribute(INSTRUCTION_ATTRIBUTE)) {
                Ok(instruction) => instruction,
                Err(e) => panic!("a delivery event holds no delivery instruction ({e}): {event:?}"),
            };
            Delivery {
                contract: Addr::unchecked(attribute(CONTRACT_ATTRIBUTE)),
                instruction,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use consign_sdk::cosmwasm_std::{
        to_json_binary, Binary, Deps, DepsMut, Empty, Env, MessageInfo, ReplyOn, Response,
        StdError, StdResult, SubMsg, WasmMsg,
    };
    use consign_sdk::{deliver, DeliveryAddress, DeliveryInstruction};
    use cw_multi_test::{App, ContractWrapper, Executor};
    use kitchen_sink::msg::{ExecuteMsg as SinkMsg, InstantiateMsg as SinkInit};
    use proxy::{ExecuteMsg as ProxyMsg, InstantiateMsg as ProxyInit, RepliesResponse};

    use super::*;

    const AGE: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

    fn instruction(buyer: &Addr, purchase_id: u64) -> DeliveryInstruction {
        DeliveryInstruction {
            offer_id: 3,
            purchase_id,
            buyer: buyer.to_string(),
            recipient: DeliveryAddress {
                endpoint: "https://buyer.example/inbox".into(),
                key: AGE.into(),
            },
            content_sha256: "ab".repeat(32),
            size: 5,
            deadline: None,
        }
    }

    struct World {
        app: App,
        sink: Addr,
        proxy: Addr,
        buyer: Addr,
        owner: Addr,
    }

    /// The kitchen-sink (which delivers on request) and the proxy (which dispatches any
    /// submessage and can fail its reply), both wrapped.
    fn world() -> World {
        let mut app = App::default();
        let sink_code = app.store_code(contract(
            ContractWrapper::new(
                kitchen_sink::contract::execute,
                kitchen_sink::contract::instantiate,
                kitchen_sink::contract::query,
            )
            .with_reply(kitchen_sink::contract::reply)
            .with_sudo(kitchen_sink::contract::sudo),
        ));
        let proxy_code = app.store_code(contract(
            ContractWrapper::new(proxy::execute, proxy::instantiate, proxy::query)
                .with_reply(proxy::reply),
        ));
        let owner = app.api().addr_make("owner");
        let buyer = app.api().addr_make("buyer");
        let sink = app
            .instantiate_contract(
                sink_code,
                owner.clone(),
                &SinkInit { count: 0 },
                &[],
                "sink",
                None,
            )
            .unwrap();
        let proxy = app
            .instantiate_contract(proxy_code, owner.clone(), &ProxyInit {}, &[], "proxy", None)
            .unwrap();
        World {
            app,
            sink,
            proxy,
            buyer,
            owner,
        }
    }

    fn ids(delivered: &[Delivery]) -> Vec<u64> {
        delivered
            .iter()
            .map(|d| d.instruction.purchase_id)
            .collect()
    }

    /// Submessage `id` to the kitchen-sink.
    fn to_sink(w: &World, id: u64, msg: &SinkMsg, reply_on: ReplyOn, payload: &[u8]) -> SubMsg {
        SubMsg {
            id,
            payload: payload.to_vec().into(),
            msg: WasmMsg::Execute {
                contract_addr: w.sink.to_string(),
                msg: to_json_binary(msg).unwrap(),
                funds: vec![],
            }
            .into(),
            gas_limit: None,
            reply_on,
        }
    }

    /// The buyer executes `msg` on the kitchen-sink.
    fn execute_sink(w: &mut World, msg: &SinkMsg) -> Result<AppResponse, StdError> {
        w.app
            .execute_contract(w.buyer.clone(), w.sink.clone(), msg, &[])
    }

    fn dispatch(w: &mut World, messages: Vec<SubMsg>) -> Result<AppResponse, StdError> {
        w.app.execute_contract(
            w.owner.clone(),
            w.proxy.clone(),
            &ProxyMsg::Dispatch {
                messages,
                data: None,
            },
            &[],
        )
    }

    #[test]
    fn a_successful_execution_carries_its_deliveries_with_the_contract() {
        let mut w = world();
        let (i1, i2) = (instruction(&w.buyer, 1), instruction(&w.buyer, 2));
        let res = execute_sink(
            &mut w,
            &SinkMsg::DeliverMany {
                instructions: vec![i1.clone(), i2.clone()],
            },
        )
        .unwrap();
        assert_eq!(
            deliveries(&res),
            [
                Delivery {
                    contract: w.sink.clone(),
                    instruction: i1
                },
                Delivery {
                    contract: w.sink.clone(),
                    instruction: i2
                }
            ]
        );
        // An execution that delivers nothing has no delivery.
        let res = execute_sink(&mut w, &SinkMsg::Increment {}).unwrap();
        assert!(deliveries(&res).is_empty());
    }

    #[test]
    fn a_call_that_delivers_then_fails_delivers_nothing() {
        let mut w = world();
        let instruction = instruction(&w.buyer, 1);
        let err = execute_sink(&mut w, &SinkMsg::DeliverThenFail { instruction }).unwrap_err();
        assert!(err.to_string().contains("failing after deliver"), "{err}");
        // Nothing leaks into the next execution either.
        let res = execute_sink(&mut w, &SinkMsg::Increment {}).unwrap();
        assert!(deliveries(&res).is_empty());
    }

    #[test]
    fn a_failed_submessage_caught_by_its_reply_is_dropped_alone() {
        let mut w = world();
        let messages = vec![
            to_sink(
                &w,
                1,
                &SinkMsg::Deliver {
                    instruction: instruction(&w.buyer, 1),
                },
                ReplyOn::Never,
                b"",
            ),
            to_sink(
                &w,
                2,
                &SinkMsg::DeliverThenFail {
                    instruction: instruction(&w.buyer, 2),
                },
                ReplyOn::Error,
                b"",
            ),
            to_sink(
                &w,
                3,
                &SinkMsg::Deliver {
                    instruction: instruction(&w.buyer, 3),
                },
                ReplyOn::Always,
                b"",
            ),
        ];
        let res = dispatch(&mut w, messages).unwrap();
        let delivered = deliveries(&res);
        assert_eq!(ids(&delivered), [1, 3]);
        assert!(delivered.iter().all(|d| d.contract == w.sink));
        // The proxy did see the failure (its reply recorded it): the caught error is why the
        // execution succeeded.
        let replies: RepliesResponse = w
            .app
            .wrap()
            .query_wasm_smart(&w.proxy, &proxy::QueryMsg::Replies {})
            .unwrap();
        let caught = replies.replies.iter().find(|r| r.id == 2).unwrap();
        assert!(
            caught.result.contains("failing after deliver"),
            "{caught:?}"
        );
    }

    #[test]
    fn a_successful_submessage_is_dropped_when_its_caller_fails_later() {
        let mut w = world();
        // A second proxy, called by the first with reply_on_error: it calls the kitchen-sink,
        // which delivers and succeeds, and then its own reply fails. The second proxy's whole
        // execution is reverted, the sink's delivery with it, while the first proxy catches the
        // error and succeeds: its response must not carry the delivery.
        let proxy_code = w.app.store_code(contract(
            ContractWrapper::new(proxy::execute, proxy::instantiate, proxy::query)
                .with_reply(proxy::reply),
        ));
        let inner = w
            .app
            .instantiate_contract(
                proxy_code,
                w.owner.clone(),
                &ProxyInit {},
                &[],
                "inner",
                None,
            )
            .unwrap();
        let deliver_then_reply_fails = ProxyMsg::Dispatch {
            messages: vec![to_sink(
                &w,
                1,
                &SinkMsg::Deliver {
                    instruction: instruction(&w.buyer, 1),
                },
                ReplyOn::Success,
                b"fail",
            )],
            data: None,
        };
        let caught = SubMsg {
            id: 2,
            payload: Binary::default(),
            msg: WasmMsg::Execute {
                contract_addr: inner.to_string(),
                msg: to_json_binary(&deliver_then_reply_fails).unwrap(),
                funds: vec![],
            }
            .into(),
            gas_limit: None,
            reply_on: ReplyOn::Error,
        };
        let also = to_sink(
            &w,
            3,
            &SinkMsg::Deliver {
                instruction: instruction(&w.buyer, 3),
            },
            ReplyOn::Never,
            b"",
        );
        let res = dispatch(&mut w, vec![caught, also]).unwrap();
        assert_eq!(ids(&deliveries(&res)), [3]);

        // Uncaught, the same failure fails the whole execution: no response, no delivery.
        let err = w
            .app
            .execute_contract(w.owner.clone(), inner, &deliver_then_reply_fails, &[])
            .unwrap_err();
        assert!(err.to_string().contains("reply asked to fail"), "{err}");
    }

    #[test]
    fn a_buyer_the_chain_would_refuse_fails_the_call() {
        let mut w = world();
        // A valid bech32 account address, but of another chain than the App's.
        let other_chain = cw_multi_test::MockApiBech32::new("cosmos").addr_make("buyer");
        let mut bad = instruction(&w.buyer, 1);
        bad.buyer = other_chain.to_string();
        bad.validate().expect("the instruction alone is valid");
        let err = execute_sink(&mut w, &SinkMsg::Deliver { instruction: bad }).unwrap_err();
        assert!(err.to_string().contains("buyer address"), "{err}");
    }

    fn delivering_query(_: Deps<'_>, _: Env, msg: u64) -> StdResult<Binary> {
        let buyer = consign_sdk::testing::MockApi::default().addr_make("buyer");
        deliver(&instruction(&buyer, msg))?;
        to_json_binary(&msg)
    }

    fn forging_execute(_: DepsMut<'_>, _: Env, _: MessageInfo, _: Empty) -> StdResult<Response> {
        Ok(
            Response::new()
                .add_event(Event::new(DELIVERY_EVENT).add_attribute("instruction", "{}")),
        )
    }

    fn empty_instantiate(_: DepsMut<'_>, _: Env, _: MessageInfo, _: Empty) -> StdResult<Response> {
        Ok(Response::new())
    }

    #[test]
    fn a_query_cannot_deliver_and_a_contract_cannot_forge_a_delivery() {
        let mut app = App::default();
        let code = app.store_code(contract(ContractWrapper::new(
            forging_execute,
            empty_instantiate,
            delivering_query,
        )));
        let owner = app.api().addr_make("owner");
        let addr = app
            .instantiate_contract(code, owner.clone(), &Empty {}, &[], "odd", None)
            .unwrap();
        let err = app
            .wrap()
            .query_wasm_smart::<u64>(&addr, &7u64)
            .unwrap_err();
        assert!(
            err.to_string().contains("cannot be called from a query"),
            "{err}"
        );
        let err = app
            .execute_contract(owner, addr, &Empty {}, &[])
            .unwrap_err();
        assert!(err.to_string().contains("is reserved"), "{err}");
    }
}
