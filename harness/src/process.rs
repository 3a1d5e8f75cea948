//! Spawning one child process: a clean environment, its own process group,
//! stdout streamed line by line, stderr captured (capped), a timeout that
//! sends SIGQUIT to the group (Go then dumps every goroutine), waits a grace
//! period and sends SIGKILL, and an optional resident-memory cap.
//!
//! A child that fails, hangs or eats memory is a result here, not an
//! error: [`ChildOutcome`] says what happened. Only a child that cannot be
//! started is an `Err`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A request to stop, shared by whoever may ask (the Ctrl-C handler, a
/// campaign whose journal failed) and everything that must honour it (a
/// child is killed with its process group within ~50 ms and its outcome
/// says so; loops stop taking work). Cloning shares it; [`Cancel::child`]
/// makes one that also stops when this one does, so a campaign can stop
/// its own work without the request looking like the user's. Each command
/// and each test has its own: there is no process-wide flag.
#[derive(Clone, Debug, Default)]
pub struct Cancel(std::sync::Arc<CancelState>);

#[derive(Debug, Default)]
struct CancelState {
    asked: AtomicBool,
    parent: Option<Cancel>,
}

impl Cancel {
    /// A token nobody has cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks everything holding this token (or a child of it) to stop.
    pub fn cancel(&self) {
        self.0.asked.store(true, Ordering::SeqCst);
    }

    /// Whether this token or one it descends from was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.asked.load(Ordering::SeqCst) || self.0.parent.as_ref().is_some_and(Cancel::is_cancelled)
    }

    /// A token cancelled with this one, or on its own.
    pub fn child(&self) -> Cancel {
        Cancel(std::sync::Arc::new(CancelState { asked: AtomicBool::new(false), parent: Some(self.clone()) }))
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct ChildSpec {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its working directory (the harness's when `None`).
    pub cwd: Option<PathBuf>,
    /// Its whole environment: nothing is inherited.
    pub env: BTreeMap<String, String>,
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Between SIGQUIT and SIGKILL on timeout.
    pub grace: Duration,
    /// Kill the child when its resident set exceeds this many bytes.
    pub rss_cap: Option<u64>,
    /// Bytes of stderr kept (the first and last halves).
    pub stderr_cap: usize,
    /// Run the child in a fresh temporary folder of its own (also its
    /// TMPDIR), removed when it ends, instead of `cwd`.
    pub private_cwd: bool,
    /// Give the child a network namespace of its own with only a loopback
    /// interface, where the kernel lets gcfuzz make one (root, or
    /// unprivileged user namespaces); elsewhere it shares the host's.
    pub isolate_network: bool,
    /// The most tasks (processes and threads) the child and everything it
    /// starts may have at once, where a pids cgroup can be made (a fork
    /// storm is contained, and whatever is left is killed at the end).
    pub max_tasks: Option<u32>,
    /// Kills the child (and its group) when cancelled.
    pub cancel: Cancel,
}

impl ChildSpec {
    /// A spec with a 60 s timeout, 2 s grace, 1 MiB of stderr and no memory cap.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        ChildSpec {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            env: BTreeMap::new(),
            timeout: Duration::from_secs(60),
            grace: Duration::from_secs(2),
            rss_cap: None,
            stderr_cap: STDERR_CAP,
            private_cwd: false,
            isolate_network: false,
            max_tasks: None,
            cancel: Cancel::new(),
        }
    }
}

/// Why a run ended: on its own, or stopped by gcfuzz for one reason.
///
/// Serialised as the journal has always spelled it (four fields:
/// `timed_out`, `over_memory`, `interrupted`, `stopped_early`), so
/// journals read both ways; where an old record sets several, the one a
/// crash is classified by wins (interrupted, stopped early, over memory,
/// timed out).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "StopFields", into = "StopFields")]
pub enum StopReason {
    /// It ended by itself (an exit or a signal not sent by gcfuzz).
    #[default]
    Own,
    /// Killed for running past its time (or instruction) budget.
    TimedOut,
    /// Killed for exceeding its memory cap: the bytes it had.
    OverMemory(u64),
    /// Killed because gcfuzz was interrupted (Ctrl-C, a cancelled token).
    Interrupted,
    /// Stopped once gcfuzz had what it needed (early stopping).
    Early,
}

impl StopReason {
    /// Killed for its time budget.
    pub fn timed_out(self) -> bool {
        self == StopReason::TimedOut
    }

