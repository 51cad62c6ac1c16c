//! The custody crate end to end, as the seller, the storage nodes and the buyer use it: round
//! trips for several (k, n) and sizes, any k of n pieces, refusals of hostile pieces that never
//! block the good ones, one node's holdings decrypting nothing, and memory that does not grow
//! with the data.

use std::io::{self, Read};
use std::str::FromStr as _;

use consign_custody::{
    check_fragment, prepare, rebuild, rebuild_key, Accepted, Assembly, CiphertextReader,
    Commitments, KeyShare, Params, PieceError, Prepared, RebuildError, HEADER_LEN,
};
use sha2::{Digest as _, Sha256};
use support::heap::peak_heap;
use support::input::Generated;

mod support;

fn data(size: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    Generated::new(size as u64, seed)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn prepared(k: u16, n: u16, shard: u32, plaintext: &[u8]) -> Prepared<Vec<u8>> {
    let params = Params::new(k, n).unwrap().with_shard_size(shard).unwrap();
    prepare(
        params,
        plaintext,
        plaintext.len() as u64,
        vec![Vec::new(); usize::from(n)],
    )
    .unwrap()
}

/// The k-subsets of 0..n, as index lists.
fn subsets(k: u16, n: u16) -> Vec<Vec<u16>> {
    (0u32..1 << n)
        .filter(|mask| mask.count_ones() == u32::from(k))
        .map(|mask| (0..n).filter(|i| mask & (1 << i) != 0).collect())
        .collect()
}

fn rebuild_from(p: &Prepared<Vec<u8>>, indices: &[u16]) -> Result<Vec<u8>, RebuildError> {
    let shares: Vec<KeyShare> = indices
        .iter()
        .map(|&i| p.shares[usize::from(i)].clone())
        .collect();
    let fragments: Vec<&[u8]> = indices
        .iter()
        .map(|&i| &p.fragments[usize::from(i)][..])
        .collect();
    let mut out = Vec::new();
    let report = rebuild(&p.commitments, &shares, fragments, &mut out)?;
    assert_eq!(report.plaintext_size, out.len() as u64);
    assert_eq!(report.plaintext_sha256, hex::encode(Sha256::digest(&out)));
    Ok(out)
}

#[test]
fn any_k_of_n_round_trip_at_every_size_that_matters() {
    const SHARD: u32 = 1024;
    for (k, n) in [(1u16, 1u16), (2, 3), (3, 5)] {
        let stripe = usize::from(k) * SHARD as usize;
        // The age header and nonce come before the plaintext: learn their size, then aim the
        // ciphertext (not only the plaintext) at the stripe's edges.
        let probe = prepared(k, n, SHARD, b"x");
        let overhead = probe.commitments.ciphertext_size() as usize - 1 - 16;
        let mut sizes = vec![0, 1, stripe - 1, stripe, stripe + 1, 3 * 1024 * 1024 + 17];
        for ciphertext in [2 * stripe - 1, 2 * stripe, 2 * stripe + 1] {
            sizes.push(ciphertext - overhead - 16);
        }
        for (seed, size) in (1..).zip(sizes) {
            let plaintext = data(size, seed);
            let p = prepared(k, n, SHARD, &plaintext);
            for fragment in &p.fragments {
                assert_eq!(fragment.len() as u64, p.commitments.fragment_size());
            }
            // Every k-subset for small inputs; for the large one the originals and the most
            // recovery-heavy subset.
            let chosen = if size > 100_000 {
                vec![(0..k).collect(), (n - k..n).collect()]
            } else {
                subsets(k, n)
            };
            for indices in chosen {
                let out = rebuild_from(&p, &indices)
                    .unwrap_or_else(|e| panic!("{k}/{n}, {size} bytes, {indices:?}: {e}"));
                assert!(out == plaintext, "{k}/{n}, {size} bytes, {indices:?}");
            }
        }
    }
}

#[test]
fn random_shapes_sizes_and_subsets_round_trip() {
    // Property-style, without a framework: random (k, n), shard size, size and k-subset.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    for round in 0..24 {
        let n = 1 + next(8) as u16;
        let k = 1 + next(u64::from(n)) as u16;
        let shard = 2 * (32 + next(1000) as u32);
        let size = next(40_000) as usize;
        let plaintext = data(size, round);
        let p = prepared(k, n, shard, &plaintext);
        // A random k-subset: shuffle 0..n, keep k.
        let mut indices: Vec<u16> = (0..n).collect();
        for i in (1..indices.len()).rev() {
            indices.swap(i, next(i as u64 + 1) as usize);
        }
        indices.truncate(usize::from(k));
        let out = rebuild_from(&p, &indices)
            .unwrap_or_else(|e| panic!("{k}/{n}, shard {shard}, {size} B, {indices:?}: {e}"));
        assert!(
            out == plaintext,
            "{k}/{n}, shard {shard}, {size} B, {indices:?}"
        );
    }
}

