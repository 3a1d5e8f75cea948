//! The wasm backend: cells built with `GOOS=wasip1 GOARCH=wasm` and run
//! inside wasmtime, embedded (nothing to install), deterministic by
//! construction.
//!
//! What makes a run replay bit for bit, and how:
//! - **Time is virtual.** `clock_time_get` reads a clock that advances
//!   only with the instructions executed ([`NS_PER_FUEL`] per unit of
//!   fuel) and with sleeps; `poll_oneoff` (wasmtime-wasi's sleeps in real
//!   time) is replaced by one that moves the clock to the earliest deadline
//!   at once. A 200 ms ticker loop costs microseconds, and Go's scheduler,
//!   pacer and timers see the same times in every run.
//! - **Randomness is seeded.** `random_get` (Go's map hash seeds,
//!   math/rand, crypto/rand) draws from SplitMix64 seeded with the run's
//!   [`RunSpec::seed`].
//! - **Nothing outside**: no preopened directories, no sockets, an empty
//!   stdin; `fd_write` on 1 and 2 is the host's own (stdout goes line by
//!   line to the [`Collector`], stderr to a capped buffer) and on any other
//!   descriptor is `EBADF`.
//! - **One thread.** Go's wasip1 port has no threads (GOMAXPROCS > 1 is
//!   fatal), so the planner never sends such a cell here.
//!
//! Costs and limits become verdicts, never harness errors: fuel is the
//! exact instruction count (per run in the outcome, per round as the
//! `fuel` sample metric); a fuel budget of the run's timeout in virtual
//! nanoseconds is a deterministic `timeout`; a memory cap
//! ([`ResourceLimiter`]) makes Go say "fatal error: out of memory" and is
//! classed `out-of-memory`; an epoch deadline (a ticker thread) is the
//! wall-clock safety net and the Ctrl-C check, the only non-deterministic
//! stop.
//!
//! Compiled modules are cached twice: in memory per program (one
//! [`InstancePre`] per build, shared by every run) and on disk next to the
//! build (`prog.<tag>.cwasm`, the tag hashing wasmtime's version and this
//! engine's compilation settings), so no cell pays Cranelift twice, across
//! processes too. A debug build compiles a Go module in ~30 s, a cached
//! one loads in milliseconds.
//!
//! wasmtime's types stay inside this module.

use crate::build::Target;
use crate::process::{CappedText, STDERR_CAP, StopReason};
use crate::run::{Backend, Collector, RunError, RunOutcome, RunRecord, RunSpec, STOP_NOTE};
use sha2::{Digest, Sha256};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wasmtime::{Caller, Config, Engine, InstancePre, Linker, Module, ResourceLimiter, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;

/// The wasm stack Go gets: its own wasip1 runner (`lib/wasm` in the Go
/// tree) gives 8 MiB; wasmtime's default of 512 KiB overflows on deep
/// recursion.
pub const MAX_WASM_STACK: usize = 8 << 20;
/// The host thread a run executes on: the wasm stack lives on it, plus
/// room for the host functions.
const HOST_STACK: usize = MAX_WASM_STACK + (8 << 20);
/// Virtual nanoseconds per unit of fuel (one wasm operator): a 1 GHz
/// machine that runs one operator per cycle.
pub const NS_PER_FUEL: u64 = 1;
/// The virtual monotonic clock at the first instruction (not zero: code
/// that treats a zero time as "unset" must not see one).
const MONO_START_NS: u64 = 1_000_000_000;
/// The virtual wall clock at the first instruction: 2026-01-01T00:00:00Z.
const WALL_START_NS: u64 = 1_767_225_600_000_000_000;
/// How often the safety-net thread bumps the engine's epoch.
const EPOCH_TICK: Duration = Duration::from_millis(20);
/// The wall-clock safety net: this many times the run's timeout, plus
/// [`NET_SLACK`], so that it only ever catches a host far slower than a
/// virtual nanosecond per instruction, never a normal run.
const NET_FACTOR: u32 = 4;
const NET_SLACK: Duration = Duration::from_secs(10);
/// Where wasm32 memory ends anyway.
const WASM32_MAX: u64 = 4 << 30;
/// The WASI module Go imports.
const WASI: &str = "wasi_snapshot_preview1";

// wasi_snapshot_preview1 errno values.
const ESUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;

/// Counters of the module cache, for reports and the README's numbers.
#[derive(Debug, Default)]
pub struct CacheStats {
    /// Modules compiled by Cranelift (a cache miss).
    pub compiled: AtomicU64,
    /// Modules loaded from a `.cwasm` file.
    pub loaded: AtomicU64,
    /// Milliseconds spent compiling.
    pub compile_ms: AtomicU64,
    /// Milliseconds spent loading.
    pub load_ms: AtomicU64,
}

/// A program's linked module, made once (by whichever run asks first).
type Prepared = Result<InstancePre<State>, String>;

/// The wasm backend. One engine (and one compiled module per program)
/// serves every run; each run gets its own store and instance.
pub struct Wasm {
    engine: Engine,
    linker: Linker<State>,
    tag: String,
    modules: crate::once::OnceMap<PathBuf, Prepared>,
    stop_ticker: Arc<AtomicBool>,
    /// What the module cache did.
    pub cache: CacheStats,
}

impl std::fmt::Debug for Wasm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wasm").field("tag", &self.tag).finish_non_exhaustive()
    }
}