    /// The bytes it had when killed for its memory cap.
    pub fn over_memory(self) -> Option<u64> {
        match self {
            StopReason::OverMemory(b) => Some(b),
            _ => None,
        }
    }

    /// Killed because gcfuzz was interrupted.
    pub fn interrupted(self) -> bool {
        self == StopReason::Interrupted
    }

    /// Stopped early, with what it needed.
    pub fn stopped_early(self) -> bool {
        self == StopReason::Early
    }

    /// `timed out`, `over its memory cap`, … for people; `None` when it
    /// ended by itself.
    pub fn describe(self) -> Option<&'static str> {
        match self {
            StopReason::Own => None,
            StopReason::TimedOut => Some("timed out"),
            StopReason::OverMemory(_) => Some("over its memory cap"),
            StopReason::Interrupted => Some("interrupted"),
            StopReason::Early => Some("stopped early"),
        }
    }
}

/// [`StopReason`] as the journal spells it.
#[derive(Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
struct StopFields {
    #[serde(default)]
    timed_out: bool,
    #[serde(default)]
    over_memory: Option<u64>,
    #[serde(default)]
    interrupted: bool,
    #[serde(default)]
    stopped_early: bool,
}

impl From<StopFields> for StopReason {
    fn from(f: StopFields) -> Self {
        match f {
            StopFields { interrupted: true, .. } => StopReason::Interrupted,
            StopFields { stopped_early: true, .. } => StopReason::Early,
            StopFields { over_memory: Some(b), .. } => StopReason::OverMemory(b),
            StopFields { timed_out: true, .. } => StopReason::TimedOut,
            _ => StopReason::Own,
        }
    }
}

impl From<StopReason> for StopFields {
    fn from(s: StopReason) -> Self {
        StopFields {
            timed_out: s.timed_out(),
            over_memory: s.over_memory(),
            interrupted: s.interrupted(),
            stopped_early: s.stopped_early(),
        }
    }
}

/// How the child ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChildOutcome {
    /// Exit code, if it exited.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Whether gcfuzz stopped it, and why.
    pub stop: StopReason,
    /// The highest resident set seen while polling (bytes; 0 if unknown).
    pub peak_rss: u64,
    /// CPU time (user and system, all threads) at the last poll, ms:
    /// what the run kept busy, for the scheduler; `None` if unknown.
    pub cpu_ms: Option<u64>,
    /// Captured stderr (lossy UTF-8; the middle is cut past the cap).
    pub stderr: String,
    /// Wall time, in milliseconds.
    pub wall_ms: u64,
}

impl ChildOutcome {
    /// Exited with code 0, on its own.
    pub fn success(&self) -> bool {
        self.code == Some(0) && matches!(self.stop, StopReason::Own | StopReason::Early)
    }
}