#[test]
fn fewer_than_k_pieces_rebuild_nothing() {
    let plaintext = data(50_000, 7);
    for (k, n) in [(2u16, 3u16), (3, 5)] {
        let p = prepared(k, n, 1024, &plaintext);
        for indices in subsets(k - 1, n) {
            let err = rebuild_from(&p, &indices).unwrap_err();
            assert!(
                matches!(err, RebuildError::NotEnoughShares { shares, .. } if shares == indices.len()),
                "{err}"
            );
            assert!(err.to_string().contains("wait for more"), "{err}");
            // With all n shares, k − 1 fragments are still too few.
            let fragments: Vec<&[u8]> = indices
                .iter()
                .map(|&i| &p.fragments[usize::from(i)][..])
                .collect();
            let err = rebuild(&p.commitments, &p.shares, fragments, io::sink()).unwrap_err();
            assert!(
                matches!(err, RebuildError::NotEnoughFragments { fragments, .. } if fragments == indices.len()),
                "{err}"
            );
        }
        // k − 1 shares beside k fragments: the shares are the ones refused.
        let shares: Vec<KeyShare> = p.shares[..usize::from(k) - 1].to_vec();
        let err = rebuild_key(&p.commitments, &shares).unwrap_err();
        assert!(
            matches!(err, RebuildError::NotEnoughShares { shares, .. } if shares == usize::from(k) - 1),
            "{err}"
        );
        // k fragments but shares of another custody set: refused, never tried as a key.
        let other = prepared(k, n, 1024, &plaintext);
        let err = rebuild_key(&p.commitments, &other.shares).unwrap_err();
        assert!(
            matches!(err, RebuildError::Piece(PieceError::ShareOtherSet { .. })),
            "{err}"
        );
    }
}

/// `bytes` as an age X25519 identity, as a storage node holding them could try.
fn as_age_identity(bytes: &[u8; 32]) -> age::x25519::Identity {
    let hrp = bech32::Hrp::parse("age-secret-key-").unwrap();
    let text = bech32::encode::<bech32::Bech32>(hrp, bytes).unwrap();
    age::x25519::Identity::from_str(&text.to_ascii_uppercase()).unwrap()
}

#[test]
fn what_one_node_holds_decrypts_nothing() {
    let plaintext = data(200_000, 11);
    for (k, n) in [(2u16, 3u16), (3, 5)] {
        let p = prepared(k, n, 4096, &plaintext);
        let commitments = serde_json::to_value(&p.commitments).unwrap();
        for i in 0..usize::from(n) {
            let fragment = &p.fragments[i];
            let share = serde_json::to_value(&p.shares[i]).unwrap();
            // Every 32-byte value node i holds: its share's value, its set id doubled, each
            // commitment's x coordinate, each fragment digest.
            let mut candidates: Vec<[u8; 32]> = Vec::new();
            let hex32 = |text: &str| -> [u8; 32] {
                let mut b = [0u8; 32];
                hex::decode_to_slice(text, &mut b).unwrap();
                b
            };
            candidates.push(hex32(share["value"].as_str().unwrap()));
            let set = share["set_id"].as_str().unwrap();
            candidates.push(hex32(&format!("{set}{set}")));
            for c in commitments["share_commitments"].as_array().unwrap() {
                candidates.push(hex32(&c.as_str().unwrap()[2..]));
            }
            for d in commitments["fragment_sha256"].as_array().unwrap() {
                candidates.push(hex32(d.as_str().unwrap()));
            }
            for candidate in &candidates {
                let identity = as_age_identity(candidate);
                // The fragment's body read as an age file (fragment 0 starts with the real age
                // header), and the fragment whole.
                for bytes in [&fragment[HEADER_LEN..], &fragment[..]] {
                    let decrypted = age::Decryptor::new(bytes).and_then(|d| {
                        let mut out = Vec::new();
                        d.decrypt(std::iter::once(&identity as &dyn age::Identity))?
                            .read_to_end(&mut out)?;
                        Ok(out)
                    });
                    assert!(
                        decrypted.is_err(),
                        "{k}/{n}: node {i} decrypted with a key it holds"
                    );
                }
            }
            // The node's fragment holds no plaintext window either (16 bytes anywhere).
            let window = &plaintext[1000..1016];
            assert!(!fragment.windows(16).any(|w| w == window), "node {i}");
        }
    }
}

