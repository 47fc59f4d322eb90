//! Neural-network core: the [`Layer`] trait, layers, losses, optimizers and
//! initialisers, with hand-written forward and backward passes on ndarray.
//!
//! `nn` knows nothing of audio; front-end stages implement [`Layer`] too.

pub mod activation;
pub mod context;
pub mod dropout;
pub mod error;
pub mod gradcheck;
pub mod init;
pub mod layer;
pub mod linear;
pub mod loss;
pub mod matmul;
pub mod maxout;
pub mod optim;
pub mod pool;
pub mod prelu;
pub mod schedule;
pub mod sequential;
pub mod spec;
pub mod standardize;
pub mod tensor;
pub mod update;

pub use error::NnError;
pub use layer::{Ctx, Layer, Mode, Param};
pub use sequential::Sequential;

/// The one generator type used for every random choice (init, dropout,
/// shuffling, dither, splits). Seed it with [`rng_from_seed`].
pub type Rng = rand_xoshiro::Xoshiro256PlusPlus;

/// A generator seeded from a `u64`: the same seed gives the same numbers.
pub fn rng_from_seed(seed: u64) -> Rng {
    use rand::SeedableRng;
    Rng::seed_from_u64(seed)
}
