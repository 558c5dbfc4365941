//! `engine`: infrastructure as code with sandboxed WebAssembly plugins.
//!
//! # Layout
//! - `main`: the command line (clap) and exit codes.
//! - `backend`: where each stack's state lives (`--state`, the config key
//!   `state`), the S3 backend and `--lock-timeout`.
//! - `config`: `engine.toml` and overrides.
//! - `facts`: what the host reads from AWS for the plugins before they declare
//!   (the region's availability zones).
//! - `load`: loading plugins and merging their declarations.
//! - `commands`: one module per subcommand.
//! - `ui`: colour and diagnostics on stderr (stdout is for data).

mod backend;
mod commands;
mod config;
mod facts;
mod load;
mod stacks;
mod ui;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Exit codes a CI job can rely on.
pub mod exit {
    /// Success; with `--detailed-exitcode`, also "no changes".
    pub const OK: u8 = 0;
    /// An error (bad input, a failing plugin, an AWS error).
    pub const ERROR: u8 = 1;
    /// With `--detailed-exitcode`: success, and there are changes.
    pub const CHANGES: u8 = 2;
}

const ABOUT: &str = "Infrastructure as code with sandboxed WebAssembly plugins.

Each stack component is a WebAssembly component plugin that declares resources through
a typed WIT interface; the engine validates them, plans the changes, and makes the AWS
calls itself. Plugins run sandboxed: no files, network, clock or environment, a time
limit on every call and a memory cap.";

