//! Entry points: each matches the message and hands off to a handler.

use consign_market::{validate_extension, OFFER_ID, PURCHASE_ID};
#[cfg(not(feature = "library"))]
use consign_sdk::cosmwasm_std::entry_point;
use consign_sdk::cosmwasm_std::{
    to_json_binary, Addr, BankMsg, Binary, Coin, Deps, DepsMut, Env, MessageInfo, Order, Response,
    StdResult, Storage, Timestamp, Uint256,
};
use consign_sdk::{deliver, DeliveryAddress, DeliveryInstruction};
use cw_storage_plus::Bound;

use crate::error::ContractError;
use crate::msg::{
    ConfigResponse, ExecuteMsg, InstantiateMsg, OfferResponse, OffersResponse, PurchaseResponse,
    PurchasesResponse, QueryMsg, DEFAULT_LIMIT, MAX_LIMIT,
};
use crate::state::{
    Config, Escrow, Offer, OfferStatus, Purchase, CONFIG, OFFERS, OFFERS_BY_SELLER, OFFER_COUNT,
    PURCHASES, PURCHASES_BY_BUYER, PURCHASES_BY_SELLER, PURCHASE_COUNT,
};

/// The longest release or arbitration window accepted: ten years.
pub const MAX_WINDOW_SECONDS: u64 = 10 * 366 * 24 * 60 * 60;
/// The longest title, in bytes.
pub const MAX_TITLE_LEN: usize = 256;
/// The longest description, terms or dispute reason, in bytes.
pub const MAX_TEXT_LEN: usize = 8192;

/// Stores the arbiter and the release window.
#[cfg_attr(
    not(feature = "library"),
    entry_point(crate = "consign_sdk::cosmwasm_std")
)]
pub fn instantiate(
    deps: DepsMut<'_>,
    _env: Env,
    info: MessageInfo,
    msg: InstantiateMsg,
) -> Result<Response, ContractError> {
    no_funds(&info)?;
    let arbiter = deps.api.addr_validate(&msg.arbiter)?;
    let arbitration_window_seconds = msg
        .arbitration_window_seconds
        .unwrap_or(msg.release_window_seconds);
    for (field, got) in [
        ("release_window_seconds", msg.release_window_seconds),
        ("arbitration_window_seconds", arbitration_window_seconds),
    ] {
        if got > MAX_WINDOW_SECONDS {
            return Err(ContractError::WindowTooLong {
                field,
                got,
                max: MAX_WINDOW_SECONDS,
            });
        }
    }
    CONFIG.save(
        deps.storage,
        &Config {
            arbiter: arbiter.clone(),
            release_window_seconds: msg.release_window_seconds,
            arbitration_window_seconds,
        },
    )?;
    OFFER_COUNT.save(deps.storage, &0)?;
    PURCHASE_COUNT.save(deps.storage, &0)?;
    Ok(Response::new()
        .add_attribute("action", "instantiate")
        .add_attribute("arbiter", arbiter)
        .add_attribute(
            "release_window_seconds",
            msg.release_window_seconds.to_string(),
        )
        .add_attribute(
            "arbitration_window_seconds",
            arbitration_window_seconds.to_string(),
        ))
}

/// See [`ExecuteMsg`].
#[cfg_attr(
    not(feature = "library"),
    entry_point(crate = "consign_sdk::cosmwasm_std")
)]
pub fn execute(
    deps: DepsMut<'_>,
    env: Env,
    info: MessageInfo,
    msg: ExecuteMsg,
) -> Result<Response, ContractError> {
    match msg {
        ExecuteMsg::CreateOffer {
            price,
            content_sha256,
            size,
            title,
            description,
            terms,
            expires,
            extension,
            custody,
        } => execute_create_offer(
            deps,
            env,
            info,
            NewOffer {
                price,
                content_sha256,
                size,
                title,
                description,
                terms,
                expires,
                extension,
                custody,
            },
        ),
        ExecuteMsg::UpdateOffer {
            id,
            price,
            title,
            description,
            terms,
            expires,
        } => execute_update_offer(
            deps,
            env,
            info,
            id,
            OfferChanges {
                price,
                title,
                description,
                terms,
                expires,
            },
        ),
        ExecuteMsg::WithdrawOffer { id } => execute_withdraw_offer(deps, info, id),
        ExecuteMsg::Purchase {
            offer_id,
            recipient,
        } => execute_purchase(deps, env, info, offer_id, recipient),
        ExecuteMsg::ConfirmReceipt { purchase_id } => {
            execute_confirm_receipt(deps, env, info, purchase_id)
        }
        ExecuteMsg::ClaimPayment { purchase_id } => {
            execute_claim_payment(deps, env, info, purchase_id)
        }
        ExecuteMsg::Dispute {
            purchase_id,
            reason,
        } => execute_dispute(deps, env, info, purchase_id, reason),
        ExecuteMsg::ClaimRefund { purchase_id } => {
            execute_claim_refund(deps, env, info, purchase_id)
        }
        ExecuteMsg::Resolve {
            purchase_id,
            release,
        } => execute_resolve(deps, env, info, purchase_id, release),
    }
}

/// See [`QueryMsg`].
#[cfg_attr(
    not(feature = "library"),
    entry_point(crate = "consign_sdk::cosmwasm_std")
)]
pub fn query(deps: Deps<'_>, env: Env, msg: QueryMsg) -> Result<Binary, ContractError> {
    match msg {
        QueryMsg::Config {} => Ok(to_json_binary(&query_config(deps)?)?),
        QueryMsg::Offer { id } => Ok(to_json_binary(&query_offer(deps, id)?)?),
        QueryMsg::Offers {
            seller,
            active_only,
            start_after,
            limit,
        } => Ok(to_json_binary(&query_offers(
            deps,
            env,
            seller,
            active_only,
            start_after,
            limit,
        )?)?),
        QueryMsg::Purchase { id } => Ok(to_json_binary(&query_purchase(deps, id)?)?),
        QueryMsg::PurchasesByBuyer {
            buyer,
            start_after,
            limit,
        } => Ok(to_json_binary(&query_purchases_by_buyer(
            deps,
            buyer,
            start_after,
            limit,
        )?)?),
        QueryMsg::PurchasesBySeller {
            seller,
            start_after,
            limit,
        } => Ok(to_json_binary(&query_purchases_by_seller(
            deps,
            seller,
            start_after,
            limit,
        )?)?),
    }
}

// What the handlers receive; defined with the messages in the interface crate.
pub use consign_market::{NewOffer, OfferChanges};

/// Validates and stores a new offer by the sender.
pub fn execute_create_offer(
    deps: DepsMut<'_>,
    env: Env,
    info: MessageInfo,
    offer: NewOffer,
) -> Result<Response, ContractError> {
    no_funds(&info)?;
    let price = normalize_price(offer.price)?;
    validate_sha256(&offer.content_sha256)?;
    if offer.size == 0 {
        return Err(ContractError::ZeroSize);
    }
    validate_title(&offer.title)?;
    validate_text("description", &offer.description)?;
    validate_text("terms", &offer.terms)?;
    if let Some(expires) = offer.expires {
        validate_expiry(expires, env.block.time)?;
    }
    if let Some(extension) = &offer.extension {
        validate_extension(extension).map_err(ContractError::InvalidExtension)?;
    }
    if let Some(custody) = &offer.custody {
        custody.validate().map_err(ContractError::InvalidCustody)?;
    }

    let id = OFFER_COUNT.load(deps.storage)? + 1;
    OFFER_COUNT.save(deps.storage, &id)?;
    let seller = info.sender;
    OFFERS.save(
        deps.storage,
        id,
        &Offer {
            id,
            seller: seller.clone(),
            price,
            content_sha256: offer.content_sha256,
            size: offer.size,
            title: offer.title,
            description: offer.description,
            terms: offer.terms,
            expires: offer.expires,
            status: OfferStatus::Active,
            created: env.block.time,
            extension: offer.extension,
            custody: offer.custody,
        },
    )?;
    OFFERS_BY_SELLER.save(deps.storage, (&seller, id), &())?;
    Ok(Response::new()
        .add_attribute("action", "create_offer")
        .add_attribute(OFFER_ID, id.to_string())
        .add_attribute("seller", seller))
}

/// Changes the given fields of the sender's active offer.
pub fn execute_update_offer(
    deps: DepsMut<'_>,
    env: Env,
    info: MessageInfo,
    id: u64,
    changes: OfferChanges,
) -> Result<Response, ContractError> {
    no_funds(&info)?;
    let mut offer = load_offer(deps.storage, id)?;
    only_seller(&info, &offer.seller)?;
    if offer.status == OfferStatus::Withdrawn {
        return Err(ContractError::OfferWithdrawn { id });
    }
    let OfferChanges {
        price,
        title,
        description,
        terms,
        expires,
    } = changes;
    if price.is_none()
        && title.is_none()
        && description.is_none()
        && terms.is_none()
        && expires.is_none()
    {
        return Err(ContractError::EmptyUpdate);
    }
    if let Some(price) = price {
        offer.price = normalize_price(price)?;
    }
    if let Some(title) = title {
        validate_title(&title)?;
        offer.title = title;
    }
    if let Some(description) = description {
        validate_text("description", &description)?;
        offer.description = description;
    }
    if let Some(terms) = terms {
        validate_text("terms", &terms)?;
        offer.terms = terms;
    }
    if let Some(expires) = expires {
        validate_expiry(expires, env.block.time)?;
        offer.expires = Some(expires);
    }
    OFFERS.save(deps.storage, id, &offer)?;
    Ok(Response::new()
        .add_attribute("action", "update_offer")
        .add_attribute(OFFER_ID, id.to_string()))
}

