//! RFC 6962 / RFC 9162 Merkle trees over SHA-256, in the style of Go's sumdb
//! `tlog`: the tree is stored as the hashes of its *complete* subtrees, node
//! `(level, index)` covering leaves `[index << level, (index + 1) << level)`.
//!
//! Pure: no I/O. Proof generation reads stored nodes through [`HashReader`]
//! (O(log n) reads per proof); verification needs nothing but the proof.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// RFC 6962 leaf hash: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// RFC 6962 interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Why a proof could not be produced or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("invalid tree sizes: old size {old} is larger than new size {new}")]
    InvalidSizes { old: u64, new: u64 },
    #[error("invalid leaf range [{lo}, {hi})")]
    InvalidRange { lo: u64, hi: u64 },
    #[error("proof has {got} hashes, expected {expected}")]
    WrongLength { expected: usize, got: usize },
    #[error("proof does not lead to the expected root hash")]
    RootMismatch,
    #[error("tree node at level {level} index {index} is not stored")]
    MissingNode { level: u8, index: u64 },
    #[error("storage error: {0}")]
    Storage(String),
}

/// Read access to stored hashes of *complete* subtrees: node (level, index) covers leaves
/// [index << level, (index + 1) << level). Level 0 holds leaf hashes.
pub trait HashReader {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError>;
}

/// The right edge of a tree of `size` leaves: the roots of its perfect subtrees, largest first
/// (one per set bit of size). O(log n) memory; appending is O(log n) hashing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    // Invariant: peaks.len() == size.count_ones(), peak i is the subtree for the i-th set bit
    // counting from the most significant one.
    peaks: Vec<Hash>,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the frontier of a stored tree of `size` leaves from its stored nodes (O(log n) reads).
    pub fn load(size: u64, reader: &impl HashReader) -> Result<Self, ProofError> {
        let mut peaks = Vec::with_capacity(size.count_ones() as usize);
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            if size >> level & 1 == 1 {
                peaks.push(reader.node(level, start >> level)?);
                start += 1 << level;
            }
        }
        Ok(Self { size, peaks })
    }

    /// A frontier from its size and peaks (as [`Frontier::peaks`] gives
    /// them); `None` when the number of peaks does not fit the size.
    pub fn from_peaks(size: u64, peaks: Vec<Hash>) -> Option<Self> {
        (peaks.len() == size.count_ones() as usize).then_some(Self { size, peaks })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Roots of the perfect subtrees, largest (leftmost) first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// RFC 6962 MTH of the whole tree; `empty_root()` when size is 0.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(last) = peaks.next() else {
            return empty_root();
        };
        // MTH splits at the largest power of two, so the smaller peaks fold right to left.
        peaks.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// Appends a leaf hash; calls `store(level, index, hash)` for every complete-subtree node that
    /// becomes known (always the leaf at level 0, then one per completed level). The caller writes them.
    ///
    /// Panics if the tree already holds `u64::MAX` leaves.
    pub fn append(&mut self, leaf: Hash, mut store: impl FnMut(u8, u64, Hash)) {
        assert!(self.size < u64::MAX, "Merkle tree is full");
        let mut hash = leaf;
        let mut level = 0u8;
        let mut index = self.size;
        store(level, index, hash);
        // Each trailing one bit of the old size is a peak of equal height that now merges.
        while self.size >> level & 1 == 1 {
            let left = self
                .peaks
                .pop()
                .expect("frontier invariant: one peak per set bit of size");
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            store(level, index, hash);
        }
        self.peaks.push(hash);
        self.size += 1;
    }
}

/// Largest power of two strictly less than `n` (n >= 2): RFC 6962's split point.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Bit length of `x` (0 for 0).
fn bit_len(x: u64) -> u32 {
    64 - x.leading_zeros()
}

/// Hash of leaves [lo, hi) using stored complete nodes (O(log n) reads); RFC 6962 MTH of that range.
///
/// Reads are O(log n) when `lo` is a multiple of the largest power of two not exceeding
/// `hi - lo` (all ranges that proofs use); other ranges are still correct but cost more reads.
/// An empty range hashes to `empty_root()`.
pub fn subtree_hash(reader: &impl HashReader, lo: u64, hi: u64) -> Result<Hash, ProofError> {
    if lo > hi {
        return Err(ProofError::InvalidRange { lo, hi });
    }
    if lo == hi {
        return Ok(empty_root());
    }
    range_hash(reader, lo, hi)
}

// Non-empty range only.
fn range_hash(reader: &impl HashReader, lo: u64, hi: u64) -> Result<Hash, ProofError> {
    let n = hi - lo;
    if n.is_power_of_two() && lo & (n - 1) == 0 {
        let level = n.trailing_zeros() as u8;
        return reader.node(level, lo >> level);
    }
    let k = split(n);
    let left = range_hash(reader, lo, lo + k)?;
    let right = range_hash(reader, lo + k, hi)?;
    Ok(node_hash(&left, &right))
}