const AFTER_HELP: &str = "Examples:
  engine plan plugins/*.wasm              what would change
  engine validate plugins/*.wasm          check plugins and references only
  engine build plugins                    build the plugin crates into components

Configuration comes from ./engine.toml ([stack] name, region, environment; [config]
values for plugins; [limits] for the sandbox), overridden by flags.
Logs go to stderr (more with -v or ENGINE_LOG=debug); data goes to stdout.";

#[derive(Parser)]
#[command(name = "engine", version, about = ABOUT, after_help = AFTER_HELP, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More logging on stderr: -v info, -vv debug, -vvv trace, of the engine's own
    /// crates (-vv adds the AWS SDK's info, -vvv its debug: attempts and retries);
    /// ENGINE_LOG takes a full filter instead (ENGINE_LOG=trace: every crate)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(flatten)]
    globals: Globals,
}

/// Options every command takes.
#[derive(Debug, clap::Args)]
pub struct Globals {
    /// Policies checked before apply (repeatable): policy plugins (.wasm) or Rego
    /// files (.rego, evaluated together); adds to `policies` in engine.toml
    #[arg(long = "policy", global = true, value_name = "POLICY")]
    policies: Vec<PathBuf>,
    /// The Rego package whose deny/violation/warn rules are evaluated [default:
    /// `rego-package` in engine.toml, else main]
    #[arg(long = "rego-package", global = true, value_name = "PACKAGE")]
    rego_package: Option<String>,
    #[command(flatten)]
    overrides: config::Overrides,
    /// Compile plugins every time instead of using the code cache
    #[arg(long, global = true)]
    no_cache: bool,
    /// Where the state is kept: a directory or file://DIR (stack `default` keeps
    /// its state there, stack NAME under `stacks/NAME`), or s3://BUCKET/PREFIX
    /// (stack NAME under PREFIX/NAME; `?kms-key=KEY` encrypts with that KMS key)
    /// [default: the config key `state`, else .engine]
    #[arg(
        long = "state",
        global = true,
        env = "ENGINE_STATE",
        value_name = "LOCATION"
    )]
    state_flag: Option<String>,
    /// How long to wait for the state's lock while another engine holds it, e.g.
    /// 30s, 5m [default: 0, fail at once naming the holder]
    #[arg(
        long,
        global = true,
        env = "ENGINE_LOCK_TIMEOUT",
        value_name = "DURATION",
        value_parser = backend::parse_duration
    )]
    lock_timeout: Option<std::time::Duration>,
    /// The current stack's state location, resolved from `--state`, the config and
    /// the stack (set in `main`).
    #[arg(skip)]
    state: String,
    /// The stack to work on [default: the one `engine stack select` chose, else
    /// `default`]
    #[arg(long, global = true, env = "ENGINE_STACK", value_name = "NAME")]
    stack: Option<String>,
    /// How apply and destroy show their progress on stderr (`--json`: JSON events
    /// on stdout instead)
    #[arg(
        long,
        global = true,
        env = "ENGINE_PROGRESS",
        value_enum,
        default_value_t,
        value_name = "MODE"
    )]
    progress: commands::progress::Mode,
    /// The current stack's name, resolved from `--stack` (set in `main`).
    #[arg(skip)]
    stack_name: String,
    /// `--state` as given: the root under which each stack keeps its state.
    #[arg(skip)]
    state_root: String,
}

impl Globals {
    /// The directory of `engine.toml` (and of each stack's `engine.NAME.toml`).
    pub fn project_dir(&self) -> PathBuf {
        match &self.overrides.file {
            Some(f) => f
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), PathBuf::from),
            None => PathBuf::from("."),
        }
    }

    /// Resolves the current stack: its config file and its state location (the
    /// state root from `--state`, else the config's `state`, else `.engine`), and
    /// sets up the state backends. A config that does not load is an error, except
    /// for commands that need no stack (`stackless`).
    fn resolve_stack(&mut self, stackless: bool) -> anyhow::Result<()> {
        let local_root = self
            .state_flag
            .clone()
            .unwrap_or_else(|| backend::DEFAULT_ROOT.to_string());
        self.stack_name = stacks::current(self.stack.as_deref(), &local_root)?;
        self.overrides.stack_config =
            Some(stacks::config_file(&self.project_dir(), &self.stack_name));
        let cfg = match config::load(&std::env::current_dir()?, &self.overrides) {
            Ok(c) => Some(c),
            Err(_) if stackless => None,
            Err(e) => return Err(e),
        };
        self.state_root = self
            .state_flag
            .clone()
            .or_else(|| cfg.as_ref().and_then(|c| c.state.clone()))
            .unwrap_or(local_root);
        self.state = stacks::state_location(&self.state_root, &self.stack_name);
        backend::install(cfg.as_ref(), self.lock_timeout.unwrap_or_default());
        Ok(())
    }
}

#[derive(Subcommand)]
enum Command {
    /// Load plugins, call `declare`, and check the merged stack: names, references,
    /// attributes and cycles. Makes no AWS call.
    #[command(after_help = "Example:\n  engine validate plugins/*.wasm")]
    Validate {
        /// Component plugins (.wasm)
        #[arg(required = true, value_name = "PLUGIN")]
        plugins: Vec<PathBuf>,
        /// Print the result as JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// Show what applying the plugins would do. Makes one AWS call, to read the
    /// region's availability zones, unless `availability-zones` is pinned in config
    /// (without AWS it warns and the plugins use their defaults).
    #[command(
        after_help = "Examples:\n  engine plan plugins/*.wasm\n  engine plan --json plugins/*.wasm | jq .summary\n  engine plan --out tonight.plan plugins/*.wasm && engine apply tonight.plan\n  engine plan --detailed-exitcode plugins/*.wasm   # exit 2 when there are changes"
    )]
    #[command(visible_alias = "preview")]
    Plan(commands::plan::PlanArgs),
    /// Apply the plugins' plan (or a saved plan) to AWS, saving state after every
    /// operation.
    #[command(
        after_help = "Examples:\n  engine apply plugins/*.wasm              show the plan, ask, apply\n  engine apply --yes plugins/*.wasm        for CI (refuses to ask without a terminal)\n  engine apply tonight.plan                apply exactly a saved plan\n\nAWS credentials, region and endpoint come from the standard chain (AWS_PROFILE,\nAWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, ...); the region from engine.toml wins.\nCtrl-C stops gracefully (operations in flight finish); a second Ctrl-C stops now."
    )]
    #[command(visible_alias = "up")]
    Apply(commands::apply::ApplyArgs),
    /// Delete everything in the stack, in reverse dependency order.
    #[command(after_help = "Example:\n  engine destroy --yes")]
    Destroy(commands::apply::DestroyArgs),
    /// Read live state (batched) and record what changed outside the engine.
    #[command(after_help = "Example:\n  engine refresh && engine plan plugins/*.wasm")]
    Refresh(commands::refresh::RefreshArgs),
    /// Bring a resource that exists in AWS under the stack's management: read it as
    /// the kind ADDRESS declares, set this stack's ownership tags on it, and record
    /// it; the next plan shows where it differs from what is declared. Refused,
    /// with nothing written, when ID does not exist, no plugin declares ADDRESS,
    /// the state already holds it, or another stack owns it (unless --force).
    #[command(
        after_help = "Examples:\n  engine import vpc/main vpc-0a1b2c3d4e5f67890 plugins/*.wasm\n  engine import vpc/endpoint-sg sg-0123456789abcdef0 plugins/*.wasm\n  engine import kinesis/transactions japancart-transactions-prod plugins/*.wasm\n  engine import secrets/db-credentials japancart-db-credentials-prod plugins/*.wasm\n  engine state rm kinesis/transactions && engine import kinesis/transactions japancart-transactions-prod plugins/*.wasm\n\nRoutes have no id of their own and cannot be imported: import their route table."
    )]
    Import(commands::import::ImportArgs),
    /// Print the stack outputs.
    #[command(
        after_help = "Examples:\n  engine output\n  engine output --json | jq .redis_port\n  psql -h \"$(engine output rds_endpoint)\""
    )]
    Output(commands::output::OutputArgs),
    /// Print the dependency graph of the plugins' resources (Graphviz DOT).
    #[command(after_help = "Example:\n  engine graph plugins/*.wasm | dot -Tsvg > stack.svg")]
    Graph {
        /// Component plugins (.wasm)
        #[arg(required = true, value_name = "PLUGIN")]
        plugins: Vec<PathBuf>,
    },
    /// Check the planned stack against policies (plugins or Rego); exits 1 on a mandatory violation.
    #[command(
        after_help = "Examples:\n  engine check --policy policies/baseline.wasm plugins/*.wasm\n  engine check --policy policies/baseline.wasm --sarif plugins/*.wasm > results.sarif\n  engine check --policy policies/baseline.rego plugins/*.wasm\n  engine check --policy team.rego --rego-package team plugins/*.wasm\n\nRego files (.rego) are evaluated together over the plan as `engine plan --json`\nprints it, with conftest's conventions: rules deny*/violation* (mandatory) and\nwarn* (advisory) of the package `main` (or --rego-package) yield messages, strings\nor objects {msg, address, remediation, rule}. See docs/policies.md."
    )]
    Check(commands::check::CheckArgs),
    /// Scaffold a new plugin crate that builds as is.
    #[command(subcommand)]
    New(commands::new::NewCommand),
    /// Inspect the recorded state.
    #[command(subcommand)]
    State(commands::state::StateCommand),
    /// Named stacks of this directory (`dev`, `prod`), each with its own state and
    /// config: init, select, ls, rm, output.
    #[command(
        subcommand,
        after_help = "Examples:\n  engine stack init dev\n  engine stack ls\n  engine apply --stack prod --yes plugins/*.wasm"
    )]
    Stack(commands::stack::StackCommand),
    /// The current stack's config (engine.NAME.toml): set, get, rm, ls.
    #[command(
        subcommand,
        after_help = "Examples:\n  engine config set aws:region us-east-1\n  engine config set environmentSuffix dev\n  engine config ls"
    )]
    Config(commands::config::ConfigCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  engine completions bash > ~/.local/share/bash-completion/completions/engine\n  engine completions zsh > ~/.zfunc/_engine\n  engine completions fish > ~/.config/fish/completions/engine.fish"
    )]
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), from the same definitions as `--help`; with
    /// `--out DIR`, write one page per command there.
    #[command(
        after_help = "Examples:\n  engine man | man -l -\n  engine man --out ~/.local/share/man/man1"
    )]
    Man {
        /// Write engine.1, engine-plan.1, ... to this directory
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Build a guest workspace of plugin crates into components (offline), and
    /// check each against the engine's WIT world.
    #[command(
        after_help = "Example:\n  engine build plugins            writes plugins/<crate>.wasm"
    )]
    Build {
        /// The guest cargo workspace
        #[arg(default_value = "plugins")]
        path: PathBuf,
        /// Where to write the components [default: PATH]
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Only these crates (repeatable)
        #[arg(long = "package", short = 'p', value_name = "CRATE")]
        packages: Vec<String>,
    },
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    init_logging(cli.verbose);
    finish(run(&mut cli))
}