/// Withdraws the sender's offer for good.
pub fn execute_withdraw_offer(
    deps: DepsMut<'_>,
    info: MessageInfo,
    id: u64,
) -> Result<Response, ContractError> {
    no_funds(&info)?;
    let mut offer = load_offer(deps.storage, id)?;
    only_seller(&info, &offer.seller)?;
    if offer.status == OfferStatus::Withdrawn {
        return Err(ContractError::OfferWithdrawn { id });
    }
    offer.status = OfferStatus::Withdrawn;
    OFFERS.save(deps.storage, id, &offer)?;
    Ok(Response::new()
        .add_attribute("action", "withdraw_offer")
        .add_attribute(OFFER_ID, id.to_string()))
}

/// Checks the offer, the funds and the address, records the purchase with its payment held in
/// escrow, and emits the delivery instruction.
pub fn execute_purchase(
    deps: DepsMut<'_>,
    env: Env,
    info: MessageInfo,
    offer_id: u64,
    recipient: DeliveryAddress,
) -> Result<Response, ContractError> {
    let offer = load_offer(deps.storage, offer_id)?;
    if offer.status == OfferStatus::Withdrawn {
        return Err(ContractError::OfferWithdrawn { id: offer_id });
    }
    if let Some(expires) = offer.expires.filter(|_| offer.is_expired(env.block.time)) {
        return Err(ContractError::OfferExpired {
            id: offer_id,
            expires: expires.to_string(),
        });
    }
    let buyer = info.sender;
    if buyer == offer.seller {
        return Err(ContractError::SelfPurchase);
    }
    let funds = normalize_funds(&info.funds);
    if funds != offer.price {
        return Err(ContractError::WrongFunds {
            expected: coins_to_string(&offer.price),
            got: coins_to_string(&info.funds),
        });
    }
    recipient.validate()?;

    let id = PURCHASE_COUNT.load(deps.storage)? + 1;
    PURCHASE_COUNT.save(deps.storage, &id)?;
    let purchase = Purchase {
        id,
        offer_id,
        buyer: buyer.clone(),
        seller: offer.seller.clone(),
        price: offer.price,
        recipient,
        created: env.block.time,
        state: Escrow::Held,
        dispute_reason: None,
        disputed: None,
        settled: None,
    };
    PURCHASES.save(deps.storage, id, &purchase)?;
    PURCHASES_BY_BUYER.save(deps.storage, (&buyer, id), &())?;
    PURCHASES_BY_SELLER.save(deps.storage, (&offer.seller, id), &())?;

    deliver(&DeliveryInstruction {
        offer_id,
        purchase_id: id,
        buyer: buyer.to_string(),
        recipient: purchase.recipient,
        content_sha256: offer.content_sha256,
        size: offer.size,
        deadline: None,
    })?;

    Ok(Response::new()
        .add_attribute("action", "purchase")
        .add_attribute(OFFER_ID, offer_id.to_string())
        .add_attribute(PURCHASE_ID, id.to_string())
        .add_attribute("buyer", buyer)
        .add_attribute("seller", offer.seller))
}

/// The buyer confirms receipt: a held payment goes to the seller.
pub fn execute_confirm_receipt(
    deps: DepsMut<'_>,
    env: Env,
    info: MessageInfo,
    purchase_id: u64,
) -> Result<Response, ContractError> {
    no_funds(&info)?;
    let mut purchase = load_purchase(deps.storage, purchase_id)?;
    only_buyer(&info, &purchase)?;
    expect_state(&purchase, Escrow::Held)?;
    let payout = settle(&mut purchase, Escrow::Released, env.block.time);
    PURCHASES.save(deps.storage, purchase_id, &purchase)?;
    Ok(Response::new()
        .add_message(payout)
        .add_attribute("action", "confirm_receipt")
        .add_attribute(PURCHASE_ID, purchase_id.to_string()))
}

/// The seller claims a held payment once the release window has passed.
pub fn execute_claim_payment(
    deps: DepsMut<'_>,
    env: Env,
    info: MessageInfo,
    purchase_id: u64,
) -> Result<Response, ContractError> {
    no_funds(&info)?;
    let config = CONFIG.load(deps.storage)?;
    let mut purchase = load_purchase(deps.storage, purchase_id)?;
    only_seller(&info, &purchase.seller)?;
    expect_state(&purchase, Escrow::Held)?;
    let ends = window_end(&purchase, &config);
    if env.block.time < ends {
        return Err(ContractError::ReleaseWindowOpen {
            id: purchase_id,
            ends: ends.to_string(),
        });
    }
    let payout = settle(&mut purchase, Escrow::Released, env.block.time);
    PURCHASES.save(deps.storage, purchase_id, &purchase)?;
    Ok(Response::new()
        .add_message(payout)
        .add_attribute("action", "claim_payment")
        .add_attribute(PURCHASE_ID, purchase_id.to_string()))
}

/// The buyer disputes a held payment within the release window.
pub fn execute_dispute(
    deps: DepsMut<'_>,
    env: Env,
    info: MessageInfo,
    purchase_id: u64,
    reason: String,
) -> Result<Response, ContractError> {
    no_funds(&info)?;
    let config = CONFIG.load(deps.storage)?;
    let mut purchase = load_purchase(deps.storage, purchase_id)?;
    only_buyer(&info, &purchase)?;
    expect_state(&purchase, Escrow::Held)?;
    let ends = window_end(&purchase, &config);
    if env.block.time >= ends {
        return Err(ContractError::ReleaseWindowClosed {
            id: purchase_id,
            ended: ends.to_string(),
        });
    }
    if reason.trim().is_empty() {
        return Err(ContractError::EmptyReason);
    }
    validate_text("reason", &reason)?;
    purchase.state = Escrow::Disputed;
    purchase.dispute_reason = Some(reason);
    purchase.disputed = Some(env.block.time);
    PURCHASES.save(deps.storage, purchase_id, &purchase)?;
    Ok(Response::new()
        .add_attribute("action", "dispute")
        .add_attribute(PURCHASE_ID, purchase_id.to_string()))
}

/// The buyer takes back the payment of a dispute the arbiter left unresolved for the whole
/// arbitration window: an absent arbiter cannot keep the buyer's money in escrow for ever.
pub fn execute_claim_refund(
    deps: DepsMut<'_>,
    env: Env,
    info: MessageInfo,
    purchase_id: u64,
) -> Result<Response, ContractError> {
    no_funds(&info)?;
    let config = CONFIG.load(deps.storage)?;
    let mut purchase = load_purchase(deps.storage, purchase_id)?;
    only_buyer(&info, &purchase)?;
    expect_state(&purchase, Escrow::Disputed)?;
    // Every disputed purchase has its time: set with the state, above.
    let disputed = purchase.disputed.unwrap_or(purchase.created);
    let ends = disputed.plus_seconds(config.arbitration_window_seconds);
    if env.block.time < ends {
        return Err(ContractError::ArbitrationWindowOpen {
            id: purchase_id,
            ends: ends.to_string(),
        });
    }
    let payout = settle(&mut purchase, Escrow::Refunded, env.block.time);
    PURCHASES.save(deps.storage, purchase_id, &purchase)?;
    Ok(Response::new()
        .add_message(payout)
        .add_attribute("action", "claim_refund")
        .add_attribute(PURCHASE_ID, purchase_id.to_string()))
}

/// The arbiter settles a disputed payment: to the seller or back to the buyer.
pub fn execute_resolve(
    deps: DepsMut<'_>,
    env: Env,
    info: MessageInfo,
    purchase_id: u64,
    release: bool,
) -> Result<Response, ContractError> {
    no_funds(&info)?;
    let config = CONFIG.load(deps.storage)?;
    if info.sender != config.arbiter {
        return Err(ContractError::NotArbiter {
            arbiter: config.arbiter.into_string(),
        });
    }
    let mut purchase = load_purchase(deps.storage, purchase_id)?;
    expect_state(&purchase, Escrow::Disputed)?;
    let outcome = if release {
        Escrow::Released
    } else {
        Escrow::Refunded
    };
    let payout = settle(&mut purchase, outcome, env.block.time);
    PURCHASES.save(deps.storage, purchase_id, &purchase)?;
    Ok(Response::new()
        .add_message(payout)
        .add_attribute("action", "resolve")
        .add_attribute(PURCHASE_ID, purchase_id.to_string())
        .add_attribute("outcome", outcome.to_string()))
}

