#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    mailroom::server::cli::main()
}

#[cfg(not(feature = "ssr"))]
pub fn main() {
    // The browser build starts from `hydrate()` in lib.rs.
}