impl Drop for Wasm {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

fn backend_err(message: impl std::fmt::Display) -> RunError {
    RunError::Backend { backend: "wasm", message: message.to_string() }
}

impl Wasm {
    /// The engine (fuel, epochs, Go's stack) and the linker (WASI p1 with
    /// the host's own clocks, sleeps, randomness and writes).
    pub fn new() -> Result<Self, RunError> {
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .epoch_interruption(true)
            .max_wasm_stack(MAX_WASM_STACK)
            // Checked against max_wasm_stack even without async support.
            .async_stack_size(MAX_WASM_STACK + (1 << 20));
        let engine = Engine::new(&config).map_err(|e| backend_err(format!("{e:#}")))?;
        let tag = cache_tag(&engine);
        let mut linker: Linker<State> = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut State| &mut s.wasi)
            .map_err(|e| backend_err(format!("{e:#}")))?;
        linker.allow_shadowing(true);
        add_host_functions(&mut linker).map_err(|e| backend_err(format!("{e:#}")))?;

        let stop_ticker = Arc::new(AtomicBool::new(false));
        let (stop, ticking) = (stop_ticker.clone(), engine.clone());
        std::thread::Builder::new()
            .name("gcfuzz-wasm-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    ticking.increment_epoch();
                }
            })
            .map_err(|e| backend_err(format!("cannot start the epoch thread: {e}")))?;
        Ok(Wasm {
            engine,
            linker,
            tag,
            modules: crate::once::OnceMap::new(),
            stop_ticker,
            cache: CacheStats::default(),
        })
    }

    /// Where the compiled form of `program` is kept.
    pub fn cached_path(&self, program: &Path) -> PathBuf {
        let name = program.file_stem().and_then(|s| s.to_str()).unwrap_or("prog");
        program.with_file_name(format!("{name}.{}.cwasm", self.tag))
    }

    /// The program, compiled (or loaded) once per process.
    fn prepare(&self, program: &Path) -> Result<InstancePre<State>, RunError> {
        self.modules
            .get_or_init(&program.to_path_buf(), || {
                let module = self.module(program)?;
                self.linker.instantiate_pre(&module).map_err(|e| format!("cannot link {}: {e:#}", program.display()))
            })
            .map_err(backend_err)
    }

    /// Loads the cached compiled module, or compiles and caches it.
    fn module(&self, program: &Path) -> Result<Module, String> {
        let cached = self.cached_path(program);
        if cached.exists() {
            let t = Instant::now();
            // SAFETY: the file is one this backend wrote (atomically, in
            // gcfuzz's own cache) for exactly this engine configuration
            // and wasmtime version (both in the file name, and checked by
            // wasmtime against the file's header). A file that fails the
            // check is compiled again.
            if let Ok(m) = unsafe { Module::deserialize_file(&self.engine, &cached) } {
                self.cache.loaded.fetch_add(1, Ordering::Relaxed);
                self.cache.load_ms.fetch_add(t.elapsed().as_millis() as u64, Ordering::Relaxed);
                return Ok(m);
            }
        }
        let t = Instant::now();
        let wasm = std::fs::read(program).map_err(|e| format!("cannot read {}: {e}", program.display()))?;
        let compiled =
            self.engine.precompile_module(&wasm).map_err(|e| format!("cannot compile {}: {e:#}", program.display()))?;
        self.cache.compiled.fetch_add(1, Ordering::Relaxed);
        self.cache.compile_ms.fetch_add(t.elapsed().as_millis() as u64, Ordering::Relaxed);
        // A cache that cannot be written costs time, not correctness.
        let _ = crate::errors::write_atomic(&cached, &compiled);
        // SAFETY: the bytes were produced just now by this engine.
        unsafe { Module::deserialize(&self.engine, &compiled) }.map_err(|e| format!("{e:#}"))
    }

    fn run_here(&self, spec: &RunSpec, pre: &InstancePre<State>) -> Result<RunRecord, RunError> {
        let start = Instant::now();
        // No filesystem: a heap profile has nowhere to go. The record
        // keeps the arguments the program really had.
        let mut spec = spec.clone();
        if let Some(i) = spec.extra_args.iter().position(|a| a == "-heapprofile") {
            spec.extra_args.drain(i..(i + 2).min(spec.extra_args.len()));
        }
        let spec = &spec;
        let argv: Vec<String> = std::iter::once("prog.wasm".to_string()).chain(spec.args()).collect();
        // One thread: GOMAXPROCS > 1 is fatal on wasip1 (the planner skips
        // such cells; a stray one must not kill the run).
        let env: Vec<(String, String)> = spec.env().into_iter().filter(|(k, _)| k != "GOMAXPROCS").collect();
        let wasi = wasmtime_wasi::WasiCtxBuilder::new().args(&argv).envs(&env).build_p1();
        let budget = (spec.timeout.as_nanos() as u64 / NS_PER_FUEL).max(1);
        let cap = spec.rss_cap.unwrap_or(WASM32_MAX);
        let state = State {
            wasi,
            limits: Limits { cap, peak: 0, denied: None },
            host: Host {
                collector: Collector::new(spec),
                line: Vec::new(),
                stderr: CappedText::new(STDERR_CAP),
                slept_ns: 0,
                budget,
                rng: spec.seed,
                stopped: false,
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_fuel(budget).map_err(|e| backend_err(format!("{e:#}")))?;
        let net = spec.timeout * NET_FACTOR + NET_SLACK;
        store.set_epoch_deadline(1);
        // Time gcfuzz did not run (SIGSTOP, a paused VM) is no one's: a
        // tick that comes a second or more late moves the safety net by it,
        // as the native watcher's deadline moves.
        let (mut last_tick, mut stalled) = (Instant::now(), Duration::ZERO);
        let cancel = spec.cancel.clone();
        store.epoch_deadline_callback(move |_| {
            if cancel.is_cancelled() {
                return Err(wasmtime::Error::new(Stop::Interrupted));
            }
            let turn = last_tick.elapsed();
            if turn >= Duration::from_secs(1) {
                stalled += turn;
            }
            last_tick = Instant::now();
            if start.elapsed().saturating_sub(stalled) >= net {
                return Err(wasmtime::Error::new(Stop::WallClock(net)));
            }
            Ok(UpdateDeadline::Continue(1))
        });
        let result = pre
            .instantiate(&mut store)
            .and_then(|i| i.get_typed_func::<(), ()>(&mut store, "_start"))
            .and_then(|f| f.call(&mut store, ()));
        let fuel = budget - store.get_fuel().unwrap_or(0);
        let State { limits, mut host, .. } = store.into_data();
        host.flush_line(fuel, limits.peak);

        let mut outcome = RunOutcome {
            fuel: Some(fuel),
            clock_ns: Some(host.now(fuel) - MONO_START_NS),
            seed: Some(spec.seed),
            peak_rss: limits.peak,
            ..Default::default()
        };
        match result {
            Ok(()) => outcome.code = Some(0),
            Err(e) => {
                if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                    outcome.code = Some(exit.0);
                } else if let Some(stop) = e.downcast_ref::<Stop>() {
                    match stop {
                        Stop::Early => outcome.stop = StopReason::Early,
                        Stop::Interrupted => outcome.stop = StopReason::Interrupted,
                        Stop::WallClock(_) => {
                            outcome.stop = StopReason::TimedOut;
                            host.stderr.push(format!("\n{STOP_NOTE} {stop}\n").as_bytes());
                        }
                    }
                } else if matches!(e.downcast_ref::<Trap>(), Some(Trap::OutOfFuel)) {
                    outcome.stop = StopReason::TimedOut;
                    let note = format!(
                        "\n{STOP_NOTE} its fuel budget of {budget} instructions ({} ms of virtual time) is spent\n",
                        spec.timeout.as_millis()
                    );
                    host.stderr.push(note.as_bytes());
                } else {
                    // A trap of the program itself (stack overflow,
                    // unreachable): a crash, with wasmtime's words.
                    host.stderr.push(format!("\nwasm trap: {e:#}\n").as_bytes());
                }
            }
        }
        // A denied growth is why a run that also ran out of time ended
        // (the order a crash is classified in).
        if let (StopReason::Own | StopReason::TimedOut, Some(bytes)) = (outcome.stop, limits.denied) {
            outcome.stop = StopReason::OverMemory(bytes);
        }
        outcome.stderr = host.stderr.finish();
        outcome.wall_ms = start.elapsed().as_millis() as u64;
        Ok(host.collector.finish(spec, crate::cell::BackendKind::Wasm, outcome))
    }
}

