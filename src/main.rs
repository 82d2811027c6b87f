// Rendering a page allocates and frees thousands of small objects across
// the runtime's threads; mimalloc serves them about twice as cheaply as the
// system allocator (BENCHMARKS.md, "Pages that arrive fast"). It is built
// without transparent huge pages: with them an idle server holds 2 MiB
// pages it barely uses (see also `cli::allocator_returns_memory_at_once`).
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    mailroom::server::cli::main()
}

#[cfg(not(feature = "ssr"))]
pub fn main() {
    // The browser build starts from `hydrate()` in lib.rs.
}
