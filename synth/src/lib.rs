//! A deterministic generator of realistic client books, with known truth. Used by the
//! `synth` example, the tests and the benchmarks. See README "The sample book".

mod model;
mod treatment;
mod write;

pub use model::{
    product_sold_to, BookParams, ExitKind, TruthRec, ARCHETYPES, INTERACTION_LAPSE, NONLINEAR_LAPSE,
};
pub use treatment::{apply_treatment, Assignment, PotentialOutcome, TrueEffect};
pub use write::{write_book, DirtManifest, OutputFormat, WriteOptions};

use model::Block;
use rayon::prelude::*;

/// The simulated book, all clients, before any view or dirt is applied.
pub struct SynthBook {
    pub params: BookParams,
    pub(crate) block: Block,
}

impl SynthBook {
    pub fn n_clients(&self) -> usize {
        self.block.clients.len()
    }

    /// What the generator knows of each client, in client order.
    pub fn truth_records(&self) -> &[TruthRec] {
        &self.block.truth
    }

    /// (archetype name, in force at the cut-off, true lapse probability) per client.
    pub fn truth(&self) -> impl Iterator<Item = (&'static str, bool, f64)> + '_ {
        self.block.truth.iter().map(|t| {
            (
                ARCHETYPES
                    .get(t.archetype as usize)
                    .copied()
                    .unwrap_or("unknown"),
                t.in_force_at_cutoff,
                t.lapse_probability,
            )
        })
    }
}

/// Each client's expected discounted premium after the export date (`model::forward_value`),
/// in client order: the truth a lifetime value is ranked against.
pub fn expected_discounted_premium(
    params: &BookParams,
    years: i32,
    sims: u32,
    discount: f64,
) -> Vec<Option<f64>> {
    (0..params.clients)
        .into_par_iter()
        .map(|i| model::forward_value(i, params, years, sims, discount))
        .collect()
}

const BLOCK: usize = 4096;

/// Simulates the book. Clients are simulated in parallel blocks, each client from its
/// own seed, and concatenated in order: the result does not depend on thread count.
pub fn generate(params: &BookParams) -> SynthBook {
    let n = params.clients;
    let blocks: Vec<Block> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut block = Block::default();
            for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                model::simulate_client(i, params, &mut block);
            }
            block
        })
        .collect();
    let mut all = Block::default();
    for mut b in blocks {
        let offset = all.policies.len() as u32;
        for p in &mut b.payments {
            p.policy += offset;
        }
        for c in &mut b.claims {
            c.policy += offset;
        }
        all.clients.append(&mut b.clients);
        all.policies.append(&mut b.policies);
        all.payments.append(&mut b.payments);
        all.claims.append(&mut b.claims);
        all.contacts.append(&mut b.contacts);
        all.truth.append(&mut b.truth);
    }
    SynthBook {
        params: params.clone(),
        block: all,
    }
}
