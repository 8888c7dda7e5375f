//! What `benches/auth.rs` and `benches/peers` share: criterion settings, a counting global
//! allocator, an interleaved (paired) measurement, and the summary table.
//!
//! Each group of paths is measured three ways, in this order:
//! 1. allocations per request, with [`CountingAlloc`] (and the response status checked);
//! 2. criterion, one benchmark after the other (`target/criterion/<group>/<id>`);
//! 3. interleaved: every path of the group in turn, a small batch each, round after round, so the
//!    bare handler and each path see the same machine state; the per-round ratio to the bare
//!    handler (and the time added over bare + crypto floor) is taken as the median over rounds.
//!    On a shared or virtual machine, where the speed drifts by 10–30 % between one criterion
//!    benchmark and the next, this is the figure the targets are judged on.
#![allow(dead_code)]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    convert::Infallible,
    fmt::Write as _,
    hint::black_box,
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
    time::{Duration, Instant, SystemTime},
};

use criterion::{BatchSize, Bencher, Criterion};
use http::{Request, Response, StatusCode};
use tokio::runtime::Runtime;
use tower::{Service, ServiceExt};

/// The system allocator, counting allocations (`alloc`, `alloc_zeroed` and `realloc` calls) and
/// bytes while [`count`] runs; outside it, one relaxed load per call and nothing else, so the
/// timed runs are not slowed by the counting.
pub struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

fn record(size: usize) {
    if COUNTING.load(Relaxed) {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(size as u64, Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to `System`; the counters have no effect on memory.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations and bytes per request of one path.
#[derive(Debug, Clone, Copy, Default)]
pub struct Allocs {
    pub count: f64,
    pub bytes: f64,
}

/// Requests per allocation measurement (after as many unmeasured ones).
pub const ALLOC_REQUESTS: u32 = 1000;

/// Counts the allocations of `run`, per request: `setup(n)` prepares `n` requests (not counted),
/// `run` serves them. A first round is served without counting, so one-time initialisation (lazy
/// statics, pools, thread-locals) is not charged to the path.
pub fn count<B>(mut setup: impl FnMut(u32) -> B, mut run: impl FnMut(B)) -> Allocs {
    if profiling().is_some() {
        return Allocs::default();
    }
    run(setup(ALLOC_REQUESTS));
    let batch = setup(ALLOC_REQUESTS);
    ALLOCS.store(0, Relaxed);
    BYTES.store(0, Relaxed);
    COUNTING.store(true, Relaxed);
    run(batch);
    COUNTING.store(false, Relaxed);
    Allocs {
        count: ALLOCS.load(Relaxed) as f64 / f64::from(ALLOC_REQUESTS),
        bytes: BYTES.load(Relaxed) as f64 / f64::from(ALLOC_REQUESTS),
    }
}

/// `BENCH_PROFILE=<group>/<id>:<n>`: serve `n` requests of that one path and exit, counting
/// nothing and timing nothing else, for a profiler. For instance, instructions per request of the
/// serving alone (request construction excluded):
///
/// ```text
/// BENCH_PROFILE=static/authenticated_user:10000 valgrind --tool=callgrind \
///     --toggle-collect='<tower::util::oneshot::Oneshot<*> as *>::poll' target/release/deps/auth-<hash>
/// ```
///
/// (total instructions ÷ 10 000). For a crypto floor (`<group>/jsonwebtoken_decode`), toggle on
/// `jsonwebtoken::decoding::decode*` instead.
pub fn profiling() -> Option<(String, u32)> {
    let spec = std::env::var("BENCH_PROFILE").ok()?;
    let (path, n) = spec.rsplit_once(':')?;
    Some((path.to_owned(), n.parse().ok()?))
}

/// Whether criterion will measure (`cargo bench`), rather than run each benchmark once
/// (`cargo test --benches`, or the binary without `--bench`).
pub fn benchmarking() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// Where criterion writes its estimates: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`,
/// else `<workspace>/target/criterion` (criterion's own order, without running `cargo metadata`).
pub fn output_directory(workspace: &Path) -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(target) => PathBuf::from(target).join("criterion"),
        None => workspace.join("target").join("criterion"),
    }
}

/// Short, stable settings (the whole suite stays within minutes on two cores): 1 s warm-up,
/// 3 s of measurement, 100 samples; command-line options (`--warm-up-time`, a filter…) win.
pub fn criterion(workspace: &Path) -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(100)
        .without_plots()
        .output_directory(&output_directory(workspace))
        .configure_from_args()
}

