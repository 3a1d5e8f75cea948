//! The LibAFL side: the input type, the mutators, the executor, the
//! observers, the feedbacks and the stage. Every LibAFL generic of gcfuzz
//! lives in this file; the rest of the fuzzer sees [`Engine`].
//!
//! One execution judges one configuration (both variants, with a
//! confirming rerun for native candidates) through [`Target`]. The
//! executor fills the behaviour map observer and hands the judgement to
//! the objective feedback through a second observer; LibAFL's max-map
//! feedback keeps configurations that light new slots. The stage mutates
//! the scheduled entry several times per job, judges the batch in
//! parallel, then lets LibAFL evaluate each mutant from the batch's
//! results, so LibAFL sees every execution and the machine's cores stay
//! busy.

use super::behaviour::MAP_SIZE;
use super::config::RunConfig;
use super::space::{Dice, Space};
use super::target::{Judged, Target};
use libafl::Error;
use libafl::corpus::{Corpus, CorpusId, InMemoryCorpus, InMemoryOnDiskCorpus, Testcase};
use libafl::events::NopEventManager;
use libafl::executors::{Executor, ExitKind, HasObservers};
use libafl::feedbacks::{Feedback, MaxMapFeedback, StateInitializer};
use libafl::fuzzer::{Evaluator, Fuzzer, HasScheduler, StdFuzzer};
use libafl::inputs::Input;
use libafl::mutators::{MutationResult, Mutator, SingleChoiceScheduledMutator};
use libafl::observers::{Observer, StdMapObserver};
use libafl::schedulers::QueueScheduler;
use libafl::stages::{Restartable, Stage};
use libafl::state::{HasCorpus, HasCurrentTestcase, HasExecutions, HasRand, StdState};
use libafl_bolts::Named;
use libafl_bolts::rands::{Rand, StdRand};
use libafl_bolts::tuples::{Handle, Handled, MatchNameRef, RefIndexable, tuple_list, tuple_list_type};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, Mutex};

impl Input for RunConfig {
    /// Readable YAML, a valid `--matrix` file, written atomically (a kill
    /// leaves the old file or the new one, never half of one).
    fn to_file<P: AsRef<Path>>(&self, path: P) -> Result<(), Error> {
        let header = vec![
            "gcfuzz corpus entry: one run configuration, a valid --matrix file".to_string(),
            "replay: gcfuzz run --matrix THIS_FILE".to_string(),
        ];
        crate::errors::write_atomic(path.as_ref(), self.to_yaml(&header)).map_err(|e| Error::unknown(e.to_string()))
    }

    fn from_file<P: AsRef<Path>>(path: P) -> Result<Self, Error> {
        let path = path.as_ref();
        let m = crate::matrix::load_file(path).map_err(|e| Error::illegal_argument(e.to_string()))?;
        RunConfig::from_matrix_raw(&m, path).map_err(|e| Error::illegal_argument(e.to_string()))
    }

    fn generate_name(&self, _id: Option<CorpusId>) -> String {
        format!("{}.yaml", self.digest())
    }
}

/// LibAFL's random source as a [`Dice`].
struct Roll<'r, R: Rand>(&'r mut R);

impl<R: Rand> Dice for Roll<'_, R> {
    fn below(&mut self, n: usize) -> usize {
        self.0.below(NonZeroUsize::new(n.max(1)).expect("n >= 1"))
    }
}

/// The state: the queue in memory and on disk, findings in memory (the
/// engine's owner saves them once confirmed and minimised).
pub type FuzzState = StdState<InMemoryOnDiskCorpus<RunConfig>, RunConfig, StdRand, InMemoryCorpus<RunConfig>>;

/// The behaviour map observer.
type MapObs = StdMapObserver<'static, u8, false>;

/// Hands the executor's judgement to the feedbacks.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct JudgedObserver {
    last: Option<Judged>,
}

impl Named for JudgedObserver {
    fn name(&self) -> &Cow<'static, str> {
        static NAME: Cow<'static, str> = Cow::Borrowed("judged");
        &NAME
    }
}

