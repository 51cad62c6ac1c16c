//! Cryptographic imports, implemented by `cosmwasm-crypto` exactly as the reference VM uses it:
//! the same input limits, result codes (0 valid, 1 invalid, else `CryptoError::code()`) and the
//! `u64` packing of `*_recover_pubkey` (low half a Region pointer, high half an error code).

use std::panic::{catch_unwind, AssertUnwindSafe};

use cosmwasm_crypto::{
    bls12_381_aggregate_g1 as aggregate_g1, bls12_381_aggregate_g2 as aggregate_g2,
    bls12_381_hash_to_g1 as hash_to_g1, bls12_381_hash_to_g2 as hash_to_g2,
    bls12_381_pairing_equality as pairing_equality, CryptoError, HashFunction,
    ECDSA_PUBKEY_MAX_LEN, ECDSA_SIGNATURE_LEN, EDDSA_PUBKEY_LEN, MESSAGE_HASH_MAX_LEN,
};
use sha2::{Digest, Sha256};

use super::{charge_gas, read, write, write_to_contract};
use crate::backend::{BackendApi, Querier, Storage};
use crate::environment::Ctx;
use crate::errors::{VmError, VmResult};
use crate::sections::decode_sections;

const EDDSA_SIGNATURE_LEN: usize = 64;
const MAX_LENGTH_ED25519_MESSAGE: usize = 128 * 1024;
const MAX_COUNT_ED25519_BATCH: usize = 256;
const BLS12_381_G1_POINT_LEN: usize = 48;
const BLS12_381_G2_POINT_LEN: usize = 96;
const BLS12_381_MAX_AGGREGATE_SIZE: usize = 2 * 1024 * 1024;
const BLS12_381_MAX_MESSAGE_SIZE: usize = 5 * 1024 * 1024;
const BLS12_381_MAX_DST_SIZE: usize = 5 * 1024;

/// `(hash, signature, public key) -> valid?`
type VerifyFn = fn(&[u8], &[u8], &[u8]) -> Result<bool, CryptoError>;
/// `(hash, signature, recovery param) -> public key`
type RecoverFn = fn(&[u8], &[u8], u8) -> Result<Vec<u8>, CryptoError>;

/// Runs a crypto function, turning a panic inside it into a failed call instead of a crashed
/// host.
fn guarded<T>(f: impl FnOnce() -> T) -> VmResult<T> {
    catch_unwind(AssertUnwindSafe(f))
        .map_err(|_| VmError::communication("the crypto backend panicked on this input"))
}

/// Maps a verification result to the reference's codes; errors the function cannot produce
/// for this call are a host bug, reported as such.
fn verify_code(
    result: Result<bool, CryptoError>,
    allowed: fn(&CryptoError) -> bool,
) -> VmResult<u32> {
    match result {
        Ok(true) => Ok(0),
        Ok(false) => Ok(1),
        Err(err) if allowed(&err) => Ok(err.code()),
        Err(err) => Err(VmError::communication(format!(
            "unexpected crypto error: {err}"
        ))),
    }
}

fn ecdsa_errors(err: &CryptoError) -> bool {
    matches!(
        err,
        CryptoError::InvalidHashFormat { .. }
            | CryptoError::InvalidPubkeyFormat { .. }
            | CryptoError::InvalidSignatureFormat { .. }
            | CryptoError::GenericErr { .. }
    )
}

fn recover_errors(err: &CryptoError) -> bool {
    matches!(
        err,
        CryptoError::InvalidHashFormat { .. }
            | CryptoError::InvalidSignatureFormat { .. }
            | CryptoError::InvalidRecoveryParam { .. }
            | CryptoError::GenericErr { .. }
    )
}

fn ed25519_errors(err: &CryptoError) -> bool {
    matches!(
        err,
        CryptoError::InvalidPubkeyFormat { .. }
            | CryptoError::InvalidSignatureFormat { .. }
            | CryptoError::BatchErr { .. }
            | CryptoError::GenericErr { .. }
    )
}

fn bls_errors(err: &CryptoError) -> bool {
    matches!(
        err,
        CryptoError::Aggregation { .. }
            | CryptoError::PairingEquality { .. }
            | CryptoError::InvalidPoint { .. }
            | CryptoError::GenericErr { .. }
    )
}

fn ecdsa_verify<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    ptrs: (u32, u32, u32),
    cost: u64,
    verify: VerifyFn,
) -> VmResult<u32> {
    let hash = read(caller, ptrs.0, MESSAGE_HASH_MAX_LEN, "message hash")?;
    let signature = read(caller, ptrs.1, ECDSA_SIGNATURE_LEN, "signature")?;
    let pubkey = read(caller, ptrs.2, ECDSA_PUBKEY_MAX_LEN, "public key")?;
    charge_gas(caller, cost)?;
    verify_code(
        guarded(|| verify(&hash, &signature, &pubkey))?,
        ecdsa_errors,
    )
}

