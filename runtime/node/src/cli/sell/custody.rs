//! `consign sell FILE --storage A --storage B --storage C --threshold 2`: the file k-of-n over
//! several storage nodes, none of which can read it (Krawczyk's construction, `consign-custody`).
//!
//! 1. Every node's info: its id, its chain and the recipient its key share is sealed to. Two
//!    URLs of one node, a node on another chain: refused before anything is read.
//! 2. Prepare, one pass over the file: encrypted with age to a fresh data key, the ciphertext
//!    Reed–Solomon coded into n fragment files in a temporary directory, the key split k-of-n.
//! 3. Upload fragment i to node i, all at once. If any upload fails, nothing goes on-chain.
//! 4. The offer, with the plaintext's digest and the custody commitments (no node named).
//! 5. Register piece i with node i: the fragment's digest and share i sealed to that node. Each
//!    piece is kept on this machine, sealed to its node, from before the offer goes on-chain
//!    until its node takes it ([`super::pending`]).
//!
//! The data key is never written anywhere: it exists only in the shares, and on this machine
//! only as shares sealed to their nodes.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _};
use consign_client::{StorageClient, StorageInfo};
use consign_custody::{prepare, Commitments, KeyShare, Params};
use consign_market::Custody;
use futures_util::future::join_all;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget};
use serde::Serialize;

use super::super::broadcast::chain_id;
use super::super::market::OfferCreated;
use super::super::Session;
use super::pending::{PendingPiece, PendingPieces, PieceReport};
use super::{create_offer, print_sold, transfer_bar, SellArgs};

/// One storage node of the set, as the seller sees it.
struct Node {
    url: String,
    client: StorageClient,
    info: StorageInfo,
    recipient: age::x25519::Recipient,
}

/// What `consign sell --threshold` prints.
#[derive(Debug, Serialize)]
struct SoldCustody<'a> {
    #[serde(flatten)]
    offer: OfferCreated<'a>,
    k: u16,
    n: u16,
    /// One per piece, in index order.
    storage: Vec<PieceReport>,
    /// Every piece was registered.
    registered: bool,
}

/// Carries out `consign sell` with `--threshold k` over every `--storage`.
///
/// # Errors
///
/// Bad k or n, duplicate or unreachable nodes, the file, the key, the chain: each names the
/// step and what to do.
pub(super) fn run(
    args: &SellArgs,
    k: u16,
    session: &Session,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let output = session.output;
    let contract = args.market.contract.address()?;
    let n = u16::try_from(args.storage.len()).context("too many --storage nodes")?;
    let params = Params::new(k, n).map_err(|e| {
        anyhow::anyhow!("{e}; pass a --threshold from 1 to {n}, the number of --storage nodes")
    })?;
    let key = args.market.node.home.signing_key(&args.fields.from)?;
    let chain_id = chain_id(session, &args.market.node)?;
    let nodes = session.block_on(nodes(&args.storage, &chain_id))?;

    // 2. Prepare.
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?
        .len();
    let work_dir = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("consign-sell-")
        .tempdir_in(&work_dir)
        .with_context(|| {
            format!(
                "cannot make a directory for the fragments in {}; pass --work-dir DIR on a disk \
                 with room for about {n}/{k} × the file's size",
                work_dir.display()
            )
        })?;
    let started = Instant::now();
    let PreparedFiles {
        commitments,
        shares,
        plaintext_sha256,
        paths,
    } = prepare_files(params, &args.file, size, dir.path())?;
    eprintln!(
        "prepared {} ({size} bytes): {n} fragments of {} bytes, any {k} of which rebuild it, in \
         {:.1?}",
        args.file.display(),
        commitments.fragment_size(),
        started.elapsed()
    );
    for node in &nodes {
        if commitments.fragment_size() > node.info.max_blob_size {
            bail!(
                "{} takes blobs of at most {} bytes; a fragment is {}: use a larger --threshold \
                 or other nodes",
                node.url,
                node.info.max_blob_size,
                commitments.fragment_size()
            );
        }
    }

    // 3. Upload every fragment; nothing goes on-chain unless all arrive.
    let started = Instant::now();
    let uploads = session.block_on(upload_all(&nodes, &paths, &commitments, &key));
    let failed: Vec<String> = uploads
        .iter()
        .zip(&nodes)
        .filter_map(|(result, node)| {
            result
                .as_ref()
                .err()
                .map(|e| format!("  fragment for {}: {e:#}", node.url))
        })
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} of {n} uploads failed, so no offer was created (a node keeps an unregistered \
             fragment only until its sweep):\n{}\nfix or replace those nodes and run the same \
             command again",
            failed.len(),
            failed.join("\n")
        );
    }
    eprintln!(
        "uploaded {n} fragments ({} bytes in all) in {:.1?}",
        commitments.fragment_size() * u64::from(n),
        started.elapsed()
    );
    drop(dir);

    // 4. The pieces are kept, sealed to their nodes, until registered; then the offer.
    let custody: Custody = serde_json::from_value(serde_json::to_value(&commitments)?)
        .context("the custody commitments do not read as the offer's custody field")?;
    let home = args.market.node.home.dir()?;
    let mut pending = PendingPieces {
        contract: contract.to_owned(),
        chain_id,
        set_id: custody.set_id.clone(),
        k,
        n,
        pieces: nodes
            .iter()
            .zip(&shares)
            .zip(&custody.fragment_sha256)
            .enumerate()
            .map(|(index, ((node, share), fragment))| PendingPiece {
                index: index as u16,
                url: node.url.clone(),
                node_id: node.info.node_id.clone(),
                fragment_sha256: fragment.clone(),
                sealed_share: share.seal(&node.recipient),
            })
            .collect(),
    };
    drop(shares);
    let kept = pending.save(&home)?;
    let sha256 = hex::encode(plaintext_sha256);
    let (offer, height) = match create_offer(args, session, &sha256, size, Some(custody), out)? {
        Ok(created) => created,
        Err(exit) => {
            pending.pieces.clear();
            pending.save(&home)?;
            return Ok(exit);
        }
    };
    eprintln!(
        "offer {} created in block {height} ({k} of {n} custody)",
        offer.offer_id
    );

    // 5. Registrations.
    let pieces =
        session.block_on(pending.register(offer.offer_id, &key, args.register_timeout.duration));
    pending.save(&home)?;
    let all = pending.report(offer.offer_id, &args.fields.from, &pieces);
    if !all {
        eprintln!(
            "the unregistered pieces are in {} (each share sealed to its node)",
            kept.display()
        );
    }
    let sold = SoldCustody {
        offer,
        k,
        n,
        storage: pieces,
        registered: all,
    };
    print_sold(&sold, sold.offer.offer_id, all, output, out)
}

