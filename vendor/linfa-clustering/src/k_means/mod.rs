mod algorithm;
mod errors;
mod hyperparams;
mod init;
mod pruned;

pub use algorithm::*;
pub use errors::*;
pub use hyperparams::*;
pub use init::*;
