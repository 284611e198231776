//! clientele-train: learn client segments and a lapse model from an insurer's history.
//! The flags and the run they ask for are `clientele::cli::train`.

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: clientele::allocator::Allocator = mimalloc::MiMalloc;

fn main() -> ExitCode {
    clientele::allocator::prepare_for_large_tables();
    clientele::error::report_panics_as_bugs("clientele-train");
    let args = clientele::cli::TrainArgs::parse();
    match clientele::cli::train::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => clientele::cli::fail(&e),
    }
}