/// Every node's info, checked: reachable, on `chain_id`, distinct, with a custody recipient.
async fn nodes(urls: &[String], chain_id: &str) -> anyhow::Result<Vec<Node>> {
    let clients = urls
        .iter()
        .map(|url| StorageClient::new(url).map(|client| (url.clone(), client)))
        .collect::<Result<Vec<_>, _>>()?;
    let infos = join_all(clients.iter().map(|(_, client)| client.info())).await;
    let mut nodes: Vec<Node> = Vec::with_capacity(clients.len());
    for ((url, client), info) in clients.into_iter().zip(infos) {
        let info = info.with_context(|| format!("asking storage node {url} who it is"))?;
        if info.chain_id != chain_id {
            bail!(
                "storage node {url} follows chain {:?}, but --node is on {chain_id:?}: its \
                 deliveries would never happen; give nodes of this chain",
                info.chain_id
            );
        }
        if let Some(same) = nodes.iter().find(|n| n.info.node_id == info.node_id) {
            bail!(
                "{url} and {} are the same storage node ({}): it would hold two pieces, and \
                 one node must never hold more than one; give {} distinct nodes",
                same.url,
                info.node_id,
                urls.len()
            );
        }
        let recipient: age::x25519::Recipient = info.custody_recipient.parse().map_err(|e| {
            anyhow::anyhow!(
                "storage node {url} gave no usable custody recipient ({e}): is it a \
                     version that keeps custody pieces?"
            )
        })?;
        nodes.push(Node {
            url,
            client,
            info,
            recipient,
        });
    }
    Ok(nodes)
}

/// A custody set prepared into files.
struct PreparedFiles {
    commitments: Commitments,
    shares: Vec<KeyShare>,
    plaintext_sha256: [u8; 32],
    /// Fragment `i` is in `paths[i]`.
    paths: Vec<PathBuf>,
}

/// The custody set of `file` in `dir`: fragment `i` in `fragment-i`.
fn prepare_files(
    params: Params,
    file: &Path,
    size: u64,
    dir: &Path,
) -> anyhow::Result<PreparedFiles> {
    let paths: Vec<PathBuf> = (0..params.n())
        .map(|i| dir.join(format!("fragment-{i}")))
        .collect();
    let outputs = paths
        .iter()
        .map(|path| {
            File::create(path)
                .map(|f| BufWriter::with_capacity(256 * 1024, f))
                .with_context(|| format!("cannot write {}", path.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let input = File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let bar = transfer_bar(size, "encrypting and encoding");
    let input = bar.wrap_read(BufReader::with_capacity(256 * 1024, input));
    let prepared = prepare(params, input, size, outputs)
        .with_context(|| format!("preparing {}", file.display()))?;
    bar.finish_and_clear();
    for (mut fragment, path) in prepared.fragments.into_iter().zip(&paths) {
        fragment
            .flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(PreparedFiles {
        commitments: prepared.commitments,
        shares: prepared.shares,
        plaintext_sha256: prepared.plaintext_sha256,
        paths,
    })
}

/// Fragment `i` to node `i`, all at once, one progress bar each.
async fn upload_all(
    nodes: &[Node],
    paths: &[PathBuf],
    commitments: &Commitments,
    key: &consign_client::SecretKey,
) -> Vec<anyhow::Result<()>> {
    let bars = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let size = commitments.fragment_size();
    join_all(nodes.iter().zip(paths).enumerate().map(|(index, (node, path))| {
        let bar = bars.add(transfer_bar(size, &format!("fragment {index} → {}", node.url)));
        let sha256 = hex::encode(
            commitments
                .fragment_sha256(index as u16)
                .expect("one digest per fragment"),
        );
        async move {
            let progress: ProgressBar = bar.clone();
            let receipt = node
                .client
                .upload_file_hashed(path, &sha256, size, key, move |sent, _| {
                    progress.set_position(sent);
                })
                .await?;
            bar.finish_and_clear();
            tracing::debug!(index, url = %node.url, created = receipt.created, "fragment uploaded");
            Ok(())
        }
    }))
    .await
}
