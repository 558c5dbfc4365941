//! Test support: a moto server (the AWS emulator) on a free loopback port.
//!
//! [`MotoServer::start`] runs `python3 tests/moto/launcher.py --port N` (moto with a
//! few documented gaps patched; install it with `pip install -r
//! tests/moto/requirements.txt`), waits until it answers, and kills it on drop. The
//! launcher also exits by itself when its stdin closes, so a server behind
//! [`MotoServer::shared`] (one per test binary, never dropped) ends with the test
//! process. [`MotoServer::sdk_config`] builds an SDK config for this server
//! explicitly (endpoint, region, static credentials), without touching
//! process-global environment variables that parallel tests share.
//!
//! [`FaultProxy::start`] puts `tests/moto/faultproxy.py` in front of a server: it
//! injects throttling, 5xx answers, connection resets and latency at seeded rates,
//! logs every request, and can hold back the answer of one action (so that a test
//! kills the engine after AWS acted and before the engine heard).
//!
//! Environment: `ENGINE_PYTHON` (default `python3`), `ENGINE_MOTO_LAUNCHER` (default
//! the checkout's `tests/moto/launcher.py`, see [`MotoServer::start_with`]).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;

use crate::config::{SdkOptions, load_sdk_config};

/// The region tests use.
pub const REGION: &str = "us-east-1";

/// How the emulator behaves (`tests/moto/launcher.py` documents each behaviour).
#[derive(Clone, Debug, PartialEq)]
pub enum Profile {
    /// Answers at once and forgives: for unit-level provider tests.
    Fast,
    /// AWS's documented behaviour with durations scaled down: creating, modifying
    /// and deleting phases, calls refused while busy, an IAM propagation window,
    /// lists that lag, retired engine versions, EC2 eventual consistency, and
    /// throttling at `throttle_rate` (seeded).
    Realistic {
        /// Multiplies every phase duration of the profile (1.0: RDS creates in
        /// about 6 s).
        scale: f64,
        /// Fraction of calls refused with the service's throttling error.
        throttle_rate: f64,
        /// Seed of the throttling choice.
        seed: u64,
    },
}

impl Profile {
    /// The realistic profile at `scale`, without throttling.
    pub fn realistic(scale: f64) -> Profile {
        Profile::Realistic {
            scale,
            throttle_rate: 0.0,
            seed: 1,
        }
    }

    fn args(&self) -> Vec<String> {
        match self {
            Profile::Fast => Vec::new(),
            Profile::Realistic {
                scale,
                throttle_rate,
                seed,
            } => vec![
                "--realistic".into(),
                format!("--scale={scale}"),
                format!("--throttle-rate={throttle_rate}"),
                format!("--seed={seed}"),
            ],
        }
    }
}

/// A running moto server.
#[derive(Debug)]
pub struct MotoServer {
    process: Helper,
}

/// A Python helper process of `tests/moto/` listening on a loopback port.
#[derive(Debug)]
struct Helper {
    child: Mutex<Child>,
    port: u16,
    log: PathBuf,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[error("{0}\nhint: install the emulator with `pip install -r tests/moto/requirements.txt`")]
pub struct MotoError(String);

impl MotoServer {
    /// Starts a server of its own (fast profile) on a free port and waits until it
    /// answers.
    pub fn start() -> Result<MotoServer, MotoError> {
        MotoServer::start_with(&Profile::Fast)
    }

    /// Starts a server of its own with `profile`.
    pub fn start_with(profile: &Profile) -> Result<MotoServer, MotoError> {
        let process = Helper::spawn("launcher.py", &profile.args(), "/moto-api/data.json")?;
        Ok(MotoServer { process })
    }

