//! [`Core`]: what message execution and contract queries share — the VM, the state layers, the
//! address API and the current block's context.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use consign_vm::{Backend, BackendApi, Bech32Api, InstanceOptions, Vm};
use cosmwasm_std::{Addr, BlockInfo, ContractInfo, Env, TransactionInfo};

use crate::querier::ChainQuerier;
use crate::store::{ContractStore, SharedLayers};

/// The VM as the chain instantiates it.
pub(crate) type ChainVm = Vm<Bech32Api, ContractStore, ChainQuerier>;

/// The context of the transaction being executed.
#[derive(Debug, Clone)]
pub(crate) struct TxContext {
    pub(crate) block: BlockInfo,
    pub(crate) tx: Option<(u32, Vec<u8>)>,
}

/// Shared by the executor and the querier.
pub(crate) struct Core {
    /// Shared by the state machine and every view (its caches are internally locked).
    pub(crate) vm: Arc<ChainVm>,
    pub(crate) layers: SharedLayers,
    pub(crate) api: Bech32Api,
    pub(crate) context: Mutex<TxContext>,
    /// For the querier, which runs nested contract queries.
    pub(crate) this: Weak<Core>,
}

impl Core {
    pub(crate) fn new(
        vm: Arc<ChainVm>,
        layers: SharedLayers,
        api: Bech32Api,
        block: BlockInfo,
    ) -> Arc<Self> {
        Arc::new_cyclic(|this| Self {
            vm,
            layers,
            api,
            context: Mutex::new(TxContext { block, tx: None }),
            this: this.clone(),
        })
    }

    pub(crate) fn context(&self) -> TxContext {
        self.context
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_context(&self, context: TxContext) {
        *self.context.lock().unwrap_or_else(PoisonError::into_inner) = context;
    }

    /// The `Env` a contract at `address` sees.
    pub(crate) fn env(&self, address: &str) -> Env {
        let context = self.context();
        Env {
            block: context.block,
            transaction: context
                .tx
                .map(|(index, hash)| TransactionInfo::new(index, hash.into())),
            contract: ContractInfo {
                address: Addr::unchecked(address),
            },
        }
    }

    /// The backend for one call into the contract at `address`.
    pub(crate) fn backend(
        &self,
        address: &str,
        read_only: bool,
    ) -> Result<consign_vm::Backend<Bech32Api, ContractStore, ChainQuerier>, String> {
        let canonical = self
            .api
            .addr_canonicalize(address)
            .map_err(|e| format!("invalid contract address {address}: {e}"))?;
        Ok(Backend {
            api: self.api.clone(),
            storage: ContractStore::new(
                self.layers.clone(),
                crate::state::contract_state_prefix(&canonical),
                read_only,
            ),
            querier: ChainQuerier::new(self.this.clone()),
        })
    }

    pub(crate) fn options(address: &str, gas_limit: u64) -> InstanceOptions {
        InstanceOptions {
            gas_limit,
            collect_debug: false,
            label: address.to_owned(),
        }
    }
}
