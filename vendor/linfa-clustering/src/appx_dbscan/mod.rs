mod algorithm;
mod cells_grid;
mod clustering;
mod counting_tree;
mod hyperparams;

pub use algorithm::*;
pub use hyperparams::*;

#[cfg(test)]
mod tests;