impl Backend for Wasm {
    fn kind(&self) -> crate::cell::BackendKind {
        crate::cell::BackendKind::Wasm
    }

    fn target(&self) -> Target {
        Target::Wasip1
    }

    fn deterministic(&self) -> bool {
        true
    }

    fn run(&self, spec: &RunSpec) -> Result<RunRecord, RunError> {
        let pre = self.prepare(&spec.program)?;
        // The wasm stack lives on the calling thread: give it one big
        // enough, whoever calls.
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("gcfuzz-wasm-run".into())
                .stack_size(HOST_STACK)
                .spawn_scoped(s, || self.run_here(spec, &pre))
                .map_err(|e| backend_err(format!("cannot start a run thread: {e}")))?
                .join()
                .map_err(|_| backend_err("the run thread panicked"))?
        })
    }
}

/// A stop the host asked for (an error that unwinds the guest).
#[derive(Debug)]
enum Stop {
    /// The stop rule decided the run.
    Early,
    /// gcfuzz was interrupted.
    Interrupted,
    /// The wall-clock safety net.
    WallClock(Duration),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Early => f.write_str("stopped early: the samples decided the run"),
            Stop::Interrupted => f.write_str("interrupted"),
            Stop::WallClock(d) => write!(f, "no exit within the wall-clock safety net of {} s", d.as_secs()),
        }
    }
}

