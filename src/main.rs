// Rendering a page allocates and frees thousands of small objects across
// the runtime's threads; mimalloc serves them about twice as cheaply as the
// system allocator (BENCHMARKS.md, "Pages that arrive fast").
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
