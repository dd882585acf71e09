//! RFC 9381 ECVRF-EDWARDS25519-SHA512-TAI (suite_string 0x03), written by
//! hand on `curve25519-dalek`.
//!
//! Custody keys each shard's customer map by `beta = VRF(customer id)`: the
//! published map then does not let anyone test whether a given customer id
//! is in it (computing beta needs the secret key), while the customer, given
//! the proof, checks that the key really is bound to their id.
//!
//! Everything follows RFC 9381 section 5 with the parameters of section 5.5:
//! SHA-512, cLen = 16, ptLen = qLen = 32, cofactor 8, RFC 8032 encodings
//! (little-endian integers, compressed points), try-and-increment
//! encode_to_curve with `encode_to_curve_salt = PK_string`, and key
//! validation on (small-order public keys are refused).
//!
//! Pure: no I/O, no randomness (the nonce is derived from the key and the
//! input, RFC 9381 5.4.2.2).

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::{clamp_integer, Scalar};
use curve25519_dalek::traits::IsIdentity;
use sha2::{Digest, Sha512};

/// ECVRF-EDWARDS25519-SHA512-TAI.
const SUITE: u8 = 0x03;
/// cLen: the challenge is the first 16 bytes of a SHA-512 output.
const C_LEN: usize = 16;
/// Length of pi_string: Gamma (32) || c (16) || s (32).
pub const PROOF_LEN: usize = 32 + C_LEN + 32;

/// Why a key or proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VrfError {
    #[error("public key is not a canonical edwards25519 point encoding")]
    InvalidPublicKey,
    #[error("public key has small order")]
    SmallOrderPublicKey,
    #[error("proof's Gamma is not a canonical edwards25519 point encoding")]
    InvalidGamma,
    #[error("proof's s is not reduced modulo the group order")]
    NonCanonicalS,
    #[error("proof does not verify")]
    BadProof,
    #[error("not valid hex or not {0} bytes")]
    MalformedHex(usize),
    #[error("encode_to_curve found no point in 256 tries")]
    NoPoint,
}

/// A VRF secret key: the RFC 8032 secret scalar and nonce prefix expanded
/// from a 32-byte seed, exactly as for Ed25519. Not `Clone`, and `Debug`
/// prints only the public key. (It is not wiped on drop: that would take
/// `unsafe` or the `zeroize` crate, and this crate uses neither.)
pub struct VrfSecretKey {
    x: Scalar,
    /// hashed_sk_string[32..64], RFC 9381 5.4.2.2 step 2.
    nonce_prefix: [u8; 32],
    public: VrfPublicKey,
}

/// A VRF public key: a compressed edwards25519 point, known to decode and
/// not to have small order (checked by [`VrfPublicKey::from_bytes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VrfPublicKey([u8; 32]);

/// pi_string = point_to_string(Gamma) || int_to_string(c, 16) || int_to_string(s, 32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VrfProof([u8; PROOF_LEN]);

/// RFC 8032 5.1.5: SHA-512 of the seed; the first half, clamped, is the
/// secret scalar (as bytes, before any reduction: the RFC's `x`), the second
/// half the nonce prefix.
fn expand_seed(seed: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let h = Sha512::digest(seed);
    let mut low = [0u8; 32];
    let mut high = [0u8; 32];
    low.copy_from_slice(&h[..32]);
    high.copy_from_slice(&h[32..]);
    (clamp_integer(low), high)
}

/// string_to_point: RFC 8032 5.1.3 decoding, which refuses a y that is not
/// reduced modulo p and the encoding of "x = 0 with the sign bit set".
/// `curve25519-dalek` accepts both (it reduces y and ignores the sign of 0),
/// so a point is accepted only if it re-encodes to the same bytes.
fn string_to_point(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    if !is_canonical_encoding(bytes) {
        return None;
    }
    CompressedEdwardsY(*bytes).decompress()
}