fn ecdsa_recover<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    ptrs: (u32, u32),
    recovery_param: u32,
    cost: u64,
    recover: RecoverFn,
) -> VmResult<u64> {
    let hash = read(caller, ptrs.0, MESSAGE_HASH_MAX_LEN, "message hash")?;
    let signature = read(caller, ptrs.1, ECDSA_SIGNATURE_LEN, "signature")?;
    charge_gas(caller, cost)?;
    let error = |code: u32| Ok(u64::from(code) << 32);
    let Ok(param) = u8::try_from(recovery_param) else {
        return error(CryptoError::invalid_recovery_param().code());
    };
    match guarded(|| recover(&hash, &signature, param))? {
        Ok(pubkey) => write_to_contract(caller, &pubkey).map(u64::from),
        Err(err) if recover_errors(&err) => error(err.code()),
        Err(err) => Err(VmError::communication(format!(
            "unexpected crypto error: {err}"
        ))),
    }
}

pub(super) fn secp256k1_verify<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    hash_ptr: u32,
    signature_ptr: u32,
    pubkey_ptr: u32,
) -> VmResult<u32> {
    let cost = caller.data().costs.secp256k1_verify;
    ecdsa_verify(
        caller,
        (hash_ptr, signature_ptr, pubkey_ptr),
        cost,
        cosmwasm_crypto::secp256k1_verify,
    )
}

pub(super) fn secp256k1_recover_pubkey<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    hash_ptr: u32,
    signature_ptr: u32,
    recovery_param: u32,
) -> VmResult<u64> {
    let cost = caller.data().costs.secp256k1_recover_pubkey;
    ecdsa_recover(
        caller,
        (hash_ptr, signature_ptr),
        recovery_param,
        cost,
        cosmwasm_crypto::secp256k1_recover_pubkey,
    )
}

pub(super) fn secp256r1_verify<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    hash_ptr: u32,
    signature_ptr: u32,
    pubkey_ptr: u32,
) -> VmResult<u32> {
    let cost = caller.data().costs.secp256r1_verify;
    ecdsa_verify(
        caller,
        (hash_ptr, signature_ptr, pubkey_ptr),
        cost,
        cosmwasm_crypto::secp256r1_verify,
    )
}

pub(super) fn secp256r1_recover_pubkey<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    hash_ptr: u32,
    signature_ptr: u32,
    recovery_param: u32,
) -> VmResult<u64> {
    let cost = caller.data().costs.secp256r1_recover_pubkey;
    ecdsa_recover(
        caller,
        (hash_ptr, signature_ptr),
        recovery_param,
        cost,
        cosmwasm_crypto::secp256r1_recover_pubkey,
    )
}

pub(super) fn ed25519_verify<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    message_ptr: u32,
    signature_ptr: u32,
    pubkey_ptr: u32,
) -> VmResult<u32> {
    let message = read(caller, message_ptr, MAX_LENGTH_ED25519_MESSAGE, "message")?;
    let signature = read(caller, signature_ptr, EDDSA_SIGNATURE_LEN, "signature")?;
    let pubkey = read(caller, pubkey_ptr, EDDSA_PUBKEY_LEN, "public key")?;
    let cost = caller.data().costs.ed25519_verify;
    charge_gas(caller, cost)?;
    verify_code(
        guarded(|| cosmwasm_crypto::ed25519_verify(&message, &signature, &pubkey))?,
        ed25519_errors,
    )
}

pub(super) fn ed25519_batch_verify<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    messages_ptr: u32,
    signatures_ptr: u32,
    pubkeys_ptr: u32,
) -> VmResult<u32> {
    let max = |item: usize| (item + 4) * MAX_COUNT_ED25519_BATCH;
    let messages = read(
        caller,
        messages_ptr,
        max(MAX_LENGTH_ED25519_MESSAGE),
        "messages",
    )?;
    let signatures = read(
        caller,
        signatures_ptr,
        max(EDDSA_SIGNATURE_LEN),
        "signatures",
    )?;
    let pubkeys = read(caller, pubkeys_ptr, max(EDDSA_PUBKEY_LEN), "public keys")?;
    let messages = decode_sections(&messages)?;
    let signatures = decode_sections(&signatures)?;
    let pubkeys = decode_sections(&pubkeys)?;
    let costs = &caller.data().costs;
    let cost = if pubkeys.len() == 1 {
        costs.ed25519_batch_verify_one_pubkey.cost(signatures.len())
    } else {
        costs.ed25519_batch_verify.cost(signatures.len())
    };
    charge_gas(caller, cost)?;
    // Batch verification needs randomness that the signer cannot predict. A seed derived from
    // the inputs is that (the signer would have to find a hash preimage) and keeps the node
    // deterministic.
    let mut rng = SeededRng::from_inputs(&[&messages, &signatures, &pubkeys]);
    verify_code(
        guarded(|| {
            cosmwasm_crypto::ed25519_batch_verify(&mut rng, &messages, &signatures, &pubkeys)
        })?,
        ed25519_errors,
    )
}

