//! The binaries' flags (clap) and the one run each asks for: a binary parses its
//! arguments, calls `train::run` or `infer::run`, and maps the result to an exit code.

pub mod infer;
mod shared;
pub mod train;

pub use infer::InferArgs;
pub use train::TrainArgs;

/// Prints a failed run's error with its causes (`error: ...`) and gives its exit code:
/// 2 bad input or usage, 1 a runtime failure.
pub fn fail(e: &crate::Error) -> std::process::ExitCode {
    let chain = std::iter::successors(Some(e as &(dyn std::error::Error + 'static)), |e| {
        e.source()
    });
    eprintln!("error: {}", crate::error::message_chain(chain));
    std::process::ExitCode::from(e.exit_code())
}