/// The configuration.
pub fn query_config(deps: Deps<'_>) -> StdResult<ConfigResponse> {
    CONFIG.load(deps.storage).map(Into::into)
}

/// One offer; [`ContractError::OfferNotFound`] names the id when there is none (a query error
/// is all a client sees, so it says which offer rather than which storage key).
pub fn query_offer(deps: Deps<'_>, id: u64) -> Result<OfferResponse, ContractError> {
    load_offer(deps.storage, id).map(Into::into)
}

/// A page of offers, optionally one seller's and optionally only those open for purchase now.
pub fn query_offers(
    deps: Deps<'_>,
    env: Env,
    seller: Option<String>,
    active_only: bool,
    start_after: Option<u64>,
    limit: Option<u32>,
) -> StdResult<OffersResponse> {
    let limit = page_size(limit);
    let start = start_after.map(Bound::exclusive);
    let now = env.block.time;
    let keep = |offer: &Offer| !active_only || offer.is_open(now);
    let offers = match seller {
        Some(seller) => {
            let seller = deps.api.addr_validate(&seller)?;
            OFFERS_BY_SELLER
                .prefix(&seller)
                .keys(deps.storage, start, None, Order::Ascending)
                .map(|id| OFFERS.load(deps.storage, id?))
                .filter(|offer| offer.as_ref().map_or(true, keep))
                .take(limit)
                .map(|offer| offer.map(Into::into))
                .collect::<StdResult<Vec<_>>>()?
        }
        None => OFFERS
            .range(deps.storage, start, None, Order::Ascending)
            .map(|item| item.map(|(_, offer)| offer))
            .filter(|offer| offer.as_ref().map_or(true, keep))
            .take(limit)
            .map(|offer| offer.map(Into::into))
            .collect::<StdResult<Vec<_>>>()?,
    };
    Ok(OffersResponse { offers })
}

/// One purchase; [`ContractError::PurchaseNotFound`] names the id when there is none.
pub fn query_purchase(deps: Deps<'_>, id: u64) -> Result<PurchaseResponse, ContractError> {
    load_purchase(deps.storage, id).map(Into::into)
}

/// A page of a buyer's purchases.
pub fn query_purchases_by_buyer(
    deps: Deps<'_>,
    buyer: String,
    start_after: Option<u64>,
    limit: Option<u32>,
) -> StdResult<PurchasesResponse> {
    let buyer = deps.api.addr_validate(&buyer)?;
    purchases_page(deps, PURCHASES_BY_BUYER.prefix(&buyer), start_after, limit)
}

/// A page of a seller's sales.
pub fn query_purchases_by_seller(
    deps: Deps<'_>,
    seller: String,
    start_after: Option<u64>,
    limit: Option<u32>,
) -> StdResult<PurchasesResponse> {
    let seller = deps.api.addr_validate(&seller)?;
    purchases_page(
        deps,
        PURCHASES_BY_SELLER.prefix(&seller),
        start_after,
        limit,
    )
}

fn purchases_page(
    deps: Deps<'_>,
    index: cw_storage_plus::Prefix<u64, (), u64>,
    start_after: Option<u64>,
    limit: Option<u32>,
) -> StdResult<PurchasesResponse> {
    let purchases = index
        .keys(
            deps.storage,
            start_after.map(Bound::exclusive),
            None,
            Order::Ascending,
        )
        .take(page_size(limit))
        .map(|id| PURCHASES.load(deps.storage, id?).map(Into::into))
        .collect::<StdResult<Vec<_>>>()?;
    Ok(PurchasesResponse { purchases })
}

fn page_size(limit: Option<u32>) -> usize {
    limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT) as usize
}

fn load_offer(storage: &dyn Storage, id: u64) -> Result<Offer, ContractError> {
    OFFERS
        .may_load(storage, id)?
        .ok_or(ContractError::OfferNotFound { id })
}

fn load_purchase(storage: &dyn Storage, id: u64) -> Result<Purchase, ContractError> {
    PURCHASES
        .may_load(storage, id)?
        .ok_or(ContractError::PurchaseNotFound { id })
}

fn only_seller(info: &MessageInfo, seller: &Addr) -> Result<(), ContractError> {
    if info.sender != *seller {
        return Err(ContractError::NotSeller {
            seller: seller.to_string(),
        });
    }
    Ok(())
}

fn only_buyer(info: &MessageInfo, purchase: &Purchase) -> Result<(), ContractError> {
    if info.sender != purchase.buyer {
        return Err(ContractError::NotBuyer {
            buyer: purchase.buyer.to_string(),
        });
    }
    Ok(())
}

fn no_funds(info: &MessageInfo) -> Result<(), ContractError> {
    if info.funds.iter().any(|c| !c.amount.is_zero()) {
        return Err(ContractError::UnexpectedFunds {
            got: coins_to_string(&info.funds),
        });
    }
    Ok(())
}

fn expect_state(purchase: &Purchase, expected: Escrow) -> Result<(), ContractError> {
    if purchase.state != expected {
        return Err(ContractError::WrongEscrowState {
            id: purchase.id,
            state: purchase.state,
            expected,
        });
    }
    Ok(())
}

/// When the purchase's release window ends. Cannot overflow: the window is at most ten years and
/// block times are far from `u64::MAX` nanoseconds (year 2554).
fn window_end(purchase: &Purchase, config: &Config) -> Timestamp {
    purchase.created.plus_seconds(config.release_window_seconds)
}

/// Moves the purchase to its final state and returns the one payout: the price, to the seller
/// on release and to the buyer on refund.
fn settle(purchase: &mut Purchase, outcome: Escrow, now: Timestamp) -> BankMsg {
    purchase.state = outcome;
    purchase.settled = Some(now);
    let to = match outcome {
        Escrow::Refunded => &purchase.buyer,
        _ => &purchase.seller,
    };
    BankMsg::Send {
        to_address: to.to_string(),
        amount: purchase.price.clone(),
    }
}

/// Checks a price (non-empty, no zero amounts, no repeated denominations) and sorts it by
/// denomination.
fn normalize_price(mut price: Vec<Coin>) -> Result<Vec<Coin>, ContractError> {
    if price.is_empty() {
        return Err(ContractError::EmptyPrice);
    }
    if let Some(coin) = price.iter().find(|c| c.amount.is_zero()) {
        return Err(ContractError::ZeroPriceCoin {
            denom: coin.denom.clone(),
        });
    }
    price.sort_by(|a, b| a.denom.cmp(&b.denom));
    if let Some(pair) = price.windows(2).find(|w| w[0].denom == w[1].denom) {
        return Err(ContractError::DuplicatePriceDenom {
            denom: pair[0].denom.clone(),
        });
    }
    Ok(price)
}

/// The funds sent, in the form of a normalised price: zero amounts dropped, repeated
/// denominations summed, sorted by denomination.
fn normalize_funds(funds: &[Coin]) -> Vec<Coin> {
    let mut out: Vec<Coin> = Vec::with_capacity(funds.len());
    for coin in funds.iter().filter(|c| !c.amount.is_zero()) {
        match out.iter_mut().find(|c| c.denom == coin.denom) {
            // Saturating: a sum that large cannot equal any price anyway.
            Some(c) => c.amount = c.amount.saturating_add(coin.amount),
            None => out.push(coin.clone()),
        }
    }
    out.sort_by(|a, b| a.denom.cmp(&b.denom));
    out
}

