//! `tally`: the command line of a tally replica.

fn main() -> std::process::ExitCode {
    node::cli::main()
}