#[test]
fn hostile_fragments_are_refused_by_name_and_never_block_the_good_ones() {
    let plaintext = data(300_000, 3);
    let p = prepared(2, 3, 4096, &plaintext);
    let dir = tempfile::tempdir().unwrap();
    let mut assembly = Assembly::open(p.commitments.clone(), dir.path()).unwrap();
    let status = assembly.status();
    assert_eq!((status.fragments_needed(), status.shares_needed()), (2, 2));
    assert!(
        status
            .to_string()
            .contains("fragments none of 3 (2 more needed)"),
        "{status}"
    );

    // Node 1 flips a byte in its fragment's body.
    let mut corrupt = p.fragments[1].clone();
    corrupt[HEADER_LEN + 5000] ^= 1;
    let err = assembly.add_fragment(&corrupt[..]).unwrap_err();
    assert!(
        matches!(err, PieceError::FragmentDigest { index: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("fragment 1 refused"), "{err}");
    // Cut short, one byte too many, from another set, with a forged header.
    let err = assembly
        .add_fragment(&p.fragments[1][..10_000])
        .unwrap_err();
    assert!(
        matches!(
            err,
            PieceError::FragmentShort {
                index: 1,
                actual: 10_000,
                ..
            }
        ),
        "{err}"
    );
    let mut long = p.fragments[1].clone();
    long.push(0);
    let err = assembly.add_fragment(&long[..]).unwrap_err();
    assert!(
        matches!(err, PieceError::FragmentLong { index: 1, .. }),
        "{err}"
    );
    let other = prepared(2, 3, 4096, &plaintext);
    let err = assembly.add_fragment(&other.fragments[1][..]).unwrap_err();
    assert!(
        matches!(err, PieceError::FragmentOtherSet { index: 1, .. }),
        "{err}"
    );
    let mut reindexed = p.fragments[1].clone();
    reindexed[15] = 0; // claims to be fragment 0
    let err = assembly.add_fragment(&reindexed[..]).unwrap_err();
    assert!(
        matches!(err, PieceError::FragmentDigest { index: 0, .. }),
        "{err}"
    );
    let err = assembly.add_fragment(&p.fragments[1][..20]).unwrap_err();
    assert!(
        err.to_string().contains("inside its 48-byte header"),
        "{err}"
    );
    let err = assembly
        .add_fragment(&b"GET / HTTP/1.1\r\n"[..])
        .unwrap_err();
    assert!(err.to_string().contains("cannot read"), "{err}");
    let mut junk = [0u8; 200];
    junk[..8].copy_from_slice(b"NOTAFRAG");
    let err = assembly.add_fragment(&junk[..]).unwrap_err();
    assert!(matches!(err, PieceError::Header(_)), "{err}");
    // Node 2 sends a share that fails its commitment.
    let mut lie = serde_json::to_value(&p.shares[2]).unwrap();
    lie["value"] = serde_json::to_value(&p.shares[0]).unwrap()["value"].clone();
    let lie: KeyShare = serde_json::from_value(lie).unwrap();
    let err = assembly.add_share(lie).unwrap_err();
    assert!(
        matches!(err, PieceError::ShareInvalid { index: 2 }),
        "{err}"
    );
    // Nothing was kept of any of them.
    let status = assembly.status();
    assert!(
        status.fragments.is_empty() && status.shares.is_empty(),
        "{status}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // The honest pieces: fragments 0 and 2, shares 0 and 1, in any order, one replayed.
    assert_eq!(
        assembly.add_fragment(&p.fragments[2][..]).unwrap(),
        Accepted::New(2)
    );
    assert_eq!(
        assembly.add_share(p.shares[1].clone()).unwrap(),
        Accepted::New(1)
    );
    assert_eq!(
        assembly.add_fragment(&p.fragments[2][..]).unwrap(),
        Accepted::AlreadyHere(2)
    );
    // A corrupt copy of a fragment already here is refused and the good one stays.
    let mut corrupt2 = p.fragments[2].clone();
    corrupt2[HEADER_LEN] ^= 0x80;
    assert!(assembly.add_fragment(&corrupt2[..]).is_err());
    let status = assembly.status();
    assert_eq!(status.fragments, vec![2]);
    assert_eq!(status.waiting_for(), vec![0, 1, 2]);
    let err = assembly.rebuild(io::sink()).unwrap_err();
    assert!(
        matches!(
            err,
            RebuildError::NotEnough {
                k: 2,
                fragments: 1,
                shares: 1
            }
        ),
        "{err}"
    );
    assert!(
        status
            .to_string()
            .contains("fragments 2 of 3 (1 more needed), key shares 1 (1 more needed)"),
        "{status}"
    );

    assembly.add_share(p.shares[0].clone()).unwrap();
    assembly.add_fragment(&p.fragments[0][..]).unwrap();
    assert!(assembly.status().is_ready());

    // A restart finds the same pieces.
    drop(assembly);
    let assembly = Assembly::open(p.commitments.clone(), dir.path()).unwrap();
    assert_eq!(assembly.status().fragments, vec![0, 2]);
    assert_eq!(assembly.status().shares, vec![0, 1]);
    let mut out = Vec::new();
    let report = assembly.rebuild(&mut out).unwrap();
    assert!(out == plaintext);
    assert_eq!(
        report.plaintext_sha256,
        hex::encode(Sha256::digest(&plaintext))
    );
}

#[test]
fn a_kept_fragment_altered_after_its_check_fails_the_rebuild_loudly() {
    let plaintext = data(100_000, 5);
    let p = prepared(2, 3, 1024, &plaintext);
    for (position, expect) in [
        (HEADER_LEN + 100, "does not decrypt"),
        (HEADER_LEN + 3, "does not decrypt"),
    ] {
        let mut altered = p.fragments[0].clone();
        altered[position] ^= 1;
        let fragments = vec![&altered[..], &p.fragments[1][..]];
        let err = rebuild(&p.commitments, &p.shares[..2], fragments, io::sink()).unwrap_err();
        assert!(err.to_string().contains(expect), "{err}");
    }
    // The header of an altered fragment disagrees with the commitments.
    let mut altered = p.fragments[1].clone();
    altered[21] ^= 1;
    let fragments = vec![&p.fragments[0][..], &altered[..]];
    let err = rebuild(&p.commitments, &p.shares[..2], fragments, io::sink()).unwrap_err();
    assert!(
        matches!(
            err,
            RebuildError::Piece(PieceError::FragmentMismatch {
                index: 1,
                field: "ciphertext size",
                ..
            })
        ),
        "{err}"
    );
}

#[test]
fn commitments_travel_as_json_and_refuse_nonsense() {
    let p = prepared(3, 5, 1024, b"some data");
    let json = serde_json::to_string(&p.commitments).unwrap();
    let back: Commitments = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p.commitments);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["version"], 1);
    assert_eq!(value["fragment_sha256"].as_array().unwrap().len(), 5);
    assert_eq!(value["share_commitments"].as_array().unwrap().len(), 3);
    // Nothing in them but the fields below: no node, no URL, no file name.
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "ciphertext_size",
            "fragment_sha256",
            "k",
            "n",
            "set_id",
            "shard_size",
            "share_commitments",
            "version"
        ]
    );
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = value.clone();
        f(&mut v);
        serde_json::from_value::<Commitments>(v)
            .unwrap_err()
            .to_string()
    };
    assert!(edit(&|v| v["k"] = 6.into()).contains("1 ≤ k ≤ n"));
    assert!(edit(&|v| v["k"] = 0.into()).contains("1 ≤ k ≤ n"));
    assert!(edit(&|v| v["version"] = 2.into()).contains("version 2"));
    assert!(edit(&|v| {
        v["fragment_sha256"].as_array_mut().unwrap().pop();
    })
    .contains("4 fragment digests for 5"));
    assert!(
        edit(&|v| v["share_commitments"][1] = format!("02{}", "00".repeat(32)).into())
            .contains("share commitment 1")
    );
    assert!(edit(&|v| v["ciphertext_size"] = u64::MAX.into()).contains("1 PiB"));
    assert!(edit(&|v| v["node"] = "http://x".into()).contains("unknown field"));
}