fn coins_to_string(coins: &[Coin]) -> String {
    if coins.iter().all(|c| c.amount == Uint256::zero()) {
        return "nothing".to_owned();
    }
    coins
        .iter()
        .filter(|c| !c.amount.is_zero())
        .map(Coin::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn validate_sha256(digest: &str) -> Result<(), ContractError> {
    if digest.len() != 64
        || !digest
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(ContractError::InvalidContentSha256 {
            got: digest.to_owned(),
        });
    }
    Ok(())
}

fn validate_title(title: &str) -> Result<(), ContractError> {
    if title.trim().is_empty() {
        return Err(ContractError::EmptyTitle);
    }
    check_len("title", title, MAX_TITLE_LEN)
}

fn validate_text(field: &'static str, text: &str) -> Result<(), ContractError> {
    check_len(field, text, MAX_TEXT_LEN)
}

fn check_len(field: &'static str, text: &str, max: usize) -> Result<(), ContractError> {
    if text.len() > max {
        return Err(ContractError::FieldTooLong {
            field,
            len: text.len(),
            max,
        });
    }
    Ok(())
}

fn validate_expiry(expires: Timestamp, now: Timestamp) -> Result<(), ContractError> {
    if expires <= now {
        return Err(ContractError::ExpiryNotInFuture {
            expires: expires.to_string(),
            now: now.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use consign_market::Custody;
    use consign_sdk::cosmwasm_std::{coin, coins, from_json, CosmosMsg, OwnedDeps};
    use consign_sdk::testing::{
        call, message_info, mock_dependencies, mock_env, take_delivered, MockApi, MockQuerier,
        MockStorage,
    };

    use super::*;

    type Deps = OwnedDeps<MockStorage, MockApi, MockQuerier>;

    const DIGEST: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const AGE: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
    const ENDPOINT: &str = "https://buyer.example/inbox";
    const WINDOW: u64 = 3600;
    const ARBITRATION: u64 = 600;

    struct Who {
        seller: Addr,
        buyer: Addr,
        arbiter: Addr,
        other: Addr,
    }

    fn setup() -> (Deps, Who) {
        // Also a fresh delivery record for this thread.
        let mut deps = mock_dependencies();
        let who = Who {
            seller: deps.api.addr_make("seller"),
            buyer: deps.api.addr_make("buyer"),
            arbiter: deps.api.addr_make("arbiter"),
            other: deps.api.addr_make("other"),
        };
        let creator = deps.api.addr_make("creator");
        instantiate(
            deps.as_mut(),
            mock_env(),
            message_info(&creator, &[]),
            InstantiateMsg {
                arbiter: who.arbiter.to_string(),
                release_window_seconds: WINDOW,
                arbitration_window_seconds: Some(ARBITRATION),
            },
        )
        .unwrap();
        (deps, who)
    }

    fn env_at(seconds_after: u64) -> Env {
        let mut env = mock_env();
        env.block.time = env.block.time.plus_seconds(seconds_after);
        env
    }

    fn price() -> Vec<Coin> {
        vec![coin(100, "ucsg"), coin(5, "uatom")]
    }

    fn new_offer() -> ExecuteMsg {
        ExecuteMsg::CreateOffer {
            price: price(),
            content_sha256: DIGEST.to_owned(),
            size: 1024,
            title: "Weather 2024".to_owned(),
            description: "Hourly readings".to_owned(),
            terms: "Research use only".to_owned(),
            expires: None,
            extension: None,
            custody: None,
        }
    }

    fn recipient() -> DeliveryAddress {
        DeliveryAddress {
            endpoint: ENDPOINT.to_owned(),
            key: AGE.to_owned(),
        }
    }

    fn exec(
        deps: &mut Deps,
        env: Env,
        sender: &Addr,
        funds: &[Coin],
        msg: ExecuteMsg,
    ) -> Result<Response, ContractError> {
        // Settled as on the chain: the deliveries of a call that returns Err are dropped.
        call(|| execute(deps.as_mut(), env, message_info(sender, funds), msg))
    }

    fn create(deps: &mut Deps, who: &Who) -> u64 {
        let res = exec(deps, mock_env(), &who.seller, &[], new_offer()).unwrap();
        attr(&res, "offer_id").parse().unwrap()
    }

    fn buy(deps: &mut Deps, who: &Who, offer_id: u64) -> u64 {
        let res = exec(
            deps,
            mock_env(),
            &who.buyer,
            &price(),
            ExecuteMsg::Purchase {
                offer_id,
                recipient: recipient(),
            },
        )
        .unwrap();
        attr(&res, "purchase_id").parse().unwrap()
    }

    fn attr(res: &Response, key: &str) -> String {
        res.attributes
            .iter()
            .find(|a| a.key == key)
            .unwrap_or_else(|| panic!("no attribute {key}"))
            .value
            .clone()
    }

    fn assert_pays(res: &Response, to: &Addr, amount: Vec<Coin>) {
        assert_eq!(res.messages.len(), 1, "exactly one payout");
        assert_eq!(
            res.messages[0].msg,
            CosmosMsg::Bank(BankMsg::Send {
                to_address: to.to_string(),
                amount,
            })
        );
    }

    fn purchase_state(deps: &Deps, id: u64) -> Escrow {
        query_purchase(deps.as_ref(), id).unwrap().state
    }

    /// The price as a normalised price is sorted by denomination.
    fn sorted_price() -> Vec<Coin> {
        vec![coin(5, "uatom"), coin(100, "ucsg")]
    }

    mod instantiate_msg {
        use super::*;

        #[test]
        fn stores_the_config() {
            let (deps, who) = setup();
            assert_eq!(
                query_config(deps.as_ref()).unwrap(),
                ConfigResponse {
                    arbiter: who.arbiter,
                    release_window_seconds: WINDOW,
                    arbitration_window_seconds: ARBITRATION,
                }
            );
        }

        #[test]
        fn rejects_a_bad_arbiter_and_a_huge_window() {
            let mut deps = mock_dependencies();
            let creator = deps.api.addr_make("creator");
            let err = instantiate(
                deps.as_mut(),
                mock_env(),
                message_info(&creator, &[]),
                InstantiateMsg {
                    arbiter: "not an address".to_owned(),
                    release_window_seconds: 1,
                    arbitration_window_seconds: None,
                },
            )
            .unwrap_err();
            assert!(matches!(err, ContractError::Std(_)), "{err}");
            let err = instantiate(
                deps.as_mut(),
                mock_env(),
                message_info(&creator, &[]),
                InstantiateMsg {
                    arbiter: creator.to_string(),
                    release_window_seconds: MAX_WINDOW_SECONDS + 1,
                    arbitration_window_seconds: None,
                },
            )
            .unwrap_err();
            assert_eq!(
                err,
                ContractError::WindowTooLong {
                    field: "release_window_seconds",
                    got: MAX_WINDOW_SECONDS + 1,
                    max: MAX_WINDOW_SECONDS
                }
            );
            let err = instantiate(
                deps.as_mut(),
                mock_env(),
                message_info(&creator, &[]),
                InstantiateMsg {
                    arbiter: creator.to_string(),
                    release_window_seconds: 60,
                    arbitration_window_seconds: Some(MAX_WINDOW_SECONDS + 1),
                },
            )
            .unwrap_err();
            assert_eq!(
                err,
                ContractError::WindowTooLong {
                    field: "arbitration_window_seconds",
                    got: MAX_WINDOW_SECONDS + 1,
                    max: MAX_WINDOW_SECONDS
                }
            );
        }
    }

    mod create_offer {
        use super::*;

        /// A JSON object's keys, read through serde without a JSON value crate.
        mod serde_json_value {
            pub(super) type Value = std::collections::BTreeMap<String, serde::de::IgnoredAny>;
        }

        #[test]
        fn stores_the_offer_with_sequential_ids() {
            let (mut deps, who) = setup();
            assert_eq!(create(&mut deps, &who), 1);
            assert_eq!(create(&mut deps, &who), 2);
            let offer = query_offer(deps.as_ref(), 1).unwrap();
            assert_eq!(
                offer,
                OfferResponse {
                    id: 1,
                    seller: who.seller,
                    price: sorted_price(),
                    content_sha256: DIGEST.to_owned(),
                    size: 1024,
                    title: "Weather 2024".to_owned(),
                    description: "Hourly readings".to_owned(),
                    terms: "Research use only".to_owned(),
                    expires: None,
                    status: OfferStatus::Active,
                    created: mock_env().block.time,
                    extension: None,
                    custody: None,
                }
            );
            assert!(take_delivered().is_empty());
        }

        #[test]
        fn keeps_a_published_extension() {
            let (mut deps, who) = setup();
            let mut msg = new_offer();
            if let ExecuteMsg::CreateOffer { extension, .. } = &mut msg {
                *extension = Some("tar.gz".to_owned());
            }
            exec(&mut deps, mock_env(), &who.seller, &[], msg).unwrap();
            let offer = query_offer(deps.as_ref(), 1).unwrap();
            assert_eq!(offer.extension.as_deref(), Some("tar.gz"));
        }

        fn custody() -> Custody {
            Custody {
                version: 1,
                set_id: "5e".repeat(16),
                k: 2,
                n: 3,
                shard_size: 262_144,
                ciphertext_size: 1_300,
                fragment_sha256: vec!["ab".repeat(32), "cd".repeat(32), "ef".repeat(32)],
                share_commitments: vec![format!("02{}", "12".repeat(32)); 2],
            }
        }

        #[test]
        fn keeps_custody_commitments_and_refuses_malformed_ones() {
            let (mut deps, who) = setup();
            let mut msg = new_offer();
            if let ExecuteMsg::CreateOffer { custody: c, .. } = &mut msg {
                *c = Some(custody());
            }
            exec(&mut deps, mock_env(), &who.seller, &[], msg).unwrap();
            assert_eq!(
                query_offer(deps.as_ref(), 1).unwrap().custody,
                Some(custody())
            );

            // k above n, and a digest list one short: refused by name, nothing stored.
            for broken in [
                Custody { k: 4, ..custody() },
                Custody {
                    fragment_sha256: vec!["ab".repeat(32); 2],
                    ..custody()
                },
            ] {
                let mut msg = new_offer();
                if let ExecuteMsg::CreateOffer { custody: c, .. } = &mut msg {
                    *c = Some(broken.clone());
                }
                let err = exec(&mut deps, mock_env(), &who.seller, &[], msg).unwrap_err();
                assert_eq!(
                    err,
                    ContractError::InvalidCustody(broken.validate().unwrap_err())
                );
            }
            assert!(query_offer(deps.as_ref(), 2).is_err());
        }

        #[test]
        fn the_stored_offer_names_no_storage() {
            let (mut deps, who) = setup();
            create(&mut deps, &who);
            let json: serde_json_value::Value =
                from_json(query(deps.as_ref(), mock_env(), QueryMsg::Offer { id: 1 }).unwrap())
                    .unwrap();
            let mut keys: Vec<&str> = json.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                [
                    "content_sha256",
                    "created",
                    "description",
                    "expires",
                    "id",
                    "price",
                    "seller",
                    "size",
                    "status",
                    "terms",
                    "title"
                ]
            );
        }

        #[test]
        fn rejects_invalid_fields() {
            let (mut deps, who) = setup();
            let with = |f: &dyn Fn(&mut ExecuteMsg)| {
                let mut msg = new_offer();
                f(&mut msg);
                msg
            };
            let cases: Vec<(ExecuteMsg, ContractError)> = vec![
                (
                    with(&|m| {
                        if let ExecuteMsg::CreateOffer { price, .. } = m {
                            price.clear()
                        }
                    }),
                    ContractError::EmptyPrice,
                ),
                (
                    with(&|m| {
                        if let ExecuteMsg::CreateOffer { price, .. } = m {
                            price.push(coin(0, "uzero"))
                        }
                    }),
                    ContractError::ZeroPriceCoin {
                        denom: "uzero".to_owned(),
                    },
                ),
                (
                    with(&|m| {
                        if let ExecuteMsg::CreateOffer { price, .. } = m {
                            price.push(coin(1, "ucsg"))
                        }
                    }),
                    ContractError::DuplicatePriceDenom {
                        denom: "ucsg".to_owned(),
                    },
                ),
                (
                    with(&|m| {
                        if let ExecuteMsg::CreateOffer { content_sha256, .. } = m {
                            *content_sha256 = DIGEST.to_uppercase()
                        }
                    }),
                    ContractError::InvalidContentSha256 {
                        got: DIGEST.to_uppercase(),
                    },
                ),
                (
                    with(&|m| {
                        if let ExecuteMsg::CreateOffer { content_sha256, .. } = m {
                            *content_sha256 = "abc".to_owned()
                        }
                    }),
                    ContractError::InvalidContentSha256 {
                        got: "abc".to_owned(),
                    },
                ),
                (
                    with(&|m| {
                        if let ExecuteMsg::CreateOffer { size, .. } = m {
                            *size = 0
                        }
                    }),
                    ContractError::ZeroSize,
                ),
                (
                    with(&|m| {
                        if let ExecuteMsg::CreateOffer { title, .. } = m {
                            *title = " ".to_owned()
                        }
                    }),
                    ContractError::EmptyTitle,
                ),
                (
                    with(&|m| {
                        if let ExecuteMsg::CreateOffer { terms, .. } = m {
                            *terms = "x".repeat(MAX_TEXT_LEN + 1)
                        }
                    }),
                    ContractError::FieldTooLong {
                        field: "terms",
                        len: MAX_TEXT_LEN + 1,
                        max: MAX_TEXT_LEN,
                    },
                ),
                (
                    with(&|m| {
                        if let ExecuteMsg::CreateOffer { expires, .. } = m {
                            *expires = Some(mock_env().block.time)
                        }
                    }),
                    ContractError::ExpiryNotInFuture {
                        expires: mock_env().block.time.to_string(),
                        now: mock_env().block.time.to_string(),
                    },
                ),
                (
                    with(&|m| {
                        if let ExecuteMsg::CreateOffer { extension, .. } = m {
                            *extension = Some("../../etc/passwd".to_owned())
                        }
                    }),
                    ContractError::InvalidExtension(
                        validate_extension("../../etc/passwd").unwrap_err(),
                    ),
                ),
            ];
            for (msg, expected) in cases {
                let err = exec(&mut deps, mock_env(), &who.seller, &[], msg).unwrap_err();
                assert_eq!(err, expected);
            }
            let err = exec(
                &mut deps,
                mock_env(),
                &who.seller,
                &coins(1, "ucsg"),
                new_offer(),
            )
            .unwrap_err();
            assert_eq!(
                err,
                ContractError::UnexpectedFunds {
                    got: "1ucsg".to_owned()
                }
            );
            assert_eq!(OFFER_COUNT.load(&deps.storage).unwrap(), 0);
        }
    }

    mod update_offer {
        use super::*;

        #[test]
        fn changes_only_the_given_fields() {
            let (mut deps, who) = setup();
            let id = create(&mut deps, &who);
            let expires = env_at(100).block.time;
            exec(
                &mut deps,
                mock_env(),
                &who.seller,
                &[],
                ExecuteMsg::UpdateOffer {
                    id,
                    price: Some(coins(7, "ucsg")),
                    title: None,
                    description: Some("Daily readings".to_owned()),
                    terms: None,
                    expires: Some(expires),
                },
            )
            .unwrap();
            let offer = query_offer(deps.as_ref(), id).unwrap();
            assert_eq!(offer.price, coins(7, "ucsg"));
            assert_eq!(offer.title, "Weather 2024");
            assert_eq!(offer.description, "Daily readings");
            assert_eq!(offer.terms, "Research use only");
            assert_eq!(offer.expires, Some(expires));
        }

        #[test]
        fn refusals() {
            let (mut deps, who) = setup();
            let id = create(&mut deps, &who);
            let update = |id| ExecuteMsg::UpdateOffer {
                id,
                price: None,
                title: Some("New".to_owned()),
                description: None,
                terms: None,
                expires: None,
            };
            let err = exec(&mut deps, mock_env(), &who.other, &[], update(id)).unwrap_err();
            assert_eq!(
                err,
                ContractError::NotSeller {
                    seller: who.seller.to_string()
                }
            );
            let err = exec(&mut deps, mock_env(), &who.seller, &[], update(9)).unwrap_err();
            assert_eq!(err, ContractError::OfferNotFound { id: 9 });
            let err = exec(
                &mut deps,
                mock_env(),
                &who.seller,
                &[],
                ExecuteMsg::UpdateOffer {
                    id,
                    price: None,
                    title: None,
                    description: None,
                    terms: None,
                    expires: None,
                },
            )
            .unwrap_err();
            assert_eq!(err, ContractError::EmptyUpdate);
            let err = exec(
                &mut deps,
                mock_env(),
                &who.seller,
                &[],
                ExecuteMsg::UpdateOffer {
                    id,
                    price: Some(vec![]),
                    title: None,
                    description: None,
                    terms: None,
                    expires: None,
                },
            )
            .unwrap_err();
            assert_eq!(err, ContractError::EmptyPrice);
            exec(
                &mut deps,
                mock_env(),
                &who.seller,
                &[],
                ExecuteMsg::WithdrawOffer { id },
            )
            .unwrap();
            let err = exec(&mut deps, mock_env(), &who.seller, &[], update(id)).unwrap_err();
            assert_eq!(err, ContractError::OfferWithdrawn { id });
        }
    }

    mod withdraw_offer {
        use super::*;

        #[test]
        fn seller_only_and_once() {
            let (mut deps, who) = setup();
            let id = create(&mut deps, &who);
            let withdraw = ExecuteMsg::WithdrawOffer { id };
            let err = exec(&mut deps, mock_env(), &who.buyer, &[], withdraw.clone()).unwrap_err();
            assert_eq!(
                err,
                ContractError::NotSeller {
                    seller: who.seller.to_string()
                }
            );
            let res = exec(&mut deps, mock_env(), &who.seller, &[], withdraw.clone()).unwrap();
            assert_eq!(attr(&res, "offer_id"), "1");
            assert_eq!(
                query_offer(deps.as_ref(), id).unwrap().status,
                OfferStatus::Withdrawn
            );
            let err = exec(&mut deps, mock_env(), &who.seller, &[], withdraw).unwrap_err();
            assert_eq!(err, ContractError::OfferWithdrawn { id });
        }

        #[test]
        fn existing_purchases_are_unaffected() {
            let (mut deps, who) = setup();
            let id = create(&mut deps, &who);
            let pid = buy(&mut deps, &who, id);
            exec(
                &mut deps,
                mock_env(),
                &who.seller,
                &[],
                ExecuteMsg::WithdrawOffer { id },
            )
            .unwrap();
            let res = exec(
                &mut deps,
                mock_env(),
                &who.buyer,
                &[],
                ExecuteMsg::ConfirmReceipt { purchase_id: pid },
            )
            .unwrap();
            assert_pays(&res, &who.seller, sorted_price());
        }
    }

    mod purchase {
        use super::*;

        fn purchase_msg(offer_id: u64) -> ExecuteMsg {
            ExecuteMsg::Purchase {
                offer_id,
                recipient: recipient(),
            }
        }

        #[test]
        fn records_holds_and_delivers_once() {
            let (mut deps, who) = setup();
            let offer_id = create(&mut deps, &who);
            // Coins in another order than the price's are the same funds.
            let funds = vec![coin(5, "uatom"), coin(100, "ucsg")];
            let res = exec(
                &mut deps,
                mock_env(),
                &who.buyer,
                &funds,
                purchase_msg(offer_id),
            )
            .unwrap();
            assert_eq!(attr(&res, "purchase_id"), "1");
            assert_eq!(attr(&res, "offer_id"), "1");
            // The payment stays in the contract: nothing is sent on purchase.
            assert!(res.messages.is_empty());
            assert_eq!(
                take_delivered(),
                vec![DeliveryInstruction {
                    offer_id,
                    purchase_id: 1,
                    buyer: who.buyer.to_string(),
                    recipient: DeliveryAddress {
                        endpoint: ENDPOINT.to_owned(),
                        key: AGE.to_owned(),
                    },
                    content_sha256: DIGEST.to_owned(),
                    size: 1024,
                    deadline: None,
                }]
            );
            assert_eq!(
                query_purchase(deps.as_ref(), 1).unwrap(),
                PurchaseResponse {
                    id: 1,
                    offer_id,
                    buyer: who.buyer.clone(),
                    seller: who.seller.clone(),
                    price: sorted_price(),
                    recipient: recipient(),
                    created: mock_env().block.time,
                    state: Escrow::Held,
                    dispute_reason: None,
                    disputed: None,
                    settled: None,
                }
            );
            // The offer stays open: data can be sold more than once.
            assert_eq!(buy(&mut deps, &who, offer_id), 2);
            assert_eq!(take_delivered().len(), 1);
        }

        #[test]
        fn wrong_funds_are_refused() {
            let (mut deps, who) = setup();
            let offer_id = create(&mut deps, &who);
            let expected = "5uatom,100ucsg".to_owned();
            for (funds, got) in [
                (vec![], "nothing"),
                (vec![coin(100, "ucsg")], "100ucsg"),
                (vec![coin(99, "ucsg"), coin(5, "uatom")], "99ucsg,5uatom"),
                (vec![coin(101, "ucsg"), coin(5, "uatom")], "101ucsg,5uatom"),
                (
                    vec![coin(100, "ucsg"), coin(5, "uatom"), coin(1, "uextra")],
                    "100ucsg,5uatom,1uextra",
                ),
            ] {
                let err = exec(
                    &mut deps,
                    mock_env(),
                    &who.buyer,
                    &funds,
                    purchase_msg(offer_id),
                )
                .unwrap_err();
                assert_eq!(
                    err,
                    ContractError::WrongFunds {
                        expected: expected.clone(),
                        got: got.to_owned()
                    }
                );
            }
            assert!(take_delivered().is_empty());
            assert_eq!(PURCHASE_COUNT.load(&deps.storage).unwrap(), 0);
        }

        #[test]
        fn withdrawn_missing_and_expired_offers_are_refused() {
            let (mut deps, who) = setup();
            let withdrawn = create(&mut deps, &who);
            exec(
                &mut deps,
                mock_env(),
                &who.seller,
                &[],
                ExecuteMsg::WithdrawOffer { id: withdrawn },
            )
            .unwrap();
            let err = exec(
                &mut deps,
                mock_env(),
                &who.buyer,
                &price(),
                purchase_msg(withdrawn),
            )
            .unwrap_err();
            assert_eq!(err, ContractError::OfferWithdrawn { id: withdrawn });

            let err = exec(
                &mut deps,
                mock_env(),
                &who.buyer,
                &price(),
                purchase_msg(42),
            )
            .unwrap_err();
            assert_eq!(err, ContractError::OfferNotFound { id: 42 });

            let expires = env_at(60).block.time;
            let mut msg = new_offer();
            if let ExecuteMsg::CreateOffer { expires: e, .. } = &mut msg {
                *e = Some(expires);
            }
            exec(&mut deps, mock_env(), &who.seller, &[], msg).unwrap();
            let expiring = 2;
            // One second before the expiry it can be bought; at the expiry it cannot.
            exec(
                &mut deps,
                env_at(59),
                &who.buyer,
                &price(),
                purchase_msg(expiring),
            )
            .unwrap();
            assert_eq!(take_delivered().len(), 1);
            let err = exec(
                &mut deps,
                env_at(60),
                &who.buyer,
                &price(),
                purchase_msg(expiring),
            )
            .unwrap_err();
            assert_eq!(
                err,
                ContractError::OfferExpired {
                    id: expiring,
                    expires: expires.to_string()
                }
            );
            assert!(take_delivered().is_empty());
        }

        #[test]
        fn bad_delivery_addresses_are_refused() {
            let (mut deps, who) = setup();
            let offer_id = create(&mut deps, &who);
            for (endpoint, key) in [
                ("ftp://buyer.example/inbox", AGE),
                ("https://", AGE),
                (ENDPOINT, "age1notakey"),
                (ENDPOINT, ""),
            ] {
                let err = exec(
                    &mut deps,
                    mock_env(),
                    &who.buyer,
                    &price(),
                    ExecuteMsg::Purchase {
                        offer_id,
                        recipient: DeliveryAddress {
                            endpoint: endpoint.to_owned(),
                            key: key.to_owned(),
                        },
                    },
                )
                .unwrap_err();
                assert!(
                    matches!(err, ContractError::InvalidRecipient(_)),
                    "{endpoint} {key}: {err}"
                );
                assert!(err.to_string().starts_with("invalid delivery address: "));
            }
            assert!(take_delivered().is_empty());
            assert_eq!(PURCHASE_COUNT.load(&deps.storage).unwrap(), 0);
        }

        #[test]
        fn the_seller_cannot_buy() {
            let (mut deps, who) = setup();
            let offer_id = create(&mut deps, &who);
            let err = exec(
                &mut deps,
                mock_env(),
                &who.seller,
                &price(),
                purchase_msg(offer_id),
            )
            .unwrap_err();
            assert_eq!(err, ContractError::SelfPurchase);
            assert!(take_delivered().is_empty());
        }

        #[test]
        fn a_purchase_pays_the_price_at_the_time() {
            let (mut deps, who) = setup();
            let offer_id = create(&mut deps, &who);
            let pid = buy(&mut deps, &who, offer_id);
            exec(
                &mut deps,
                mock_env(),
                &who.seller,
                &[],
                ExecuteMsg::UpdateOffer {
                    id: offer_id,
                    price: Some(coins(1, "ucsg")),
                    title: None,
                    description: None,
                    terms: None,
                    expires: None,
                },
            )
            .unwrap();
            let res = exec(
                &mut deps,
                mock_env(),
                &who.buyer,
                &[],
                ExecuteMsg::ConfirmReceipt { purchase_id: pid },
            )
            .unwrap();
            assert_pays(&res, &who.seller, sorted_price());
            // The new price applies to new purchases.
            let err = exec(
                &mut deps,
                mock_env(),
                &who.buyer,
                &price(),
                purchase_msg(offer_id),
            )
            .unwrap_err();
            assert!(matches!(err, ContractError::WrongFunds { .. }));
            exec(
                &mut deps,
                mock_env(),
                &who.buyer,
                &coins(1, "ucsg"),
                purchase_msg(offer_id),
            )
            .unwrap();
        }
    }

    mod confirm_receipt {
        use super::*;

        #[test]
        fn pays_the_seller_once() {
            let (mut deps, who) = setup();
            let offer_id = create(&mut deps, &who);
            let pid = buy(&mut deps, &who, offer_id);
            let confirm = ExecuteMsg::ConfirmReceipt { purchase_id: pid };
            let err = exec(&mut deps, mock_env(), &who.seller, &[], confirm.clone()).unwrap_err();
            assert_eq!(
                err,
                ContractError::NotBuyer {
                    buyer: who.buyer.to_string()
                }
            );
            let res = exec(&mut deps, env_at(10), &who.buyer, &[], confirm.clone()).unwrap();
            assert_pays(&res, &who.seller, sorted_price());
            let p = query_purchase(deps.as_ref(), pid).unwrap();
            assert_eq!(p.state, Escrow::Released);
            assert_eq!(p.settled, Some(env_at(10).block.time));
            let err = exec(&mut deps, mock_env(), &who.buyer, &[], confirm).unwrap_err();
            assert_eq!(
                err,
                ContractError::WrongEscrowState {
                    id: pid,
                    state: Escrow::Released,
                    expected: Escrow::Held
                }
            );
            // Nor can the seller claim it afterwards.
            let err = exec(
                &mut deps,
                env_at(WINDOW),
                &who.seller,
                &[],
                ExecuteMsg::ClaimPayment { purchase_id: pid },
            )
            .unwrap_err();
            assert!(matches!(err, ContractError::WrongEscrowState { .. }));
        }

        #[test]
        fn unknown_purchase() {
            let (mut deps, who) = setup();
            let err = exec(
                &mut deps,
                mock_env(),
                &who.buyer,
                &[],
                ExecuteMsg::ConfirmReceipt { purchase_id: 3 },
            )
            .unwrap_err();
            assert_eq!(err, ContractError::PurchaseNotFound { id: 3 });
        }
    }

    mod claim_payment {
        use super::*;

        #[test]
        fn only_after_the_window_only_the_seller_once() {
            let (mut deps, who) = setup();
            let offer_id = create(&mut deps, &who);
            let pid = buy(&mut deps, &who, offer_id);
            let claim = ExecuteMsg::ClaimPayment { purchase_id: pid };
            let err = exec(
                &mut deps,
                env_at(WINDOW - 1),
                &who.seller,
                &[],
                claim.clone(),
            )
            .unwrap_err();
            assert_eq!(
                err,
                ContractError::ReleaseWindowOpen {
                    id: pid,
                    ends: env_at(WINDOW).block.time.to_string()
                }
            );
            let err = exec(&mut deps, env_at(WINDOW), &who.buyer, &[], claim.clone()).unwrap_err();
            assert_eq!(
                err,
                ContractError::NotSeller {
                    seller: who.seller.to_string()
                }
            );
            let res = exec(&mut deps, env_at(WINDOW), &who.seller, &[], claim.clone()).unwrap();
            assert_pays(&res, &who.seller, sorted_price());
            assert_eq!(purchase_state(&deps, pid), Escrow::Released);
            let err = exec(&mut deps, env_at(WINDOW), &who.seller, &[], claim).unwrap_err();
            assert!(matches!(err, ContractError::WrongEscrowState { .. }));
            // Nor can the buyer confirm or dispute afterwards.
            let err = exec(
                &mut deps,
                env_at(WINDOW),
                &who.buyer,
                &[],
                ExecuteMsg::ConfirmReceipt { purchase_id: pid },
            )
            .unwrap_err();
            assert!(matches!(err, ContractError::WrongEscrowState { .. }));
        }

        #[test]
        fn not_while_disputed() {
            let (mut deps, who) = setup();
            let offer_id = create(&mut deps, &who);
            let pid = buy(&mut deps, &who, offer_id);
            exec(
                &mut deps,
                env_at(1),
                &who.buyer,
                &[],
                ExecuteMsg::Dispute {
                    purchase_id: pid,
                    reason: "nothing arrived".to_owned(),
                },
            )
            .unwrap();
            let err = exec(
                &mut deps,
                env_at(WINDOW * 2),
                &who.seller,
                &[],
                ExecuteMsg::ClaimPayment { purchase_id: pid },
            )
            .unwrap_err();
            assert_eq!(
                err,
                ContractError::WrongEscrowState {
                    id: pid,
                    state: Escrow::Disputed,
                    expected: Escrow::Held
                }
            );
        }
    }

    mod dispute {
        use super::*;

        fn dispute(pid: u64) -> ExecuteMsg {
            ExecuteMsg::Dispute {
                purchase_id: pid,
                reason: "wrong digest".to_owned(),
            }
        }

        #[test]
        fn buyer_only_within_the_window() {
            let (mut deps, who) = setup();
            let offer_id = create(&mut deps, &who);
            let pid = buy(&mut deps, &who, offer_id);
            let err = exec(&mut deps, env_at(1), &who.seller, &[], dispute(pid)).unwrap_err();
            assert_eq!(
                err,
                ContractError::NotBuyer {
                    buyer: who.buyer.to_string()
                }
            );
            let err = exec(&mut deps, env_at(WINDOW), &who.buyer, &[], dispute(pid)).unwrap_err();
            assert_eq!(
                err,
                ContractError::ReleaseWindowClosed {
                    id: pid,
                    ended: env_at(WINDOW).block.time.to_string()
                }
            );
            let err = exec(
                &mut deps,
                env_at(1),
                &who.buyer,
                &[],
                ExecuteMsg::Dispute {
                    purchase_id: pid,
                    reason: "  ".to_owned(),
                },
            )
            .unwrap_err();
            assert_eq!(err, ContractError::EmptyReason);
            let res = exec(&mut deps, env_at(WINDOW - 1), &who.buyer, &[], dispute(pid)).unwrap();
            assert!(res.messages.is_empty());
            let p = query_purchase(deps.as_ref(), pid).unwrap();
            assert_eq!(p.state, Escrow::Disputed);
            assert_eq!(p.dispute_reason.as_deref(), Some("wrong digest"));
            let err = exec(&mut deps, env_at(2), &who.buyer, &[], dispute(pid)).unwrap_err();
            assert!(matches!(err, ContractError::WrongEscrowState { .. }));
            // A disputed purchase cannot be confirmed either; only the arbiter ends it.
            let err = exec(
                &mut deps,
                env_at(2),
                &who.buyer,
                &[],
                ExecuteMsg::ConfirmReceipt { purchase_id: pid },
            )
            .unwrap_err();
            assert!(matches!(err, ContractError::WrongEscrowState { .. }));
        }
    }

    mod resolve {
        use super::*;

        fn disputed(deps: &mut Deps, who: &Who) -> u64 {
            let offer_id = create(deps, who);
            let pid = buy(deps, who, offer_id);
            exec(
                deps,
                env_at(1),
                &who.buyer,
                &[],
                ExecuteMsg::Dispute {
                    purchase_id: pid,
                    reason: "corrupt".to_owned(),
                },
            )
            .unwrap();
            pid
        }

        #[test]
        fn release_pays_the_seller_once() {
            let (mut deps, who) = setup();
            let pid = disputed(&mut deps, &who);
            let msg = ExecuteMsg::Resolve {
                purchase_id: pid,
                release: true,
            };
            let res = exec(&mut deps, env_at(5), &who.arbiter, &[], msg.clone()).unwrap();
            assert_pays(&res, &who.seller, sorted_price());
            assert_eq!(attr(&res, "outcome"), "released");
            assert_eq!(purchase_state(&deps, pid), Escrow::Released);
            let err = exec(&mut deps, env_at(5), &who.arbiter, &[], msg).unwrap_err();
            assert_eq!(
                err,
                ContractError::WrongEscrowState {
                    id: pid,
                    state: Escrow::Released,
                    expected: Escrow::Disputed
                }
            );
        }

        #[test]
        fn refund_pays_the_buyer_once() {
            let (mut deps, who) = setup();
            let pid = disputed(&mut deps, &who);
            let msg = ExecuteMsg::Resolve {
                purchase_id: pid,
                release: false,
            };
            let res = exec(&mut deps, env_at(5), &who.arbiter, &[], msg.clone()).unwrap();
            assert_pays(&res, &who.buyer, sorted_price());
            assert_eq!(attr(&res, "outcome"), "refunded");
            let p = query_purchase(deps.as_ref(), pid).unwrap();
            assert_eq!(p.state, Escrow::Refunded);
            assert_eq!(p.settled, Some(env_at(5).block.time));
            assert!(exec(&mut deps, env_at(5), &who.arbiter, &[], msg).is_err());
            let err = exec(
                &mut deps,
                env_at(WINDOW),
                &who.seller,
                &[],
                ExecuteMsg::ClaimPayment { purchase_id: pid },
            )
            .unwrap_err();
            assert!(matches!(err, ContractError::WrongEscrowState { .. }));
        }

        #[test]
        fn an_unresolved_dispute_is_refunded_to_the_buyer_after_the_arbitration_window() {
            let (mut deps, who) = setup();
            // Disputed at env_at(1): the arbiter has until env_at(1 + ARBITRATION).
            let pid = disputed(&mut deps, &who);
            let p = query_purchase(deps.as_ref(), pid).unwrap();
            assert_eq!(p.disputed, Some(env_at(1).block.time));
            let claim = ExecuteMsg::ClaimRefund { purchase_id: pid };
            let err = exec(
                &mut deps,
                env_at(ARBITRATION),
                &who.buyer,
                &[],
                claim.clone(),
            )
            .unwrap_err();
            assert_eq!(
                err,
                ContractError::ArbitrationWindowOpen {
                    id: pid,
                    ends: env_at(1 + ARBITRATION).block.time.to_string()
                }
            );
            for sender in [&who.seller, &who.arbiter, &who.other] {
                let err = exec(
                    &mut deps,
                    env_at(1 + ARBITRATION),
                    sender,
                    &[],
                    claim.clone(),
                )
                .unwrap_err();
                assert!(matches!(err, ContractError::NotBuyer { .. }), "{err}");
            }
            let res = exec(
                &mut deps,
                env_at(1 + ARBITRATION),
                &who.buyer,
                &[],
                claim.clone(),
            )
            .unwrap();
            assert_pays(&res, &who.buyer, sorted_price());
            assert_eq!(purchase_state(&deps, pid), Escrow::Refunded);
            // Once: neither a second claim nor a late resolution pays again.
            let err = exec(&mut deps, env_at(2 + ARBITRATION), &who.buyer, &[], claim).unwrap_err();
            assert!(matches!(err, ContractError::WrongEscrowState { .. }));
            let late = ExecuteMsg::Resolve {
                purchase_id: pid,
                release: true,
            };
            let err =
                exec(&mut deps, env_at(2 + ARBITRATION), &who.arbiter, &[], late).unwrap_err();
            assert!(matches!(err, ContractError::WrongEscrowState { .. }));
        }

        #[test]
        fn a_held_purchase_cannot_be_refunded_by_its_buyer() {
            let (mut deps, who) = setup();
            let offer_id = create(&mut deps, &who);
            let pid = buy(&mut deps, &who, offer_id);
            let err = exec(
                &mut deps,
                env_at(WINDOW + ARBITRATION),
                &who.buyer,
                &[],
                ExecuteMsg::ClaimRefund { purchase_id: pid },
            )
            .unwrap_err();
            assert_eq!(
                err,
                ContractError::WrongEscrowState {
                    id: pid,
                    state: Escrow::Held,
                    expected: Escrow::Disputed
                }
            );
        }

        #[test]
        fn arbiter_only_and_disputed_only() {
            let (mut deps, who) = setup();
            let pid = disputed(&mut deps, &who);
            for sender in [&who.seller, &who.buyer, &who.other] {
                let err = exec(
                    &mut deps,
                    env_at(5),
                    sender,
                    &[],
                    ExecuteMsg::Resolve {
                        purchase_id: pid,
                        release: *sender == who.seller,
                    },
                )
                .unwrap_err();
                assert_eq!(
                    err,
                    ContractError::NotArbiter {
                        arbiter: who.arbiter.to_string()
                    }
                );
            }
            // A held (undisputed) purchase is not the arbiter's to settle.
            let offer_id = create(&mut deps, &who);
            let held = buy(&mut deps, &who, offer_id);
            let err = exec(
                &mut deps,
                env_at(5),
                &who.arbiter,
                &[],
                ExecuteMsg::Resolve {
                    purchase_id: held,
                    release: false,
                },
            )
            .unwrap_err();
            assert_eq!(
                err,
                ContractError::WrongEscrowState {
                    id: held,
                    state: Escrow::Held,
                    expected: Escrow::Disputed
                }
            );
        }
    }

    mod queries {
        use super::*;

        fn q<T: serde::de::DeserializeOwned>(deps: &Deps, env: Env, msg: QueryMsg) -> T {
            from_json(query(deps.as_ref(), env, msg).unwrap()).unwrap()
        }

        #[test]
        fn a_missing_offer_or_purchase_is_named_by_its_id() {
            let (deps, _) = setup();
            let err = query(deps.as_ref(), mock_env(), QueryMsg::Offer { id: 99 }).unwrap_err();
            assert_eq!(err.to_string(), "offer 99 does not exist");
            let err = query(deps.as_ref(), mock_env(), QueryMsg::Purchase { id: 7 }).unwrap_err();
            assert_eq!(err.to_string(), "purchase 7 does not exist");
        }

        #[test]
        fn offers_by_seller_and_active_with_pagination() {
            let (mut deps, who) = setup();
            let other_seller = Who {
                seller: who.other.clone(),
                buyer: who.buyer.clone(),
                arbiter: who.arbiter.clone(),
                other: who.seller.clone(),
            };
            for _ in 0..3 {
                create(&mut deps, &who);
            }
            create(&mut deps, &other_seller); // 4
            let mut expiring = new_offer();
            if let ExecuteMsg::CreateOffer { expires, .. } = &mut expiring {
                *expires = Some(env_at(10).block.time);
            }
            exec(&mut deps, mock_env(), &who.seller, &[], expiring).unwrap(); // 5
            exec(
                &mut deps,
                mock_env(),
                &who.seller,
                &[],
                ExecuteMsg::WithdrawOffer { id: 2 },
            )
            .unwrap();

            let ids = |r: OffersResponse| r.offers.iter().map(|o| o.id).collect::<Vec<_>>();
            let offers = |seller: Option<&Addr>, active_only, start_after, limit, env| {
                ids(q(
                    &deps,
                    env,
                    QueryMsg::Offers {
                        seller: seller.map(Addr::to_string),
                        active_only,
                        start_after,
                        limit,
                    },
                ))
            };
            assert_eq!(offers(None, false, None, None, mock_env()), [1, 2, 3, 4, 5]);
            assert_eq!(offers(None, false, Some(2), Some(2), mock_env()), [3, 4]);
            assert_eq!(offers(None, true, None, None, mock_env()), [1, 3, 4, 5]);
            assert_eq!(offers(None, true, None, None, env_at(10)), [1, 3, 4]);
            assert_eq!(
                offers(Some(&who.seller), false, None, None, mock_env()),
                [1, 2, 3, 5]
            );
            assert_eq!(
                offers(Some(&who.seller), true, Some(1), Some(1), mock_env()),
                [3]
            );
            assert_eq!(
                offers(Some(&who.seller), true, None, None, env_at(10)),
                [1, 3]
            );
            assert_eq!(offers(Some(&who.other), false, None, None, mock_env()), [4]);
            assert!(query(
                deps.as_ref(),
                mock_env(),
                QueryMsg::Offers {
                    seller: Some("bad".to_owned()),
                    active_only: false,
                    start_after: None,
                    limit: None
                }
            )
            .is_err());
        }

        #[test]
        fn limits_default_to_30_and_cap_at_100() {
            let (mut deps, who) = setup();
            for _ in 0..101 {
                create(&mut deps, &who);
            }
            let count = |limit| {
                q::<OffersResponse>(
                    &deps,
                    mock_env(),
                    QueryMsg::Offers {
                        seller: None,
                        active_only: false,
                        start_after: None,
                        limit,
                    },
                )
                .offers
                .len()
            };
            assert_eq!(count(None), 30);
            assert_eq!(count(Some(1000)), 100);
            assert_eq!(count(Some(0)), 0);
        }

        #[test]
        fn purchases_by_buyer_and_by_seller() {
            let (mut deps, who) = setup();
            let first = create(&mut deps, &who);
            let other_seller = Who {
                seller: who.other.clone(),
                buyer: who.buyer.clone(),
                arbiter: who.arbiter.clone(),
                other: who.seller.clone(),
            };
            let second = create(&mut deps, &other_seller);
            buy(&mut deps, &who, first); // 1
            buy(&mut deps, &who, second); // 2
            buy(&mut deps, &who, first); // 3
                                         // The other seller buys from the first seller.
            exec(
                &mut deps,
                mock_env(),
                &who.other,
                &price(),
                ExecuteMsg::Purchase {
                    offer_id: first,
                    recipient: recipient(),
                },
            )
            .unwrap(); // 4
            take_delivered();

            let ids = |r: PurchasesResponse| r.purchases.iter().map(|p| p.id).collect::<Vec<_>>();
            let by_buyer = |buyer: &Addr, start_after, limit| {
                ids(q(
                    &deps,
                    mock_env(),
                    QueryMsg::PurchasesByBuyer {
                        buyer: buyer.to_string(),
                        start_after,
                        limit,
                    },
                ))
            };
            let by_seller = |seller: &Addr, start_after, limit| {
                ids(q(
                    &deps,
                    mock_env(),
                    QueryMsg::PurchasesBySeller {
                        seller: seller.to_string(),
                        start_after,
                        limit,
                    },
                ))
            };
            assert_eq!(by_buyer(&who.buyer, None, None), [1, 2, 3]);
            assert_eq!(by_buyer(&who.buyer, Some(1), Some(1)), [2]);
            assert_eq!(by_buyer(&who.other, None, None), [4]);
            assert_eq!(by_buyer(&who.seller, None, None), Vec::<u64>::new());
            assert_eq!(by_seller(&who.seller, None, None), [1, 3, 4]);
            assert_eq!(by_seller(&who.seller, Some(3), None), [4]);
            assert_eq!(by_seller(&who.other, None, None), [2]);

            let p: PurchaseResponse = q(&deps, mock_env(), QueryMsg::Purchase { id: 2 });
            assert_eq!((p.offer_id, p.state), (second, Escrow::Held));
            assert!(query(deps.as_ref(), mock_env(), QueryMsg::Purchase { id: 99 }).is_err());
            assert!(query(deps.as_ref(), mock_env(), QueryMsg::Offer { id: 99 }).is_err());
            let c: ConfigResponse = q(&deps, mock_env(), QueryMsg::Config {});
            assert_eq!(c.arbiter, who.arbiter);
        }

        #[test]
        fn message_json_shapes() {
            let msg: ExecuteMsg = from_json(
                br#"{"purchase":{"offer_id":1,"recipient":{"endpoint":"https://b.example/in","key":"age1x"}}}"#,
            )
            .unwrap();
            assert!(matches!(msg, ExecuteMsg::Purchase { offer_id: 1, .. }));
            let msg: ExecuteMsg = from_json(
                br#"{"create_offer":{"price":[{"denom":"ucsg","amount":"10"}],"content_sha256":"ab","size":1,"title":"t","description":"","terms":""}}"#,
            )
            .unwrap();
            assert!(matches!(msg, ExecuteMsg::CreateOffer { expires: None, .. }));
            let msg: QueryMsg = from_json(br#"{"offers":{}}"#).unwrap();
            assert_eq!(
                msg,
                QueryMsg::Offers {
                    seller: None,
                    active_only: false,
                    start_after: None,
                    limit: None
                }
            );
        }
    }
}