impl std::error::Error for Stop {}

/// A store's data.
struct State {
    wasi: WasiP1Ctx,
    limits: Limits,
    host: Host,
}

/// The memory cap, and what the program asked for.
struct Limits {
    cap: u64,
    peak: u64,
    denied: Option<u64>,
}

impl ResourceLimiter for Limits {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let desired = desired as u64;
        if desired > self.cap {
            // Refused: Go reports "fatal error: out of memory" itself.
            self.denied = Some(desired);
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, _desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// The host's side of a run: its output, clock and random stream.
struct Host {
    collector: Collector,
    line: Vec<u8>,
    stderr: CappedText,
    slept_ns: u64,
    budget: u64,
    rng: u64,
    stopped: bool,
}

impl Host {
    /// Virtual nanoseconds since the start, given the fuel used so far.
    fn now(&self, fuel_used: u64) -> u64 {
        MONO_START_NS + fuel_used.saturating_mul(NS_PER_FUEL) + self.slept_ns
    }

    /// Stdout bytes: complete lines go to the collector, each sample with
    /// the fuel used so far and the linear memory's size.
    fn stdout(&mut self, bytes: &[u8], fuel_used: u64, memory: u64) {
        for chunk in bytes.split_inclusive(|&b| b == b'\n') {
            self.line.extend_from_slice(chunk);
            if chunk.ends_with(b"\n") {
                self.flush_line(fuel_used, memory);
            }
        }
    }

    fn flush_line(&mut self, fuel_used: u64, memory: u64) {
        if self.line.is_empty() {
            return;
        }
        if !self.stopped {
            let text = String::from_utf8_lossy(&self.line);
            let text = text.trim_end_matches(['\n', '\r']);
            // Lines after the stop rule fired are not read (as natively:
            // the decision stands).
            self.stopped = self.collector.line_with(text, &[("fuel", fuel_used as f64), ("rss", memory as f64)]);
        }
        self.line.clear();
    }

    /// SplitMix64.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The guest's memory and the host state, for a host function.
fn memory_and_host<'a>(caller: &'a mut Caller<'_, State>) -> Option<(&'a mut [u8], &'a mut Host)> {
    let memory = caller.get_export("memory")?.into_memory()?;
    let (data, state) = memory.data_and_store_mut(caller);
    Some((data, &mut state.host))
}

fn fuel_used(caller: &Caller<'_, State>) -> u64 {
    caller.data().host.budget - caller.get_fuel().unwrap_or(0)
}

fn read_u32(mem: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(mem.get(at..at + 4)?.try_into().ok()?))
}

fn read_u64(mem: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(mem.get(at..at + 8)?.try_into().ok()?))
}

