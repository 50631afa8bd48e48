//! `tally`: the command line of a tally replica.

use std::process::ExitCode;

fn main() -> ExitCode {
    match node::cli::run() {
        Ok(code) => code,
        // A reader that went away (`tally score | head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