/// What a row is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The bare handler of the group: the floor every ratio divides by.
    Bare,
    /// A decode with the JWT library alone, no HTTP: the crypto floor of the group.
    CryptoFloor,
    /// A path through the router.
    Path,
}

/// Serves `n` requests (prepared beforehand, not timed) and returns the time they took.
pub type Runner<'a> = Box<dyn FnMut(u32) -> Duration + 'a>;

/// Runs one criterion benchmark.
pub type Bench<'a> = Box<dyn FnMut(&mut Bencher<'_>) + 'a>;

/// One path of a group, ready to be measured.
pub struct Entry<'a> {
    pub id: String,
    pub label: String,
    pub role: Role,
    pub allocs: Allocs,
    pub runner: Runner<'a>,
    pub bench: Bench<'a>,
}

/// A path through a router (any axum version): `request()` is served by a clone of `app`, as
/// `axum::serve` does per request. Its allocations are counted and its status checked now.
#[allow(clippy::too_many_arguments)]
pub fn router_entry<'a, S, B, RB>(
    rt: &'a Runtime,
    group: &str,
    (id, label, role): (&str, &str, Role),
    app: S,
    request: impl Fn() -> Request<B> + Copy + 'a,
    status: StatusCode,
) -> Entry<'a>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Infallible> + Clone + 'a,
    B: 'a,
    RB: 'a,
{
    let serve = {
        let app = app.clone();
        move |requests: Vec<Request<B>>, responses: &mut Vec<Response<RB>>| {
            rt.block_on(async {
                for request in requests {
                    let response = app.clone().oneshot(request).await.expect("infallible");
                    responses.push(response);
                }
            });
        }
    };
    let mut responses = Vec::with_capacity(ALLOC_REQUESTS as usize);
    let allocs = count(
        |n| (0..n).map(|_| request()).collect::<Vec<_>>(),
        |requests| {
            serve(requests, &mut responses);
            for response in responses.drain(..) {
                assert_eq!(response.status(), status, "{group}/{id}");
            }
        },
    );
    let mut responses = Vec::new();
    let runner = move |n: u32| {
        let requests: Vec<_> = (0..n).map(|_| request()).collect();
        responses.reserve(n as usize);
        let start = Instant::now();
        serve(requests, &mut responses);
        let elapsed = start.elapsed();
        responses.clear();
        elapsed
    };
    let bench = move |b: &mut Bencher<'_>| {
        b.to_async(rt).iter_batched(
            request,
            |request| app.clone().oneshot(request),
            BatchSize::SmallInput,
        );
    };
    Entry {
        id: id.into(),
        label: label.into(),
        role,
        allocs,
        runner: Box::new(runner),
        bench: Box::new(bench),
    }
}

/// The crypto floor: `decode` (the JWT library alone, no HTTP) of the group's token.
pub fn floor_entry<'a, T: 'a>(
    id: &str,
    label: &str,
    decode: impl Fn() -> Result<T, String> + Copy + 'a,
) -> Entry<'a> {
    let allocs = count(
        |_| (),
        |()| {
            for _ in 0..ALLOC_REQUESTS {
                black_box(decode().expect("the token decodes"));
            }
        },
    );
    let runner = move |n: u32| {
        let start = Instant::now();
        for _ in 0..n {
            black_box(decode().expect("the token decodes"));
        }
        start.elapsed()
    };
    let bench = move |b: &mut Bencher<'_>| b.iter(decode);
    Entry {
        id: id.into(),
        label: label.into(),
        role: Role::CryptoFloor,
        allocs,
        runner: Box::new(runner),
        bench: Box::new(bench),
    }
}