/// The two encodings RFC 8032 refuses and `curve25519-dalek` accepts,
/// checked on the bytes: a y of p or more (only the 19 values from p to
/// 2^255 - 1), and x = 0 (y = 1 or y = p - 1, the only points with x = 0)
/// with the sign bit set. Checking the bytes instead of re-encoding the
/// point saves a field inversion per hash-to-curve try, which is most of
/// the cost of a map key.
fn is_canonical_encoding(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    let sign = y[31] >> 7;
    y[31] &= 0x7f;
    // p = 2^255 - 19, little-endian: ed ff .. ff 7f.
    let top_all_ones = y[1..31].iter().all(|&b| b == 0xff) && y[31] == 0x7f;
    if top_all_ones && y[0] >= 0xed {
        return false;
    }
    if sign == 1 {
        let is_one = y[0] == 1 && y[1..].iter().all(|&b| b == 0);
        let is_p_minus_one = top_all_ones && y[0] == 0xec;
        if is_one || is_p_minus_one {
            return false;
        }
    }
    true
}

/// ECVRF_encode_to_curve_try_and_increment (5.4.1.1): hash with a one-byte
/// counter until the first 32 bytes decode to a point whose cofactor
/// multiple is not the identity. Each try succeeds with probability about
/// 1/2, so running out of counters (2^-256) is an error rather than a loop.
fn encode_to_curve(salt: &[u8; 32], alpha: &[u8]) -> Option<EdwardsPoint> {
    encode_to_curve_counted(salt, alpha).map(|(_, h)| h)
}

/// [`encode_to_curve`] with the counter that succeeded (the RFC's examples
/// give it).
fn encode_to_curve_counted(salt: &[u8; 32], alpha: &[u8]) -> Option<(u8, EdwardsPoint)> {
    (0..=255u8).find_map(|ctr| {
        let hash = Sha512::new()
            .chain_update([SUITE, 0x01])
            .chain_update(salt)
            .chain_update(alpha)
            .chain_update([ctr, 0x00])
            .finalize();
        let candidate: &[u8; 32] = hash[..32].try_into().expect("SHA-512 is 64 bytes");
        let h = string_to_point(candidate)?.mul_by_cofactor();
        (!h.is_identity()).then_some((ctr, h))
    })
}

/// ECVRF_nonce_generation_RFC8032 (5.4.2.2): k_string = SHA-512(nonce prefix
/// || h_string); the nonce k is k_string as a 512-bit little-endian integer
/// reduced modulo L.
fn nonce_string(nonce_prefix: &[u8; 32], h_string: &[u8; 32]) -> [u8; 64] {
    Sha512::new()
        .chain_update(nonce_prefix)
        .chain_update(h_string)
        .finalize()
        .into()
}

/// ECVRF_challenge_generation (5.4.3): the first cLen bytes of
/// SHA-512(suite || 0x02 || P1 || ... || P5 || 0x00), little-endian. The
/// points are passed already encoded so that Y is hashed as the caller's
/// PK_string.
fn challenge(points: [&[u8; 32]; 5]) -> [u8; C_LEN] {
    let mut h = Sha512::new().chain_update([SUITE, 0x02]);
    for p in points {
        h.update(p);
    }
    let digest = h.chain_update([0x00]).finalize();
    digest[..C_LEN].try_into().expect("SHA-512 is 64 bytes")
}

/// A 16-byte little-endian challenge as a scalar (it is below 2^128 < L, so
/// no reduction happens).
fn challenge_scalar(c: &[u8; C_LEN]) -> Scalar {
    let mut wide = [0u8; 32];
    wide[..C_LEN].copy_from_slice(c);
    Scalar::from_bytes_mod_order(wide)
}

/// ECVRF_decode_proof (5.4.4): Gamma must decode, s must be below L (an s
/// of s + L would pass the verification equation too, making proofs
/// malleable).
fn decode_proof(pi: &[u8; PROOF_LEN]) -> Result<(EdwardsPoint, [u8; C_LEN], Scalar), VrfError> {
    let gamma_string: &[u8; 32] = pi[..32].try_into().expect("32 bytes");
    let c: [u8; C_LEN] = pi[32..32 + C_LEN].try_into().expect("16 bytes");
    let s_string: [u8; 32] = pi[32 + C_LEN..].try_into().expect("32 bytes");
    let gamma = string_to_point(gamma_string).ok_or(VrfError::InvalidGamma)?;
    let s = Option::from(Scalar::from_canonical_bytes(s_string)).ok_or(VrfError::NonCanonicalS)?;
    Ok((gamma, c, s))
}