fn run(cli: &mut Cli) -> anyhow::Result<u8> {
    // A stack other than `default` exists once `engine stack init` made it; these
    // commands need none.
    let stackless = matches!(
        cli.command,
        Command::Stack(commands::stack::StackCommand::Init { .. })
            | Command::Stack(commands::stack::StackCommand::Ls { .. })
            | Command::New(_)
            | Command::Build { .. }
            | Command::Completions { .. }
            | Command::Man { .. }
    );
    cli.globals.resolve_stack(stackless)?;
    let g = &cli.globals;
    if !stackless
        && g.stack_name != stacks::DEFAULT
        && !stacks::exists(&g.state_root, &g.project_dir(), &g.stack_name)
    {
        return Ok(commands::apply::report(commands::stack::not_found(
            g,
            &g.stack_name,
        )));
    }
    match &cli.command {
        Command::Validate { plugins, json } => commands::plan::validate(g, plugins, *json),
        Command::Plan(args) => commands::plan::plan(g, args),
        Command::Graph { plugins } => commands::plan::graph(g, plugins),
        Command::State(cmd) => commands::state::run(g, cmd),
        Command::Stack(cmd) => commands::stack::run(g, cmd),
        Command::Config(cmd) => commands::config::run(g, cmd),
        Command::Apply(args) => commands::apply::apply(g, args),
        Command::Destroy(args) => commands::apply::destroy(g, args),
        Command::Refresh(args) => commands::refresh::refresh(g, args),
        Command::Import(args) => commands::import::import(g, args),
        Command::Output(args) => commands::output::output(g, args),
        Command::Check(args) => commands::check::check(g, args),
        Command::New(cmd) => commands::new::run(cmd),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "engine", &mut out);
            ui::out(&String::from_utf8_lossy(&out));
            Ok(exit::OK)
        }
        Command::Man { out } => {
            match out {
                Some(dir) => {
                    std::fs::create_dir_all(dir)?;
                    clap_mangen::generate_to(Cli::command(), dir)?;
                    eprintln!("Wrote the man pages to {}.", dir.display());
                }
                None => {
                    let mut page = Vec::new();
                    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
                    ui::out(&String::from_utf8_lossy(&page));
                }
            }
            Ok(exit::OK)
        }
        Command::Build {
            path,
            out,
            packages,
        } => commands::build::run(path, out.as_deref(), packages),
    }
}

fn finish(result: anyhow::Result<u8>) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Some errors (a TOML parse error) draw on several lines: the first is
            // the summary, the rest the detail (a summary is one line).
            let text = format!("{e:#}");
            let (summary, detail) = text.split_once('\n').unwrap_or((&text, ""));
            let d = engine_core::Diagnostic::error(summary).detail(detail);
            ui::diagnostics(&[d]);
            ExitCode::from(exit::ERROR)
        }
    }
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    // `engine` matches every target that starts with it: the engine's crates. The
    // code generator under wasmtime alone writes gigabytes at trace, so
    // dependencies stay at warn, except the SDK's account of attempts and retries.
    let default = match verbose {
        0 => "warn",
        1 => "warn,engine=info",
        2 => "warn,engine=debug,aws_smithy_runtime=info,aws_config=info",
        _ => "warn,engine=trace,aws_smithy_runtime=debug,aws_config=debug,aws_sdk=debug",
    };
    let filter = EnvFilter::try_from_env("ENGINE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(commands::progress::log_writer)
        .with_ansi(ui::color(false))
        .with_target(false)
        .without_time()
        .init();
}