/// The child could not be started.
#[derive(Debug, thiserror::Error)]
#[error("failed to start `{program}`")]
pub struct SpawnError {
    /// The program.
    pub program: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Runs the child to completion. `on_line` sees each stdout line as it
/// arrives (without its newline), on the calling thread.
pub fn run(spec: &ChildSpec, on_line: &mut dyn FnMut(&str)) -> Result<ChildOutcome, SpawnError> {
    run_until(spec, &mut |l| {
        on_line(l);
        false
    })
}

/// Like [`run`], but `on_line` may end the run early by returning true:
/// the child's group is killed and the outcome says `stopped_early`.
pub fn run_until(spec: &ChildSpec, on_line: &mut dyn FnMut(&str) -> bool) -> Result<ChildOutcome, SpawnError> {
    let start = Instant::now();
    // The private folder and the cgroup live until the end of this
    // function (the child and its group are gone by then).
    let Spawned { mut child, private, cgroup } = spawn(spec)?;
    let pid = child.id() as i32;
    let pipes = Pipes::read(&mut child, spec.stderr_cap);
    let mut outcome = ChildOutcome::default();
    let status = watch(spec, &mut child, &pipes, start, on_line, &mut outcome);
    let status = stop(spec, &mut child, pid, status, outcome.stop.timed_out());
    outcome.stderr = pipes.drain(on_line, outcome.stop.stopped_early());
    if let Some(s) = status {
        outcome.code = s.code();
        outcome.signal = s.signal();
    }
    outcome.wall_ms = start.elapsed().as_millis() as u64;
    if let Some(c) = cgroup {
        let refused = c.finish();
        if refused > 0 {
            let note = format!(
                "\ngcfuzz: the task cap of {} was reached ({refused} fork(s) refused)\n",
                spec.max_tasks.unwrap_or(0)
            );
            outcome.stderr.push_str(&note);
        }
    }
    drop(private);
    Ok(outcome)
}

/// A started child and what must outlive it.
struct Spawned {
    child: std::process::Child,
    private: Option<tempfile::TempDir>,
    cgroup: Option<TaskCap>,
}

/// Starts the child: a clean environment, its own process group, its own
/// folder, cgroup and network namespace where asked.
fn spawn(spec: &ChildSpec) -> Result<Spawned, SpawnError> {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .env_clear()
        .envs(&spec.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    // Removed when this function returns (the child and its group are
    // gone by then).
    let private = if spec.private_cwd {
        let dir = tempfile::Builder::new()
            .prefix("gcfuzz-run-")
            .tempdir()
            .map_err(|source| SpawnError { program: spec.program.clone(), source })?;
        cmd.current_dir(dir.path()).env("TMPDIR", dir.path());
        Some(dir)
    } else {
        None
    };
    let cgroup = spec.max_tasks.and_then(TaskCap::new);
    let procs = cgroup.as_ref().and_then(|c| std::ffi::CString::new(c.procs().into_os_string().into_vec()).ok());
    // No child outlives gcfuzz, even one killed with SIGKILL (which no
    // handler sees): the kernel kills the child when its parent goes.
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    let isolate = spec.isolate_network;
    // SAFETY: between fork and exec the closure calls only
    // async-signal-safe functions (prctl, getppid, _exit, unshare, socket,
    // ioctl, close) on memory of its own stack.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(procs) = &procs {
                // Into the task-capped cgroup before exec ("0": this one).
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd >= 0 {
                    libc::write(fd, b"0".as_ptr().cast(), 1);
                    libc::close(fd);
                }
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                // The parent died before the line above: go with it.
                libc::_exit(1);
            }
            if isolate && libc::unshare(libc::CLONE_NEWNET) == 0 {
                loopback_up();
            }
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|source| SpawnError { program: spec.program.clone(), source })?;
    Ok(Spawned { child, private, cgroup })
}

/// Both pipes drained on threads, so a chatty child never blocks on a full
/// pipe while it is watched (ripgrep's `async_stderr` reasoning).
struct Pipes {
    lines: mpsc::Receiver<String>,
    out_thread: std::thread::JoinHandle<()>,
    stderr: mpsc::Receiver<String>,
    err_thread: std::thread::JoinHandle<()>,
}

impl Pipes {
    fn read(child: &mut std::process::Child, stderr_cap: usize) -> Pipes {
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = mpsc::channel::<String>();
        let out_thread = std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Some(line) = read_capped_line(&mut r, LINE_CAP) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (err_tx, stderr_rx) = mpsc::channel::<String>();
        let err_thread = std::thread::spawn(move || {
            let _ = err_tx.send(capture_capped(stderr, stderr_cap));
        });
        Pipes { lines, out_thread, stderr: stderr_rx, err_thread }
    }

