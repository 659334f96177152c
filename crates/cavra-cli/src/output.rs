//! Writing results to stdout without panicking when the reader goes away (`cavra ... | head`).
//!
//! `println!` panics on a closed pipe; `say!` returns the error instead, and `main` ends quietly
//! on a broken pipe like other Unix tools.

use std::fmt;
use std::io::Write;

use crate::error::CliError;

/// Prints one line to stdout, returning write errors: `say!("{x}")` inside a function that
/// returns `Result<_, CliError>`.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))?
    };
}
pub(crate) use say;

/// Writes `args` and a newline to stdout.
pub fn line(args: fmt::Arguments<'_>) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(CliError::io("cannot write output"))
}