/// RFC 6962 MTH of the first `size` leaves.
pub fn tree_root(reader: &impl HashReader, size: u64) -> Result<Hash, ProofError> {
    subtree_hash(reader, 0, size)
}

/// RFC 6962 PATH(m, D[n]) as in RFC 9162 §2.1.3.1, order leaf-to-root.
pub fn inclusion_proof(
    reader: &impl HashReader,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::with_capacity(bit_len(size - 1) as usize);
    path(reader, index, 0, size, &mut proof)?;
    Ok(proof)
}

// PATH(m, D[lo:hi]) with absolute m; lo is always aligned (see `subtree_hash`).
fn path(
    reader: &impl HashReader,
    m: u64,
    lo: u64,
    hi: u64,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    let n = hi - lo;
    if n == 1 {
        return Ok(());
    }
    let k = split(n);
    if m < lo + k {
        path(reader, m, lo, lo + k, out)?;
        out.push(range_hash(reader, lo + k, hi)?);
    } else {
        path(reader, m, lo + k, hi, out)?;
        out.push(range_hash(reader, lo, lo + k)?);
    }
    Ok(())
}

/// RFC 6962 PROOF(m, D[n]) as in RFC 9162 §2.1.4.1. Empty when old_size == new_size or old_size == 0.
pub fn consistency_proof(
    reader: &impl HashReader,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if old_size > new_size {
        return Err(ProofError::InvalidSizes {
            old: old_size,
            new: new_size,
        });
    }
    let mut proof = Vec::new();
    if old_size == 0 || old_size == new_size {
        return Ok(proof);
    }
    subproof(reader, old_size, 0, new_size, true, &mut proof)?;
    Ok(proof)
}

// SUBPROOF(m, D[lo:hi], b) with m relative to lo.
fn subproof(
    reader: &impl HashReader,
    m: u64,
    lo: u64,
    hi: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    let n = hi - lo;
    if m == n {
        // The verifier already knows the old root when this subtree is the whole old tree.
        if !complete {
            out.push(range_hash(reader, lo, hi)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(reader, m, lo, lo + k, complete, out)?;
        out.push(range_hash(reader, lo + k, hi)?);
    } else {
        subproof(reader, m - k, lo + k, hi, false, out)?;
        out.push(range_hash(reader, lo, lo + k)?);
    }
    Ok(())
}

/// Length of a valid inclusion proof for `index < size` (as in transparency-dev/merkle):
/// the levels below where the paths to `index` and `size - 1` diverge, plus one per
/// left sibling above that point.
fn inclusion_len(index: u64, size: u64) -> usize {
    let inner = bit_len(index ^ (size - 1));
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// RFC 9162 §2.1.3.2 verification algorithm.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength {
                expected,
                got: proof.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Length of a valid consistency proof for `0 < old < new` (as in transparency-dev/merkle).
fn consistency_len(old: u64, new: u64) -> usize {
    let shift = old.trailing_zeros();
    // The inclusion path of leaf old-1 in the new tree, minus the levels inside the
    // old tree's last perfect subtree, plus that subtree's root unless it is the old root.
    let inner = bit_len((old - 1) ^ (new - 1));
    let border = (old - 1).checked_shr(inner).unwrap_or(0).count_ones();
    let seed = u32::from(!old.is_power_of_two());
    (seed + inner - shift + border) as usize
}

/// RFC 9162 §2.1.4.2 verification algorithm (old_size 0 or equal sizes handled per RFC; reject old>new).
///
/// The RFC defines proofs for 0 < old < new only. Outside that: equal sizes need an empty
/// proof and equal roots; old size 0 needs an empty proof and `old_root == empty_root()`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::InvalidSizes {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                expected: 0,
                got: proof.len(),
            });
        }
        let ok = if old_size == 0 {
            *old_root == empty_root() && (new_size != 0 || *new_root == empty_root())
        } else {
            old_root == new_root
        };
        return if ok {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    let expected = consistency_len(old_size, new_size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    // Step 2: a power-of-two old tree is itself the first node of the path.
    let (first, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (&proof[0], &proof[1..])
    };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(ProofError::WrongLength {
                expected,
                got: proof.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength {
            expected,
            got: proof.len(),
        });
    }
    if fr != *old_root || sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// An in-memory store of complete nodes, for tests, benchmarks and offline verification.
#[derive(Debug, Default, Clone)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf hash (not raw data: use [`leaf_hash`]).
    pub fn push(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.frontier.append(leaf, |level, index, hash| {
            let level = usize::from(level);
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            debug_assert_eq!(levels[level].len() as u64, index);
            levels[level].push(hash);
        });
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }
}

impl HashReader for MemoryTree {
    fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels.get(usize::from(level))?.get(i))
            .copied()
            .ok_or(ProofError::MissingNode { level, index })
    }
}