fn write(mem: &mut [u8], at: usize, bytes: &[u8]) -> Option<()> {
    mem.get_mut(at..at + bytes.len())?.copy_from_slice(bytes);
    Some(())
}

/// [`write`] as a WASI result: success, or `EFAULT` outside memory.
fn put(mem: &mut [u8], at: i32, bytes: &[u8]) -> i32 {
    if write(mem, at as u32 as usize, bytes).is_some() { ESUCCESS } else { EFAULT }
}

/// The WASI functions the host owns (shadowing wasmtime-wasi's).
fn add_host_functions(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    linker.func_wrap(
        WASI,
        "fd_write",
        |mut caller: Caller<'_, State>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32| -> wasmtime::Result<i32> {
            let fuel = fuel_used(&caller);
            let Some((mem, host)) = memory_and_host(&mut caller) else { return Ok(EFAULT) };
            let memory = mem.len() as u64;
            let mut bytes = Vec::new();
            for i in 0..iovs_len.max(0) as usize {
                let at = iovs as u32 as usize + 8 * i;
                let (Some(buf), Some(len)) = (read_u32(mem, at), read_u32(mem, at + 4)) else { return Ok(EFAULT) };
                let Some(chunk) = mem.get(buf as usize..buf as usize + len as usize) else { return Ok(EFAULT) };
                bytes.extend_from_slice(chunk);
            }
            match fd {
                1 => host.stdout(&bytes, fuel, memory),
                2 => host.stderr.push(&bytes),
                _ => return Ok(EBADF),
            }
            if put(mem, nwritten, &(bytes.len() as u32).to_le_bytes()) != ESUCCESS {
                return Ok(EFAULT);
            }
            if host.stopped {
                return Err(wasmtime::Error::new(Stop::Early));
            }
            Ok(ESUCCESS)
        },
    )?;
    linker.func_wrap(
        WASI,
        "clock_time_get",
        |mut caller: Caller<'_, State>, id: i32, _precision: i64, out: i32| -> wasmtime::Result<i32> {
            let fuel = fuel_used(&caller);
            let Some((mem, host)) = memory_and_host(&mut caller) else { return Ok(EFAULT) };
            let now = host.now(fuel);
            let t = match id {
                0 => WALL_START_NS + (now - MONO_START_NS),
                // monotonic, process and thread CPU time: one clock (one
                // thread, always running when it asks).
                1..=3 => now,
                _ => return Ok(EINVAL),
            };
            Ok(put(mem, out, &t.to_le_bytes()))
        },
    )?;
    linker.func_wrap(
        WASI,
        "clock_res_get",
        |mut caller: Caller<'_, State>, id: i32, out: i32| -> wasmtime::Result<i32> {
            let Some((mem, _)) = memory_and_host(&mut caller) else { return Ok(EFAULT) };
            if !(0..=3).contains(&id) {
                return Ok(EINVAL);
            }
            Ok(put(mem, out, &NS_PER_FUEL.to_le_bytes()))
        },
    )?;
    linker.func_wrap(
        WASI,
        "random_get",
        |mut caller: Caller<'_, State>, buf: i32, len: i32| -> wasmtime::Result<i32> {
            let Some((mem, host)) = memory_and_host(&mut caller) else { return Ok(EFAULT) };
            let (at, len) = (buf as u32 as usize, len as u32 as usize);
            let Some(out) = mem.get_mut(at..at + len) else { return Ok(EFAULT) };
            for chunk in out.chunks_mut(8) {
                let r = host.next_random().to_le_bytes();
                chunk.copy_from_slice(&r[..chunk.len()]);
            }
            Ok(ESUCCESS)
        },
    )?;
    linker.func_wrap(
        WASI,
        "poll_oneoff",
        |mut caller: Caller<'_, State>, subs: i32, events: i32, n: i32, nevents: i32| -> wasmtime::Result<i32> {
            let fuel = fuel_used(&caller);
            let Some((mem, host)) = memory_and_host(&mut caller) else { return Ok(EFAULT) };
            Ok(poll_oneoff(mem, host, fuel, subs as u32 as usize, events as u32 as usize, n, nevents as u32 as usize))
        },
    )?;
    Ok(())
}