/// ECVRF_proof_to_hash (5.2) of a decoded Gamma:
/// SHA-512(suite || 0x03 || point_to_string(8 * Gamma) || 0x00).
fn gamma_to_hash(gamma: &EdwardsPoint) -> [u8; 64] {
    Sha512::new()
        .chain_update([SUITE, 0x03])
        .chain_update(gamma.mul_by_cofactor().compress().as_bytes())
        .chain_update([0x00])
        .finalize()
        .into()
}

fn decode_hex<const N: usize>(text: &str) -> Result<[u8; N], VrfError> {
    hex::decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(VrfError::MalformedHex(N))
}

impl VrfSecretKey {
    /// Expands a 32-byte seed as RFC 8032 does for an Ed25519 secret key,
    /// so the same seed gives the same public key as Ed25519.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let (x_bytes, nonce_prefix) = expand_seed(seed);
        // The clamped integer may exceed L; reducing it changes nothing, as
        // B and every H (a cofactor multiple) lie in the subgroup of order L.
        let x = Scalar::from_bytes_mod_order(x_bytes);
        let public = VrfPublicKey(EdwardsPoint::mul_base(&x).compress().to_bytes());
        Self {
            x,
            nonce_prefix,
            public,
        }
    }

    pub fn public(&self) -> VrfPublicKey {
        self.public
    }

    /// ECVRF_prove (5.1). Deterministic: the same key and alpha always give
    /// the same proof.
    pub fn prove(&self, alpha: &[u8]) -> VrfProof {
        let y_string = self.public.as_bytes();
        let h = encode_to_curve(y_string, alpha)
            .expect("encode_to_curve fails with probability 2^-256");
        let h_string = h.compress().to_bytes();
        let gamma = self.x * h;
        let k = Scalar::from_bytes_mod_order_wide(&nonce_string(&self.nonce_prefix, &h_string));
        let u = EdwardsPoint::mul_base(&k);
        let v = k * h;
        let gamma_string = gamma.compress().to_bytes();
        let c = challenge([
            y_string,
            &h_string,
            &gamma_string,
            &u.compress().to_bytes(),
            &v.compress().to_bytes(),
        ]);
        let s = k + challenge_scalar(&c) * self.x;
        let mut pi = [0u8; PROOF_LEN];
        pi[..32].copy_from_slice(&gamma_string);
        pi[32..32 + C_LEN].copy_from_slice(&c);
        pi[32 + C_LEN..].copy_from_slice(s.as_bytes());
        VrfProof(pi)
    }

    /// The VRF output for alpha (the beta of [`VrfSecretKey::prove`]).
    ///
    /// Computed without the proof: beta depends only on Gamma = x * H, so
    /// the nonce, the challenge and their three scalar multiplications are
    /// skipped (a test checks it equals the proof's hash).
    pub fn output(&self, alpha: &[u8]) -> [u8; 64] {
        let h = encode_to_curve(self.public.as_bytes(), alpha)
            .expect("encode_to_curve fails with probability 2^-256");
        gamma_to_hash(&(self.x * h))
    }
}

