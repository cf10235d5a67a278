//! Running commands with visible progress, and reading test counts.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Numbered steps: `[2/7] lints ... (12.3s)`.
pub struct Step {
    total: usize,
    current: usize,
    started: Instant,
    step_started: Instant,
}

impl Step {
    pub fn new(total: usize) -> Self {
        Self { total, current: 0, started: Instant::now(), step_started: Instant::now() }
    }

    pub fn begin(&mut self, what: &str) {
        self.finish_current();
        self.current += 1;
        self.step_started = Instant::now();
        println!("\n[{}/{}] {what}", self.current, self.total);
        let _ = std::io::stdout().flush();
    }

    fn finish_current(&self) {
        if self.current > 0 {
            println!("      ok ({:.1}s)", self.step_started.elapsed().as_secs_f64());
        }
    }

    pub fn done(&self) {
        self.finish_current();
        println!("\nall {} steps passed in {:.0}s", self.total, self.started.elapsed().as_secs_f64());
    }
}

/// An error for a command that failed.
pub fn fail(what: &str, code: Option<i32>) -> String {
    match code {
        Some(c) => format!("`{what}` failed (exit code {c})"),
        None => format!("`{what}` was killed by a signal"),
    }
}

/// `cargo <args>` in `dir`, output shown as it comes.
pub fn cargo(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(&cargo)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() { Ok(()) } else { Err(fail(&format!("cargo {}", args.join(" ")), status.code())) }
}

/// Any program, output shown as it comes.
pub fn program(dir: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() { Ok(()) } else { Err(fail(&format!("{program} {}", args.join(" ")), status.code())) }
}

/// Tests passed and failed, summed over runners.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TestCounts {
    pub passed: u64,
    pub failed: u64,
}

impl std::ops::AddAssign for TestCounts {
    fn add_assign(&mut self, o: Self) {
        self.passed += o.passed;
        self.failed += o.failed;
    }
}

/// Reads the counts from one line of cargo test or nextest output.
pub fn parse_counts(line: &str) -> Option<TestCounts> {
    let line = line.trim();
    let number_before = |word: &str, sep: char| -> Option<u64> {
        let i = line.find(word)?;
        line[..i].trim_end().rsplit([' ', sep]).next()?.parse().ok()
    };
    // node --test (TAP): "# pass 10" and "# fail 0" on separate lines.
    if let Some(n) = line.strip_prefix("# pass ").and_then(|n| n.trim().parse().ok()) {
        return Some(TestCounts { passed: n, failed: 0 });
    }
    if let Some(n) = line.strip_prefix("# fail ").and_then(|n| n.trim().parse().ok()) {
        return Some(TestCounts { passed: 0, failed: n });
    }
    if line.starts_with("test result:") {
        // test result: ok. 4 passed; 0 failed; 0 ignored; ...
        return Some(TestCounts {
            passed: number_before(" passed", ' ')?,
            failed: number_before(" failed", ' ')?,
        });
    }
    if line.starts_with("Summary [") && line.contains(" tests run: ") || line.contains(" test run: ") {
        // Summary [   1.2s] 61 tests run: 59 passed, 2 failed, 0 skipped
        let passed = number_before(" passed", ' ')?;
        let failed = if line.contains(" failed") { number_before(" failed", ' ')? } else { 0 };
        return Some(TestCounts { passed, failed });
    }
    None
}

/// Runs a cargo test command, shows its output, and sums the counts it prints.
/// A failing run is reported through the counts, not as an error, so every
/// runner gets to run.
pub fn cargo_tests(dir: &Path, args: &[&str]) -> Result<TestCounts, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    counted(dir, &cargo, args, &[])
}

/// Any test runner whose output `parse_counts` understands.
pub fn counted(
    dir: &Path,
    program: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Result<TestCounts, String> {
    let mut child = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let counts = Arc::new(Mutex::new(TestCounts::default()));
    let mut readers = Vec::new();
    let outs: Vec<Box<dyn std::io::Read + Send>> = vec![
        Box::new(child.stdout.take().ok_or("no stdout")?),
        Box::new(child.stderr.take().ok_or("no stderr")?),
    ];
    for (i, out) in outs.into_iter().enumerate() {
        let counts = Arc::clone(&counts);
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if i == 0 {
                    println!("{line}")
                } else {
                    eprintln!("{line}")
                }
                if let Some(c) = parse_counts(&line) {
                    if let Ok(mut total) = counts.lock() {
                        *total += c;
                    }
                }
            }
        }));
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    for r in readers {
        let _ = r.join();
    }
    let counts = counts.lock().map(|c| *c).unwrap_or_default();
    if !status.success() && counts.failed == 0 {
        // Failed before running tests (a build error): that is an error.
        return Err(fail(&format!("{program} {}", args.join(" ")), status.code()));
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cargo_test_and_nextest_summaries() {
        assert_eq!(
            parse_counts("test result: ok. 13 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out"),
            Some(TestCounts { passed: 13, failed: 0 })
        );
        assert_eq!(
            parse_counts("test result: FAILED. 13 passed; 3 failed; 0 ignored"),
            Some(TestCounts { passed: 13, failed: 3 })
        );
        assert_eq!(
            parse_counts("     Summary [   1.234s] 61 tests run: 59 passed, 2 failed, 0 skipped"),
            Some(TestCounts { passed: 59, failed: 2 })
        );
        assert_eq!(
            parse_counts("     Summary [   1.234s] 61 tests run: 61 passed, 0 skipped"),
            Some(TestCounts { passed: 61, failed: 0 })
        );
        assert_eq!(parse_counts("running 4 tests"), None);
        assert_eq!(parse_counts("# pass 10"), Some(TestCounts { passed: 10, failed: 0 }));
        assert_eq!(parse_counts("# fail 2"), Some(TestCounts { passed: 0, failed: 2 }));
    }
}