    /// Lines that arrived after the watch stopped still count (unless it
    /// stopped on purpose: then the decision stands). The readers end at
    /// end of file. A grandchild that left the group (setsid) can hold the
    /// pipes open for ever: wait a moment, then leave those threads to
    /// finish on their own rather than hang here. Returns stderr.
    fn drain(self, on_line: &mut dyn FnMut(&str) -> bool, stopped_early: bool) -> String {
        let drain_until = Instant::now() + DRAIN;
        loop {
            match self.lines.recv_timeout(drain_until.saturating_duration_since(Instant::now())) {
                Ok(line) if !stopped_early => {
                    on_line(&line);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if self.out_thread.is_finished() {
            let _ = self.out_thread.join();
        }
        let stderr =
            self.stderr.recv_timeout(drain_until.saturating_duration_since(Instant::now())).unwrap_or_default();
        if self.err_thread.is_finished() {
            let _ = self.err_thread.join();
        }
        stderr
    }
}

/// Watches the child until it exits, runs past its deadline or memory
/// cap, is cancelled, or `on_line` says stop; records why in `outcome`.
/// Returns its exit status when it exited.
fn watch(
    spec: &ChildSpec,
    child: &mut std::process::Child,
    pipes: &Pipes,
    start: Instant,
    on_line: &mut dyn FnMut(&str) -> bool,
    outcome: &mut ChildOutcome,
) -> Option<std::process::ExitStatus> {
    let pid = child.id() as i32;
    let mut deadline = start + spec.timeout;
    let mut status = None;
    let mut stdout_open = true;
    let mut last_poll = Instant::now() - Duration::from_secs(1);
    let mut last_turn = Instant::now();
    loop {
        let now = Instant::now();
        // A turn of this loop takes at most ~50 ms. A longer one means
        // gcfuzz itself did not run (SIGSTOP, a paused VM, heavy swapping):
        // that time was not the child's to use up, so the deadline moves
        // by it. The child is judged on the time gcfuzz watched it.
        let turn = now.duration_since(last_turn);
        if turn > STALL {
            deadline += turn;
        }
        last_turn = now;
        if spec.cancel.is_cancelled() {
            outcome.stop = StopReason::Interrupted;
            break;
        }
        if now >= deadline {
            // Exit is checked before the deadline: a child that finished
            // while no one looked has not timed out.
            if let Ok(Some(s)) = child.try_wait() {
                status = Some(s);
                break;
            }
            outcome.stop = StopReason::TimedOut;
            break;
        }
        if now.duration_since(last_poll) >= Duration::from_millis(50) {
            last_poll = now;
            // Exited, whether or not its stdout is closed (a grandchild may
            // hold it open): what it wrote is drained below.
            if let Ok(Some(s)) = child.try_wait() {
                status = Some(s);
                break;
            }
            if let Some(cpu) = cpu_ms_of(pid) {
                outcome.cpu_ms = Some(cpu);
            }
            if let Some(rss) = rss_of(pid) {
                outcome.peak_rss = outcome.peak_rss.max(rss);
                if spec.rss_cap.is_some_and(|cap| rss > cap) {
                    outcome.stop = StopReason::OverMemory(rss);
                    break;
                }
            }
        }
        if stdout_open {
            match pipes.lines.recv_timeout(Duration::from_millis(50).min(deadline - now)) {
                Ok(line) => {
                    if on_line(&line) {
                        outcome.stop = StopReason::Early;
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => stdout_open = false,
            }
        } else {
            match child.try_wait() {
                Ok(Some(s)) => {
                    status = Some(s);
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => break,
            }
        }
    }
    status
}

/// Ends whatever is left of the child: after a timeout SIGQUIT to the
/// group first (a Go program prints all goroutine stacks), then SIGKILL
/// after the grace; in every case SIGKILL to the group at the end, so
/// nothing the child started outlives it.
fn stop(
    spec: &ChildSpec,
    child: &mut std::process::Child,
    pid: i32,
    mut status: Option<std::process::ExitStatus>,
    timed_out: bool,
) -> Option<std::process::ExitStatus> {
    if status.is_none() {
        if timed_out {
            signal_group(pid, libc::SIGQUIT);
            let until = Instant::now() + spec.grace;
            while Instant::now() < until {
                if let Ok(Some(s)) = child.try_wait() {
                    status = Some(s);
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        if status.is_none() {
            signal_group(pid, libc::SIGKILL);
            status = child.wait().ok();
        }
    }
    signal_group(pid, libc::SIGKILL);
    status
}

/// A pids cgroup of one run's own (cgroup v1's `pids` hierarchy, or v2
/// where the pids controller is enabled), removed at the end.
struct TaskCap {
    dir: PathBuf,
}

impl TaskCap {
    /// A new group capped at `max` tasks, or `None` where none can be made
    /// (not root, no pids controller).
    fn new(max: u32) -> Option<TaskCap> {
        // Unique without a global counter: the process id and a random
        // word (RandomState's keys); a clash (odds 2^-64) would fail
        // create_dir, and the run would go uncapped, as where no cgroup
        // can be made.
        let word = std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0u8);
        let name = format!("gcfuzz-{}-{word:016x}", std::process::id());
        for root in ["/sys/fs/cgroup/pids", "/sys/fs/cgroup"] {
            let dir = Path::new(root).join(&name);
            if std::fs::create_dir(&dir).is_err() {
                continue;
            }
            if std::fs::write(dir.join("pids.max"), max.to_string()).is_ok() {
                return Some(TaskCap { dir });
            }
            let _ = std::fs::remove_dir(&dir);
        }
        None
    }

    fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// Kills whatever is left in the group, removes it, and returns how
    /// many forks the cap refused.
    fn finish(self) -> u64 {
        let refused = std::fs::read_to_string(self.dir.join("pids.events"))
            .ok()
            .and_then(|t| t.lines().find_map(|l| l.strip_prefix("max ")).and_then(|n| n.trim().parse().ok()))
            .unwrap_or(0);
        for _ in 0..100 {
            let left: Vec<i32> = std::fs::read_to_string(self.procs())
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect();
            if left.is_empty() && std::fs::remove_dir(&self.dir).is_ok() {
                break;
            }
            for pid in left {
                // SAFETY: kill(2) on a pid of this run's own cgroup.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        refused
    }
}

/// Brings the `lo` interface of the current network namespace up (a new
/// namespace starts with it down). Called between fork and exec.
fn loopback_up() {
    // SAFETY: plain system calls on a zeroed ifreq on this stack frame.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return;
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        req.ifr_ifru.ifru_flags = (libc::IFF_UP | libc::IFF_LOOPBACK | libc::IFF_RUNNING) as libc::c_short;
        libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
        libc::close(fd);
    }
}

fn signal_group(pgid: i32, sig: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; it has
    // no memory-safety preconditions. ESRCH (already gone) is fine.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

/// CPU time a process has used (user + system, every thread), from
/// /proc, in milliseconds.
fn cpu_ms_of(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields after its
    // closing one; utime and stime are fields 14 and 15 of the whole line.
    let rest = &s[s.rfind(')')? + 1..];
    let mut f = rest.split_whitespace().skip(11);
    let ticks = f.next()?.parse::<u64>().ok()? + f.next()?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    Some(ticks * 1000 / if hz > 0 { hz as u64 } else { 100 })
}

/// Resident set of a process from /proc, in bytes.
fn rss_of(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * if page > 0 { page as u64 } else { 4096 })
}

/// The longest stdout line read whole (bytes); the rest of a longer one is
/// dropped, so a child printing gigabytes without a newline cannot exhaust
/// gcfuzz's memory. Probe lines are a few KiB.
pub const LINE_CAP: usize = 1 << 20;

/// How long to wait for the pipes to close after the child's group is gone.
const DRAIN: Duration = Duration::from_secs(2);

/// A turn of the watching loop longer than this means gcfuzz was stopped
/// (its turns take ~50 ms): the deadline moves by the turn.
const STALL: Duration = Duration::from_secs(1);

/// The next line (without its newline), at most `cap` bytes of it kept;
/// `None` at end of file.
fn read_capped_line(r: &mut impl BufRead, cap: usize) -> Option<String> {
    let mut line = Vec::new();
    let mut any = false;
    loop {
        let (used, done) = {
            let buf = match r.fill_buf() {
                Ok(b) => b,
                Err(_) => return None,
            };
            if buf.is_empty() {
                break;
            }
            any = true;
            let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], i + 1),
                None => (buf, 0),
            };
            let room = cap.saturating_sub(line.len());
            line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if done > 0 { (done, true) } else { (buf.len(), false) }
        };
        r.consume(used);
        if done {
            break;
        }
    }
    any.then(|| String::from_utf8_lossy(&line).trim_end_matches('\r').to_string())
}

/// Reads everything, keeping the first and last `cap / 2` bytes.
fn capture_capped(mut r: impl Read, cap: usize) -> String {
    let mut text = CappedText::new(cap);
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push(&buf[..n]),
        }
    }
    text.finish()
}

/// A program's stderr, kept to its first and last `cap / 2` bytes (the
/// cause and the stacks), whoever feeds it: a pipe here, the wasm host's
/// `fd_write` there.
#[derive(Debug)]
pub struct CappedText {
    half: usize,
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    dropped: usize,
}

impl CappedText {
    /// Keeps at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        CappedText { half: cap / 2, head: Vec::new(), tail: Default::default(), dropped: 0 }
    }

    /// Appends bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        let room = self.half.saturating_sub(self.head.len()).min(bytes.len());
        self.head.extend_from_slice(&bytes[..room]);
        for &b in &bytes[room..] {
            self.tail.push_back(b);
            if self.tail.len() > self.half {
                self.tail.pop_front();
                self.dropped += 1;
            }
        }
    }

    /// The text, with a marker where bytes were cut.
    pub fn finish(mut self) -> String {
        let mut s = String::from_utf8_lossy(&self.head).to_string();
        if self.dropped > 0 {
            s.push_str(&format!("\n[… {} bytes of stderr cut …]\n", self.dropped));
        }
        s.push_str(&String::from_utf8_lossy(self.tail.make_contiguous()));
        s
    }
}

/// The stderr cap of a run unless it says otherwise.
pub const STDERR_CAP: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> ChildSpec {
        let mut s = ChildSpec::new("/bin/sh");
        s.args = vec!["-c".into(), script.into()];
        s.env.insert("PATH".into(), "/usr/bin:/bin".into());
        s
    }

    #[test]
    fn a_stop_reason_reads_and_writes_as_the_journal_spells_it() {
        let json = |s: StopReason| serde_json::to_value(s).unwrap();
        assert_eq!(
            json(StopReason::OverMemory(5)),
            serde_json::json!({"timed_out": false, "over_memory": 5, "interrupted": false, "stopped_early": false})
        );
        for s in [
            StopReason::Own,
            StopReason::TimedOut,
            StopReason::OverMemory(7),
            StopReason::Interrupted,
            StopReason::Early,
        ] {
            assert_eq!(serde_json::from_value::<StopReason>(json(s)).unwrap(), s);
        }
        // Older records: fields left out, or several set (the crash
        // classification's order decides).
        let read = |v: serde_json::Value| serde_json::from_value::<StopReason>(v).unwrap();
        assert_eq!(read(serde_json::json!({})), StopReason::Own);
        assert_eq!(read(serde_json::json!({"timed_out": true, "over_memory": 9})), StopReason::OverMemory(9));
        assert_eq!(read(serde_json::json!({"timed_out": true, "interrupted": true})), StopReason::Interrupted);
    }

    #[test]
    fn streams_lines_and_keeps_stderr() {
        let mut lines = Vec::new();
        let o = run(&sh("echo one; echo two; echo oops >&2; exit 3"), &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(lines, ["one", "two"]);
        assert_eq!(o.code, Some(3));
        assert_eq!(o.stderr, "oops\n");
        assert!(!o.stop.timed_out() && !o.success());
    }

    #[test]
    fn the_environment_is_not_inherited() {
        // SAFETY: tests in this module do not read this variable concurrently.
        unsafe { std::env::set_var("GCFUZZ_LEAK_CHECK", "leaked") };
        let mut lines = Vec::new();
        run(&sh("echo \"[$GCFUZZ_LEAK_CHECK]\""), &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(lines, ["[]"]);
    }

    #[test]
    fn a_line_can_stop_the_run() {
        let mut seen = Vec::new();
        let mut s = sh("i=0; while :; do echo $i; i=$((i+1)); sleep 0.01; done");
        s.timeout = Duration::from_secs(20);
        let o = run_until(&s, &mut |l| {
            seen.push(l.to_string());
            l == "3"
        })
        .unwrap();
        assert!(o.stop.stopped_early() && !o.stop.timed_out(), "{o:?}");
        assert_eq!(seen, ["0", "1", "2", "3"]);
        assert!(o.wall_ms < 5000);
    }

    /// Processes whose command line is exactly `args`.
    fn processes_running(args: &[&str]) -> usize {
        let want: Vec<u8> = args.iter().flat_map(|a| a.bytes().chain([0])).collect();
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == want))
            .count()
    }

    #[test]
    fn a_hang_is_killed_with_its_whole_group() {
        // A shell that handles SIGQUIT itself (after its foreground child
        // dies), and a background child it never waits for: both are in the
        // group the timeout signals, neither outlives the run.
        let mut s = sh("trap 'echo got-quit >&2; exit 9' QUIT; sleep 29.7 & sleep 29.8; wait");
        s.timeout = Duration::from_millis(300);
        s.grace = Duration::from_millis(500);
        let t = Instant::now();
        let o = run(&s, &mut |_| {}).unwrap();
        assert!(o.stop.timed_out(), "{o:?}");
        assert!(t.elapsed() < Duration::from_secs(5), "took {:?}", t.elapsed());
        // SIGQUIT first: the shell's trap ran and chose its exit code (or,
        // past the grace, SIGKILL ended it).
        let quit_handled = o.code == Some(9) && o.stderr.contains("got-quit");
        assert!(quit_handled || o.signal == Some(libc::SIGKILL), "{o:?}");
        // The whole group went, the background sleep included (a killed
        // orphan is reaped by init; give it a moment).
        let deadline = Instant::now() + Duration::from_secs(2);
        while processes_running(&["sleep", "29.7"]) + processes_running(&["sleep", "29.8"]) > 0 {
            assert!(Instant::now() < deadline, "a process of the group outlived the kill");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_cancelled_token_kills_the_child_and_only_its_own() {
        // A command's token, a campaign's child of it, and another
        // command's token: cancelling the first stops the child's run and
        // leaves the other's alone (no process-wide flag).
        let command = Cancel::new();
        let campaign = command.child();
        let other = Cancel::new();
        let mut s = sh("sleep 28.9");
        s.timeout = Duration::from_secs(60);
        s.cancel = campaign.clone();
        let t = Instant::now();
        let o = std::thread::scope(|sc| {
            sc.spawn(|| {
                std::thread::sleep(Duration::from_millis(200));
                command.cancel();
            });
            run(&s, &mut |_| {}).unwrap()
        });
        assert!(o.stop.interrupted() && !o.stop.timed_out(), "{o:?}");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(campaign.is_cancelled() && !other.is_cancelled());
        // A child cancelled on its own does not cancel its parent.
        let (a, b) = (Cancel::new(), Cancel::new());
        let c = a.child();
        c.cancel();
        assert!(c.is_cancelled() && !a.is_cancelled() && !b.is_cancelled());
        let mut s = sh("echo ok");
        s.cancel = b;
        assert_eq!(run(&s, &mut |_| {}).unwrap().code, Some(0));
    }

    #[test]
    fn a_harness_that_was_stopped_records_no_false_timeout() {
        // The child prints, finishes its work in 0.2 s and exits; gcfuzz
        // stalls for 2.5 s on the first line (as if SIGSTOPped), past the
        // child's 1 s deadline.
        let mut s = sh("echo first; sleep 0.2; echo done; exit 0");
        s.timeout = Duration::from_secs(1);
        let mut lines = Vec::new();
        let o = run(&s, &mut |l| {
            if lines.is_empty() {
                std::thread::sleep(Duration::from_millis(2500));
            }
            lines.push(l.to_string());
        })
        .unwrap();
        assert!(!o.stop.timed_out(), "{o:?}");
        assert_eq!((o.code, lines.as_slice()), (Some(0), ["first".to_string(), "done".to_string()].as_slice()));
        // A child that really hangs still times out after a stall.
        let mut s = sh("echo first; sleep 30");
        s.timeout = Duration::from_secs(1);
        s.grace = Duration::from_millis(100);
        let t = Instant::now();
        let o = run(&s, &mut |_| std::thread::sleep(Duration::from_millis(1500))).unwrap();
        assert!(o.stop.timed_out(), "{o:?}");
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }

    #[test]
    fn the_cpu_a_child_used_is_read_while_it_runs() {
        // Busy in the shell itself (no child processes), then asleep for a
        // second: CPU well above nothing and a second under the wall time.
        let s = sh("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; sleep 1");
        let o = run(&s, &mut |_| {}).unwrap();
        let cpu = o.cpu_ms.expect("read from /proc");
        assert!(cpu >= 100 && cpu + 800 < o.wall_ms, "{cpu} ms of CPU in {} ms", o.wall_ms);
    }

    #[test]
    fn a_child_that_closes_stdout_and_hangs_still_times_out() {
        let mut s = sh("exec >&-; sleep 30");
        s.timeout = Duration::from_millis(300);
        s.grace = Duration::from_millis(100);
        let o = run(&s, &mut |_| {}).unwrap();
        assert!(o.stop.timed_out());
        assert!(matches!(o.signal, Some(libc::SIGQUIT | libc::SIGKILL)), "{o:?}");
    }

    #[test]
    fn a_memory_hog_is_killed_at_its_cap() {
        // Grows a shell variable until it is killed.
        let mut s = sh("x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done");
        s.rss_cap = Some(64 << 20);
        s.timeout = Duration::from_secs(20);
        let o = run(&s, &mut |_| {}).unwrap();
        assert!(o.stop.over_memory().is_some_and(|m| m > 64 << 20), "{o:?}");
        assert!(o.peak_rss > 64 << 20);
        assert!(!o.stop.timed_out());
    }

    #[test]
    fn stderr_is_capped_in_the_middle() {
        let mut s = sh("i=0; while [ $i -lt 2000 ]; do echo line$i >&2; i=$((i+1)); done");
        s.stderr_cap = 200;
        let o = run(&s, &mut |_| {}).unwrap();
        assert!(o.stderr.starts_with("line0\n"), "{}", o.stderr);
        assert!(o.stderr.trim_end().ends_with("line1999"), "{}", o.stderr);
        assert!(o.stderr.contains("bytes of stderr cut"));
    }

    #[test]
    fn a_line_without_end_is_capped_and_the_next_line_still_arrives() {
        let mut lines = Vec::new();
        let s = sh("head -c 3000000 /dev/zero | tr '\\0' a; echo; echo next");
        let o = run(&s, &mut |l| lines.push(l.len())).unwrap();
        assert_eq!(lines, [LINE_CAP, 4], "{o:?}");
    }

    #[test]
    fn a_grandchild_holding_the_pipes_open_does_not_hang_the_reader() {
        // setsid: the grandchild leaves the group, so the group kill misses
        // it, and it keeps stdout and stderr open for 5 s.
        let s = sh("setsid sleep 5 & echo started; echo oops >&2");
        let mut lines = Vec::new();
        let o = run(&s, &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(lines, ["started"]);
        assert_eq!(o.code, Some(0));
        assert!(o.wall_ms < 4000, "returned after the drain, not after the grandchild: {} ms", o.wall_ms);
    }

    /// Whether this process is root. Not root, a test of what needs it
    /// fails, naming `what`, unless GCFUZZ_SKIP_ROOT_TESTS=1 says to skip
    /// (then it says so on stderr): CI runs as root, and a check that
    /// silently passes where it cannot run checks nothing.
    fn needs_root(what: &str) -> bool {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            return true;
        }
        assert!(
            std::env::var_os("GCFUZZ_SKIP_ROOT_TESTS").is_some_and(|v| v == "1"),
            "this test needs root for {what} (GCFUZZ_SKIP_ROOT_TESTS=1 skips it)"
        );
        eprintln!("SKIPPED: needs root for {what} (GCFUZZ_SKIP_ROOT_TESTS=1)");
        false
    }

    #[test]
    fn a_child_can_have_its_own_folder_and_only_a_loopback_network() {
        let mut s = sh("pwd; echo \"[$TMPDIR]\"; touch here; cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' '");
        s.private_cwd = true;
        s.isolate_network = true;
        let mut lines = Vec::new();
        let o = run(&s, &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(o.code, Some(0), "{o:?}");
        let dir = std::path::PathBuf::from(&lines[0]);
        assert!(lines[0].contains("gcfuzz-run-"), "{lines:?}");
        assert_eq!(lines[1], format!("[{}]", lines[0]));
        assert!(!dir.exists(), "the folder goes with the child");
        // In a namespace of its own the child sees `lo` and nothing else
        // (where the kernel refuses one, it sees the host's interfaces).
        let interfaces = &lines[2..];
        if needs_root("a network namespace") {
            assert_eq!(interfaces, ["lo"], "{lines:?}");
        }
        // That loopback is up there is what patterns 01 and 09 (real TCP on
        // 127.0.0.1) show in the end-to-end tests.
    }

    #[test]
    fn a_fork_storm_is_contained_by_the_task_cap_and_cleaned_up() {
        let mut s = sh("i=0; while [ $i -lt 300 ]; do sleep 37 & i=$((i+1)); done 2>/dev/null; echo forked");
        s.max_tasks = Some(50);
        s.timeout = Duration::from_secs(20);
        let Some(probe) = TaskCap::new(50) else {
            assert!(!needs_root("a pids cgroup"), "root, and no pids cgroup could be made");
            return;
        };
        probe.finish();
        let o = run(&s, &mut |_| {}).unwrap();
        // The shell's fork fails at the cap (it gives up), long before 300.
        assert!(!o.stop.timed_out() && o.wall_ms < 10_000, "{o:?}");
        assert!(o.stderr.contains("the task cap of 50 was reached"), "{}", o.stderr);
        // No `sleep 37` of it is left, and no cgroup.
        assert_eq!(processes_running(&["sleep", "37"]), 0);
        let groups = std::fs::read_dir("/sys/fs/cgroup/pids")
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("gcfuzz-{}-", std::process::id())))
                    .count()
            })
            .unwrap_or(0);
        assert_eq!(groups, 0);
    }

    #[test]
    fn spawn_failure_is_an_error() {
        let e = run(&ChildSpec::new("/nonexistent/prog"), &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/prog"));
    }
}