/// `poll_oneoff` on the virtual clock: descriptor subscriptions are ready
/// at once (the only descriptors are stdio); otherwise the clock jumps to
/// the earliest deadline and every clock subscription due by then fires.
fn poll_oneoff(mem: &mut [u8], host: &mut Host, fuel: u64, subs: usize, events: usize, n: i32, nevents: usize) -> i32 {
    const SUB: usize = 48;
    const EVENT: usize = 32;
    const CLOCK: u8 = 0;
    const ABSTIME: u64 = 1;
    if n <= 0 {
        return EINVAL;
    }
    struct Sub {
        userdata: u64,
        tag: u8,
        deadline: u64,
    }
    let now = host.now(fuel);
    let mut all = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        let at = subs + SUB * i;
        let (Some(userdata), Some(&tag)) = (read_u64(mem, at), mem.get(at + 8)) else { return EFAULT };
        let mut deadline = 0;
        if tag == CLOCK {
            let (Some(id), Some(timeout), Some(flags)) =
                (read_u32(mem, at + 16), read_u64(mem, at + 24), mem.get(at + 40).map(|&f| u64::from(f)))
            else {
                return EFAULT;
            };
            deadline = if flags & ABSTIME == 0 {
                now.saturating_add(timeout)
            } else if id == 0 {
                // Realtime: back onto the monotonic timeline.
                timeout.saturating_sub(WALL_START_NS) + MONO_START_NS
            } else {
                timeout
            };
        }
        all.push(Sub { userdata, tag, deadline });
    }
    let ready: Vec<&Sub> = if all.iter().any(|s| s.tag != CLOCK) {
        all.iter().filter(|s| s.tag != CLOCK).collect()
    } else {
        let earliest = all.iter().map(|s| s.deadline).min().unwrap_or(now);
        host.slept_ns += earliest.saturating_sub(now);
        let now = host.now(fuel);
        all.iter().filter(|s| s.deadline <= now).collect()
    };
    for (i, s) in ready.iter().enumerate() {
        let mut e = [0u8; EVENT];
        e[..8].copy_from_slice(&s.userdata.to_le_bytes());
        e[10] = s.tag;
        if write(mem, events + EVENT * i, &e).is_none() {
            return EFAULT;
        }
    }
    if write(mem, nevents, &(ready.len() as u32).to_le_bytes()).is_none() {
        return EFAULT;
    }
    ESUCCESS
}

