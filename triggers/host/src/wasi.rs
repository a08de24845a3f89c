//! The WASI a trigger gets: only what a Rust std guest imports and cannot do without, backed by
//! a context that grants nothing (no environment, arguments or preopens; stdin closed;
//! stdout/stderr discarded). Clocks, filesystem and sockets are not linked at all: a component
//! importing them is refused at deploy time, and nothing a trigger can call blocks.

use wasmtime::component::{HasData, Linker, ResourceTable};
use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
use wasmtime_wasi::p2::bindings::{cli, random, sync};
use wasmtime_wasi::random::WasiRandom;

use crate::call::CallState;

struct HasTable;

impl HasData for HasTable {
    type Data<'a> = &'a mut ResourceTable;
}

pub(crate) fn add_to_linker(l: &mut Linker<CallState>) -> wasmtime::Result<()> {
    sync::io::error::add_to_linker::<CallState, HasTable>(l, |s| s.table())?;
    sync::io::poll::add_to_linker::<CallState, HasTable>(l, |s| s.table())?;
    sync::io::streams::add_to_linker::<CallState, HasTable>(l, |s| s.table())?;
    random::random::add_to_linker::<CallState, WasiRandom>(l, |s| s.random())?;
    random::insecure::add_to_linker::<CallState, WasiRandom>(l, |s| s.random())?;
    random::insecure_seed::add_to_linker::<CallState, WasiRandom>(l, |s| s.random())?;
    cli::exit::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::environment::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::stdin::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::stdout::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::stderr::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_input::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_output::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_stdin::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_stdout::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    cli::terminal_stderr::add_to_linker::<CallState, WasiCli>(l, CallState::cli)?;
    Ok(())
}
