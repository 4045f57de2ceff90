/// The stack of the thread that runs the command. starlark-rust evaluates, compares, hashes
/// and prints values recursively, one frame per level; the memory budget lets a value nest a
/// few million levels (`x = [x]` in a loop), which the default 8 MiB overflows, killing the
/// process. Only the pages used are ever backed by memory.
const STACK_BYTES: usize = 4 << 30;

/// See `mimalloc` in Cargo.toml; README, Benchmarks, has what it changes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    std::thread::Builder::new()
        .name("starflake".to_owned())
        .stack_size(STACK_BYTES)
        .spawn(starflake::native::cli::main)
        .map_or_else(
            // No room for that stack (a 32-bit host, a strict overcommit policy): run on
            // this thread's.
            |_| starflake::native::cli::main(),
            |command| command.join().unwrap_or(std::process::ExitCode::FAILURE),
        )
}