impl FromIterator<Hash> for MemoryTree {
    fn from_iter<I: IntoIterator<Item = Hash>>(leaves: I) -> Self {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cell::Cell;

    fn h(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    // Known vectors: the RFC 6962 test tree from the Certificate Transparency reference tests
    // (originally certificate-transparency merkle_tree_test.cc), as carried by
    // github.com/transparency-dev/merkle: testonly/constants.go (LeafInputs, NodeHashes,
    // RootHashes) and proof/verify_test.go (inclusionProofs, consistencyProofs).
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    const NODE_HASHES: [&[&str]; 4] = [
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        ],
        &[
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ],
        &[
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
        &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
    ];

    // Indexed by tree size; size 0 is the empty root.
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    // (0-based leaf index, tree size, proof). verify_test.go numbers leaves from 1.
    const INCLUSION: [(u64, u64, &[&str]); 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    // (old size, new size, proof).
    const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];

    // From verify_test.go (sha256SomeHash).
    const SOME_HASH: &str = "abacaba000000000000000000000000000000000000000000060061e00123456";

    fn vector_tree() -> MemoryTree {
        LEAVES
            .iter()
            .map(|l| leaf_hash(&hex::decode(l).unwrap()))
            .collect()
    }

    fn hashes(v: &[&str]) -> Vec<Hash> {
        v.iter().map(|s| h(s)).collect()
    }

    /// Naive RFC 6962 MTH, straight from the definition.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64, salt: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&[salt.to_be_bytes(), i.to_be_bytes()].concat()))
            .collect()
    }

    /// Reads through to a tree but refuses nodes outside the first `limit` leaves, and counts reads:
    /// proofs for a size must only use complete nodes of that size, and few of them.
    struct Bounded<'a> {
        tree: &'a MemoryTree,
        limit: u64,
        reads: Cell<u64>,
    }