impl<I, S> Observer<I, S> for JudgedObserver {
    fn pre_exec(&mut self, _: &mut S, _: &I) -> Result<(), Error> {
        self.last = None;
        Ok(())
    }
}

type Observers = tuple_list_type!(MapObs, JudgedObserver);

/// Judges configurations; serves a batch's judgements when the stage has
/// made them already.
pub struct ConfigExecutor<'t, 'a> {
    target: &'t Target<'a>,
    observers: Observers,
    map: Handle<MapObs>,
    judged: Handle<JudgedObserver>,
    ready: HashMap<String, Judged>,
    jobs: usize,
}

impl<'t, 'a> ConfigExecutor<'t, 'a> {
    /// Judges `configs` in parallel for the evaluations that follow.
    fn prefetch(&mut self, configs: &[RunConfig]) {
        for j in self.target.judge_all(configs, self.jobs) {
            self.ready.insert(j.config.to_yaml(&[]), j);
        }
    }
}

impl<EM, Z> Executor<EM, RunConfig, FuzzState, Z> for ConfigExecutor<'_, '_> {
    fn run_target(
        &mut self,
        _: &mut Z,
        state: &mut FuzzState,
        _: &mut EM,
        input: &RunConfig,
    ) -> Result<ExitKind, Error> {
        *state.executions_mut() += 1;
        let judged = match self.ready.remove(&input.to_yaml(&[])) {
            Some(j) => j,
            None => self.target.judge(input),
        };
        if judged.interrupted() || self.target.cancel.is_cancelled() {
            return Err(Error::shutting_down());
        }
        let map = self.observers.get_mut(&self.map).expect("the map observer");
        for &s in &judged.slots {
            map[s] = 1;
        }
        let exit = match judged.first.fixed.as_ref().map(|v| v.status) {
            Some(crate::verdict::Presence::Crash) => ExitKind::Crash,
            Some(crate::verdict::Presence::Timeout) => ExitKind::Timeout,
            _ => ExitKind::Ok,
        };
        self.observers.get_mut(&self.judged).expect("the judged observer").last = Some(judged);
        Ok(exit)
    }
}

impl HasObservers for ConfigExecutor<'_, '_> {
    type Observers = Observers;
    fn observers(&self) -> RefIndexable<&Observers, Observers> {
        RefIndexable::from(&self.observers)
    }
    fn observers_mut(&mut self) -> RefIndexable<&mut Observers, Observers> {
        RefIndexable::from(&mut self.observers)
    }
}

/// Every judgement the executor made, for the engine's owner: errors,
/// objectives and progress are read from here.
#[derive(Default)]
pub struct Inbox {
    /// Judgements with a confirmed objective, not yet taken, each with the
    /// number of executions LibAFL had made when it was evaluated (itself
    /// included): what "found after" reports.
    pub findings: Vec<(Judged, u64)>,
    /// Executions whose build or run could not happen.
    pub errors: u64,
    /// Executions whose first judgement the run cap cut.
    pub slow: u64,
    /// The last error, for people.
    pub last_error: Option<String>,
}

/// A solution is a judgement with a confirmed objective.
pub struct ObjectiveFeedback {
    judged: Handle<JudgedObserver>,
    inbox: Arc<Mutex<Inbox>>,
}

impl Named for ObjectiveFeedback {
    fn name(&self) -> &Cow<'static, str> {
        static NAME: Cow<'static, str> = Cow::Borrowed("objective");
        &NAME
    }
}

impl<S> StateInitializer<S> for ObjectiveFeedback {}

