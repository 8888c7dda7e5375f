//! The load generator of `scripts/soak.sh`: a fixed-rate HTTP/1.1 client and a junk-token flood,
//! both bounded in time, loopback only, and checking every status code.
//!
//! `cargo build --release --example load_client --features testing,cache`, then:
//!
//! ```text
//! load_client rate  --url http://127.0.0.1:PORT/rs256 [--url …] --token TOKEN
//!                   [--rate 2000] [--seconds 60] [--connections 32] [--expect 200]
//! load_client flood --url http://127.0.0.1:PORT/rs256 --jwt TOKEN --valid TOKEN [--junk TOKEN]…
//!                   [--concurrency 1000] [--timeout 30] [--seed N] [--expect 400,401]
//! ```
//!
//! - `rate` sends `GET <url>` with `Authorization: Bearer <token>` at a fixed rate per URL (an
//!   open loop: request *k* is due at *k*/rate seconds, whatever the answers before it), over a
//!   pool of kept-alive connections (hyper's HTTP/1 client). Latency is measured from the time a
//!   request was due, not from the time it was sent, so a stalled server cannot hide behind a
//!   stalled client (coordinated omission). It prints one Markdown row per URL: requests sent and
//!   answered, the rate achieved, latency percentiles and the status counts.
//! - `flood` opens `concurrency` connections and writes on each a request with a junk credential
//!   (`Connection: close`), all but its final CRLF; once every connection is open and every
//!   partial request written, it sends the final CRLFs together, so that `concurrency` requests
//!   are pending on the server at once, then reads every answer. The junk: random and control
//!   bytes, overlong tokens, malformed JWTs (bad segments, `alg: none`, unknown `kid`, HS256 with
//!   the RSA `kid`, tampered claims or signature, deep nesting), wrong schemes, two headers, none
//!   at all, a token in the query string, and the `--junk` tokens (e.g. expired, another
//!   audience, another route's token). `--jwt` is a valid RS256 token the JWT-shaped junk is
//!   derived from, never sent as is; `--valid` is the route's valid token, sent only under a
//!   wrong scheme or mangled. The requests are written raw, so bytes that no HTTP client library
//!   would send reach the server. It prints the status counts per kind of junk, how many requests
//!   were written and still unanswered at the release, and the time taken.
//!
//! Both exit with status 1 when an answer has a status outside `--expect`, a request gets no
//! answer (connection error, timeout), or the run exceeds its bound; 2 on a usage error. Only
//! loopback URLs (`127.0.0.1`, `localhost`, `[::1]`) are accepted.

use std::{
    collections::BTreeMap,
    env, fmt,
    net::SocketAddr,
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::{
    Request,
    client::conn::http1,
    header::{AUTHORIZATION, HOST},
};
use hyper_util::rt::TokioIo;
use rand::{Rng, SeedableRng, rngs::StdRng};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
    sync::{Barrier, Mutex, mpsc},
    task::JoinSet,
};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// How long one request (connect included) may take before it counts as unanswered.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A loopback `http://` URL, split for raw and hyper requests.
#[derive(Debug, Clone)]
struct Target {
    addr: SocketAddr,
    /// `host:port`, for the `Host` header.
    authority: String,
    /// Path and query.
    path: String,
}

impl Target {
    fn parse(raw: &str) -> Result<Self, Error> {
        let url = url::Url::parse(raw)?;
        if url.scheme() != "http" {
            return Err(format!("{raw}: only http:// URLs").into());
        }
        let host = url.host_str().unwrap_or_default();
        let ip = match host {
            "localhost" => [127, 0, 0, 1].into(),
            _ => host.trim_matches(['[', ']']).parse()?,
        };
        let addr = SocketAddr::new(ip, url.port_or_known_default().unwrap_or(80));
        if !addr.ip().is_loopback() {
            return Err(format!("{raw}: only loopback addresses").into());
        }
        let mut path = url.path().to_owned();
        if let Some(query) = url.query() {
            path.push('?');
            path.push_str(query);
        }
        Ok(Self {
            addr,
            authority: addr.to_string(),
            path,
        })
    }
}

/// Command-line options: `--name value` pairs, some repeated.
struct Options {
    mode: String,
    pairs: Vec<(String, String)>,
}