/// How long the interleaved measurement of one group runs (after a short warm-up).
pub const INTERLEAVED_BUDGET: Duration = Duration::from_secs(2);

/// Medians over the interleaved rounds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Interleaved {
    pub ns: f64,
    pub ratio: Option<f64>,
    pub added_ns: Option<f64>,
    pub rounds: usize,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

/// Every runner in turn (the first one rotating each round), a batch of `k` requests each, until
/// the budget is spent; `k` is chosen so that the slowest path's batch takes about 100 µs.
fn interleave(entries: &mut [Entry<'_>]) -> Vec<Interleaved> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(300) {
        for entry in entries.iter_mut() {
            (entry.runner)(20);
        }
    }
    let slowest = entries
        .iter_mut()
        .map(|entry| (entry.runner)(20).as_secs_f64() / 20.0)
        .fold(0.0, f64::max);
    let k = ((100e-6 / slowest) as u32).clamp(1, 1000);
    let mut samples = vec![Vec::new(); entries.len()];
    let started = Instant::now();
    let mut round = 0;
    while started.elapsed() < INTERLEAVED_BUDGET && round < 100_000 {
        for i in 0..entries.len() {
            let i = (i + round) % entries.len();
            let elapsed = (entries[i].runner)(k);
            samples[i].push(elapsed.as_secs_f64() * 1e9 / f64::from(k));
        }
        round += 1;
    }
    let bare = entries.iter().position(|entry| entry.role == Role::Bare);
    let floor = entries
        .iter()
        .position(|entry| entry.role == Role::CryptoFloor);
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let ratio = bare.filter(|_| entry.role != Role::CryptoFloor).map(|b| {
                median(
                    samples[i]
                        .iter()
                        .zip(&samples[b])
                        .map(|(t, bare)| t / bare)
                        .collect(),
                )
            });
            let added_ns = match (entry.role, bare, floor) {
                (Role::Path, Some(b), Some(f)) => Some(median(
                    (0..round)
                        .map(|r| samples[i][r] - samples[b][r] - samples[f][r])
                        .collect(),
                )),
                _ => None,
            };
            Interleaved {
                ns: median(samples[i].clone()),
                ratio,
                added_ns,
                rounds: round,
            }
        })
        .collect()
}

/// Measures a group: each entry with criterion, then (when benchmarking and criterion's filter
/// kept at least one entry of the group, unless `BENCH_INTERLEAVED=0`) all of them interleaved;
/// the rows go to `table`.
pub fn run_group(c: &mut Criterion, table: &mut Table, name: &str, mut entries: Vec<Entry<'_>>) {
    if let Some((path, n)) = profiling() {
        if let Some(entry) = entries
            .iter_mut()
            .find(|entry| path == format!("{name}/{}", entry.id))
        {
            let elapsed = (entry.runner)(n);
            println!("profiled {path}: {n} requests in {elapsed:?}");
            std::process::exit(0);
        }
        return;
    }
    let mut ran = vec![false; entries.len()];
    let mut group = c.benchmark_group(name);
    for (entry, ran) in entries.iter_mut().zip(&mut ran) {
        let bench = &mut entry.bench;
        group.bench_function(&entry.id, |b| {
            *ran = true;
            bench(b);
        });
    }
    group.finish();
    let wanted = std::env::var_os("BENCH_INTERLEAVED").is_none_or(|value| value != "0");
    let interleaved = if benchmarking() && wanted && ran.contains(&true) {
        interleave(&mut entries).into_iter().map(Some).collect()
    } else {
        vec![None; entries.len()]
    };
    for (entry, interleaved) in entries.iter().zip(interleaved) {
        table.rows.push(Row {
            group: name.into(),
            id: entry.id.clone(),
            label: entry.label.clone(),
            role: entry.role,
            allocs: entry.allocs,
            interleaved,
        });
    }
}

/// One measured path: criterion's `group/id`, its label in the table, its figures.
#[derive(Debug, Clone)]
pub struct Row {
    pub group: String,
    pub id: String,
    pub label: String,
    pub role: Role,
    pub allocs: Allocs,
    pub interleaved: Option<Interleaved>,
}

