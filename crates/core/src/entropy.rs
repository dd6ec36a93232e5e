//! Randomness, as ids and secrets draw it: its own file, so id minting
//! depends on nothing else of the ports.

/// A source of randomness for ids and secrets (crypto-grade at the edge).
pub trait Entropy {
    fn fill(&self, buf: &mut [u8]);
}