impl Options {
    fn parse() -> Result<Self, Error> {
        let mut args = env::args().skip(1);
        let mode = args.next().ok_or("no mode: rate or flood")?;
        let mut pairs = Vec::new();
        while let Some(name) = args.next() {
            let name = name
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {name:?}"))?
                .to_owned();
            let value = args
                .next()
                .ok_or_else(|| format!("--{name} needs a value"))?;
            pairs.push((name, value));
        }
        Ok(Self { mode, pairs })
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect()
    }

    fn one(&self, name: &str) -> Result<Option<String>, Error> {
        match self.all(name).as_slice() {
            [] => Ok(None),
            [value] => Ok(Some(value.clone())),
            _ => Err(format!("--{name} given more than once").into()),
        }
    }

    fn required(&self, name: &str) -> Result<String, Error> {
        self.one(name)?
            .ok_or_else(|| format!("--{name} is required").into())
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, Error>
    where
        T::Err: fmt::Display,
    {
        match self.one(name)? {
            None => Ok(default),
            Some(value) => value
                .parse()
                .map_err(|error| format!("--{name} {value:?}: {error}").into()),
        }
    }

    fn expect(&self, default: &[u16]) -> Result<Vec<u16>, Error> {
        match self.one("expect")? {
            None => Ok(default.to_vec()),
            Some(list) => list
                .split(',')
                .map(|code| {
                    code.trim()
                        .parse()
                        .map_err(|error| format!("--expect {code:?}: {error}").into())
                })
                .collect(),
        }
    }

    fn check_known(&self, known: &[&str]) -> Result<(), Error> {
        match self
            .pairs
            .iter()
            .find(|(name, _)| !known.contains(&&**name))
        {
            Some((name, _)) => Err(format!("unknown option --{name}").into()),
            None => Ok(()),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Options::parse() {
        Ok(options) => match options.mode.as_str() {
            "rate" => rate(&options).await,
            "flood" => flood(&options).await,
            other => Err(format!("unknown mode {other:?}: rate or flood").into()),
        },
        Err(error) => Err(error),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("load_client: {error}");
            ExitCode::from(2)
        }
    }
}

/// Status counts as `200×1234 401×3`; `-` when empty.
fn show_statuses(statuses: &BTreeMap<u16, u64>) -> String {
    if statuses.is_empty() {
        return "-".into();
    }
    statuses
        .iter()
        .map(|(status, count)| format!("{status}×{count}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `q` quantile of sorted microseconds, as milliseconds.
fn quantile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

// ---------------------------------------------------------------------------------------------
// rate
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct RateStats {
    statuses: BTreeMap<u16, u64>,
    /// Requests that got no answer: connection errors and timeouts.
    failed: u64,
    /// Requests never sent because the run's bound had passed.
    skipped: u64,
    /// Microseconds from the time each request was due to its full answer.
    latencies_us: Vec<u32>,
    first_error: Option<String>,
}

impl RateStats {
    fn merge(&mut self, other: RateStats) {
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.latencies_us.extend(other.latencies_us);
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

async fn rate(options: &Options) -> Result<bool, Error> {
    options.check_known(&["url", "token", "rate", "seconds", "connections", "expect"])?;
    let urls = options.all("url");
    if urls.is_empty() {
        return Err("--url is required".into());
    }
    let targets = urls
        .iter()
        .map(|url| Target::parse(url))
        .collect::<Result<Vec<_>, _>>()?;
    let token = options.required("token")?;
    let per_second: f64 = options.number("rate", 2000.0)?;
    let seconds: f64 = options.number("seconds", 60.0)?;
    let connections: usize = options.number("connections", 32)?;
    let expect = options.expect(&[200])?;
    if !(per_second > 0.0 && seconds > 0.0 && connections > 0) {
        return Err("--rate, --seconds and --connections must be positive".into());
    }
    let authorization = Arc::<str>::from(format!("Bearer {token}"));
    // Requests still waiting at the deadline are skipped (and fail the run).
    let deadline = Instant::now() + Duration::from_secs_f64(seconds) + 2 * REQUEST_TIMEOUT;

    let mut runs = Vec::new();
    for target in &targets {
        runs.push(tokio::spawn(run_rate(
            target.clone(),
            Arc::clone(&authorization),
            per_second,
            seconds,
            connections,
            deadline,
        )));
    }
    let mut ok = true;
    println!(
        "| route | due | answered | req/s | p50 ms | p99 ms | p99.9 ms | max ms | statuses | no answer |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    for (target, run) in targets.iter().zip(runs) {
        let mut stats = run.await?;
        stats.latencies_us.sort_unstable();
        let answered: u64 = stats.statuses.values().sum();
        let due = answered + stats.failed + stats.skipped;
        let unexpected: u64 = stats
            .statuses
            .iter()
            .filter(|(status, _)| !expect.contains(status))
            .map(|(_, count)| count)
            .sum();
        let max = stats.latencies_us.last().copied().unwrap_or_default();
        println!(
            "| {} | {due} | {answered} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} |",
            target.path,
            answered as f64 / seconds,
            quantile_ms(&stats.latencies_us, 0.50),
            quantile_ms(&stats.latencies_us, 0.99),
            quantile_ms(&stats.latencies_us, 0.999),
            f64::from(max) / 1000.0,
            show_statuses(&stats.statuses),
            stats.failed + stats.skipped,
        );
        if unexpected > 0 || stats.failed > 0 || stats.skipped > 0 || answered == 0 {
            ok = false;
            eprintln!(
                "load_client: {}: {unexpected} answers outside {expect:?}, {} without an answer, {} never sent{}",
                target.path,
                stats.failed,
                stats.skipped,
                stats
                    .first_error
                    .map(|error| format!(" (first error: {error})"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(ok)
}

/// One URL at `per_second` for `seconds`, over `connections` workers.
async fn run_rate(
    target: Target,
    authorization: Arc<str>,
    per_second: f64,
    seconds: f64,
    connections: usize,
    deadline: Instant,
) -> RateStats {
    let (jobs, queue) = mpsc::unbounded_channel::<Instant>();
    let queue = Arc::new(Mutex::new(queue));
    let target = Arc::new(target);
    let mut workers = JoinSet::new();
    for _ in 0..connections {
        workers.spawn(rate_worker(
            Arc::clone(&target),
            Arc::clone(&authorization),
            Arc::clone(&queue),
            deadline,
        ));
    }

    // The pacer: request k is due at start + k / rate.
    let total = (per_second * seconds).round() as u64;
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut queued = 0_u64;
    while queued < total {
        tick.tick().await;
        let due = ((start.elapsed().as_secs_f64() * per_second) as u64 + 1).min(total);
        while queued < due {
            let at = start + Duration::from_secs_f64(queued as f64 / per_second);
            if jobs.send(at).is_err() {
                break;
            }
            queued += 1;
        }
    }
    drop(jobs);

    let mut stats = RateStats::default();
    while let Some(worker) = workers.join_next().await {
        match worker {
            Ok(worker) => stats.merge(worker),
            Err(error) => {
                stats.failed += 1;
                stats.first_error.get_or_insert(error.to_string());
            }
        }
    }
    stats
}

/// Takes due times off the queue and sends one request for each, on one kept-alive connection
/// (reopened after an error).
async fn rate_worker(
    target: Arc<Target>,
    authorization: Arc<str>,
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Instant>>>,
    deadline: Instant,
) -> RateStats {
    let mut stats = RateStats::default();
    let mut connection: Option<http1::SendRequest<Empty<Bytes>>> = None;
    loop {
        let Some(due) = queue.lock().await.recv().await else {
            break;
        };
        if Instant::now() > deadline {
            stats.skipped += 1;
            continue;
        }
        let wait = due.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let answer = tokio::time::timeout(
            REQUEST_TIMEOUT,
            send_one(&target, &authorization, &mut connection),
        )
        .await
        .unwrap_or_else(|_| Err("timed out".into()));
        match answer {
            Ok(status) => {
                *stats.statuses.entry(status).or_default() += 1;
                let micros = due.elapsed().as_micros();
                stats
                    .latencies_us
                    .push(u32::try_from(micros).unwrap_or(u32::MAX));
            }
            Err(error) => {
                connection = None;
                stats.failed += 1;
                stats.first_error.get_or_insert(error.to_string());
            }
        }
    }
    stats
}

async fn send_one(
    target: &Target,
    authorization: &str,
    connection: &mut Option<http1::SendRequest<Empty<Bytes>>>,
) -> Result<u16, Error> {
    if connection.as_ref().is_none_or(|sender| sender.is_closed()) {
        let stream = TcpStream::connect(target.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, driver) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = driver.await;
        });
        *connection = Some(sender);
    }
    let Some(sender) = connection.as_mut() else {
        return Err("no connection".into());
    };
    sender.ready().await?;
    let request = Request::get(target.path.as_str())
        .header(HOST, target.authority.as_str())
        .header(AUTHORIZATION, authorization)
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    response.into_body().collect().await?;
    Ok(status)
}

// ---------------------------------------------------------------------------------------------
// flood
// ---------------------------------------------------------------------------------------------

/// What one flood request got.
struct FloodAnswer {
    kind: &'static str,
    status: Result<u16, String>,
}

async fn flood(options: &Options) -> Result<bool, Error> {
    options.check_known(&[
        "url",
        "jwt",
        "valid",
        "junk",
        "concurrency",
        "timeout",
        "seed",
        "expect",
    ])?;
    let target = Target::parse(&options.required("url")?)?;
    let jwt = options.required("jwt")?;
    let valid = options.required("valid")?;
    let junk_tokens = options.all("junk");
    let concurrency: usize = options.number("concurrency", 1000)?;
    let bound = Duration::from_secs_f64(options.number("timeout", 30.0)?);
    let seed: u64 = options.number(
        "seed",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs()),
    )?;
    let expect = options.expect(&[400, 401])?;
    if concurrency == 0 {
        return Err("--concurrency must be positive".into());
    }

    let junk = Junk::new(&jwt, &valid, junk_tokens)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let requests: Vec<(&'static str, Vec<u8>)> = (0..concurrency)
        .map(|index| junk.request(index, &mut rng, &target))
        .collect();
    let largest = requests
        .iter()
        .map(|(_, bytes)| bytes.len())
        .max()
        .unwrap_or(0);

    let barrier = Arc::new(Barrier::new(concurrency + 1));
    let answered_early = Arc::new(AtomicUsize::new(0));
    let connected = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for (kind, bytes) in requests {
        let barrier = Arc::clone(&barrier);
        let answered_early = Arc::clone(&answered_early);
        let connected = Arc::clone(&connected);
        let addr = target.addr;
        tasks.spawn(async move {
            let connect = tokio::time::timeout(REQUEST_TIMEOUT, TcpStream::connect(addr)).await;
            // Everyone waits at the barrier, connected or not, so nobody waits forever.
            let mut stream = match connect {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    barrier.wait().await;
                    return FloodAnswer {
                        kind,
                        status: Err(format!("connect: {error}")),
                    };
                }
                Err(_) => {
                    barrier.wait().await;
                    return FloodAnswer {
                        kind,
                        status: Err("connect: timed out".into()),
                    };
                }
            };
            connected.fetch_add(1, Ordering::Relaxed);
            // All of the request but its final CRLF now: the server holds a request it cannot
            // answer yet. The CRLF goes out when everyone is ready.
            let (head, tail) = bytes.split_at(bytes.len() - 2);
            let head_written = tokio::time::timeout(REQUEST_TIMEOUT, stream.write_all(head)).await;
            barrier.wait().await;
            let mut answer = Vec::new();
            let mut buffer = [0_u8; 4096];
            if let Ok(n) = stream.try_read(&mut buffer) {
                // The server answered before the end of the request (e.g. 400 for a bad byte).
                answered_early.fetch_add(1, Ordering::Relaxed);
                answer.extend_from_slice(&buffer[..n]);
            }
            let written = match head_written {
                Ok(Ok(())) => stream
                    .write_all(tail)
                    .await
                    .map_err(|error| format!("write: {error}")),
                Ok(Err(error)) => Err(format!("write: {error}")),
                Err(_) => Err("write: timed out".to_owned()),
            };
            let status = read_answer(stream, answer, written).await;
            FloodAnswer { kind, status }
        });
    }

    // Once every connection is open (or has failed), all requests go out together.
    let gathered = tokio::time::timeout(bound, barrier.wait()).await.is_ok();
    let connect_time = started.elapsed();
    let sent_at = Instant::now();
    let mut by_kind: BTreeMap<&'static str, BTreeMap<String, u64>> = BTreeMap::new();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let mut errors = 0_u64;
    let mut first_error = None;
    let mut finished = 0_usize;
    let remaining = bound.saturating_sub(connect_time);
    let drained = tokio::time::timeout(remaining, async {
        while let Some(answer) = tasks.join_next().await {
            finished += 1;
            let Ok(answer) = answer else {
                errors += 1;
                continue;
            };
            let label = match &answer.status {
                Ok(status) => {
                    *statuses.entry(*status).or_default() += 1;
                    status.to_string()
                }
                Err(error) => {
                    errors += 1;
                    first_error.get_or_insert_with(|| format!("{}: {error}", answer.kind));
                    "no answer".to_owned()
                }
            };
            *by_kind
                .entry(answer.kind)
                .or_default()
                .entry(label)
                .or_default() += 1;
        }
    })
    .await
    .is_ok();
    let answer_time = sent_at.elapsed();
    tasks.abort_all();

    println!("| junk kind | requests | answers |");
    println!("|---|---:|---|");
    for (kind, labels) in &by_kind {
        let count: u64 = labels.values().sum();
        let shown = labels
            .iter()
            .map(|(label, count)| format!("{label}×{count}"))
            .collect::<Vec<_>>()
            .join(" ");
        println!("| {kind} | {count} | {shown} |");
    }
    let unexpected: u64 = statuses
        .iter()
        .filter(|(status, _)| !expect.contains(status))
        .map(|(_, count)| count)
        .sum();
    let connected = connected.load(Ordering::Relaxed);
    println!(
        "{}: {concurrency} requests (seed {seed}, largest {largest} bytes), {connected} connections \
         open in {:.2} s, {} requests written and unanswered at release; \
         all answered in {:.2} s after release ({:.2} s in all, bound {:.0} s); \
         statuses {}; {errors} without an answer",
        target.path,
        connect_time.as_secs_f64(),
        connected.saturating_sub(answered_early.load(Ordering::Relaxed)),
        answer_time.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        bound.as_secs_f64(),
        show_statuses(&statuses),
    );
    let mut ok = true;
    if !gathered || !drained {
        ok = false;
        eprintln!(
            "load_client: {}: the flood did not finish within {:.0} s ({finished} of {concurrency} done)",
            target.path,
            bound.as_secs_f64()
        );
    }
    if unexpected > 0 || errors > 0 {
        ok = false;
        eprintln!(
            "load_client: {}: {unexpected} answers outside {expect:?}, {errors} without an answer{}",
            target.path,
            first_error
                .map(|error| format!(" (first: {error})"))
                .unwrap_or_default()
        );
    }
    Ok(ok)
}

/// Reads the rest of the answer (after `answer`, read already) until the server closes, at most
/// 1 MiB; the status of its status line. A failed write still reads: the server may have answered
/// before reading the whole request.
async fn read_answer(
    mut stream: TcpStream,
    mut answer: Vec<u8>,
    written: Result<(), String>,
) -> Result<u16, String> {
    let io = async {
        let mut buffer = [0_u8; 8192];
        let read_error = loop {
            match stream.read(&mut buffer).await {
                Ok(0) => break None,
                Ok(n) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if answer.len() > 1 << 20 {
                        break None;
                    }
                }
                Err(error) => break Some(error),
            }
        };
        match status_of(&answer) {
            Some(status) => Ok(status),
            None => Err(match (written, read_error) {
                (Err(error), _) => error,
                (_, Some(error)) => format!("read: {error}"),
                _ if answer.is_empty() => "closed without an answer".to_owned(),
                _ => format!(
                    "not an HTTP answer: {:?}",
                    String::from_utf8_lossy(&answer[..answer.len().min(40)])
                ),
            }),
        }
    };
    tokio::time::timeout(REQUEST_TIMEOUT * 4, io)
        .await
        .unwrap_or_else(|_| Err("timed out".into()))
}

/// The status code of `HTTP/1.x NNN …`.
fn status_of(answer: &[u8]) -> Option<u16> {
    let rest = answer
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| answer.strip_prefix(b"HTTP/1.0 "))?;
    std::str::from_utf8(rest.get(..3)?).ok()?.parse().ok()
}

/// The junk credentials, derived from a valid JWT and the route's valid token.
struct Junk {
    /// The valid JWT's three segments.
    header: String,
    claims: serde_json::Value,
    /// The claims segment as minted.
    claims_segment: String,
    signature: String,
    kid: String,
    valid: String,
    tokens: Vec<String>,
}

/// The kinds of junk, in the order requests cycle through them.
const KINDS: [&str; 24] = [
    "random printable",
    "random bytes (controls)",
    "obs-text / UTF-8",
    "overlong (> 8 KiB)",
    "overlong JWT",
    "bad segments",
    "alg none",
    "unknown kid",
    "HS256 with the RSA kid",
    "bad signature",
    "tampered claims",
    "header not JSON",
    "deeply nested claims",
    "wrong scheme",
    "scheme alone",
    "tab separator",
    "two headers",
    "no Authorization",
    "empty Authorization",
    "refused tokens (--junk)",
    "token in the query",
    "mangled valid token",
    "truncated JWT",
    "many headers",
];

impl Junk {
    fn new(jwt: &str, valid: &str, tokens: Vec<String>) -> Result<Self, Error> {
        let mut parts = jwt.split('.');
        let (Some(header), Some(claims_segment), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("--jwt is not a compact JWS".into());
        };
        let header_json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header)?)?;
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims_segment)?)?;
        Ok(Self {
            header: header.to_owned(),
            claims,
            claims_segment: claims_segment.to_owned(),
            signature: signature.to_owned(),
            kid: header_json["kid"].as_str().unwrap_or("kid").to_owned(),
            valid: valid.to_owned(),
            tokens,
        })
    }

    /// Appends `Authorization: Bearer <credentials>`.
    fn bearer(lines: &mut Vec<u8>, credentials: &[u8]) {
        lines.extend_from_slice(b"Authorization: Bearer ");
        lines.extend_from_slice(credentials);
        lines.extend_from_slice(b"\r\n");
    }

    fn b64(json: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    fn claims_b64(&self) -> String {
        Self::b64(&self.claims)
    }

    fn random_b64(rng: &mut StdRng, bytes: usize) -> String {
        let raw: Vec<u8> = (0..bytes).map(|_| rng.random()).collect();
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Request `index`: its kind and its raw bytes.
    fn request(&self, index: usize, rng: &mut StdRng, target: &Target) -> (&'static str, Vec<u8>) {
        let kind = KINDS[index % KINDS.len()];
        let variant = index / KINDS.len();
        let mut path = target.path.clone();
        // Header lines after Host and Connection, each ending in CRLF.
        let mut lines: Vec<u8> = Vec::new();
        let bearer = Self::bearer;
        match index % KINDS.len() {
            0 => {
                let len = rng.random_range(1..=200);
                let token: Vec<u8> = (0..len).map(|_| rng.random_range(0x21..=0x7e)).collect();
                bearer(&mut lines, &token);
            }
            1 => {
                // Any byte but CR and LF: NUL, DEL and other controls included.
                let len = rng.random_range(1..=200);
                let token: Vec<u8> = (0..len)
                    .map(|_| {
                        loop {
                            let byte: u8 = rng.random();
                            if byte != b'\r' && byte != b'\n' {
                                break byte;
                            }
                        }
                    })
                    .collect();
                bearer(&mut lines, &token);
            }
            2 => {
                let mut token: Vec<u8> = (0..rng.random_range(1..=100))
                    .map(|_| rng.random_range(0x80..=0xff))
                    .collect();
                token.extend_from_slice("tökén-✓-🔑".as_bytes());
                bearer(&mut lines, &token);
            }
            3 => {
                let len = rng.random_range(8 * 1024 + 1..=64 * 1024);
                bearer(&mut lines, &vec![b'A'; len]);
            }
            4 => {
                let mut claims = self.claims.clone();
                claims["pad"] = "x".repeat(rng.random_range(9 * 1024..=48 * 1024)).into();
                let token = format!("{}.{}.{}", self.header, Self::b64(&claims), self.signature);
                bearer(&mut lines, token.as_bytes());
            }
            5 => {
                let shapes = [
                    "a.b.c",
                    ".",
                    "..",
                    "...",
                    "a.b",
                    "a.b.c.d",
                    "a..c",
                    ".b.",
                    "=.=.=",
                    "eyJ.eyJ.eyJ",
                ];
                bearer(&mut lines, shapes[variant % shapes.len()].as_bytes());
            }
            6 => {
                let header = Self::b64(&serde_json::json!({"alg": "none", "typ": "at+jwt"}));
                let token = format!("{header}.{}.", self.claims_b64());
                bearer(&mut lines, token.as_bytes());
            }
            7 => {
                let kid = format!("junk-{}", Self::random_b64(rng, 9));
                let header =
                    Self::b64(&serde_json::json!({"alg": "RS256", "typ": "at+jwt", "kid": kid}));
                let token = format!(
                    "{header}.{}.{}",
                    self.claims_b64(),
                    Self::random_b64(rng, 256)
                );
                bearer(&mut lines, token.as_bytes());
            }
            8 => {
                let header = Self::b64(
                    &serde_json::json!({"alg": "HS256", "typ": "at+jwt", "kid": self.kid}),
                );
                let token = format!(
                    "{header}.{}.{}",
                    self.claims_b64(),
                    Self::random_b64(rng, 32)
                );
                bearer(&mut lines, token.as_bytes());
            }
            9 => {
                // Change one character in the middle of the signature.
                let mut signature = self.signature.clone().into_bytes();
                let at = rng.random_range(0..signature.len().saturating_sub(2).max(1));
                signature[at] = if signature[at] == b'A' { b'B' } else { b'A' };
                let token = format!(
                    "{}.{}.{}",
                    self.header,
                    self.claims_segment,
                    String::from_utf8_lossy(&signature)
                );
                bearer(&mut lines, token.as_bytes());
            }
            10 => {
                let mut claims = self.claims.clone();
                match variant % 3 {
                    0 => claims["scope"] = "mcp:read mcp:admin".into(),
                    1 => claims["sub"] = "someone-else".into(),
                    _ => claims["exp"] = (i64::from(u32::MAX) * 4).into(),
                }
                let token = format!("{}.{}.{}", self.header, Self::b64(&claims), self.signature);
                bearer(&mut lines, token.as_bytes());
            }
            11 => {
                let header = match variant % 4 {
                    0 => URL_SAFE_NO_PAD.encode("not json"),
                    1 => URL_SAFE_NO_PAD.encode("[\"RS256\"]"),
                    2 => "!!!not-base64!!!".to_owned(),
                    _ => URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","alg":"none"}"#),
                };
                let token = format!("{header}.{}.{}", self.claims_b64(), self.signature);
                bearer(&mut lines, token.as_bytes());
            }
            12 => {
                let depth = 40 + variant % 200;
                let nested = format!(
                    r#"{{"sub":"x","n":{}1{}}}"#,
                    "[".repeat(depth),
                    "]".repeat(depth)
                );
                let token = format!(
                    "{}.{}.{}",
                    self.header,
                    URL_SAFE_NO_PAD.encode(nested),
                    self.signature
                );
                bearer(&mut lines, token.as_bytes());
            }
            13 => {
                let schemes = ["Basic", "Token", "MAC", "Negotiate", "Bearer:", "Bearer="];
                let scheme = schemes[variant % schemes.len()];
                lines.extend_from_slice(
                    format!("Authorization: {scheme} {}\r\n", self.valid).as_bytes(),
                );
            }
            14 => {
                let values = ["Bearer", "Bearer ", "bearer", "BEARER   ", "Bearer,"];
                lines.extend_from_slice(
                    format!("Authorization: {}\r\n", values[variant % values.len()]).as_bytes(),
                );
            }
            15 => {
                lines.extend_from_slice(
                    format!("Authorization: Bearer\t{}\r\n", self.valid).as_bytes(),
                );
            }
            16 => {
                bearer(&mut lines, b"first-junk-token");
                bearer(&mut lines, Self::random_b64(rng, 24).as_bytes());
            }
            17 => {}
            18 => lines.extend_from_slice(b"Authorization: \r\n"),
            19 => match self.tokens.get(variant % self.tokens.len().max(1)) {
                Some(token) => bearer(&mut lines, token.as_bytes()),
                None => bearer(&mut lines, b"no-junk-tokens-given"),
            },
            20 => {
                path.push_str(if path.contains('?') { "&" } else { "?" });
                path.push_str("access_token=");
                path.push_str(&self.valid);
            }
            21 => {
                let token = match variant % 4 {
                    0 => format!("{}x", self.valid),
                    1 => format!("x{}", self.valid),
                    2 => format!("{} x", self.valid),
                    _ => self.valid.to_uppercase(),
                };
                bearer(&mut lines, token.as_bytes());
            }
            22 => {
                let full = format!("{}.{}.{}", self.header, self.claims_segment, self.signature);
                let cut = rng.random_range(1..full.len());
                bearer(&mut lines, &full.as_bytes()[..cut]);
            }
            _ => {
                for n in 0..60 {
                    lines.extend_from_slice(
                        format!("X-Junk-{n}: {}\r\n", Self::random_b64(rng, 12)).as_bytes(),
                    );
                }
                bearer(&mut lines, Self::random_b64(rng, 30).as_bytes());
            }
        }
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            target.authority
        )
        .into_bytes();
        request.extend_from_slice(&lines);
        request.extend_from_slice(b"\r\n");
        (kind, request)
    }
}