    /// One server shared by every test of this process, started on first use.
    pub fn shared() -> Result<&'static MotoServer, MotoError> {
        static SHARED: OnceLock<Result<MotoServer, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| MotoServer::start().map_err(|e| e.0))
            .as_ref()
            .map_err(|e| MotoError(e.clone()))
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.process.port
    }

    /// Its endpoint URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.process.endpoint()
    }

    /// SDK options for this server: endpoint, region, static test credentials, and
    /// quick retries (an unimplemented call answers 500, which the SDK retries).
    pub fn sdk_options(&self) -> SdkOptions {
        SdkOptions {
            region: Some(REGION.into()),
            endpoint_url: Some(self.endpoint()),
            profile: None,
            static_credentials: Some(("testing".into(), "testing".into())),
            max_attempts: Some(2),
            initial_backoff: Some(Duration::from_millis(50)),
            attempt_timeout: Some(Duration::from_secs(30)),
        }
    }

    /// An SDK config for this server (see [`MotoServer::sdk_options`]).
    pub async fn sdk_config(&self) -> SdkConfig {
        load_sdk_config(&self.sdk_options()).await
    }

    /// Clears every resource (`POST /moto-api/reset`). Do not use on a shared
    /// server while other tests run.
    pub fn reset(&self) -> Result<(), MotoError> {
        self.process
            .request("POST", "/moto-api/reset", "")
            .map(|_| ())
    }

    /// `GET` of one of the server's own paths (`/moto-api/...`, and with the
    /// realistic profile `/engine-realistic/profile` and `/engine-realistic/stats`,
    /// the throttling it injected); returns the body.
    pub fn get(&self, path: &str) -> Result<String, MotoError> {
        self.process.request("GET", path, "")
    }
}

/// Faults a [`FaultProxy`] injects, each at a rate in [0, 1] (see
/// `tests/moto/faultproxy.py`).
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// The service's own throttling error.
    pub throttle: f64,
    /// HTTP 500 and 503, alternately.
    pub server_error: f64,
    /// A connection reset without an answer.
    pub reset: f64,
    /// The call is forwarded (AWS acts) and its answer lost: a reset or an HTTP
    /// 500, alternately.
    pub lost_reply: f64,
    /// Extra latency of `latency_ms` on this fraction of calls.
    pub latency_rate: f64,
    /// Milliseconds of extra latency.
    pub latency_ms: u64,
    /// Seed of the choice.
    pub seed: u64,
    /// When not empty, faults go only to calls of these actions (`CreateVpc`).
    pub only: Vec<String>,
}