pub(super) fn bls12_381_aggregate_g1<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    points_ptr: u32,
    out_ptr: u32,
) -> VmResult<u32> {
    let points = read(
        caller,
        points_ptr,
        BLS12_381_MAX_AGGREGATE_SIZE,
        "G1 points",
    )?;
    let cost = caller
        .data()
        .costs
        .bls12_381_aggregate_g1
        .cost(points.len() / BLS12_381_G1_POINT_LEN);
    charge_gas(caller, cost)?;
    match guarded(|| aggregate_g1(&points))? {
        Ok(point) => write(caller, out_ptr, &point).map(|()| 0),
        Err(err) => verify_code(Err(err), bls_errors),
    }
}

pub(super) fn bls12_381_aggregate_g2<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    points_ptr: u32,
    out_ptr: u32,
) -> VmResult<u32> {
    let points = read(
        caller,
        points_ptr,
        BLS12_381_MAX_AGGREGATE_SIZE,
        "G2 points",
    )?;
    let cost = caller
        .data()
        .costs
        .bls12_381_aggregate_g2
        .cost(points.len() / BLS12_381_G2_POINT_LEN);
    charge_gas(caller, cost)?;
    match guarded(|| aggregate_g2(&points))? {
        Ok(point) => write(caller, out_ptr, &point).map(|()| 0),
        Err(err) => verify_code(Err(err), bls_errors),
    }
}

pub(super) fn bls12_381_pairing_equality<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    ps_ptr: u32,
    qs_ptr: u32,
    r_ptr: u32,
    s_ptr: u32,
) -> VmResult<u32> {
    let ps = read(caller, ps_ptr, BLS12_381_MAX_AGGREGATE_SIZE, "G1 points")?;
    let qs = read(caller, qs_ptr, BLS12_381_MAX_AGGREGATE_SIZE, "G2 points")?;
    let r = read(caller, r_ptr, BLS12_381_G1_POINT_LEN, "G1 point r")?;
    let s = read(caller, s_ptr, BLS12_381_G2_POINT_LEN, "G2 point s")?;
    let cost = caller
        .data()
        .costs
        .bls12_381_pairing_equality
        .cost(ps.len() / BLS12_381_G1_POINT_LEN);
    charge_gas(caller, cost)?;
    verify_code(guarded(|| pairing_equality(&ps, &qs, &r, &s))?, bls_errors)
}

fn hash_to_curve<A: BackendApi, S: Storage, Q: Querier, const N: usize>(
    caller: &mut Ctx<'_, A, S, Q>,
    (hash_function, msg_ptr, dst_ptr, out_ptr): (u32, u32, u32, u32),
    cost: u64,
    hash: fn(HashFunction, &[u8], &[u8]) -> [u8; N],
) -> VmResult<u32> {
    let msg = read(caller, msg_ptr, BLS12_381_MAX_MESSAGE_SIZE, "message")?;
    let dst = read(
        caller,
        dst_ptr,
        BLS12_381_MAX_DST_SIZE,
        "domain separation tag",
    )?;
    charge_gas(caller, cost)?;
    let function = match HashFunction::from_u32(hash_function) {
        Ok(f) => f,
        Err(err) => return Ok(err.code()),
    };
    let point = guarded(|| hash(function, &msg, &dst))?;
    write(caller, out_ptr, &point)?;
    Ok(0)
}

pub(super) fn bls12_381_hash_to_g1<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    hash_function: u32,
    msg_ptr: u32,
    dst_ptr: u32,
    out_ptr: u32,
) -> VmResult<u32> {
    let cost = caller.data().costs.bls12_381_hash_to_g1;
    hash_to_curve(
        caller,
        (hash_function, msg_ptr, dst_ptr, out_ptr),
        cost,
        hash_to_g1,
    )
}

pub(super) fn bls12_381_hash_to_g2<A: BackendApi, S: Storage, Q: Querier>(
    caller: &mut Ctx<'_, A, S, Q>,
    hash_function: u32,
    msg_ptr: u32,
    dst_ptr: u32,
    out_ptr: u32,
) -> VmResult<u32> {
    let cost = caller.data().costs.bls12_381_hash_to_g2;
    hash_to_curve(
        caller,
        (hash_function, msg_ptr, dst_ptr, out_ptr),
        cost,
        hash_to_g2,
    )
}

/// A deterministic cryptographic RNG: SHA-256 in counter mode over a seed.
struct SeededRng {
    seed: [u8; 32],
    counter: u64,
    buffer: [u8; 32],
    used: usize,
}

impl SeededRng {
    fn from_inputs(lists: &[&[&[u8]]]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"consign ed25519 batch verify");
        for list in lists {
            for item in *list {
                hasher.update((item.len() as u64).to_be_bytes());
                hasher.update(item);
            }
        }
        Self {
            seed: hasher.finalize().into(),
            counter: 0,
            buffer: [0; 32],
            used: 32,
        }
    }
}

impl rand_core::RngCore for SeededRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            if self.used == self.buffer.len() {
                let mut hasher = Sha256::new();
                hasher.update(self.seed);
                hasher.update(self.counter.to_le_bytes());
                self.buffer = hasher.finalize().into();
                self.counter += 1;
                self.used = 0;
            }
            *byte = self.buffer[self.used];
            self.used += 1;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for SeededRng {}