    impl HashReader for Bounded<'_> {
        fn node(&self, level: u8, index: u64) -> Result<Hash, ProofError> {
            self.reads.set(self.reads.get() + 1);
            if (index + 1) << level > self.limit {
                return Err(ProofError::Storage(format!(
                    "read of incomplete node level {level} index {index} for size {}",
                    self.limit
                )));
            }
            self.tree.node(level, index)
        }
    }

    fn bounded(tree: &MemoryTree, limit: u64) -> Bounded<'_> {
        Bounded {
            tree,
            limit,
            reads: Cell::new(0),
        }
    }

    fn flip(proof: &[Hash], i: usize, bit: usize) -> Vec<Hash> {
        let mut p = proof.to_vec();
        p[i][bit / 8] ^= 1 << (bit % 8);
        p
    }

    #[test]
    fn hashing_primitives() {
        assert_eq!(empty_root(), h(ROOTS[0]));
        assert_eq!(leaf_hash(b""), h(NODE_HASHES[0][0]));
        assert_eq!(
            node_hash(&h(NODE_HASHES[0][0]), &h(NODE_HASHES[0][1])),
            h(NODE_HASHES[1][0])
        );
    }

    #[test]
    fn known_roots_and_nodes() {
        let mut tree = MemoryTree::new();
        let mut frontier = Frontier::new();
        assert_eq!(tree.root(), h(ROOTS[0]));
        assert_eq!(frontier.root(), h(ROOTS[0]));
        for (i, l) in LEAVES.iter().enumerate() {
            let leaf = leaf_hash(&hex::decode(l).unwrap());
            tree.push(leaf);
            frontier.append(leaf, |_, _, _| {});
            let size = i as u64 + 1;
            assert_eq!(tree.root(), h(ROOTS[i + 1]), "size {size}");
            assert_eq!(frontier.root(), h(ROOTS[i + 1]), "size {size}");
        }
        for (size, root) in ROOTS.iter().enumerate() {
            assert_eq!(tree_root(&tree, size as u64).unwrap(), h(root));
            let loaded = Frontier::load(size as u64, &tree).unwrap();
            assert_eq!(loaded.root(), h(root));
        }
        for (level, nodes) in NODE_HASHES.iter().enumerate() {
            for (index, node) in nodes.iter().enumerate() {
                assert_eq!(tree.node(level as u8, index as u64).unwrap(), h(node));
            }
            assert!(tree.node(level as u8, nodes.len() as u64).is_err());
        }
    }

    /// The corruption probes of verify_test.go's verifierCheck.
    fn assert_inclusion_probes_fail(
        index: u64,
        size: u64,
        proof: &[Hash],
        root: &Hash,
        leaf: &Hash,
    ) {
        let some = h(SOME_HASH);
        let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (index.wrapping_sub(1), size, *root, *leaf, proof.to_vec()),
            (index + 1, size, *root, *leaf, proof.to_vec()),
            (index ^ 2, size, *root, *leaf, proof.to_vec()),
            (index, size * 2, *root, *leaf, proof.to_vec()),
            (index, size / 2, *root, *leaf, proof.to_vec()),
            (index, size, *root, leaf_hash(b"WrongLeaf"), proof.to_vec()),
            (index, size, empty_root(), *leaf, proof.to_vec()),
            (index, size, some, *leaf, proof.to_vec()),
            (index, size, *root, *leaf, [proof, &[*root]].concat()),
            (index, size, *root, *leaf, [&[*root], proof].concat()),
        ];
        for i in 0..proof.len() {
            probes.push((index, size, *root, *leaf, flip(proof, i, 3)));
        }
        if !proof.is_empty() {
            probes.push((index, size, *root, *leaf, proof[..proof.len() - 1].to_vec()));
        }
        if proof.len() > 1 {
            let inserted = [&[some, proof[0]], &proof[1..]].concat();
            probes.push((index, size, *root, *leaf, inserted));
        }
        for (i, (index, size, root, leaf, proof)) in probes.iter().enumerate() {
            assert!(
                verify_inclusion(leaf, *index, *size, proof, root).is_err(),
                "probe {i} verified"
            );
        }
    }

    #[test]
    fn known_inclusion_proofs() {
        let tree = vector_tree();
        for (index, size, want) in INCLUSION {
            let want = hashes(want);
            let reader = bounded(&tree, size);
            assert_eq!(inclusion_proof(&reader, index, size).unwrap(), want);
            let leaf = tree.node(0, index).unwrap();
            let root = h(ROOTS[size as usize]);
            verify_inclusion(&leaf, index, size, &want, &root).unwrap();
            assert_inclusion_probes_fail(index, size, &want, &root, &leaf);
        }
        // Degenerate probes from TestVerifyInclusion.
        for (index, size) in [(0, 0), (0, 1), (1, 0), (2, 1)] {
            let (some, empty) = (h(SOME_HASH), empty_root());
            assert!(verify_inclusion(&some, index, size, &[], &empty).is_err());
        }
    }

    /// The corruption probes of verify_test.go's verifierConsistencyCheck.
    fn assert_consistency_probes_fail(old: u64, new: u64, r1: &Hash, r2: &Hash, proof: &[Hash]) {
        let wrong = leaf_hash(b"WrongRoot");
        let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (old - 1, new, *r1, *r2, proof.to_vec()),
            (old + 1, new, *r1, *r2, proof.to_vec()),
            (old ^ 2, new, *r1, *r2, proof.to_vec()),
            (old, new * 2, *r1, *r2, proof.to_vec()),
            (old, new / 2, *r1, *r2, proof.to_vec()),
            (old, new, wrong, *r2, proof.to_vec()),
            (old, new, *r1, wrong, proof.to_vec()),
            (old, new, *r2, *r1, proof.to_vec()),
            (old, new, *r1, *r2, vec![]),
            (old, new, *r1, *r2, [proof, &[*r1]].concat()),
            (old, new, *r1, *r2, [proof, &[*r2]].concat()),
            (old, new, *r1, *r2, [&[*r1], proof].concat()),
            (old, new, *r1, *r2, [&[*r2], proof].concat()),
            (old, new, *r1, *r2, [&[proof[0]], proof].concat()),
            (old, new, *r1, *r2, proof[..proof.len() - 1].to_vec()),
        ];
        for i in 0..proof.len() {
            probes.push((old, new, *r1, *r2, flip(proof, i, 4)));
        }
        for (i, (old, new, r1, r2, proof)) in probes.iter().enumerate() {
            assert!(
                verify_consistency(*old, *new, r1, r2, proof).is_err(),
                "probe {i} verified"
            );
        }
    }

    #[test]
    fn known_consistency_proofs() {
        let tree = vector_tree();
        for (old, new, want) in CONSISTENCY {
            let want = hashes(want);
            let reader = bounded(&tree, new);
            assert_eq!(consistency_proof(&reader, old, new).unwrap(), want);
            let (r1, r2) = (h(ROOTS[old as usize]), h(ROOTS[new as usize]));
            verify_consistency(old, new, &r1, &r2, &want).unwrap();
            if !want.is_empty() {
                assert_consistency_probes_fail(old, new, &r1, &r2, &want);
            }
        }
    }

    #[test]
    fn consistency_edge_cases() {
        let (a, b, e) = (leaf_hash(b"a"), leaf_hash(b"b"), empty_root());
        // Adapted from TestVerifyConsistency; size 0 additionally pins the old root to MTH({}).
        assert!(verify_consistency(0, 0, &e, &e, &[]).is_ok());
        assert!(verify_consistency(0, 5, &e, &a, &[]).is_ok());
        assert!(verify_consistency(1, 1, &b, &b, &[]).is_ok());
        assert!(verify_consistency(0, 0, &a, &b, &[]).is_err());
        assert!(verify_consistency(0, 0, &a, &a, &[]).is_err());
        assert!(verify_consistency(0, 5, &a, &b, &[]).is_err());
        assert!(verify_consistency(1, 1, &a, &b, &[]).is_err());
        assert!(verify_consistency(0, 0, &e, &e, &[e]).is_err());
        assert!(verify_consistency(0, 1, &e, &e, &[e]).is_err());
        assert!(verify_consistency(1, 1, &e, &e, &[e]).is_err());
        assert_eq!(
            verify_consistency(1, 0, &a, &b, &[]),
            Err(ProofError::InvalidSizes { old: 1, new: 0 })
        );
        assert!(verify_consistency(2, 1, &a, &b, &[]).is_err());
        assert!(verify_consistency(1, 2, &a, &b, &[]).is_err());

        let tree = vector_tree();
        assert_eq!(consistency_proof(&tree, 0, 8).unwrap(), Vec::<Hash>::new());
        assert_eq!(consistency_proof(&tree, 8, 8).unwrap(), Vec::<Hash>::new());
        assert_eq!(
            consistency_proof(&tree, 9, 8),
            Err(ProofError::InvalidSizes { old: 9, new: 8 })
        );
        assert_eq!(
            inclusion_proof(&tree, 8, 8),
            Err(ProofError::IndexOutOfRange { index: 8, size: 8 })
        );
        assert_eq!(
            inclusion_proof(&tree, 0, 9),
            Err(ProofError::MissingNode { level: 0, index: 8 })
        );
        assert_eq!(
            subtree_hash(&tree, 3, 2),
            Err(ProofError::InvalidRange { lo: 3, hi: 2 })
        );
    }

    /// A proof element named as in transparency-dev/merkle proof/proof_test.go: a stored node,
    /// or a "rehash" of consecutive nodes that stand in for a missing (incomplete) parent.
    enum El {
        N(u8, u64),
        Re(&'static [(u8, u64)]),
    }
    use El::{Re, N};

    fn expected_proof(tree: &MemoryTree, els: &[El]) -> Vec<Hash> {
        els.iter()
            .map(|el| match el {
                N(l, i) => tree.node(*l, *i).unwrap(),
                // Listed bottom-up; each later node is the left sibling of the accumulated hash.
                Re(ids) => ids
                    .iter()
                    .map(|(l, i)| tree.node(*l, *i).unwrap())
                    .reduce(|acc, left| node_hash(&left, &acc))
                    .unwrap(),
            })
            .collect()
    }

    #[test]
    fn proof_shapes_from_reference() {
        // Expected node IDs from transparency-dev/merkle proof/proof_test.go (TestInclusion,
        // TestConsistency), resolved against a tree of 100 leaves.
        let tree: MemoryTree = leaves(100, 7).into_iter().collect();
        let inclusion: &[(u64, u64, &[El])] = &[
            (1, 0, &[]),
            (2, 0, &[N(0, 1)]),
            (2, 1, &[N(0, 0)]),
            (3, 1, &[N(0, 0), N(0, 2)]),
            (7, 0, &[N(0, 1), N(1, 1), Re(&[(0, 6), (1, 2)])]),
            (7, 1, &[N(0, 0), N(1, 1), Re(&[(0, 6), (1, 2)])]),
            (7, 2, &[N(0, 3), N(1, 0), Re(&[(0, 6), (1, 2)])]),
            (7, 3, &[N(0, 2), N(1, 0), Re(&[(0, 6), (1, 2)])]),
            (7, 4, &[N(0, 5), N(0, 6), N(2, 0)]),
            (7, 5, &[N(0, 4), N(0, 6), N(2, 0)]),
            (7, 6, &[N(1, 2), N(2, 0)]),
            (4, 2, &[N(0, 3), N(1, 0)]),
            (5, 3, &[N(0, 2), N(1, 0), N(0, 4)]),
            (6, 3, &[N(0, 2), N(1, 0), N(1, 2)]),
            (6, 4, &[N(0, 5), N(2, 0)]),
            (
                15,
                10,
                &[N(0, 11), N(1, 4), Re(&[(0, 14), (1, 6)]), N(3, 0)],
            ),
            (
                31,
                24,
                &[
                    N(0, 25),
                    N(1, 13),
                    Re(&[(0, 30), (1, 14)]),
                    N(3, 2),
                    N(4, 0),
                ],
            ),
            (
                95,
                81,
                &[
                    N(0, 80),
                    N(1, 41),
                    N(2, 21),
                    Re(&[(0, 94), (1, 46), (2, 22)]),
                    N(4, 4),
                    N(6, 0),
                ],
            ),
        ];
        for (size, index, els) in inclusion {
            let reader = bounded(&tree, *size);
            let got = inclusion_proof(&reader, *index, *size).unwrap();
            assert_eq!(
                got,
                expected_proof(&tree, els),
                "inclusion {index} in {size}"
            );
        }
        let consistency: &[(u64, u64, &[El])] = &[
            (1, 2, &[N(0, 1)]),
            (1, 4, &[N(0, 1), N(1, 1)]),
            (1, 6, &[N(0, 1), N(1, 1), N(1, 2)]),
            (2, 3, &[N(0, 2)]),
            (2, 8, &[N(1, 1), N(2, 1)]),
            (3, 7, &[N(0, 2), N(0, 3), N(1, 0), Re(&[(0, 6), (1, 2)])]),
            (4, 7, &[Re(&[(0, 6), (1, 2)])]),
            (5, 7, &[N(0, 4), N(0, 5), N(0, 6), N(2, 0)]),
            (6, 7, &[N(1, 2), N(0, 6), N(2, 0)]),
            (7, 8, &[N(0, 6), N(0, 7), N(1, 2), N(2, 0)]),
            (2, 4, &[N(1, 1)]),
            (3, 5, &[N(0, 2), N(0, 3), N(1, 0), N(0, 4)]),
            (3, 6, &[N(0, 2), N(0, 3), N(1, 0), N(1, 2)]),
            (4, 6, &[N(1, 2)]),
            (1, 7, &[N(0, 1), N(1, 1), Re(&[(0, 6), (1, 2)])]),
            (10, 15, &[N(1, 4), N(1, 5), Re(&[(0, 14), (1, 6)]), N(3, 0)]),
            (24, 31, &[N(3, 2), Re(&[(0, 30), (1, 14), (2, 6)]), N(4, 0)]),
            (
                81,
                95,
                &[
                    N(0, 80),
                    N(0, 81),
                    N(1, 41),
                    N(2, 21),
                    Re(&[(0, 94), (1, 46), (2, 22)]),
                    N(4, 4),
                    N(6, 0),
                ],
            ),
        ];
        for (old, new, els) in consistency {
            let reader = bounded(&tree, *new);
            let got = consistency_proof(&reader, *old, *new).unwrap();
            assert_eq!(
                got,
                expected_proof(&tree, els),
                "consistency {old} to {new}"
            );
        }
    }

    #[test]
    fn proofs_read_few_nodes() {
        let tree: MemoryTree = leaves(1000, 1).into_iter().collect();
        for size in [1u64, 2, 3, 255, 256, 257, 511, 687, 999, 1000] {
            let bound = 2 * u64::from(bit_len(size)) + 2;
            for index in [0, size / 3, size / 2, size - 1] {
                let reader = bounded(&tree, size);
                inclusion_proof(&reader, index, size).unwrap();
                assert!(
                    reader.reads.get() <= bound,
                    "{index}/{size}: {}",
                    reader.reads.get()
                );
            }
            for old in [1, size / 3, size / 2, size - 1]
                .into_iter()
                .filter(|&o| o > 0)
            {
                let reader = bounded(&tree, size);
                consistency_proof(&reader, old, size).unwrap();
                assert!(
                    reader.reads.get() <= 2 * bound,
                    "{old}->{size}: {}",
                    reader.reads.get()
                );
            }
            let reader = bounded(&tree, size);
            Frontier::load(size, &reader).unwrap();
            assert_eq!(reader.reads.get(), u64::from(size.count_ones()));
        }
    }

    #[test]
    fn frontier_load_continues_identically() {
        let all = leaves(300, 3);
        let mut tree = MemoryTree::new();
        for leaf in &all[..137] {
            tree.push(*leaf);
        }
        let mut loaded = Frontier::load(137, &tree).unwrap();
        assert_eq!(&loaded, tree.frontier());
        assert_eq!(loaded.root(), mth(&all[..137]));
        assert_eq!(loaded.peaks().len(), 137u64.count_ones() as usize);
        for (i, leaf) in all.iter().enumerate().skip(137) {
            let mut from_loaded = Vec::new();
            loaded.append(*leaf, |l, i, h| from_loaded.push((l, i, h)));
            tree.push(*leaf);
            for &(l, idx, hash) in &from_loaded {
                assert_eq!(tree.node(l, idx).unwrap(), hash);
            }
            assert_eq!(from_loaded[0], (0, i as u64, *leaf));
            assert_eq!(from_loaded.len(), (i as u64).trailing_ones() as usize + 1);
            assert_eq!(loaded.root(), tree.root());
            assert_eq!(loaded.root(), mth(&all[..=i]));
        }
        assert_eq!(&loaded, tree.frontier());
        // A store missing nodes surfaces the reader's error.
        assert_eq!(
            Frontier::load(301, &tree),
            Err(ProofError::MissingNode {
                level: 0,
                index: 300
            })
        );
    }

    #[test]
    fn verification_never_panics_on_extremes() {
        let x = leaf_hash(b"x");
        let big = [
            0u64,
            1,
            2,
            3,
            u64::MAX / 2,
            u64::MAX / 2 + 1,
            u64::MAX - 1,
            u64::MAX,
        ];
        for &a in &big {
            for &b in &big {
                for len in [0usize, 1, 63, 64, 65, 128, 129] {
                    let proof = vec![x; len];
                    let _ = verify_inclusion(&x, a, b, &proof, &x);
                    let _ = verify_consistency(a, b, &x, &x, &proof);
                }
            }
        }
        // The deepest possible paths have valid lengths and run to completion.
        assert_eq!(inclusion_len(0, u64::MAX), 64);
        assert_eq!(inclusion_len(0, (1 << 63) + 1), 64);
        assert_eq!(
            verify_inclusion(&x, 0, (1 << 63) + 1, &[x; 64], &x),
            Err(ProofError::RootMismatch)
        );
        assert_eq!(
            verify_inclusion(&x, u64::MAX - 1, u64::MAX, &[x; 63], &x),
            Err(ProofError::RootMismatch)
        );
        assert_eq!(
            verify_consistency(1, u64::MAX, &x, &x, &[x; 64]),
            Err(ProofError::RootMismatch)
        );
        let len = consistency_len(u64::MAX - 1, u64::MAX);
        assert_eq!(
            verify_consistency(u64::MAX - 1, u64::MAX, &x, &x, &vec![x; len]),
            Err(ProofError::RootMismatch)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn every_inclusion_proof_verifies(size in 1u64..=300, salt: u64) {
            let all = leaves(size, salt);
            let tree: MemoryTree = all.iter().copied().collect();
            let root = mth(&all);
            prop_assert_eq!(tree.root(), root);
            for index in 0..size {
                let reader = bounded(&tree, size);
                let proof = inclusion_proof(&reader, index, size).unwrap();
                prop_assert_eq!(proof.len(), inclusion_len(index, size));
                prop_assert_eq!(verify_inclusion(&all[index as usize], index, size, &proof, &root), Ok(()));
            }
        }

        #[test]
        fn tampered_inclusion_proofs_fail(
            size in 1u64..=300,
            pick in any::<prop::sample::Index>(),
            other in any::<prop::sample::Index>(),
            elem in any::<prop::sample::Index>(),
            bit in 0usize..256,
            other_size in 1u64..=300,
            salt: u64,
        ) {
            let all = leaves(300, salt);
            let tree: MemoryTree = all.iter().copied().collect();
            let index = pick.index(size as usize) as u64;
            let leaf = all[index as usize];
            let root = mth(&all[..size as usize]);
            let proof = inclusion_proof(&tree, index, size).unwrap();
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_ok());

            if !proof.is_empty() {
                let bad = flip(&proof, elem.index(proof.len()), bit);
                prop_assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
                let truncated = &proof[..proof.len() - 1];
                prop_assert!(verify_inclusion(&leaf, index, size, truncated, &root).is_err());
            }
            let mut flipped_leaf = leaf;
            flipped_leaf[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_inclusion(&flipped_leaf, index, size, &proof, &root).is_err());
            let mut flipped_root = root;
            flipped_root[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &flipped_root).is_err());
            let extended = [&proof[..], &[root]].concat();
            prop_assert!(verify_inclusion(&leaf, index, size, &extended, &root).is_err());
            let prepended = [&[leaf], &proof[..]].concat();
            prop_assert!(verify_inclusion(&leaf, index, size, &prepended, &root).is_err());

            let wrong_index = other.index(size as usize) as u64;
            if wrong_index != index {
                prop_assert!(verify_inclusion(&leaf, wrong_index, size, &proof, &root).is_err());
            }
            prop_assert!(verify_inclusion(&leaf, size, size, &proof, &root).is_err());
            // The size is not hashed into the root, so a wrong size is checked against that
            // size's real root: the proof must not pass for another tree.
            if other_size != size && index < other_size {
                let other_root = mth(&all[..other_size as usize]);
                prop_assert!(verify_inclusion(&leaf, index, other_size, &proof, &other_root).is_err());
            }
        }

        #[test]
        fn consistency_proofs_verify_and_resist_tampering(
            new in 1u64..=300,
            pick in any::<prop::sample::Index>(),
            elem in any::<prop::sample::Index>(),
            bit in 0usize..256,
            other_old in 0u64..=300,
            other_new in 1u64..=300,
            salt: u64,
        ) {
            let all = leaves(300, salt);
            let tree: MemoryTree = all.iter().copied().collect();
            let old = pick.index(new as usize + 1) as u64;
            let (r1, r2) = (mth(&all[..old as usize]), mth(&all[..new as usize]));
            let reader = bounded(&tree, new);
            let proof = consistency_proof(&reader, old, new).unwrap();
            prop_assert_eq!(verify_consistency(old, new, &r1, &r2, &proof), Ok(()));
            if old == 0 || old == new {
                prop_assert!(proof.is_empty());
                return Ok(());
            }
            prop_assert_eq!(proof.len(), consistency_len(old, new));

            let bad = flip(&proof, elem.index(proof.len()), bit);
            prop_assert!(verify_consistency(old, new, &r1, &r2, &bad).is_err());
            prop_assert!(verify_consistency(old, new, &r1, &r2, &proof[..proof.len() - 1]).is_err());
            prop_assert!(verify_consistency(old, new, &r1, &r2, &proof[1..]).is_err());
            let extended = [&proof[..], &[r2]].concat();
            prop_assert!(verify_consistency(old, new, &r1, &r2, &extended).is_err());
            let prepended = [&[r1], &proof[..]].concat();
            prop_assert!(verify_consistency(old, new, &r1, &r2, &prepended).is_err());
            prop_assert!(verify_consistency(old, new, &r2, &r1, &proof).is_err());
            let mut flipped = r1;
            flipped[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_consistency(old, new, &flipped, &r2, &proof).is_err());
            let mut flipped = r2;
            flipped[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_consistency(old, new, &r1, &flipped, &proof).is_err());
            prop_assert!(verify_consistency(new, old, &r2, &r1, &proof).is_err());

            // Wrong sizes, each with that size's real root (sizes are not hashed into roots).
            if other_old != old && other_old <= new {
                let other_r1 = mth(&all[..other_old as usize]);
                prop_assert!(verify_consistency(other_old, new, &other_r1, &r2, &proof).is_err());
            }
            if other_new != new && other_new >= old {
                let other_r2 = mth(&all[..other_new as usize]);
                prop_assert!(verify_consistency(old, other_new, &r1, &other_r2, &proof).is_err());
            }
        }

        #[test]
        fn frontier_load_and_append_match_memory_tree(size in 0u64..=300, cut in any::<prop::sample::Index>(), salt: u64) {
            let all = leaves(size, salt);
            let cut = cut.index(size as usize + 1);
            let mut tree = MemoryTree::new();
            for leaf in &all[..cut] {
                tree.push(*leaf);
            }
            let mut frontier = Frontier::load(cut as u64, &tree).unwrap();
            prop_assert_eq!(frontier.root(), tree.root());
            for (i, leaf) in all.iter().enumerate().skip(cut) {
                let mut stored = Vec::new();
                frontier.append(*leaf, |l, idx, h| stored.push((l, idx, h)));
                tree.push(*leaf);
                for (l, idx, hash) in stored {
                    // Every emitted node is the MTH of exactly the leaves it covers.
                    let lo = (idx << l) as usize;
                    prop_assert_eq!(hash, mth(&all[lo..lo + (1 << l)]));
                    prop_assert!(lo + (1 << l) <= i + 1);
                }
                prop_assert_eq!(frontier.root(), tree.root());
            }
            prop_assert_eq!(tree.root(), mth(&all));
            for s in 0..=size {
                prop_assert_eq!(Frontier::load(s, &tree).unwrap().root(), mth(&all[..s as usize]));
                prop_assert_eq!(tree_root(&tree, s).unwrap(), mth(&all[..s as usize]));
            }
        }

        #[test]
        fn subtree_hash_matches_naive_mth(size in 1u64..=300, a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>(), salt: u64) {
            let all = leaves(size, salt);
            let tree: MemoryTree = all.iter().copied().collect();
            let (x, y) = (a.index(size as usize + 1), b.index(size as usize + 1));
            let (lo, hi) = (x.min(y), x.max(y));
            prop_assert_eq!(subtree_hash(&tree, lo as u64, hi as u64).unwrap(), mth(&all[lo..hi]));
        }

        #[test]
        fn verifiers_never_panic(
            index: u64,
            size: u64,
            len in 0usize..140,
            small in 0u64..600,
            root: [u8; 32],
        ) {
            let proof = vec![root; len];
            let _ = verify_inclusion(&root, index, size, &proof, &root);
            let _ = verify_inclusion(&root, index % (small + 1), small, &proof, &root);
            let _ = verify_consistency(index, size, &root, &root, &proof);
            let _ = verify_consistency(small, size, &root, &root, &proof);
            let _ = verify_consistency(index % (small + 1), small, &root, &root, &proof);
        }
    }
}