impl<EM, I, OT: MatchNameRef, S: HasExecutions> Feedback<EM, I, OT, S> for ObjectiveFeedback {
    fn is_interesting(
        &mut self,
        state: &mut S,
        _: &mut EM,
        _: &I,
        observers: &OT,
        _: &ExitKind,
    ) -> Result<bool, Error> {
        let Some(j) = observers.get(&self.judged).and_then(|o| o.last.as_ref()) else { return Ok(false) };
        let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
        if j.cut {
            inbox.slow += 1;
        }
        if let Some(e) = j.error() {
            inbox.errors += 1;
            inbox.last_error = Some(e.to_string());
        }
        if j.objectives.is_empty() {
            return Ok(false);
        }
        inbox.findings.push((j.clone(), *state.executions()));
        Ok(true)
    }
}

/// The structure-aware mutations, one LibAFL mutator each.
macro_rules! config_mutator {
    ($name:ident, $label:literal, |$space:ident, $c:ident, $d:ident| $body:expr) => {
        /// A mutation of the configuration (see [`Space`]).
        pub struct $name(Arc<Space>);
        impl Named for $name {
            fn name(&self) -> &Cow<'static, str> {
                static NAME: Cow<'static, str> = Cow::Borrowed($label);
                &NAME
            }
        }
        impl<S: HasRand> Mutator<RunConfig, S> for $name {
            fn mutate(&mut self, state: &mut S, input: &mut RunConfig) -> Result<MutationResult, Error> {
                let before = input.clone();
                {
                    let $space = &*self.0;
                    let $c = &mut *input;
                    let $d = &mut Roll(state.rand_mut());
                    $body;
                    $space.normalize($c);
                }
                Ok(if *input == before { MutationResult::Skipped } else { MutationResult::Mutated })
            }
            fn post_exec(&mut self, _: &mut S, _: Option<CorpusId>) -> Result<(), Error> {
                Ok(())
            }
        }
    };
}

config_mutator!(KnobMutator, "knob", |s, c, d| s.mutate_knob(c, d));
config_mutator!(ParamMutator, "param", |s, c, d| {
    if !s.mutate_param(c, d) {
        s.mutate_knob(c, d)
    }
});
config_mutator!(StressMutator, "stress", |s, c, d| s.mutate_stress(c, d));
config_mutator!(LoadMutator, "load", |s, c, d| s.mutate_load(c, d));
config_mutator!(VersionMutator, "version", |s, c, d| s.mutate_version(c, d));
config_mutator!(RunMutator, "rounds-trials", |s, c, d| s.mutate_run(c, d));

/// Splices the configuration with another corpus entry.
pub struct SpliceMutator(Arc<Space>);

impl Named for SpliceMutator {
    fn name(&self) -> &Cow<'static, str> {
        static NAME: Cow<'static, str> = Cow::Borrowed("splice");
        &NAME
    }
}

impl<S: HasRand + HasCorpus<RunConfig>> Mutator<RunConfig, S> for SpliceMutator {
    fn mutate(&mut self, state: &mut S, input: &mut RunConfig) -> Result<MutationResult, Error> {
        let n = state.corpus().count();
        if n < 2 {
            return Ok(MutationResult::Skipped);
        }
        let nth = state.rand_mut().below(NonZeroUsize::new(n).expect("n >= 2"));
        let id = state.corpus().nth(nth);
        let other = state.corpus().cloned_input_for_id(id)?;
        let spliced = self.0.splice(input, &other, &mut Roll(state.rand_mut()));
        if spliced == *input {
            return Ok(MutationResult::Skipped);
        }
        *input = spliced;
        Ok(MutationResult::Mutated)
    }
    fn post_exec(&mut self, _: &mut S, _: Option<CorpusId>) -> Result<(), Error> {
        Ok(())
    }
}

type Mutators = SingleChoiceScheduledMutator<
    tuple_list_type!(
        KnobMutator,
        KnobMutator,
        ParamMutator,
        ParamMutator,
        LoadMutator,
        StressMutator,
        VersionMutator,
        RunMutator,
        SpliceMutator
    ),
>;

/// Mutants per judgement slot in a batch. Judgements vary in cost by
/// orders of magnitude (a parameter drawn at the top of its range), so a
/// batch of one mutant per slot leaves a core idle behind its slowest
/// judgement; with several per slot the slots stay busy from one shared
/// queue (`Target::judge_all`).
const MUTANTS_PER_JOB: usize = 4;

