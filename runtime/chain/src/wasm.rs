//! The wasm module: storing code, creating contracts, calling them, and carrying out what their
//! responses ask for — bank, wasm, staking and protobuf (`Any`, routed by [`crate::stargate`])
//! messages, submessages with `reply`, events in CosmWasm's format, and the delivery
//! instructions of calls that succeed.

pub(crate) mod proto;

use consign_vm::{BackendApi, Instance};
use cosmwasm_std::{
    AnyMsg, BankMsg, Binary, Checksum, Coin, ContractResult, CosmosMsg, DistributionMsg, Empty,
    Event, MessageInfo, MigrateInfo, Reply, ReplyOn, Response, StakingMsg, SubMsg, WasmMsg,
};
use serde_json::json;

use crate::bank;
use crate::core::Core;
use crate::error::ExecError;
use crate::events::{attr, check_contract_attributes, event};
use crate::gas::{self, GasMeter};
use crate::querier::ChainQuerier;
use crate::staking;
use crate::stargate;
use crate::state::{self, CodeRecord, ContractRecord};
use crate::store::{lock, ContractStore};

/// How deep contracts may call contracts.
const MAX_DEPTH: usize = 10;

type ChainInstance = Instance<consign_vm::Bech32Api, ContractStore, ChainQuerier>;

/// What a message (or submessage) produced.
#[derive(Debug, Default, Clone)]
pub(crate) struct Outcome {
    pub(crate) events: Vec<Event>,
    pub(crate) data: Option<Binary>,
    pub(crate) code_id: Option<u64>,
    pub(crate) contract_address: Option<String>,
}

/// The checksum of a stored code.
pub(crate) fn code_checksum(core: &Core, code_id: u64) -> Result<Checksum, ExecError> {
    let layers = lock(&core.layers);
    let record = state::read_json::<CodeRecord>(&layers, &state::code_key(code_id))
        .map_err(|e| ExecError::Invalid(e.to_string()))?
        .ok_or_else(|| ExecError::Invalid(format!("no code with id {code_id}")))?;
    Checksum::from_hex(&record.checksum)
        .map_err(|e| ExecError::Invalid(format!("stored checksum of code {code_id}: {e}")))
}

/// Executes messages for one transaction, against the core's layers, within one gas meter.
pub(crate) struct Executor<'a> {
    pub(crate) core: &'a Core,
    pub(crate) gas: GasMeter,
    pub(crate) height: u64,
    /// A simulation (`View::simulate`): uploads are checked and charged as in a block but not
    /// compiled or saved in the VM's code store, so a simulation leaves nothing on disk.
    pub(crate) simulation: bool,
}