/// The cache tag: wasmtime's version and everything about the engine
/// that a compiled module depends on (wasmtime's own compatibility hash).
fn cache_tag(engine: &Engine) -> String {
    use std::hash::Hash;
    struct Sha(Sha256);
    impl std::hash::Hasher for Sha {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut h = Sha(Sha256::new());
    "wasmtime-48.0.8".hash(&mut h);
    engine.precompile_compatibility_hash().hash(&mut h);
    let digest = h.0.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(seed: u64) -> Host {
        Host {
            collector: Collector::new(&dummy_spec()),
            line: Vec::new(),
            stderr: CappedText::new(64),
            slept_ns: 0,
            budget: 10,
            rng: seed,
            stopped: false,
        }
    }

    #[test]
    fn splitmix_is_seeded_and_spread() {
        let mut a = host(1);
        let first: Vec<u64> = (0..3).map(|_| a.next_random()).collect();
        a.rng = 1;
        assert_eq!(first, (0..3).map(|_| a.next_random()).collect::<Vec<_>>(), "same seed, same stream");
        a.rng = 2;
        assert_ne!(first[0], a.next_random(), "another seed, another stream");
        assert!(first.windows(2).all(|w| w[0] != w[1]));
    }

    fn dummy_spec() -> RunSpec {
        RunSpec {
            program: "/x.wasm".into(),
            scenario: "t/buggy".into(),
            params: Default::default(),
            knobs: Default::default(),
            rounds: 3,
            gc_per_sample: 0,
            max_wall: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            rss_cap: None,
            extra_args: vec![],
            stop_when: None,
            seed: 0,
            cancel: Default::default(),
        }
    }

    #[test]
    fn poll_advances_the_clock_to_the_earliest_deadline() {
        let mut host = host(0);
        let mut mem = vec![0u8; 1024];
        // Two relative clock subscriptions: 5 ms and 2 ms.
        for (i, (ud, ns)) in [(7u64, 5_000_000u64), (9, 2_000_000)].into_iter().enumerate() {
            let at = 48 * i;
            mem[at..at + 8].copy_from_slice(&ud.to_le_bytes());
            mem[at + 16..at + 20].copy_from_slice(&1u32.to_le_bytes());
            mem[at + 24..at + 32].copy_from_slice(&ns.to_le_bytes());
        }
        assert_eq!(poll_oneoff(&mut mem, &mut host, 100, 0, 200, 2, 400), ESUCCESS);
        assert_eq!(read_u32(&mem, 400), Some(1), "only the 2 ms one is due");
        assert_eq!(read_u64(&mem, 200), Some(9));
        assert_eq!(host.slept_ns, 2_000_000);
        assert_eq!(host.now(100), MONO_START_NS + 100 + 2_000_000);
        // Nothing to wait on is an error, not a hang.
        assert_eq!(poll_oneoff(&mut mem, &mut host, 100, 0, 200, 0, 400), EINVAL);
        // A subscription outside memory is EFAULT.
        assert_eq!(poll_oneoff(&mut mem, &mut host, 100, 1000, 200, 1, 400), EFAULT);
    }
}
