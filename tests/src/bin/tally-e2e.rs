//! The `tally` program under another name, for the end-to-end tests.

fn main() -> std::process::ExitCode {
    node::cli::main()
}