/// Mutates the scheduled entry [`MUTANTS_PER_JOB`] times per job (one or
/// two mutations each, never a configuration already judged; one mutant
/// with one job), judges the batch in parallel, then evaluates each
/// mutant.
pub struct BatchStage {
    mutator: Mutators,
    space: Arc<Space>,
    /// Mutants per batch.
    batch: usize,
    seen: HashSet<String>,
}

impl<'t, 'a, Z> Stage<ConfigExecutor<'t, 'a>, NopEventManager, FuzzState, Z> for BatchStage
where
    Z: Evaluator<ConfigExecutor<'t, 'a>, NopEventManager, RunConfig, FuzzState>,
{
    fn perform(
        &mut self,
        fuzzer: &mut Z,
        executor: &mut ConfigExecutor<'t, 'a>,
        state: &mut FuzzState,
        manager: &mut NopEventManager,
    ) -> Result<(), Error> {
        let parent = state.current_input_cloned()?;
        let mut batch = Vec::new();
        for _ in 0..self.batch * 25 {
            if batch.len() >= self.batch {
                break;
            }
            let mut c = parent.clone();
            let stack = if state.rand_mut().coinflip(0.3) { 2 } else { 1 };
            for _ in 0..stack {
                self.mutator.mutate(state, &mut c)?;
            }
            self.space.normalize(&mut c);
            if self.seen.insert(c.to_yaml(&[])) {
                batch.push(c);
            }
        }
        executor.prefetch(&batch);
        for c in &batch {
            let (_, id) = fuzzer.evaluate_input(state, executor, manager, c)?;
            self.mutator.post_exec(state, id)?;
        }
        Ok(())
    }
}

impl<S> Restartable<S> for BatchStage {
    fn should_restart(&mut self, _: &mut S) -> Result<bool, Error> {
        // A stage cut short by a kill is simply run again: it only reads
        // the corpus, and judged configurations are not kept.
        Ok(true)
    }
    fn clear_progress(&mut self, _: &mut S) -> Result<(), Error> {
        Ok(())
    }
}

type Fuzz = StdFuzzer<
    QueueScheduler,
    MaxMapFeedback<MapObs, MapObs>,
    libafl::inputs::BytesInputConverter,
    libafl::fuzzer::NopInputFilter,
    ObjectiveFeedback,
>;

/// One pattern's fuzzing machinery, assembled.
pub struct Engine<'t, 'a> {
    fuzzer: Fuzz,
    executor: ConfigExecutor<'t, 'a>,
    state: FuzzState,
    stages: tuple_list_type!(BatchStage),
    manager: NopEventManager,
    /// What the executor and the feedbacks report.
    pub inbox: Arc<Mutex<Inbox>>,
}

fn add_to_schedule(fuzzer: &mut Fuzz, state: &mut FuzzState, id: CorpusId) -> Result<(), Error> {
    let scheduler = <Fuzz as HasScheduler<RunConfig, FuzzState>>::scheduler_mut(fuzzer);
    <QueueScheduler as libafl::schedulers::Scheduler<RunConfig, FuzzState>>::on_add(scheduler, state, id)
}

/// Queue entries that could not be read back, with why.
pub type Unreadable = Vec<(std::path::PathBuf, String)>;