impl std::fmt::Debug for VrfSecretKey {
    // Never print the secret: only which public key it belongs to.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VrfSecretKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl VrfPublicKey {
    /// A public key is accepted only if it is a canonical point encoding
    /// and not of small order (ECVRF_validate_key, 5.4.5): with a
    /// small-order key, the VRF output would not be bound to the key.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, VrfError> {
        validate_key(bytes)?;
        Ok(Self(*bytes))
    }

    pub fn from_hex(text: &str) -> Result<Self, VrfError> {
        Self::from_bytes(&decode_hex(text)?)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// ECVRF_verify (5.3) with key validation; returns beta, the VRF output,
    /// if the proof is valid for this key and alpha.
    pub fn verify(&self, alpha: &[u8], proof: &VrfProof) -> Result<[u8; 64], VrfError> {
        let y = validate_key(&self.0)?;
        let (gamma, c, s) = decode_proof(&proof.0)?;
        let h = encode_to_curve(&self.0, alpha).ok_or(VrfError::NoPoint)?;
        let c_scalar = challenge_scalar(&c);
        // U = s*B - c*Y, V = s*H - c*Gamma (U in variable time: all public).
        let u = EdwardsPoint::vartime_double_scalar_mul_basepoint(&-c_scalar, &y, &s);
        let v = s * h - c_scalar * gamma;
        let expected = challenge([
            &self.0,
            &h.compress().to_bytes(),
            &gamma.compress().to_bytes(),
            &u.compress().to_bytes(),
            &v.compress().to_bytes(),
        ]);
        // Everything compared is public, so a plain comparison is fine.
        if expected != c {
            return Err(VrfError::BadProof);
        }
        Ok(gamma_to_hash(&gamma))
    }
}

/// ECVRF_validate_key (5.4.5) after string_to_point: refuses encodings that
/// do not decode and points whose cofactor multiple is the identity.
fn validate_key(bytes: &[u8; 32]) -> Result<EdwardsPoint, VrfError> {
    let y = string_to_point(bytes).ok_or(VrfError::InvalidPublicKey)?;
    if y.is_small_order() {
        return Err(VrfError::SmallOrderPublicKey);
    }
    Ok(y)
}

impl VrfProof {
    /// Any 80 bytes; they are checked when used ([`VrfProof::to_hash`],
    /// [`VrfPublicKey::verify`]).
    pub fn from_bytes(bytes: &[u8; PROOF_LEN]) -> Self {
        Self(*bytes)
    }

    pub fn from_hex(text: &str) -> Result<Self, VrfError> {
        Ok(Self(decode_hex(text)?))
    }

