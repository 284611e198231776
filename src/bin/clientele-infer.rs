//! clientele-infer: label a month's client book with a published model. The flags and
//! the run they ask for are `clientele::cli::infer`.

use clap::Parser;
use clientele::cli::infer::Outcome;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: clientele::allocator::Allocator = mimalloc::MiMalloc;

fn main() -> ExitCode {
    clientele::allocator::prepare_for_large_tables();
    clientele::error::report_panics_as_bugs("clientele-infer");
    let args = clientele::cli::InferArgs::parse();
    match clientele::cli::infer::run(&args) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Drift) => ExitCode::from(3),
        Err(e) => clientele::cli::fail(&e),
    }
}
