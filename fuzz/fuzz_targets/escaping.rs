//! Only a panic that escapes cavra-core is a crash. The engine catches panics of its shell
//! grammar itself, since evaluation must be total, but libfuzzer-sys's panic hook aborts on every
//! panic, caught or not; [`run`] swaps that hook for one that only remembers the message, and
//! aborts when a panic reaches the target.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// The message of the latest panic on this thread.
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

static QUIET_HOOK: Once = Once::new();

/// Runs `body` on `input`; a panic escaping it is printed with the input, then aborts.
pub fn run(input: &str, body: impl FnOnce()) {
    QUIET_HOOK.call_once(|| {
        panic::set_hook(Box::new(|info| {
            LAST_PANIC.with(|last| *last.borrow_mut() = info.to_string());
        }));
    });
    if panic::catch_unwind(AssertUnwindSafe(body)).is_err() {
        LAST_PANIC.with(|last| eprintln!("panic escaped cavra-core on {input:?}:\n{}", last.borrow()));
        std::process::abort();
    }
}