/// The rows of one run, in the order they were benchmarked.
#[derive(Debug, Default)]
pub struct Table {
    pub rows: Vec<Row>,
}

impl Table {
    fn bare(&self, group: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|row| row.group == group && row.role == Role::Bare)
    }

    /// The summary as a Markdown table. Columns:
    /// - criterion ns/request: its point estimate for this run (the slope of its linear
    ///   regression, else the mean); estimates older than `started` (another run's) are not used;
    /// - criterion × bare: that estimate over the group's bare handler's;
    /// - interleaved ns/request, × bare (median of the per-round ratios) and, in groups with a
    ///   crypto floor, the time added over bare handler + floor (median per round);
    /// - allocations and bytes per request, and the allocations beyond the bare handler's.
    pub fn markdown(&self, output: &Path, started: SystemTime) -> String {
        let estimate = |row: &Row| read_estimate(output, &row.group, &row.id, started);
        let mut out = String::from(
            "| group | path | criterion ns/req | criterion × bare | interleaved ns/req | interleaved × bare | added over bare + crypto floor | allocs/req | allocs beyond bare | bytes/req |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for row in &self.rows {
            let ns = estimate(row);
            let bare = self.bare(&row.group);
            let criterion_ratio = match (ns, bare.and_then(estimate), row.role) {
                (Some(ns), Some(bare), Role::Path | Role::Bare) => format!("{:.2}×", ns / bare),
                _ => "—".into(),
            };
            let interleaved = row.interleaved;
            let paired_ns = interleaved.map_or_else(|| "—".into(), |i| format!("{:.0}", i.ns));
            let paired_ratio = interleaved
                .and_then(|i| i.ratio)
                .map_or_else(|| "—".into(), |ratio| format!("{ratio:.2}×"));
            let added = interleaved
                .and_then(|i| i.added_ns)
                .map_or_else(String::new, |added| format!("{added:+.0} ns"));
            let beyond = match (row.role, bare) {
                (Role::Path, Some(bare)) => format!("{:+.1}", row.allocs.count - bare.allocs.count),
                _ => "—".into(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {criterion_ratio} | {paired_ns} | {paired_ratio} | {added} | {:.1} | {beyond} | {:.0} |",
                row.group,
                row.label,
                ns.map_or_else(|| "not run".into(), |ns| format!("{ns:.0}")),
                row.allocs.count,
                row.allocs.bytes,
            );
        }
        if let Some(rounds) = self.rows.iter().find_map(|row| row.interleaved) {
            let _ = writeln!(
                out,
                "\nInterleaved: {:?} per group, e.g. {} rounds in the first group.",
                INTERLEAVED_BUDGET, rounds.rounds
            );
        }
        out
    }
}

/// Criterion's point estimate for `group/id` in ns, if this run wrote it.
fn read_estimate(output: &Path, group: &str, id: &str, started: SystemTime) -> Option<f64> {
    let path = output
        .join(report_dir_name(group))
        .join(report_dir_name(id))
        .join("new")
        .join("estimates.json");
    let fresh = std::fs::metadata(&path)
        .and_then(|meta| meta.modified())
        .is_ok_and(|modified| modified >= started);
    if !fresh {
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    ["slope", "mean"]
        .iter()
        .find_map(|which| json[which]["point_estimate"].as_f64())
}

/// Criterion's directory name for a group or benchmark id (its `report::make_filename_safe`).
fn report_dir_name(name: &str) -> String {
    name.replace(['?', '"', '/', '\\', '*', '<', '>', ':', '|', '^'], "_")
}

/// Prints the table, and writes it to `<output>/<name>-summary.md`.
pub fn report(name: &str, table: &Table, output: &Path, started: SystemTime) {
    let markdown = table.markdown(output, started);
    println!("\n== {name}: ns/request (this run) and allocations/request\n\n{markdown}");
    let path = output.join(format!("{name}-summary.md"));
    if std::fs::create_dir_all(output)
        .and_then(|()| std::fs::write(&path, &markdown))
        .is_ok()
    {
        println!("(written to {})", path.display());
    }
}
