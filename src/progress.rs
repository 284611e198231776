//! Progress bars for long stages. They draw only on a terminal, so logs and CI stay clean.

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar for one stage of a run.
pub struct Stage {
    bar: ProgressBar,
    start: std::time::Instant,
    /// The process's CPU time (user and system, all threads) when the stage began.
    cpu: Option<f64>,
    name: String,
}

impl Stage {
    pub fn new(name: &str, total: u64) -> Self {
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(name.to_string());
        Stage {
            bar,
            start: std::time::Instant::now(),
            cpu: cpu_seconds(),
            name: name.to_string(),
        }
    }

    pub fn message(&self, msg: &str) {
        self.bar.set_message(msg.to_string());
    }

    /// A step counter other threads can call (e.g. from parallel model fits).
    pub fn ticker(&self) -> impl Fn() + Sync + '_ {
        move || self.bar.inc(1)
    }

    pub fn inc(&self) {
        self.bar.inc(1);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
        if std::env::var_os("CLIENTELE_TIMINGS").is_some() {
            // CPU beside wall time: on a shared machine the wall time includes waiting
            // for a core, and CPU / wall shows how well a stage uses the cores.
            let cpu = match (self.cpu, cpu_seconds()) {
                (Some(a), Some(b)) => format!("   cpu {:.2} s", b - a),
                _ => String::new(),
            };
            eprintln!(
                "timing {:<12} {:>8.2} s{cpu}{}",
                self.name,
                self.start.elapsed().as_secs_f64(),
                memory_note()
            );
        }
    }
}

/// Prints how long a step took when `CLIENTELE_TIMINGS` is set (finer than a stage; for
/// benchmarks). Returns the step's result.
pub fn timed<T>(step: &str, f: impl FnOnce() -> T) -> T {
    if std::env::var_os("CLIENTELE_TIMINGS").is_none() {
        return f();
    }
    let (start, cpu) = (std::time::Instant::now(), user_cpu_seconds());
    let out = f();
    let cpu = match (cpu, user_cpu_seconds()) {
        (Some(a), Some(b)) => format!("   user cpu {:.2} s", b - a),
        _ => String::new(),
    };
    eprintln!(
        "  step {:<34} {:>8.2} s{cpu}{}",
        step,
        start.elapsed().as_secs_f64(),
        memory_note()
    );
    out
}

/// The process's user and system CPU time so far, all threads (`utime` + `stime`).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let mut rest = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let utime: f64 = rest.next()?.parse().ok()?;
    let stime: f64 = rest.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The process's user CPU time so far, all threads (Linux: `utime` of /proc/self/stat
/// in clock ticks of 1/100 s): on a shared machine, what a step cost when its wall time
/// includes waiting for a core.
fn user_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')')?.1;
    let utime: f64 = rest.split_whitespace().nth(11)?.parse().ok()?;
    Some(utime / 100.0)
}

/// The process's resident memory now and its peak so far (Linux; kB / 1e6, as the
/// benches report `time`'s maximum resident size), for the timings: where a run's peak
/// falls is as much a question as where its time goes.
fn memory_note() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
    };
    match (kb("VmRSS:"), kb("VmHWM:")) {
        (Some(now), Some(peak)) => format!("   rss {:.2} GB, peak {:.2} GB", now / 1e6, peak / 1e6),
        _ => String::new(),
    }
}
