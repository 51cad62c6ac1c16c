//! Why a message was refused.

use consign_sdk::cosmwasm_std::StdError;
use consign_sdk::DeliveryError;
use thiserror::Error;

use consign_market::Escrow;

/// Every refusal of the contract. Each message says what was wrong and, where it helps, what was
/// expected.
#[derive(Error, Debug)]
pub enum ContractError {
    /// A storage, serialisation or address error from cosmwasm-std.
    #[error("{0}")]
    Std(#[from] StdError),

    /// The buyer's delivery address is invalid.
    #[error("invalid delivery address: {0}")]
    InvalidRecipient(#[from] DeliveryError),

    /// A window (`release_window_seconds` or `arbitration_window_seconds`) is too long.
    #[error("{field} is {got}; at most {max} is allowed")]
    WindowTooLong {
        /// Which window.
        field: &'static str,
        /// The window given.
        got: u64,
        /// The limit.
        max: u64,
    },

    /// The offer's price has no coins.
    #[error("price must have at least one coin")]
    EmptyPrice,

    /// A coin of the price has a zero amount.
    #[error("price coin {denom:?} has a zero amount")]
    ZeroPriceCoin {
        /// The coin's denomination.
        denom: String,
    },

    /// A denomination appears more than once in the price.
    #[error("price names {denom:?} more than once")]
    DuplicatePriceDenom {
        /// The repeated denomination.
        denom: String,
    },

    /// `content_sha256` is not 64 lowercase hex characters.
    #[error("content_sha256 must be 64 lowercase hex characters (a SHA-256 digest), got {got:?}")]
    InvalidContentSha256 {
        /// The value given.
        got: String,
    },

    /// `size` is zero.
    #[error("size must be greater than zero")]
    ZeroSize,

    /// The title is empty.
    #[error("title must not be empty")]
    EmptyTitle,

    /// A text field is longer than allowed.
    #[error("{field} is {len} bytes long; at most {max} bytes are allowed")]
    FieldTooLong {
        /// The field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// The expiry given is not in the future.
    #[error("expires ({expires}) must be after the current block time ({now})")]
    ExpiryNotInFuture {
        /// The expiry given.
        expires: String,
        /// The block time.
        now: String,
    },

    /// The update changes nothing.
    #[error("the update changes nothing; give at least one of price, title, description, terms, expires")]
    EmptyUpdate,

    /// No offer has this id.
    #[error("offer {id} does not exist")]
    OfferNotFound {
        /// The id asked for.
        id: u64,
    },

    /// The offer was withdrawn.
    #[error("offer {id} was withdrawn")]
    OfferWithdrawn {
        /// The offer.
        id: u64,
    },

    /// The offer has expired.
    #[error("offer {id} expired at {expires}")]
    OfferExpired {
        /// The offer.
        id: u64,
        /// Its expiry.
        expires: String,
    },

    /// The sender is not the offer's or the purchase's seller.
    #[error("only the seller ({seller}) may do this")]
    NotSeller {
        /// The seller.
        seller: String,
    },

    /// The sender is not the purchase's buyer.
    #[error("only the buyer ({buyer}) may do this")]
    NotBuyer {
        /// The buyer.
        buyer: String,
    },

    /// The sender is not the arbiter.
    #[error("only the arbiter ({arbiter}) may do this")]
    NotArbiter {
        /// The arbiter.
        arbiter: String,
    },

    /// A seller tried to buy their own offer.
    #[error("the seller cannot purchase their own offer")]
    SelfPurchase,

    /// The funds sent are not exactly the price.
    #[error("funds must equal the price exactly: expected {expected}, got {got}")]
    WrongFunds {
        /// The price.
        expected: String,
        /// The funds sent.
        got: String,
    },

    /// Funds were sent with a message that takes none.
    #[error("this message takes no funds, got {got}")]
    UnexpectedFunds {
        /// The funds sent.
        got: String,
    },

    /// No purchase has this id.
    #[error("purchase {id} does not exist")]
    PurchaseNotFound {
        /// The id asked for.
        id: u64,
    },

    /// The purchase is not in the escrow state the message needs.
    #[error("purchase {id} is {state}; this needs it to be {expected}")]
    WrongEscrowState {
        /// The purchase.
        id: u64,
        /// Its state.
        state: Escrow,
        /// The state needed.
        expected: Escrow,
    },

    /// The seller claimed before the release window ended.
    #[error(
        "the release window of purchase {id} ends at {ends}; the payment cannot be claimed before"
    )]
    ReleaseWindowOpen {
        /// The purchase.
        id: u64,
        /// When the window ends.
        ends: String,
    },

    /// The buyer disputed after the release window ended.
    #[error("the release window of purchase {id} ended at {ended}; it can no longer be disputed")]
    ReleaseWindowClosed {
        /// The purchase.
        id: u64,
        /// When the window ended.
        ended: String,
    },

    /// The dispute gives no reason.
    #[error("a dispute must give a reason")]
    EmptyReason,

    /// The buyer claimed a refund while the arbiter may still resolve the dispute.
    #[error(
        "the arbiter may resolve purchase {id} until {ends}; a refund cannot be claimed before"
    )]
    ArbitrationWindowOpen {
        /// The purchase.
        id: u64,
        /// When the arbitration window ends.
        ends: String,
    },

    /// The offer's extension is not one.
    #[error("invalid extension: {0}")]
    InvalidExtension(String),

    /// The offer's custody commitments are malformed.
    #[error("invalid custody commitments: {0}")]
    InvalidCustody(String),
}

impl PartialEq for ContractError {
    /// Compares by message: [`StdError`] has no `PartialEq`, and every variant's message shows
    /// all of its fields.
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
            && self.to_string() == other.to_string()
    }
}
