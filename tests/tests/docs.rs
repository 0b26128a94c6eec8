//! Every shell command block of README.md and docs/*.md runs as written
//! against the platform `scripts/up.sh` starts, the way a reader would run
//! them: file by file, block by block in order, from the repository root,
//! with what the earlier blocks of the same file set (variables, functions,
//! exports, the working directory) still set. Each file starts from a fresh
//! shell.
//!
//! Which fenced blocks are commands:
//! - info string `sh` or `bash`: every line runs;
//! - `console`: lines starting with `$ ` run (with the lines a trailing `\`
//!   continues); the other lines are the output shown;
//! - any other language (`yaml`, `sql`, `rust`, `text`, none) is not a
//!   command; `shell`, `zsh` and the like are refused, so that nothing is
//!   left unchecked by a spelling.
//!
//! A command block that cannot run against the local platform says why in
//! its info string, `sh no-run: <reason>` (a Kubernetes cluster, the
//! all-in-one process, `scripts/up.sh` itself, stopping the shared
//! infrastructure, a long benchmark), and its prose says the same. Skipped
//! blocks are listed with their reasons; `no-run` without a reason fails.
//!
//! A block runs as `bash -eE -o pipefail`, so a failing command fails the
//! block as a reader would notice it; a block fails when it exits non-zero or
//! runs longer than [`BLOCK_TIMEOUT`]. Failures name the file, the line of
//! the block and of the failing command, and the block's output.
//!
//! The reader's shell has the test's environment without what
//! `scripts/infra.sh env` adds (its PATH entries and derived variables) and
//! without cargo's variables for this test; `AIRIS_CACHE`, `AIRIS_STATE`
//! and `AIRIS_*_PORT` pass, since they say where the infrastructure is.
//!
//! `AIRIS_DOCS=README.md,docs/gateway.md` limits the run to those files.
//!
//! The platform: `scripts/up.sh`, started and stopped by
//! [`airis_tests::platform::LocalPlatform`].

#![allow(clippy::print_stderr)]

use std::fmt::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use airis_tests::platform::{LocalPlatform, signal_group, tail};
use airis_tests::{repo_root, unique};
use anyhow::{Context as _, bail, ensure};

/// Longest a block may run.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(600);
/// At most this much of a failing block's output goes into the report.
const OUTPUT_LIMIT: usize = 12_000;

/// One fenced command block.
#[derive(Debug, PartialEq)]
struct Block {
    /// Path relative to the repository root.
    file: String,
    /// 1-based line of the opening fence.
    line: usize,
    /// The commands; its line `k` is the file's line `line + k`.
    script: String,
    /// Why it does not run against the local platform.
    no_run: Option<String>,
}

/// The command blocks of one Markdown file.
fn command_blocks(file: &str, text: &str) -> anyhow::Result<Vec<Block>> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        let trimmed = line.trim_start();
        let Some(after) = trimmed.strip_prefix("```") else {
            continue;
        };
        let fence_line = index + 1;
        let indent = line.len() - trimmed.len();
        let ticks = 3 + after.chars().take_while(|&c| c == '`').count();
        let fence = "`".repeat(ticks);
        let info = after.trim_start_matches('`').trim();
        let mut content = Vec::new();
        let mut closed = false;
        for (_, line) in lines.by_ref() {
            let trimmed = line.trim_start();
            if trimmed.starts_with(&fence) && trimmed.trim_start_matches('`').trim().is_empty() {
                closed = true;
                break;
            }
            // Content is indented like its fence (a block inside a list item).
            let strip = (line.len() - trimmed.len()).min(indent);
            content.push(&line[strip..]);
        }
        ensure!(
            closed,
            "{file}:{fence_line}: the code block opened here is never closed"
        );

        let (language, rest) = info.split_once(char::is_whitespace).unwrap_or((info, ""));
        let console = match language {
            "sh" | "bash" => false,
            "console" => true,
            "shell" | "zsh" | "shell-session" | "shellsession" | "sh-session" => bail!(
                "{file}:{fence_line}: ```{language}: write ```sh (or ```console with `$ ` \
                 prompts) so the block's commands are checked"
            ),
            _ => continue,
        };
        let rest = rest.trim();
        let no_run = if rest.is_empty() {
            None
        } else if let Some(reason) = rest.strip_prefix("no-run") {
            let reason = reason.trim_start_matches(':').trim();
            ensure!(
                !reason.is_empty(),
                "{file}:{fence_line}: `no-run` needs a reason: ```{language} no-run: <why it \
                 cannot run against scripts/up.sh>"
            );
            Some(reason.to_owned())
        } else {
            bail!(
                "{file}:{fence_line}: unknown info string {info:?}: ```{language}, or \
                 ```{language} no-run: <reason>"
            );
        };

        let script = if console {
            // Output lines become empty lines, so line numbers still match.
            let mut lines = Vec::with_capacity(content.len());
            let mut continued = false;
            for line in &content {
                if continued {
                    lines.push(*line);
                    continued = line.ends_with('\\');
                } else if let Some(command) = line.strip_prefix("$ ") {
                    lines.push(command);
                    continued = command.ends_with('\\');
                } else {
                    lines.push("");
                }
            }
            ensure!(
                lines.iter().any(|l| !l.trim().is_empty()),
                "{file}:{fence_line}: ```console block without a `$ ` command"
            );
            lines.join("\n")
        } else {
            content.join("\n")
        };
        blocks.push(Block {
            file: file.to_owned(),
            line: fence_line,
            script,
            no_run,
        });
    }
    Ok(blocks)
}

