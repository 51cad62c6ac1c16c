//! The contract entry points, typed as `cosmwasm-std` encodes their arguments and results.
//!
//! Each call serializes its arguments to JSON, runs the export, parses the `ContractResult`
//! and settles the instance: an `Ok` result commits the call's writes and deliveries, anything
//! else discards them.

use cosmwasm_std::{Binary, ContractResult, Env, MessageInfo, MigrateInfo, Reply, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::backend::{BackendApi, Querier, Storage};
use crate::errors::{VmError, VmResult};
use crate::instance::Instance;

fn to_json<T: Serialize>(value: &T, what: &str) -> VmResult<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|e| VmError::communication(format!("cannot serialize {what}: {e}")))
}

impl<A: BackendApi, S: Storage, Q: Querier> Instance<A, S, Q> {
    /// Runs an entry point, parses its `ContractResult<R>` and settles the call.
    fn call_settled<R: DeserializeOwned>(
        &mut self,
        name: &str,
        args: &[&[u8]],
        read_only: bool,
    ) -> VmResult<ContractResult<R>> {
        let max = if read_only {
            self.limits().max_query_json
        } else {
            self.limits().max_response_json
        };
        let outcome = self.call_raw(name, args, read_only, max).and_then(|bytes| {
            serde_json::from_slice::<ContractResult<R>>(&bytes).map_err(|e| {
                VmError::invalid_result(format!(
                    "`{name}` returned JSON that is not a ContractResult of the expected type: {e}"
                ))
            })
        });
        let success = matches!(outcome, Ok(ContractResult::Ok(_))) && !read_only;
        self.settle(success)?;
        outcome
    }

    /// `instantiate(env, info, msg)`.
    ///
    /// # Errors
    /// A [`VmError`] when the call traps, runs out of gas or breaks the interface; a contract
    /// error is `Ok(ContractResult::Err(…))`.
    pub fn call_instantiate<U: DeserializeOwned>(
        &mut self,
        env: &Env,
        info: &MessageInfo,
        msg: &[u8],
    ) -> VmResult<ContractResult<Response<U>>> {
        let env = to_json(env, "env")?;
        let info = to_json(info, "info")?;
        self.call_settled("instantiate", &[&env, &info, msg], false)
    }

    /// `execute(env, info, msg)`.
    ///
    /// # Errors
    /// As [`Instance::call_instantiate`].
    pub fn call_execute<U: DeserializeOwned>(
        &mut self,
        env: &Env,
        info: &MessageInfo,
        msg: &[u8],
    ) -> VmResult<ContractResult<Response<U>>> {
        let env = to_json(env, "env")?;
        let info = to_json(info, "info")?;
        self.call_settled("execute", &[&env, &info, msg], false)
    }

    /// `query(env, msg)`: read-only; storage writes and deliveries fail the call.
    ///
    /// # Errors
    /// As [`Instance::call_instantiate`].
    pub fn call_query(&mut self, env: &Env, msg: &[u8]) -> VmResult<ContractResult<Binary>> {
        let env = to_json(env, "env")?;
        self.call_settled("query", &[&env, msg], true)
    }

    /// `migrate(env, msg[, migrate_info])`: contracts built with `cosmwasm-std` 2.2 and later
    /// may take the third argument; older ones take two, and get two.
    ///
    /// # Errors
    /// As [`Instance::call_instantiate`].
    pub fn call_migrate<U: DeserializeOwned>(
        &mut self,
        env: &Env,
        msg: &[u8],
        info: &MigrateInfo,
    ) -> VmResult<ContractResult<Response<U>>> {
        let env = to_json(env, "env")?;
        match self.export_arity("migrate") {
            Some(3) => {
                let info = to_json(info, "migrate info")?;
                self.call_settled("migrate", &[&env, msg, &info], false)
            }
            _ => self.call_settled("migrate", &[&env, msg], false),
        }
    }

    /// `sudo(env, msg)`.
    ///
    /// # Errors
    /// As [`Instance::call_instantiate`].
    pub fn call_sudo<U: DeserializeOwned>(
        &mut self,
        env: &Env,
        msg: &[u8],
    ) -> VmResult<ContractResult<Response<U>>> {
        let env = to_json(env, "env")?;
        self.call_settled("sudo", &[&env, msg], false)
    }

    /// `reply(env, reply)`.
    ///
    /// # Errors
    /// As [`Instance::call_instantiate`].
    pub fn call_reply<U: DeserializeOwned>(
        &mut self,
        env: &Env,
        reply: &Reply,
    ) -> VmResult<ContractResult<Response<U>>> {
        let env = to_json(env, "env")?;
        let reply = to_json(reply, "reply")?;
        self.call_settled("reply", &[&env, &reply], false)
    }
}
