//! Writes the contract's JSON schema to `schema/` in the current directory:
//! `cargo run -p data-sale --example schema` from `contracts/data-sale`. `tests/schema.rs` checks
//! that the committed files are what it writes.

use cosmwasm_schema::write_api;
use data_sale::msg::{ExecuteMsg, InstantiateMsg, QueryMsg};

fn main() {
    write_api! {
        instantiate: InstantiateMsg,
        execute: ExecuteMsg,
        query: QueryMsg,
    }
}