/// README.md and docs/*.md (or the files in `AIRIS_DOCS`), relative to the
/// repository root, in reading order.
fn doc_files(root: &Path) -> anyhow::Result<Vec<String>> {
    if let Ok(list) = std::env::var("AIRIS_DOCS") {
        let files: Vec<String> = list
            .split(',')
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty())
            .collect();
        for file in &files {
            ensure!(
                root.join(file).is_file(),
                "AIRIS_DOCS names {file}, which is not a file below {}",
                root.display()
            );
        }
        return Ok(files);
    }
    let mut docs: Vec<String> = std::fs::read_dir(root.join("docs"))?
        .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    docs.insert(0, "README.md".to_owned());
    Ok(docs)
}

fn all_blocks(root: &Path) -> anyhow::Result<Vec<Vec<Block>>> {
    doc_files(root)?
        .iter()
        .map(|file| {
            let text =
                std::fs::read_to_string(root.join(file)).with_context(|| format!("read {file}"))?;
            command_blocks(file, &text)
        })
        .collect()
}

/// The environment of a reader's fresh shell (see the module docs).
fn reader_env(root: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let output = Command::new(root.join("scripts/infra.sh"))
        .arg("env")
        .current_dir(root)
        .output()
        .context("run scripts/infra.sh env")?;
    ensure!(
        output.status.success(),
        "scripts/infra.sh env failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut derived = Vec::new();
    let mut tool_dirs = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some((name, value)) = line
            .strip_prefix("export ")
            .and_then(|assignment| assignment.split_once('='))
        else {
            continue;
        };
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        if name == "PATH" {
            tool_dirs.extend(
                value
                    .split(':')
                    .filter(|dir| !dir.starts_with('$'))
                    .map(str::to_owned),
            );
        } else if name != "AIRIS_CACHE" && name != "AIRIS_STATE" && !name.ends_with("_PORT") {
            derived.push(name.to_owned());
        }
    }
    let cargo_vars = [
        "CARGO",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
    ];
    Ok(std::env::vars()
        .filter(|(name, _)| {
            !derived.contains(name)
                && !cargo_vars.contains(&name.as_str())
                && !name.starts_with("CARGO_PKG_")
                && !name.starts_with("CARGO_BIN_")
                && name != "BASH_ENV"
        })
        .map(|(name, value)| {
            if name == "PATH" {
                let path = value
                    .split(':')
                    .filter(|dir| !tool_dirs.iter().any(|tool| tool == dir))
                    .collect::<Vec<_>>()
                    .join(":");
                (name, path)
            } else {
                (name, value)
            }
        })
        .collect())
}

/// Sourced by the first line of every block: strict mode, the state the
/// file's earlier blocks left, the state saved on exit, and the failing
/// command's line reported.
const PREAMBLE: &str = r#"set -eEo pipefail
[ ! -f "$__docs_state" ] || source "$__docs_state"
__docs_save() {
  local __docs_name
  {
    for __docs_name in $(compgen -v); do
      case "$__docs_name" in
        __docs_*|BASH*|_|COMP_*|DIRSTACK|EPOCHREALTIME|EPOCHSECONDS|EUID|FUNCNAME|GROUPS|HISTCMD|\
HOSTNAME|HOSTTYPE|IFS|LINENO|MACHTYPE|OLDPWD|OPTARG|OPTERR|OPTIND|OSTYPE|PIPESTATUS|PPID|PS4|\
PWD|RANDOM|SECONDS|SHELLOPTS|SHLVL|SRANDOM|UID) ;;
        *) declare -p "$__docs_name" ;;
      esac
    done
    for __docs_name in $(compgen -A function); do
      case "$__docs_name" in
        __docs_*) ;;
        *) declare -f "$__docs_name" ;;
      esac
    done
    printf 'cd %q\n' "$PWD"
  } >"$__docs_state.next" && mv "$__docs_state.next" "$__docs_state"
}
__docs_failed() {
  [ -z "${__docs_reported:-}" ] || return 0
  __docs_reported=1
  if [ "$5" = "$0" ]; then
    printf '\ndocs: exit status %s at %s:%s%s: %s\n' "$1" "$__docs_file" \
      "$(($2 + __docs_line - 1))" "${4:+ (in $4)}" "$(sed -n "$2p" "$0")" >&2
  else
    printf '\ndocs: exit status %s in %s, from an earlier block: %s\n' "$1" "$4" "$3" >&2
  fi
}
trap __docs_save EXIT
trap '__docs_failed $? "$LINENO" "$BASH_COMMAND" "${FUNCNAME[0]:-}" "${BASH_SOURCE[0]:-}"' ERR
"#;