#[test]
fn memory_stays_bounded_for_a_64_mib_stream() {
    const SIZE: u64 = 64 * 1024 * 1024;
    let params = Params::new(2, 3)
        .unwrap()
        .with_shard_size(64 * 1024)
        .unwrap(); // 128 KiB stripes
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = (0..3).map(|i| dir.path().join(format!("f{i}"))).collect();
    let outputs: Vec<_> = paths
        .iter()
        .map(|p| io::BufWriter::new(std::fs::File::create(p).unwrap()))
        .collect();
    let (prepared, prepare_peak) =
        peak_heap(|| prepare(params, Generated::new(SIZE, 42), SIZE, outputs).unwrap());
    drop(prepared.fragments);
    let bound = params.buffer_bound();
    // One stripe, the recovery shard and the codec's work (buffer_bound), age's chunk buffers
    // and the read buffer: well under 2 MiB, against 64 MiB of data.
    assert!(
        prepare_peak < bound + 1024 * 1024,
        "prepare peak {prepare_peak} B, bound {bound} B"
    );
    assert!(
        prepare_peak < 2 * 1024 * 1024,
        "prepare peak {prepare_peak} B"
    );

    // Rebuild from fragments 1 and 2 (one recovery fragment: every stripe is decoded).
    let files: Vec<_> = paths[1..]
        .iter()
        .map(|p| io::BufReader::new(std::fs::File::open(p).unwrap()))
        .collect();
    let reader = CiphertextReader::new(&prepared.commitments, files).unwrap();
    assert!(
        reader.buffer_size() as u64 <= bound,
        "{} > {bound}",
        reader.buffer_size()
    );
    drop(reader);
    let files: Vec<_> = paths[1..]
        .iter()
        .map(|p| io::BufReader::new(std::fs::File::open(p).unwrap()))
        .collect();
    let (report, rebuild_peak) = peak_heap(|| {
        rebuild(
            &prepared.commitments,
            &prepared.shares[1..],
            files,
            io::sink(),
        )
        .unwrap()
    });
    assert_eq!(report.plaintext_size, SIZE);
    let mut expected = Sha256::new();
    io::copy(&mut Generated::new(SIZE, 42), &mut expected).unwrap();
    assert_eq!(report.plaintext_sha256, hex::encode(expected.finalize()));
    assert!(
        rebuild_peak < bound + 1024 * 1024,
        "rebuild peak {rebuild_peak} B, bound {bound} B"
    );
    assert!(
        rebuild_peak < 2 * 1024 * 1024,
        "rebuild peak {rebuild_peak} B"
    );

    // The same check through files, for a fragment stream: constant memory too.
    let (index, check_peak) = peak_heap(|| {
        check_fragment(
            &prepared.commitments,
            io::BufReader::new(std::fs::File::open(&paths[2]).unwrap()),
            io::sink(),
        )
        .unwrap()
    });
    assert_eq!(index, 2);
    assert!(check_peak < 256 * 1024, "check peak {check_peak} B");
    eprintln!("peak heap: prepare {prepare_peak} B, rebuild {rebuild_peak} B, check {check_peak} B; bound {bound} B");
}
