//! The `postdesk` binary: parse the command line, call the library, map the result to an exit code.

use clap::Parser;

fn main() {
    // Printing into a closed pipe (`postdesk ticket list | head`) ends quietly, as in any Unix tool.
    // SAFETY: resetting a signal disposition to its default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = postdesk::cli::Cli::parse();
    postdesk::logging::init(cli.verbose);
    match postdesk::commands::dispatch(cli) {
        Ok(code) => std::process::exit(code),
        Err(f) => {
            eprintln!("postdesk: {}", f.message);
            std::process::exit(f.code);
        }
    }
}