impl Executor<'_> {
    fn contract(&self, address: &str) -> Result<ContractRecord, ExecError> {
        let layers = lock(&self.core.layers);
        state::read_json::<ContractRecord>(&layers, &state::contract_key(address))
            .map_err(|e| ExecError::Invalid(e.to_string()))?
            .ok_or_else(|| ExecError::Invalid(format!("no contract at {address}")))
    }

    fn validate(&self, address: &str, what: &str) -> Result<(), ExecError> {
        let canonical =
            self.core.api.addr_canonicalize(address).map_err(|e| {
                ExecError::Invalid(format!("invalid {what} address {address:?}: {e}"))
            })?;
        let normal =
            self.core.api.addr_humanize(&canonical).map_err(|e| {
                ExecError::Invalid(format!("invalid {what} address {address:?}: {e}"))
            })?;
        if normal != address {
            return Err(ExecError::Invalid(format!(
                "{what} address {address:?} is not normalized (use {normal})"
            )));
        }
        Ok(())
    }

    /// Transfers coins, charging the bank's gas.
    pub(crate) fn send(
        &mut self,
        from: &str,
        to: &str,
        amount: &[Coin],
    ) -> Result<Vec<Event>, ExecError> {
        self.gas.consume(gas::BANK_SEND)?;
        self.validate(to, "recipient")?;
        bank::transfer(&mut lock(&self.core.layers), from, to, amount)
    }

    /// Runs a staking or distribution message against the state at the current block,
    /// charging its gas.
    pub(crate) fn staking(
        &mut self,
        run: impl FnOnce(
            &mut crate::store::Layers,
            &cosmwasm_std::BlockInfo,
        ) -> Result<staking::Done, ExecError>,
    ) -> Result<Outcome, ExecError> {
        self.gas.consume(gas::STAKING)?;
        let block = self.core.context().block;
        let done = run(&mut lock(&self.core.layers), &block)?;
        Ok(Outcome {
            events: done.events,
            data: (!done.response.is_empty()).then(|| Binary::new(done.response)),
            ..Outcome::default()
        })
    }

    /// Checks, compiles and stores a code.
    pub(crate) fn store_code(&mut self, sender: &str, wasm: &[u8]) -> Result<Outcome, ExecError> {
        self.gas
            .consume(gas::STORE_CODE_PER_BYTE.saturating_mul(wasm.len() as u64))?;
        let checksum = if self.simulation {
            let report = self.core.vm.check(wasm);
            if !report.is_ok() {
                let rejected = consign_vm::VmError::Rejected {
                    problems: report.problems,
                };
                return Err(ExecError::Invalid(rejected.to_string()));
            }
            report.checksum
        } else {
            self.core
                .vm
                .save_wasm(wasm)
                .map_err(|e| ExecError::Invalid(e.to_string()))?
        };
        let mut layers = lock(&self.core.layers);
        let code_id = state::next_seq(&mut layers, state::CODE_SEQ_KEY)
            .map_err(|e| ExecError::Invalid(e.to_string()))?;
        state::write_json(
            &mut layers,
            &state::code_key(code_id),
            &CodeRecord {
                checksum: checksum.to_hex(),
                creator: sender.to_owned(),
                size: wasm.len() as u64,
                height: self.height,
            },
        );
        layers.set(&state::code_bytes_key(code_id), wasm);
        Ok(Outcome {
            events: vec![event(
                "store_code",
                [
                    attr("code_checksum", checksum.to_hex()),
                    attr("code_id", code_id.to_string()),
                ],
            )],
            code_id: Some(code_id),
            ..Outcome::default()
        })
    }

    /// Creates a contract and calls its `instantiate`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn instantiate(
        &mut self,
        sender: &str,
        code_id: u64,
        msg: &[u8],
        funds: &[Coin],
        label: &str,
        admin: Option<&str>,
        salt: Option<&[u8]>,
        depth: usize,
    ) -> Result<Outcome, ExecError> {
        self.gas.consume(gas::INSTANTIATE)?;
        if let Some(admin) = admin {
            self.validate(admin, "admin")?;
        }
        if label.trim().is_empty() {
            return Err(ExecError::Invalid(
                "a contract needs a non-empty label".into(),
            ));
        }
        let checksum = code_checksum(self.core, code_id)?;
        let canonical = match salt {
            None => {
                let instance_id =
                    state::next_seq(&mut lock(&self.core.layers), state::INSTANCE_SEQ_KEY)
                        .map_err(|e| ExecError::Invalid(e.to_string()))?;
                consign_types::contract_address(code_id, instance_id).to_vec()
            }
            Some(salt) => {
                if salt.is_empty() || salt.len() > 64 {
                    return Err(ExecError::Invalid(
                        "instantiate2 salt must be 1 to 64 bytes".into(),
                    ));
                }
                let creator = self
                    .core
                    .api
                    .addr_canonicalize(sender)
                    .map_err(|e| ExecError::Invalid(format!("invalid sender: {e}")))?;
                cosmwasm_std::instantiate2_address(checksum.as_slice(), &creator.into(), salt)
                    .map_err(|e| ExecError::Invalid(format!("instantiate2 address: {e}")))?
                    .to_vec()
            }
        };
        let address = self
            .core
            .api
            .addr_humanize(&canonical)
            .map_err(|e| ExecError::Invalid(format!("contract address: {e}")))?;
        {
            let mut layers = lock(&self.core.layers);
            if layers.get(&state::contract_key(&address)).is_some() {
                return Err(ExecError::Invalid(format!(
                    "a contract already exists at {address} (instantiate2 with the same code, creator and salt)"
                )));
            }
            state::write_json(
                &mut layers,
                &state::contract_key(&address),
                &ContractRecord {
                    code_id,
                    creator: sender.to_owned(),
                    admin: admin.map(str::to_owned),
                    label: label.to_owned(),
                    created: self.height,
                },
            );
        }
        let mut events = self.send(sender, &address, funds)?;
        let info = MessageInfo {
            sender: cosmwasm_std::Addr::unchecked(sender),
            funds: funds.to_vec(),
        };
        let env = self.core.env(&address);
        let response = self.call(&address, &checksum, |i| {
            i.call_instantiate::<Empty>(&env, &info, msg)
        })?;
        events.push(event(
            "instantiate",
            [
                attr("_contract_address", &address),
                attr("code_id", code_id.to_string()),
            ],
        ));
        let (more, data) = self.handle_response(&address, response, depth)?;
        events.extend(more);
        Ok(Outcome {
            events,
            data,
            code_id: Some(code_id),
            contract_address: Some(address),
        })
    }

    /// Calls a contract's `execute`.
    pub(crate) fn execute(
        &mut self,
        sender: &str,
        contract: &str,
        msg: &[u8],
        funds: &[Coin],
        depth: usize,
    ) -> Result<Outcome, ExecError> {
        let record = self.contract(contract)?;
        let checksum = code_checksum(self.core, record.code_id)?;
        let mut events = self.send(sender, contract, funds)?;
        let info = MessageInfo {
            sender: cosmwasm_std::Addr::unchecked(sender),
            funds: funds.to_vec(),
        };
        let env = self.core.env(contract);
        let response = self.call(contract, &checksum, |i| {
            i.call_execute::<Empty>(&env, &info, msg)
        })?;
        events.push(event("execute", [attr("_contract_address", contract)]));
        let (more, data) = self.handle_response(contract, response, depth)?;
        events.extend(more);
        Ok(Outcome {
            events,
            data,
            ..Outcome::default()
        })
    }

    /// Migrates a contract to another code, if `sender` is its admin.
    pub(crate) fn migrate(
        &mut self,
        sender: &str,
        contract: &str,
        code_id: u64,
        msg: &[u8],
        depth: usize,
    ) -> Result<Outcome, ExecError> {
        let mut record = self.contract(contract)?;
        if record.admin.as_deref() != Some(sender) {
            return Err(ExecError::Invalid(format!(
                "{sender} may not migrate {contract}: {}",
                match &record.admin {
                    Some(admin) => format!("only its admin {admin} may"),
                    None => "it has no admin".to_owned(),
                }
            )));
        }
        let checksum = code_checksum(self.core, code_id)?;
        let old_version = self.migrate_version(record.code_id)?;
        record.code_id = code_id;
        state::write_json(
            &mut lock(&self.core.layers),
            &state::contract_key(contract),
            &record,
        );
        let env = self.core.env(contract);
        let info = MigrateInfo {
            sender: cosmwasm_std::Addr::unchecked(sender),
            old_migrate_version: old_version,
        };
        let response = self.call(contract, &checksum, |i| {
            i.call_migrate::<Empty>(&env, msg, &info)
        })?;
        let mut events = vec![event(
            "migrate",
            [
                attr("_contract_address", contract),
                attr("code_id", code_id.to_string()),
            ],
        )];
        let (more, data) = self.handle_response(contract, response, depth)?;
        events.extend(more);
        Ok(Outcome {
            events,
            data,
            ..Outcome::default()
        })
    }

    /// The migrate version the stored code declares (its `cw_migrate_version` section), read
    /// when a contract migrates away from it, as wasmd does (`AnalyzeCode` of the old code).
    fn migrate_version(&self, code_id: u64) -> Result<Option<u64>, ExecError> {
        let wasm = lock(&self.core.layers)
            .get(&state::code_bytes_key(code_id))
            .ok_or_else(|| ExecError::Invalid(format!("the wasm of code {code_id} is missing")))?;
        consign_vm::migrate_version(&wasm)
            .map_err(|e| ExecError::Invalid(format!("code {code_id}: {e}")))
    }

    /// Sets or clears a contract's admin, if `sender` is its admin.
    pub(crate) fn set_admin(
        &mut self,
        sender: &str,
        contract: &str,
        new_admin: Option<&str>,
    ) -> Result<Outcome, ExecError> {
        let mut record = self.contract(contract)?;
        if record.admin.as_deref() != Some(sender) {
            return Err(ExecError::Invalid(format!(
                "{sender} is not the admin of {contract}"
            )));
        }
        if let Some(admin) = new_admin {
            self.validate(admin, "admin")?;
        }
        record.admin = new_admin.map(str::to_owned);
        state::write_json(
            &mut lock(&self.core.layers),
            &state::contract_key(contract),
            &record,
        );
        let kind = if new_admin.is_some() {
            "update_contract_admin"
        } else {
            "clear_contract_admin"
        };
        Ok(Outcome {
            events: vec![event(
                kind,
                [
                    attr("_contract_address", contract),
                    attr("new_admin", new_admin.unwrap_or("")),
                ],
            )],
            ..Outcome::default()
        })
    }

    /// Runs one entry point on a fresh instance with the gas left, charges what it used, and
    /// keeps its delivery instructions in the current layer (they are dropped with it if a
    /// caller fails).
    fn call(
        &mut self,
        contract: &str,
        checksum: &Checksum,
        run: impl FnOnce(&mut ChainInstance) -> consign_vm::VmResult<ContractResult<Response<Empty>>>,
    ) -> Result<Response<Empty>, ExecError> {
        self.gas.consume(gas::CONTRACT_CALL)?;
        let limit = self.gas.remaining();
        let backend = self
            .core
            .backend(contract, false)
            .map_err(ExecError::Invalid)?;
        let mut instance = self
            .core
            .vm
            .instance(checksum, backend, &Core::options(contract, limit))
            .map_err(|e| ExecError::from_vm(contract, &e, self.gas.limit(), self.gas.used()))?;
        let result = run(&mut instance);
        let finished = instance.finish();
        let charged = self.gas.consume(finished.gas_used);
        let response = match result {
            Err(e) => {
                return Err(ExecError::from_vm(
                    contract,
                    &e,
                    self.gas.limit(),
                    self.gas.used() + 1,
                ))
            }
            Ok(ContractResult::Err(msg)) => {
                return Err(ExecError::Contract {
                    contract: contract.to_owned(),
                    msg,
                })
            }
            Ok(ContractResult::Ok(response)) => response,
        };
        charged?;
        let mut layers = lock(&self.core.layers);
        for instruction in finished.deliveries {
            layers.add_delivery(contract.to_owned(), instruction);
        }
        Ok(response)
    }

    /// Turns a response into events, runs its messages (submessages with their replies), and
    /// returns the data the caller sees.
    fn handle_response(
        &mut self,
        contract: &str,
        response: Response<Empty>,
        depth: usize,
    ) -> Result<(Vec<Event>, Option<Binary>), ExecError> {
        let mut events = Vec::new();
        let refuse = |msg: String| ExecError::Contract {
            contract: contract.to_owned(),
            msg,
        };
        check_contract_attributes(&response.attributes).map_err(refuse)?;
        if !response.attributes.is_empty() {
            events.push(event(
                "wasm",
                std::iter::once(attr("_contract_address", contract)).chain(response.attributes),
            ));
        }
        for custom in response.events {
            check_contract_attributes(&custom.attributes).map_err(refuse)?;
            if custom.ty.trim().is_empty() {
                return Err(refuse("an event type is empty".into()));
            }
            events.push(event(
                format!("wasm-{}", custom.ty),
                std::iter::once(attr("_contract_address", contract)).chain(custom.attributes),
            ));
        }
        let mut data = response.data;
        for sub in response.messages {
            let (sub_events, reply_data) = self.run_submessage(contract, sub, depth)?;
            events.extend(sub_events);
            if reply_data.is_some() {
                data = reply_data;
            }
        }
        Ok((events, data))
    }

    /// Runs a submessage in its own layer and, as its `reply_on` asks, calls `reply`.
    fn run_submessage(
        &mut self,
        contract: &str,
        sub: SubMsg<Empty>,
        depth: usize,
    ) -> Result<(Vec<Event>, Option<Binary>), ExecError> {
        if depth >= MAX_DEPTH {
            return Err(ExecError::Invalid(format!(
                "contracts may call contracts at most {MAX_DEPTH} levels deep"
            )));
        }
        lock(&self.core.layers).push();
        let (result, gas_used) = self.dispatch_metered(contract, &sub, depth + 1);
        let mut layers = lock(&self.core.layers);
        match &result {
            Ok(_) => layers.commit_top(),
            Err(_) => layers.discard_top(),
        }
        drop(layers);
        let wants_reply = matches!(
            (&result, sub.reply_on),
            (_, ReplyOn::Always) | (Ok(_), ReplyOn::Success) | (Err(_), ReplyOn::Error)
        );
        // Running out of the transaction's gas is never caught by a reply: the transaction is
        // over. (A submessage's own gas limit is: `ExecError::SubMsgOutOfGas`.)
        if let Err(e @ ExecError::OutOfGas { .. }) = &result {
            return Err(e.clone());
        }
        if !wants_reply {
            return result
                .map(|outcome| (outcome.events, None))
                .map_err(|e| e.within(|| format!("{contract}: dispatch submessage {}", sub.id)));
        }
        let (result_json, mut events, mode) = match result {
            Ok(outcome) => {
                // A protobuf message is answered as its typed twin.
                let shape = stargate::typed(&sub.msg);
                let msg_responses = outcome.msg_response(&shape);
                // As wasmd: a wasm message's data reaches the reply protobuf-encoded, the way
                // `cw-utils` decodes it.
                let data = match msg_responses.first() {
                    Some(response) if !matches!(*shape, CosmosMsg::Bank(_)) => {
                        response.get("value").cloned()
                    }
                    _ => None,
                };
                // As wasmd, a reply sees the events of wasm messages only.
                let seen: &[Event] = if matches!(sub.msg, CosmosMsg::Wasm(_)) {
                    &outcome.events
                } else {
                    &[]
                };
                (
                    json!({"ok": {
                        "events": seen,
                        "data": data,
                        "msg_responses": msg_responses,
                    }}),
                    outcome.events,
                    "handle_success",
                )
            }
            Err(e) => (
                json!({"error": e.to_string()}),
                Vec::new(),
                "handle_failure",
            ),
        };
        let reply: Reply = serde_json::from_value(json!({
            "id": sub.id,
            "payload": sub.payload,
            "gas_used": gas_used,
            "result": result_json,
        }))
        .map_err(|e| ExecError::Invalid(format!("cannot build reply: {e}")))?;
        let record = self.contract(contract)?;
        let checksum = code_checksum(self.core, record.code_id)?;
        let env = self.core.env(contract);
        let in_reply =
            |e: ExecError| e.within(|| format!("{contract}: reply to submessage {}", sub.id));
        let response = self
            .call(contract, &checksum, |i| i.call_reply::<Empty>(&env, &reply))
            .map_err(in_reply)?;
        events.push(event(
            "reply",
            [attr("_contract_address", contract), attr("mode", mode)],
        ));
        let (more, data) = self
            .handle_response(contract, response, depth)
            .map_err(in_reply)?;
        events.extend(more);
        Ok((events, data))
    }

    /// Dispatches a submessage's message and returns its result with the gas it used. As wasmd
    /// (`dispatchMsgWithGasLimit`): a `gas_limit` below the gas remaining runs the message on a
    /// meter of its own, so running out of it is a [`ExecError::SubMsgOutOfGas`] that a reply can
    /// catch, and the transaction is charged what the message used (all of its limit when it ran
    /// out). A limit at or above the gas remaining changes nothing: running out then ends the
    /// transaction.
    fn dispatch_metered(
        &mut self,
        contract: &str,
        sub: &SubMsg<Empty>,
        depth: usize,
    ) -> (Result<Outcome, ExecError>, u64) {
        let Some(limit) = sub.gas_limit.filter(|&limit| limit < self.gas.remaining()) else {
            let before = self.gas.used();
            let result = self.dispatch(contract, &sub.msg, depth);
            return (result, self.gas.used() - before);
        };
        let outer = std::mem::replace(&mut self.gas, GasMeter::new(limit));
        let result = self.dispatch(contract, &sub.msg, depth);
        let inner = std::mem::replace(&mut self.gas, outer);
        let used = inner.used();
        let result = match (result, self.gas.consume(used)) {
            // `used` is at most `limit`, below what remained, so the charge itself succeeds.
            (_, Err(e)) => Err(e),
            (Err(ExecError::OutOfGas { .. }), Ok(())) => Err(ExecError::SubMsgOutOfGas { limit }),
            (result, Ok(())) => result,
        };
        (result, used)
    }

    /// Carries out a message a contract returned, with the contract as sender.
    fn dispatch(
        &mut self,
        sender: &str,
        msg: &CosmosMsg<Empty>,
        depth: usize,
    ) -> Result<Outcome, ExecError> {
        match msg {
            CosmosMsg::Bank(BankMsg::Send { to_address, amount }) => Ok(Outcome {
                events: self.send(sender, to_address, amount)?,
                ..Outcome::default()
            }),
            CosmosMsg::Bank(BankMsg::Burn { amount }) => {
                self.gas.consume(gas::BANK_SEND)?;
                let events = bank::burn(&mut lock(&self.core.layers), sender, amount)?;
                Ok(Outcome {
                    events,
                    ..Outcome::default()
                })
            }
            CosmosMsg::Wasm(WasmMsg::Execute {
                contract_addr,
                msg,
                funds,
            }) => {
                let mut outcome = self.execute(sender, contract_addr, msg, funds, depth)?;
                outcome.contract_address = Some(contract_addr.clone());
                Ok(outcome)
            }
            CosmosMsg::Wasm(WasmMsg::Instantiate {
                admin,
                code_id,
                msg,
                funds,
                label,
            }) => self.instantiate(
                sender,
                *code_id,
                msg,
                funds,
                label,
                admin.as_deref(),
                None,
                depth,
            ),
            CosmosMsg::Wasm(WasmMsg::Instantiate2 {
                admin,
                code_id,
                label,
                msg,
                funds,
                salt,
            }) => self.instantiate(
                sender,
                *code_id,
                msg,
                funds,
                label,
                admin.as_deref(),
                Some(salt.as_slice()),
                depth,
            ),
            CosmosMsg::Wasm(WasmMsg::Migrate {
                contract_addr,
                new_code_id,
                msg,
            }) => self.migrate(sender, contract_addr, *new_code_id, msg, depth),
            CosmosMsg::Wasm(WasmMsg::UpdateAdmin {
                contract_addr,
                admin,
            }) => self.set_admin(sender, contract_addr, Some(admin)),
            CosmosMsg::Wasm(WasmMsg::ClearAdmin { contract_addr }) => {
                self.set_admin(sender, contract_addr, None)
            }
            CosmosMsg::Staking(StakingMsg::Delegate { validator, amount }) => {
                self.staking(|layers, block| {
                    staking::delegate(layers, block, sender, validator, amount)
                })
            }
            CosmosMsg::Staking(StakingMsg::Undelegate { validator, amount }) => {
                self.staking(|layers, block| {
                    staking::undelegate(layers, block, sender, validator, amount)
                })
            }
            CosmosMsg::Staking(StakingMsg::Redelegate {
                src_validator,
                dst_validator,
                amount,
            }) => self.staking(|layers, block| {
                staking::redelegate(layers, block, sender, src_validator, dst_validator, amount)
            }),
            CosmosMsg::Distribution(DistributionMsg::SetWithdrawAddress { address }) => {
                self.staking(|layers, _| staking::set_withdraw_address(layers, sender, address))
            }
            CosmosMsg::Distribution(DistributionMsg::WithdrawDelegatorReward { validator }) => self
                .staking(|layers, block| {
                    staking::withdraw_rewards(layers, block, sender, validator)
                }),
            CosmosMsg::Distribution(DistributionMsg::FundCommunityPool { amount }) => {
                self.staking(|layers, _| staking::fund_community_pool(layers, sender, amount))
            }
            #[allow(deprecated)] // `Stargate` is deprecated for `Any`; contracts still send it.
            CosmosMsg::Any(AnyMsg { type_url, value })
            | CosmosMsg::Stargate { type_url, value } => {
                let typed = stargate::route(sender, type_url, value)?;
                self.dispatch(sender, &typed, depth)
            }
            other => Err(ExecError::Unsupported(unsupported_message(other))),
        }
    }
}

