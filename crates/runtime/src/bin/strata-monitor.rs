//! The container monitor as a program of its own, for the runtime crate's tests (the
//! `strata` binary runs the same [`runtime::monitor::run`] as a hidden subcommand).

fn main() {
    let args = match runtime::monitor::MonitorArgs::parse(std::env::args_os().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    std::process::exit(runtime::monitor::run(args));
}