impl<'t, 'a> Engine<'t, 'a> {
    /// Assembles the machinery for `target` over `space`, with the queue
    /// in `queue_dir` (entries already there join the corpus without
    /// being judged again: a restart continues where the last run
    /// stopped), `jobs` judgements at a time, LibAFL's random source
    /// seeded with `seed`.
    pub fn new(
        target: &'t Target<'a>,
        space: Space,
        queue_dir: &Path,
        jobs: usize,
        seed: u64,
        patterns: &[crate::template::Pattern],
    ) -> Result<(Self, Unreadable), Error> {
        let map_observer = StdMapObserver::owned("behaviour", vec![0u8; MAP_SIZE]);
        let judged_observer = JudgedObserver::default();
        let mut feedback = MaxMapFeedback::new(&map_observer);
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let mut objective = ObjectiveFeedback { judged: judged_observer.handle(), inbox: inbox.clone() };
        let executor = ConfigExecutor {
            target,
            map: map_observer.handle(),
            judged: judged_observer.handle(),
            observers: tuple_list!(map_observer, judged_observer),
            ready: HashMap::new(),
            jobs: jobs.max(1),
        };
        // No metadata files, no lock files: the queue folder holds only
        // the YAML entries people read.
        let corpus = InMemoryOnDiskCorpus::with_meta_format_and_prefix(queue_dir, None, None, false)?;
        let mut state =
            StdState::new(StdRand::with_seed(seed), corpus, InMemoryCorpus::new(), &mut feedback, &mut objective)?;
        let mut fuzzer = StdFuzzer::new(QueueScheduler::new(), feedback, objective);
        let space = Arc::new(space);
        let mut unreadable = Vec::new();
        for (path, read) in super::read_configs(queue_dir, patterns) {
            match read {
                Ok(c) if c.pattern == target.pattern.id => {
                    let mut tc = Testcase::new(c);
                    *tc.file_path_mut() = Some(path.clone());
                    *tc.filename_mut() = path.file_name().map(|n| n.to_string_lossy().into_owned());
                    let id = state.corpus_mut().add(tc)?;
                    add_to_schedule(&mut fuzzer, &mut state, id)?;
                }
                Ok(c) => unreadable.push((path, format!("a configuration of `{}`", c.pattern))),
                Err(e) => unreadable.push((path, e.to_string())),
            }
        }
        let stage = BatchStage {
            mutator: SingleChoiceScheduledMutator::new(tuple_list!(
                KnobMutator(space.clone()),
                KnobMutator(space.clone()),
                ParamMutator(space.clone()),
                ParamMutator(space.clone()),
                LoadMutator(space.clone()),
                StressMutator(space.clone()),
                VersionMutator(space.clone()),
                RunMutator(space.clone()),
                SpliceMutator(space.clone())
            )),
            space,
            batch: if jobs > 1 { jobs * MUTANTS_PER_JOB } else { 1 },
            seen: HashSet::new(),
        };
        Ok((
            Engine { fuzzer, executor, state, stages: tuple_list!(stage), manager: NopEventManager::new(), inbox },
            unreadable,
        ))
    }

    /// Judges the seeds (in parallel) and lets LibAFL keep those that
    /// light new slots; a corpus still empty afterwards takes the seeds
    /// as they are, so there is always something to mutate.
    pub fn seed(&mut self, seeds: &[RunConfig]) -> Result<(), Error> {
        let fresh: Vec<RunConfig> =
            seeds.iter().filter(|s| self.stages.0.seen.insert(s.to_yaml(&[]))).cloned().collect();
        self.executor.prefetch(&fresh);
        for s in &fresh {
            self.fuzzer.evaluate_input(&mut self.state, &mut self.executor, &mut self.manager, s)?;
        }
        if self.state.corpus().count() == 0 {
            for s in seeds {
                let id = self.state.corpus_mut().add(Testcase::new(s.clone()))?;
                add_to_schedule(&mut self.fuzzer, &mut self.state, id)?;
            }
        }
        Ok(())
    }

    /// One round of LibAFL's loop: schedule an entry, judge a batch of
    /// its mutants.
    pub fn step(&mut self) -> Result<(), Error> {
        self.fuzzer.fuzz_one(&mut self.stages, &mut self.executor, &mut self.state, &mut self.manager)?;
        Ok(())
    }

    /// Executions so far.
    pub fn executions(&self) -> u64 {
        *self.state.executions()
    }

    /// Queue entries.
    pub fn corpus_len(&self) -> usize {
        self.state.corpus().count()
    }
}