    pub fn to_bytes(&self) -> [u8; PROOF_LEN] {
        self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// ECVRF_proof_to_hash (5.2): beta, the VRF output. This only decodes
    /// the proof; it does not check it against any key or input, so use
    /// beta only from [`VrfPublicKey::verify`] unless the proof is your own.
    pub fn to_hash(&self) -> Result<[u8; 64], VrfError> {
        let (gamma, _, _) = decode_proof(&self.0)?;
        Ok(gamma_to_hash(&gamma))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;
    use proptest::prelude::*;

    fn unhex<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    struct Vector {
        sk: &'static str,
        pk: &'static str,
        alpha: &'static str,
        x: &'static str,
        ctr: u8,
        h: &'static str,
        k_string: &'static str,
        k: &'static str,
        u: &'static str,
        v: &'static str,
        pi: &'static str,
        beta: &'static str,
    }

    // RFC 9381 Appendix B.3, Examples 16, 17 and 18 (ECVRF-EDWARDS25519-SHA512-TAI).
    // The RFC prints k as the 64-byte k_string; k is that reduced modulo L
    // (as independent implementations carrying these vectors also list it).
    const VECTORS: [Vector; 3] = [
        Vector {
            sk: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            pk: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            alpha: "",
            x: "307c83864f2833cb427a2ef1c00a013cfdff2768d980c0a3a520f006904de94f",
            ctr: 0,
            h: "91bbed02a99461df1ad4c6564a5f5d829d0b90cfc7903e7a5797bd658abf3318",
            k_string: "7100f3d9eadb6dc4743b029736ff283f5be494128df128df2817106f345b8594\
                       b6d6da2d6fb0b4c0257eb337675d96eab49cf39e66cc2c9547c2bf8b2a6afae4",
            k: "8a49edbd1492a8ee09766befe50a7d563051bf3406cbffc20a88def030730f0f",
            u: "aef27c725be964c6a9bf4c45ca8e35df258c1878b838f37d9975523f09034071",
            v: "5016572f71466c646c119443455d6cb9b952f07d060ec8286d678615d55f954f",
            pi: "8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f\
                 26f8a57ccaed74ee1b190bed1f479d9727d2d0f9b005a6e456a35d4fb0daab12\
                 68a1b0db10836d9826a528ca76567805",
            beta: "90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff\
                   66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae",
        },
        Vector {
            sk: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            pk: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            alpha: "72",
            x: "68bd9ed75882d52815a97585caf4790a7f6c6b3b7f821c5e259a24b02e502e51",
            ctr: 1,
            h: "5b659fc3d4e9263fd9a4ed1d022d75eaacc20df5e09f9ea937502396598dc551",
            k_string: "42589bbf0c485c3c91c1621bb4bfe04aed7be76ee48f9b00793b2342acb9c167\
                       cab856f9f9d4febc311330c20b0a8afd3743d05433e8be8d32522ecdc16cc5ce",
            k: "d8c3a66921444cb3427d5d989f9b315aa8ca3375e9ec4d52207711a1fdb44107",
            u: "1dcb0a4821a2c48bf53548228b7f170962988f6d12f5439f31987ef41f034ab3",
            v: "fd03c0bf498c752161bae4719105a074630a2aa5f200ff7b3995f7bfb1513423",
            pi: "f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed593\
                 3bf0864a62558b3ed7f2fea45c92a465301b3bbf5e3e54ddf2d935be3b67926d\
                 a3ef39226bbc355bdc9850112c8f4b02",
            beta: "eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb\
                   5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031",
        },
        Vector {
            sk: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            pk: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            alpha: "af82",
            x: "909a8b755ed902849023a55b15c23d11ba4d7f4ec5c2f51b1325a181991ea95c",
            ctr: 0,
            h: "bf4339376f5542811de615e3313d2b36f6f53c0acfebb482159711201192576a",
            k_string: "38b868c335ccda94a088428cbf3ec8bc7955bfaffe1f3bd2aa2c59fc31a0febc\
                       59d0e1af3715773ce11b3bbdd7aba8e3505d4b9de6f7e4a96e67e0d6bb6d6c3a",
            k: "5ffdbc72135d936014e8ab708585fda379405542b07e3bd2c0bd48437fbac60a",
            u: "2bae73e15a64042fcebf062abe7e432b2eca6744f3e8265bc38e009cd577ecd5",
            v: "88cba1cb0d4f9b649d9a86026b69de076724a93a65c349c988954f0961c5d506",
            pi: "9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf80\
                 96bb474e53895c362d8628ee9f9ea3c0e52c7a5c691b6c18c9979866568add7a\
                 2d41b00b05081ed0f58ee5e31b3a970e",
            beta: "645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c45\
                   2118fec1219202a0edcf038bb6373241578be7217ba85a2687f7a0310b2df19f",
        },
    ];

    #[test]
    fn rfc9381_vectors_match_every_intermediate() {
        for (i, t) in VECTORS.iter().enumerate() {
            let example = 16 + i;
            let seed: [u8; 32] = unhex(t.sk);
            let alpha = hex::decode(t.alpha).unwrap();

            let (x, nonce_prefix) = expand_seed(&seed);
            assert_eq!(hex::encode(x), t.x, "Example {example}: x");
            let sk = VrfSecretKey::from_seed(&seed);
            let pk = sk.public();
            assert_eq!(pk.to_hex(), t.pk, "Example {example}: PK");
            assert_eq!(VrfPublicKey::from_hex(t.pk), Ok(pk));

            let (ctr, h) = encode_to_curve_counted(pk.as_bytes(), &alpha).unwrap();
            let h_string = h.compress().to_bytes();
            assert_eq!(ctr, t.ctr, "Example {example}: try_and_increment counter");
            assert_eq!(hex::encode(h_string), t.h, "Example {example}: H");

            let k_string = nonce_string(&nonce_prefix, &h_string);
            assert_eq!(
                hex::encode(k_string),
                t.k_string,
                "Example {example}: k_string"
            );
            let k = Scalar::from_bytes_mod_order_wide(&k_string);
            assert_eq!(hex::encode(k.as_bytes()), t.k, "Example {example}: k");
            let u = EdwardsPoint::mul_base(&k).compress();
            assert_eq!(hex::encode(u.as_bytes()), t.u, "Example {example}: U = k*B");
            let v = (k * h).compress();
            assert_eq!(hex::encode(v.as_bytes()), t.v, "Example {example}: V = k*H");

            let proof = sk.prove(&alpha);
            assert_eq!(proof.to_hex(), t.pi, "Example {example}: pi");
            assert_eq!(VrfProof::from_hex(t.pi), Ok(proof));
            let beta = proof.to_hash().unwrap();
            assert_eq!(hex::encode(beta), t.beta, "Example {example}: beta");
            assert_eq!(
                pk.verify(&alpha, &proof),
                Ok(beta),
                "Example {example}: verify"
            );
            assert_eq!(sk.output(&alpha), beta);
        }
    }

    /// The byte check accepts exactly what decoding and re-encoding with
    /// `curve25519-dalek` keeps, on every edge case and random bytes.
    #[test]
    fn canonical_check_matches_re_encoding() {
        let roundtrip = |b: &[u8; 32]| {
            CompressedEdwardsY(*b)
                .decompress()
                .map(|p| p.compress().as_bytes() == b)
        };
        let mut cases: Vec<[u8; 32]> = Vec::new();
        for low in 0xe0..=0xffu8 {
            for sign in [0u8, 0x80] {
                let mut b = [0xffu8; 32];
                b[0] = low;
                b[31] = 0x7f | sign;
                cases.push(b);
            }
        }
        for sign in [0u8, 0x80] {
            let mut one = [0u8; 32];
            one[0] = 1;
            one[31] |= sign;
            cases.push(one);
            let mut zero = [0u8; 32];
            zero[31] |= sign;
            cases.push(zero);
        }
        let mut seed = [7u8; 64];
        for _ in 0..2000 {
            seed = Sha512::digest(seed).into();
            cases.push(seed[..32].try_into().unwrap());
        }
        for b in cases {
            if let Some(same) = roundtrip(&b) {
                assert_eq!(is_canonical_encoding(&b), same, "{}", hex::encode(b));
            }
        }
    }

    #[test]
    fn fast_output_equals_the_proof_hash() {
        for i in 0..64u8 {
            let key = VrfSecretKey::from_seed(&[i; 32]);
            let alpha = vec![i; i as usize];
            assert_eq!(key.output(&alpha), key.prove(&alpha).to_hash().unwrap());
        }
    }

    #[test]
    fn same_seed_gives_the_ed25519_public_key() {
        let seed = [7u8; 32];
        let ed = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        assert_eq!(
            VrfSecretKey::from_seed(&seed).public().as_bytes(),
            ed.as_bytes()
        );
    }

    #[test]
    fn changed_alpha_proof_byte_or_key_fails() {
        let sk = VrfSecretKey::from_seed(&[1; 32]);
        let pk = sk.public();
        let other = VrfSecretKey::from_seed(&[2; 32]).public();
        let alpha = b"customer 42";
        let proof = sk.prove(alpha);
        let beta = pk.verify(alpha, &proof).unwrap();
        assert_eq!(proof.to_hash(), Ok(beta));
        assert_eq!(sk.prove(alpha), proof, "deterministic");

        assert_eq!(pk.verify(b"customer 43", &proof), Err(VrfError::BadProof));
        assert_eq!(pk.verify(b"", &proof), Err(VrfError::BadProof));
        assert_eq!(other.verify(alpha, &proof), Err(VrfError::BadProof));
        for byte in 0..PROOF_LEN {
            for bit in 0..8 {
                let mut bytes = proof.to_bytes();
                bytes[byte] ^= 1 << bit;
                let result = pk.verify(alpha, &VrfProof::from_bytes(&bytes));
                assert!(result.is_err(), "flipped bit {bit} of byte {byte} verified");
            }
        }
        // Another key's proof for the same alpha: a different output, and
        // it does not pass for this key.
        let theirs = VrfSecretKey::from_seed(&[2; 32]).prove(alpha);
        assert_eq!(pk.verify(alpha, &theirs), Err(VrfError::BadProof));
        assert_ne!(theirs.to_hash().unwrap(), beta);
    }

    #[test]
    fn small_order_and_malformed_public_keys_are_refused() {
        for point in EIGHT_TORSION {
            let bytes = point.compress().to_bytes();
            assert_eq!(
                VrfPublicKey::from_bytes(&bytes),
                Err(VrfError::SmallOrderPublicKey)
            );
            // And verify checks it too, whatever the proof.
            let proof = VrfSecretKey::from_seed(&[3; 32]).prove(b"a");
            assert_eq!(
                VrfPublicKey(bytes).verify(b"a", &proof),
                Err(VrfError::SmallOrderPublicKey)
            );
        }
        // y = 1 + p: the identity with a non-reduced y (RFC 8032 refuses it).
        let mut non_canonical = [0xff; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        assert_eq!(
            VrfPublicKey::from_bytes(&non_canonical),
            Err(VrfError::InvalidPublicKey)
        );
        // y = 1 with the sign bit set: x = 0 cannot be negative.
        let mut negative_zero = [0u8; 32];
        negative_zero[0] = 1;
        negative_zero[31] = 0x80;
        assert_eq!(
            VrfPublicKey::from_bytes(&negative_zero),
            Err(VrfError::InvalidPublicKey)
        );
        // y = 2 is not on the curve.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert_eq!(
            VrfPublicKey::from_bytes(&off_curve),
            Err(VrfError::InvalidPublicKey)
        );
        assert_eq!(
            VrfPublicKey::from_hex("abcd"),
            Err(VrfError::MalformedHex(32))
        );
        assert_eq!(
            VrfProof::from_hex("zz"),
            Err(VrfError::MalformedHex(PROOF_LEN))
        );
    }

    #[test]
    fn s_plus_l_is_refused() {
        // s + L satisfies the verification equation as well as s does, so
        // only the s < L check stops this second encoding of the same proof.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let sk = VrfSecretKey::from_seed(&[4; 32]);
        let proof = sk.prove(b"x").to_bytes();
        let mut bytes = proof;
        let mut carry = 0u16;
        for (b, l) in bytes[32 + C_LEN..].iter_mut().zip(L) {
            let sum = *b as u16 + l as u16 + carry;
            *b = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        let malleated = VrfProof::from_bytes(&bytes);
        assert_eq!(
            sk.public().verify(b"x", &malleated),
            Err(VrfError::NonCanonicalS)
        );
        assert_eq!(malleated.to_hash(), Err(VrfError::NonCanonicalS));
    }

    #[test]
    fn secret_key_debug_does_not_print_the_secret() {
        let sk = VrfSecretKey::from_seed(&[5; 32]);
        let text = format!("{sk:?}");
        assert!(text.contains(&format!("{:?}", sk.public())));
        assert!(!text.contains(&format!("{:?}", sk.x)));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        #[test]
        fn proofs_verify_and_outputs_are_bound_to_alpha(seed: [u8; 32], alpha in prop::collection::vec(any::<u8>(), 0..64), other in prop::collection::vec(any::<u8>(), 0..64)) {
            let sk = VrfSecretKey::from_seed(&seed);
            let pk = VrfPublicKey::from_bytes(sk.public().as_bytes()).unwrap();
            let proof = sk.prove(&alpha);
            let beta = pk.verify(&alpha, &proof).unwrap();
            prop_assert_eq!(proof.to_hash().unwrap(), beta);
            if other != alpha {
                prop_assert_eq!(pk.verify(&other, &proof), Err(VrfError::BadProof));
                prop_assert_ne!(sk.output(&other), beta);
            }
        }

        #[test]
        fn verify_never_panics(pk: [u8; 32], pi in prop::collection::vec(any::<u8>(), PROOF_LEN), alpha: Vec<u8>) {
            let proof = VrfProof::from_bytes(&pi.try_into().unwrap());
            let _ = proof.to_hash();
            if let Ok(pk) = VrfPublicKey::from_bytes(&pk) {
                prop_assert!(pk.verify(&alpha, &proof).is_err());
            }
        }
    }
}
