//! For native tools (feature `tools`): the market's messages as the chain's transaction
//! messages.

use consign_sdk::cosmwasm_std::{to_json_binary, Coin};
use consign_types::Msg;

use crate::ExecuteMsg;

impl ExecuteMsg {
    /// The transaction message that executes `self` on the data-sale contract at `contract`,
    /// sending `funds`: exactly the offer's price for [`ExecuteMsg::Purchase`], none otherwise
    /// (the contract refuses funds on every other message).
    ///
    /// ```
    /// use consign_market::ExecuteMsg;
    /// use consign_types::Msg;
    ///
    /// let msg = ExecuteMsg::confirm_receipt(7).to_msg("consign1market", vec![]);
    /// let Msg::Execute { contract, msg, funds } = msg else { unreachable!() };
    /// assert_eq!(contract, "consign1market");
    /// assert_eq!(msg.as_slice(), br#"{"confirm_receipt":{"purchase_id":7}}"#);
    /// assert!(funds.is_empty());
    /// ```
    ///
    /// # Panics
    ///
    /// Never: these messages (strings, numbers, coins, timestamps) always serialise to JSON.
    pub fn to_msg(&self, contract: impl Into<String>, funds: Vec<Coin>) -> Msg {
        Msg::Execute {
            contract: contract.into(),
            msg: to_json_binary(self).expect("a data-sale message always serialises to JSON"),
            funds,
        }
    }
}
