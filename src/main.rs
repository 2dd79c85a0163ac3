//! The `deal` binary: runs the command the arguments name (the library's
//! `deal::main`) and exits with its code (0 ok, 1 findings, 2 usage or
//! configuration error).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(deal::main());
}