/// What happened to the blocks.
#[derive(Default)]
struct Report {
    passed: Vec<String>,
    skipped: Vec<String>,
    failed: Vec<String>,
}

/// Runs one file's blocks in order, sharing shell state between them.
fn run_file(
    root: &Path,
    blocks: &[Block],
    env: &[(String, String)],
    work: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let Some(first) = blocks.first() else {
        return Ok(());
    };
    let dir = work.join(first.file.replace('/', "_"));
    std::fs::create_dir_all(&dir)?;
    let preamble = dir.join("preamble.sh");
    std::fs::write(&preamble, PREAMBLE)?;
    let state = dir.join("state.sh");
    for block in blocks {
        let at = format!("{}:{}", block.file, block.line);
        if let Some(reason) = &block.no_run {
            eprintln!("docs: skip {at}: {reason}");
            report.skipped.push(format!("{at}: {reason}"));
            continue;
        }
        let script = dir.join(format!("block-{}.sh", block.line));
        // Line 1 sets up; the block's line k is the script's line k + 1.
        std::fs::write(
            &script,
            format!(
                "__docs_file={} __docs_line={} __docs_state={}; source {}\n{}\n",
                shell_quote(&block.file),
                block.line,
                shell_quote(&state.to_string_lossy()),
                shell_quote(&preamble.to_string_lossy()),
                block.script
            ),
        )?;
        let out_path = dir.join(format!("block-{}.out", block.line));
        let out = std::fs::File::create(&out_path)?;
        let started = Instant::now();
        let mut child = Command::new("bash")
            .arg(&script)
            .current_dir(root)
            .env_clear()
            .envs(env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0)
            .spawn()
            .context("run bash")?;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if started.elapsed() > BLOCK_TIMEOUT {
                signal_group(child.id(), "KILL");
                child.wait()?;
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        // Whatever the block left running in the background goes with it.
        signal_group(child.id(), "KILL");
        let took = started.elapsed().as_secs_f64();
        let output = std::fs::read_to_string(&out_path).unwrap_or_default();
        match status {
            Some(status) if status.success() => {
                eprintln!("docs: ok   {at} ({took:.1} s)");
                report.passed.push(at);
            }
            status => {
                let why = match status {
                    Some(status) => format!("failed ({status}) after {took:.1} s"),
                    None => format!("still running after {} s", BLOCK_TIMEOUT.as_secs()),
                };
                eprintln!("docs: FAIL {at}: {why}");
                report.failed.push(format!(
                    "{at}: {why}\n--- block ---\n{}\n--- output ---\n{}",
                    block.script.trim_end(),
                    tail(&output, OUTPUT_LIMIT).trim_end()
                ));
            }
        }
    }
    Ok(())
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[test]
fn every_command_block_runs_against_the_local_platform() -> anyhow::Result<()> {
    let root = repo_root();
    let files = all_blocks(&root)?;
    let env = reader_env(&root)?;
    let work = std::env::temp_dir().join(unique("airis-docs"));
    std::fs::create_dir_all(&work)?;

    let mut platform = LocalPlatform::up("docs", &[])?;
    let mut report = Report::default();
    for blocks in &files {
        run_file(&root, blocks, &env, &work, &mut report)?;
    }
    platform.stop();

    let mut summary = format!(
        "{} command blocks: {} passed, {} failed, {} not run",
        report.passed.len() + report.failed.len() + report.skipped.len(),
        report.passed.len(),
        report.failed.len(),
        report.skipped.len()
    );
    let mut not_run = String::new();
    for skipped in &report.skipped {
        writeln!(not_run, "  not run: {skipped}")?;
    }
    if report.failed.is_empty() {
        eprintln!("{summary}\n{not_run}");
        let _ = std::fs::remove_dir_all(&work);
        let _ = std::fs::remove_file(platform.log());
        return Ok(());
    }
    write!(
        summary,
        " (scripts and outputs in {}; platform log {})\n\n{}\n\n{not_run}",
        work.display(),
        platform.log().display(),
        report.failed.join("\n\n")
    )?;
    bail!(summary);
}

/// Every doc parses: fences closed, shell blocks spelled `sh`, `bash` or
/// `console`, every `no-run` with its reason.
#[test]
fn every_doc_parses_and_says_why_a_block_does_not_run() -> anyhow::Result<()> {
    let files = all_blocks(&repo_root())?;
    let blocks: Vec<&Block> = files.iter().flatten().collect();
    ensure!(
        blocks.iter().any(|b| b.no_run.is_none()),
        "no runnable command block found in README.md and docs/"
    );
    for block in blocks.iter().filter(|b| b.no_run.is_none()) {
        ensure!(
            !block.script.trim().is_empty(),
            "{}:{}: empty command block",
            block.file,
            block.line
        );
    }
    Ok(())
}

#[test]
fn sh_blocks_keep_their_lines_and_reasons() -> anyhow::Result<()> {
    let text = "# T\n\n```sh\necho one\necho two\n```\n\nprose\n\n```sh no-run: needs a \
                Kubernetes cluster\nkubectl get pods\n```\n```yaml\na: b\n```\n  ```bash\n  \
                x=1\n    y=2\n  ```\n";
    let blocks = command_blocks("f.md", text)?;
    assert_eq!(
        blocks,
        vec![
            Block {
                file: "f.md".into(),
                line: 3,
                script: "echo one\necho two".into(),
                no_run: None,
            },
            Block {
                file: "f.md".into(),
                line: 10,
                script: "kubectl get pods".into(),
                no_run: Some("needs a Kubernetes cluster".into()),
            },
            Block {
                file: "f.md".into(),
                line: 16,
                script: "x=1\n  y=2".into(),
                no_run: None,
            },
        ]
    );
    Ok(())
}

#[test]
fn console_blocks_run_prompted_lines_only() -> anyhow::Result<()> {
    let text = "```console\n$ echo a \\\n  b\na b\n$ true\n```\n";
    let blocks = command_blocks("f.md", text)?;
    assert_eq!(blocks.len(), 1);
    // Output lines stay as empty lines: line numbers keep matching.
    assert_eq!(blocks[0].script, "echo a \\\n  b\n\ntrue");
    let err = command_blocks("f.md", "```console\njust output\n```\n").unwrap_err();
    assert!(err.to_string().contains("f.md:1"), "{err}");
    Ok(())
}

#[test]
fn unclear_blocks_are_refused() {
    for (text, expected) in [
        ("```sh no-run\nx\n```\n", "needs a reason"),
        ("```sh no-run:  \nx\n```\n", "needs a reason"),
        ("```sh maybe\nx\n```\n", "unknown info string"),
        ("```shell\nx\n```\n", "write ```sh"),
        ("text\n```sh\nx\n", "never closed"),
    ] {
        let err = command_blocks("f.md", text).unwrap_err().to_string();
        assert!(err.contains(expected), "{text:?}: {err}");
        assert!(err.starts_with("f.md:"), "{text:?}: {err}");
    }
}

/// The shell plumbing itself: state carried between blocks, the failing
/// line named, a failing pipeline stage caught.
#[test]
fn blocks_share_state_and_failures_name_their_line() -> anyhow::Result<()> {
    let root = repo_root();
    let text = "```sh\nexport A=1; B=two; f() { echo \"f $1\"; }; g() { false; }\ncd docs\n```\n\
                ```sh\ntest \"$A$B\" = 1two\nf x\ntest \"$(basename \"$PWD\")\" = docs\n```\n\
                ```sh\necho before\nfalse | cat\necho after\n```\n\
                ```sh\ng\n```\n";
    let blocks = command_blocks("f.md", text)?;
    let work = std::env::temp_dir().join(unique("airis-docs-self"));
    std::fs::create_dir_all(&work)?;
    let env: Vec<(String, String)> = std::env::vars().collect();
    let mut report = Report::default();
    run_file(&root, &blocks, &env, &work, &mut report)?;
    let _ = std::fs::remove_dir_all(&work);
    assert_eq!(report.passed, vec!["f.md:1", "f.md:5"]);
    assert_eq!(report.failed.len(), 2, "{:?}", report.failed);
    let failure = &report.failed[0];
    assert!(failure.starts_with("f.md:10: failed"), "{failure}");
    assert!(failure.contains("before"), "{failure}");
    assert!(!failure.contains("\nafter"), "{failure}");
    assert!(failure.contains("at f.md:12: false | cat"), "{failure}");
    let failure = &report.failed[1];
    assert!(failure.starts_with("f.md:15: failed"), "{failure}");
    assert!(failure.contains("in g, from an earlier block"), "{failure}");
    Ok(())
}