/// Why a message this chain does not carry out fails, in words for the contract's author.
fn unsupported_message(msg: &CosmosMsg<Empty>) -> String {
    let json = serde_json::to_value(msg).unwrap_or_default();
    let (kind, body) = json
        .as_object()
        .and_then(|map| map.iter().next())
        .map_or(("unknown", &serde_json::Value::Null), |(k, v)| {
            (k.as_str(), v)
        });
    match kind {
        "staking" | "distribution" => {
            format!("{kind} message {body} is not supported by this chain")
        }
        "ibc" | "ibc2" => format!("{kind} messages are not supported: this chain has no IBC"),
        "gov" => "gov messages are not supported: this chain has no governance module".to_owned(),
        _ => format!("{json} (this chain handles bank and wasm messages)"),
    }
}

impl Outcome {
    /// The `msg_responses` entry wasmd reports for a message's result.
    fn msg_response(&self, msg: &CosmosMsg<Empty>) -> Vec<serde_json::Value> {
        let data = self.data.as_ref().map(Binary::as_slice).unwrap_or_default();
        let (type_url, value) = match msg {
            CosmosMsg::Wasm(WasmMsg::Instantiate { .. } | WasmMsg::Instantiate2 { .. }) => (
                "/cosmwasm.wasm.v1.MsgInstantiateContractResponse",
                proto::instantiate_response(
                    self.contract_address.as_deref().unwrap_or_default(),
                    data,
                ),
            ),
            CosmosMsg::Wasm(WasmMsg::Execute { .. }) => (
                "/cosmwasm.wasm.v1.MsgExecuteContractResponse",
                proto::execute_response(data),
            ),
            CosmosMsg::Wasm(WasmMsg::Migrate { .. }) => (
                "/cosmwasm.wasm.v1.MsgMigrateContractResponse",
                proto::execute_response(data),
            ),
            CosmosMsg::Bank(_) => ("/cosmos.bank.v1beta1.MsgSendResponse", Vec::new()),
            CosmosMsg::Staking(StakingMsg::Delegate { .. }) => {
                ("/cosmos.staking.v1beta1.MsgDelegateResponse", Vec::new())
            }
            CosmosMsg::Staking(StakingMsg::Undelegate { .. }) => (
                "/cosmos.staking.v1beta1.MsgUndelegateResponse",
                data.to_vec(),
            ),
            CosmosMsg::Staking(StakingMsg::Redelegate { .. }) => (
                "/cosmos.staking.v1beta1.MsgBeginRedelegateResponse",
                data.to_vec(),
            ),
            CosmosMsg::Distribution(DistributionMsg::SetWithdrawAddress { .. }) => (
                "/cosmos.distribution.v1beta1.MsgSetWithdrawAddressResponse",
                Vec::new(),
            ),
            CosmosMsg::Distribution(DistributionMsg::WithdrawDelegatorReward { .. }) => (
                "/cosmos.distribution.v1beta1.MsgWithdrawDelegatorRewardResponse",
                data.to_vec(),
            ),
            CosmosMsg::Distribution(DistributionMsg::FundCommunityPool { .. }) => (
                "/cosmos.distribution.v1beta1.MsgFundCommunityPoolResponse",
                Vec::new(),
            ),
            _ => return Vec::new(),
        };
        vec![json!({"type_url": type_url, "value": Binary::new(value)})]
    }
}