/// A running `faultproxy.py` in front of a [`MotoServer`]; point the engine at
/// [`FaultProxy::endpoint`]. It logs every request (see [`FaultProxy::requests`]).
#[derive(Debug)]
pub struct FaultProxy {
    process: Helper,
    requests: PathBuf,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` injecting `faults`.
    pub fn start(upstream: &MotoServer, faults: &Faults) -> Result<FaultProxy, MotoError> {
        let requests = std::env::temp_dir().join(format!(
            "engine-faultproxy-{}-{}.jsonl",
            std::process::id(),
            upstream.port()
        ));
        let _ = std::fs::remove_file(&requests);
        let mut args = vec![
            format!("--upstream={}", upstream.endpoint()),
            format!("--throttle={}", faults.throttle),
            format!("--server-error={}", faults.server_error),
            format!("--reset={}", faults.reset),
            format!("--lost-reply={}", faults.lost_reply),
            format!("--latency-rate={}", faults.latency_rate),
            format!("--latency-ms={}", faults.latency_ms),
            format!("--seed={}", faults.seed),
            format!("--log={}", requests.display()),
        ];
        if !faults.only.is_empty() {
            args.push(format!("--only={}", faults.only.join(",")));
        }
        let process = Helper::spawn("faultproxy.py", &args, "/faultproxy/stats")?;
        Ok(FaultProxy { process, requests })
    }

    /// Its endpoint URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.process.endpoint()
    }

    /// What it saw and injected so far (`GET /faultproxy/stats`), as JSON.
    pub fn stats(&self) -> Result<String, MotoError> {
        self.process.request("GET", "/faultproxy/stats", "")
    }

    /// Holds back the answer of the next call of `action` (once).
    pub fn hold(&self, action: &str) -> Result<(), MotoError> {
        self.process
            .request("POST", "/faultproxy/hold", action)
            .map(|_| ())
    }

    /// Lets a held answer go.
    pub fn release(&self) -> Result<(), MotoError> {
        self.process
            .request("POST", "/faultproxy/release", "")
            .map(|_| ())
    }

    /// The request log: one JSON line per request (service, action, method, path,
    /// fault, body).
    pub fn requests(&self) -> &std::path::Path {
        &self.requests
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.requests);
    }
}

impl Helper {
    /// Runs `tests/moto/SCRIPT --port N ARGS` and waits until `ready` answers.
    fn spawn(script: &str, args: &[String], ready: &str) -> Result<Helper, MotoError> {
        let port = free_port().map_err(|e| MotoError(format!("no free port: {e}")))?;
        let python = std::env::var("ENGINE_PYTHON").unwrap_or_else(|_| "python3".into());
        let path = helper_script(script);
        let log = std::env::temp_dir().join(format!("engine-moto-{port}.log"));
        let log_file = std::fs::File::create(&log)
            .map_err(|e| MotoError(format!("{}: {e}", log.display())))?;
        let err_file = log_file.try_clone().map_err(|e| MotoError(e.to_string()))?;
        let child = Command::new(&python)
            .arg(&path)
            .arg("--port")
            .arg(port.to_string())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(log_file)
            .stderr(err_file)
            .spawn()
            .map_err(|e| MotoError(format!("cannot run `{python} {}`: {e}", path.display())))?;
        let helper = Helper {
            child: Mutex::new(child),
            port,
            log,
        };
        helper.wait_ready(ready, Duration::from_secs(60))?;
        Ok(helper)
    }

    fn wait_ready(&self, path: &str, limit: Duration) -> Result<(), MotoError> {
        let start = Instant::now();
        loop {
            if let Ok(mut child) = self.child.lock()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                return Err(MotoError(format!("{path} exited ({status}):\n{log}")));
            }
            if self.request("GET", path, "").is_ok() {
                return Ok(());
            }
            if start.elapsed() > limit {
                return Err(MotoError(format!(
                    "nothing answered {path} on port {} within {limit:?}",
                    self.port
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A minimal HTTP/1.0 request to the helper's own API; returns the body.
    fn request(&self, method: &str, path: &str, body: &str) -> Result<String, MotoError> {
        let io = |e: std::io::Error| MotoError(format!("port {}: {e}", self.port));
        let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).map_err(io)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(io)?;
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .map_err(io)?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).map_err(io)?;
        match answer.split_once("\r\n\r\n") {
            Some((head, body))
                if head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200") =>
            {
                Ok(body.to_string())
            }
            _ => Err(MotoError(format!(
                "port {} answered {path} with: {}",
                self.port,
                answer.lines().next().unwrap_or("")
            ))),
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        if let Ok(child) = self.child.get_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// `tests/moto/SCRIPT` (for the launcher: `ENGINE_MOTO_LAUNCHER` first) of the checkout the test
/// runs in: found from the running test's package directory (cargo sets
/// `CARGO_MANIFEST_DIR` when it runs tests) or the working directory, upwards, so
/// that a build shared by several checkouts (one target dir) runs each one's own
/// launcher; else the checkout this crate was built from.
fn helper_script(script: &str) -> PathBuf {
    let rel = format!("tests/moto/{script}");
    if script == "launcher.py"
        && let Some(p) = std::env::var_os("ENGINE_MOTO_LAUNCHER")
    {
        return PathBuf::from(p);
    }
    let starts = [
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        std::env::current_dir().ok(),
    ];
    starts
        .into_iter()
        .flatten()
        .find_map(|start| {
            start
                .ancestors()
                .map(|d| d.join(&rel))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(&rel)
        })
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}
