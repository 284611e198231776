//! Output directories a run may create or replace, and the paths it must never touch.
//!
//! A run writes its output into a hidden staging directory beside the target and renames
//! it into place, so the target appears complete or not at all. It replaces an existing
//! directory only when that directory is provably an earlier clientele output of the same
//! kind (a marker file, written by that run, lists every file it wrote) and holds nothing
//! else; then only the listed files are removed. It never writes over the data, the
//! model or the config it reads, `/`, the home directory or the current directory.
//!
//! Runs killed mid-way leave hidden `.<name>.tmp-<pid>` (staging) and `.<name>.old-<pid>`
//! (an earlier output being replaced) entries; the next run in the same directory cleans
//! them up once their process is gone, and puts an earlier output back if its
//! replacement never arrived.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};

/// The marker file of a finished output directory.
pub const MARKER: &str = ".clientele-run.json";
/// Present in a staging directory while it is being written.
const STAGING_MARKER: &str = ".clientele-staging";

/// What an output directory holds; an output only replaces one of its own kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputKind {
    /// A `clientele-infer` run: labels, drift, charts, report.
    Labels,
    /// The charts of one training run.
    TrainingCharts,
    /// A data-quality report and its quarantined rows.
    DataQuality,
    /// A published model version (never replaced).
    ModelVersion,
}

impl OutputKind {
    fn describe(self) -> &'static str {
        match self {
            OutputKind::Labels => "a labeling run's output",
            OutputKind::TrainingCharts => "training charts",
            OutputKind::DataQuality => "a data-quality report",
            OutputKind::ModelVersion => "a model version",
        }
    }
}

/// Whether an earlier output of the same kind at the target may be replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    Never,
    EarlierOutput,
}

#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    kind: OutputKind,
    /// Paths relative to the directory, `/`-separated.
    files: Vec<String>,
}

/// Paths a run reads (or the system needs) and must never replace, delete or write into.
#[derive(Clone, Debug, Default)]
pub struct Protected {
    entries: Vec<(String, PathBuf)>,
}

impl Protected {
    /// `/`, the home directory and the current directory.
    pub fn system() -> Self {
        let mut p = Protected::default().with("the file system root", Path::new("/"));
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            p = p.with("the home directory", Path::new(&home));
        }
        if let Ok(cwd) = std::env::current_dir() {
            p = p.with("the current directory", &cwd);
        }
        p
    }

    /// Adds a path, described for the error message (e.g. "the data directory").
    #[must_use]
    pub fn with(mut self, what: impl Into<String>, path: &Path) -> Self {
        self.entries.push((what.into(), absolute(path)));
        self
    }

    /// Refuses `target` when it is, or is a parent of, a protected path.
    ///
    /// # Errors
    /// `Error::UnsafeOutput` naming the flag, the target and what it would cover.
    pub fn check(&self, flag: &str, target: &Path) -> Result<()> {
        let t = absolute(target);
        for (what, p) in &self.entries {
            if p.starts_with(&t) {
                let relation = if *p == t { "is" } else { "contains" };
                return Err(Error::UnsafeOutput {
                    path: target.to_path_buf(),
                    message: format!(
                        "{flag} {relation} {what} ({}): a run never writes over what it reads \
                         or over a system directory; choose a directory of its own",
                        p.display()
                    ),
                });
            }
        }
        Ok(())
    }
}

/// `path` made absolute: `.` and `..` resolved, symbolic links resolved on the part that
/// exists (so two spellings of one directory compare equal).
pub fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    let lexical = normalise(&joined);
    let mut existing = lexical.clone();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |p, name| p.join(name));
        }
        match existing.file_name() {
            Some(name) => {
                rest.push(name.to_os_string());
                existing.pop();
            }
            None => return lexical,
        }
    }
}

fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned())
}

fn read_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks, before any work is done, that `out` may receive an output of `kind`: it does
/// not exist, is an empty directory, or (with `Replace::EarlierOutput`) is an earlier
/// output of the same kind holding only the files that output wrote.
///
/// # Errors
/// `Error::UnsafeOutput` or `Error::Exists` (bad input, exit 2) saying why and what to do.
pub fn check_target(
    out: &Path,
    kind: OutputKind,
    replace: Replace,
    protected: &Protected,
    flag: &str,
) -> Result<()> {
    protected.check(flag, out)?;
    let unsafe_out = |message: String| Error::UnsafeOutput {
        path: out.to_path_buf(),
        message,
    };
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(read_err(out)(e)),
    };
    if !meta.is_dir() {
        return Err(unsafe_out(format!(
            "{flag} names an existing file, not a directory: nothing was changed; choose a new \
             directory"
        )));
    }
    let mut entries = std::fs::read_dir(out).map_err(read_err(out))?;
    if entries.next().is_none() {
        return Ok(());
    }
    let Some(marker) = read_marker(out) else {
        return Err(unsafe_out(format!(
            "{flag} names a directory that clientele did not write: a run only ever replaces its \
             own earlier output, so nothing was changed; choose a new directory"
        )));
    };
    if marker.kind != kind {
        return Err(unsafe_out(format!(
            "{flag} names {}, not {}: nothing was changed; choose another directory",
            marker.kind.describe(),
            kind.describe()
        )));
    }
    if replace == Replace::Never {
        let hint = if kind == OutputKind::Labels {
            ": pass --overwrite to replace it, or --out to write elsewhere"
        } else {
            ""
        };
        return Err(Error::Exists {
            path: out.to_path_buf(),
            hint: hint.into(),
        });
    }
    let foreign = foreign_entries(out, &marker)?;
    if !foreign.is_empty() {
        return Err(unsafe_out(format!(
            "this earlier clientele output also holds files it did not write ({}): move them \
             away first; nothing was changed",
            foreign.join(", ")
        )));
    }
    Ok(())
}

fn read_marker(dir: &Path) -> Option<Marker> {
    let text = std::fs::read_to_string(dir.join(MARKER)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Every file and directory under `dir`, relative and `/`-separated, directories last.
fn walk(dir: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, rel)) = stack.pop() {
        for entry in std::fs::read_dir(&path).map_err(read_err(&path))? {
            let entry = entry.map_err(read_err(&path))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let is_dir = entry
                .file_type()
                .map(|t| t.is_dir())
                .map_err(read_err(&entry.path()))?;
            if is_dir {
                stack.push((entry.path(), child.clone()));
                dirs.push(child);
            } else {
                files.push(child);
            }
        }
    }
    files.sort();
    dirs.sort_by(|a, b| b.cmp(a));
    Ok((files, dirs))
}

/// Entries of an earlier output that its marker does not list.
fn foreign_entries(dir: &Path, marker: &Marker) -> Result<Vec<String>> {
    let (files, dirs) = walk(dir)?;
    let listed = |f: &String| f == MARKER || marker.files.contains(f);
    let holds_listed = |d: &String| {
        marker
            .files
            .iter()
            .any(|f| f.starts_with(d.as_str()) && f[d.len()..].starts_with('/'))
    };
    Ok(files
        .into_iter()
        .filter(|f| !listed(f))
        .chain(dirs.into_iter().filter(|d| !holds_listed(d)))
        .collect())
}

/// Removes the files an earlier output's marker lists, then its emptied directories. A
/// file it does not list stays (and so does the directory holding it).
fn remove_listed(dir: &Path) {
    let Some(marker) = read_marker(dir) else {
        return;
    };
    for f in &marker.files {
        if !f.split('/').any(|c| c == ".." || c.is_empty()) {
            let _ = std::fs::remove_file(dir.join(f));
        }
    }
    let _ = std::fs::remove_file(dir.join(MARKER));
    if let Ok((_, dirs)) = walk(dir) {
        for d in dirs {
            let _ = std::fs::remove_dir(dir.join(d));
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// True unless the process is known to be gone. Where liveness cannot be told (no
/// `/proc`), everything counts as alive and nothing is cleaned.
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Splits `.<stem>.<tag>-<pid>` into its parts.
fn temp_name(name: &str) -> Option<(&str, &str, u32)> {
    let inner = name.strip_prefix('.')?;
    let (head, pid) = inner.rsplit_once('-')?;
    let pid = pid.parse().ok()?;
    let (stem, tag) = head.rsplit_once('.')?;
    (!stem.is_empty()).then_some((stem, tag, pid))
}

/// Cleans up after runs in `dir` that died: removes their staging directories and
/// temporary files, and restores an earlier output whose replacement never arrived.
pub fn clean_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((stem, tag, pid)) = temp_name(&name) else {
            continue;
        };
        if process_alive(pid) {
            continue;
        }
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        match (tag, is_dir) {
            ("tmp", true) if is_own_staging(&path) => {
                let _ = std::fs::remove_dir_all(&path);
            }
            ("tmp", false) => {
                let _ = std::fs::remove_file(&path);
            }
            ("old", true) if path.join(MARKER).exists() => {
                let final_path = dir.join(stem);
                if std::fs::symlink_metadata(&final_path).is_err() {
                    let _ = std::fs::rename(&path, &final_path);
                } else {
                    remove_listed(&path);
                }
            }
            _ => {}
        }
    }
}

/// A dead run's staging directory: it carries either marker, or it is empty (the run
/// died between creating it and writing the staging marker). A hidden `.x.tmp-<pid>`
/// directory holding anything else is not ours and is left alone.
fn is_own_staging(dir: &Path) -> bool {
    dir.join(STAGING_MARKER).exists()
        || dir.join(MARKER).exists()
        || std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}

/// A hidden directory beside the target that an output is written into, then renamed
/// into place. Dropped without `publish`, it is removed.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    out: PathBuf,
    kind: OutputKind,
    published: bool,
}

impl Staging {
    /// Creates the staging directory for `out` (cleaning up after dead runs first).
    ///
    /// # Errors
    /// `Error::Write` when the directory cannot be created.
    pub fn new(out: &Path, kind: OutputKind) -> Result<Self> {
        let parent = parent_of(out);
        std::fs::create_dir_all(parent).map_err(write_err(parent))?;
        clean_stale(parent);
        let dir = parent.join(format!(".{}.tmp-{}", name_of(out), std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(write_err(&dir))?;
        std::fs::write(dir.join(STAGING_MARKER), b"").map_err(write_err(&dir))?;
        Ok(Staging {
            dir,
            out: out.to_path_buf(),
            kind,
            published: false,
        })
    }

    /// Where to write the output's files.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Writes the marker and renames the staging directory to the target: into a free
    /// place, or, with `Replace::EarlierOutput`, over an earlier output of the same kind
    /// (whose listed files are then removed). The target is checked again first: another
    /// run may have published there meanwhile.
    ///
    /// # Errors
    /// As `check_target`, plus I/O errors. The staging directory is removed on error.
    pub fn publish(
        mut self,
        replace: Replace,
        protected: &Protected,
        flag: &str,
    ) -> Result<PathBuf> {
        let (mut files, _) = walk(&self.dir)?;
        files.retain(|f| f != STAGING_MARKER);
        let marker = Marker {
            kind: self.kind,
            files,
        };
        let json = serde_json::to_vec_pretty(&marker)
            .map_err(|e| Error::Runtime(format!("cannot encode the output marker: {e}")))?;
        // The final marker goes in before the staging marker comes out, so that at every
        // moment a killed run's directory carries one of them and is recognised as ours.
        super::write_atomic(&self.dir.join(MARKER), &json)?;
        let _ = std::fs::remove_file(self.dir.join(STAGING_MARKER));
        // Another run may publish or replace the target meanwhile: re-check and retry.
        for _ in 0..5 {
            check_target(&self.out, self.kind, replace, protected, flag)?;
            let occupied = std::fs::read_dir(&self.out).is_ok_and(|mut d| d.next().is_some());
            let placed = if occupied {
                self.replace_earlier()?
            } else {
                match std::fs::rename(&self.dir, &self.out) {
                    Ok(()) => true,
                    // rename(2) refuses to replace a non-empty directory: another run got
                    // there first.
                    Err(e) if is_occupied(&e) => false,
                    Err(e) => return Err(write_err(&self.out)(e)),
                }
            };
            if placed {
                self.published = true;
                return Ok(self.out.clone());
            }
        }
        Err(Error::Exists {
            path: self.out.clone(),
            hint: " (other runs kept publishing there meanwhile)".into(),
        })
    }

    /// Sets the earlier output aside, renames the staging directory into its place and
    /// removes the earlier output's files. `false` when another run moved things first.
    fn replace_earlier(&self) -> Result<bool> {
        let old = parent_of(&self.out).join(format!(
            ".{}.old-{}",
            name_of(&self.out),
            std::process::id()
        ));
        match std::fs::rename(&self.out, &old) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(write_err(&self.out)(e)),
        }
        match std::fs::rename(&self.dir, &self.out) {
            Ok(()) => {
                remove_listed(&old);
                Ok(true)
            }
            Err(e) => {
                if std::fs::rename(&old, &self.out).is_err() {
                    // Another run's output took the place; ours was replaceable anyway.
                    remove_listed(&old);
                }
                if is_occupied(&e) {
                    Ok(false)
                } else {
                    Err(write_err(&self.out)(e))
                }
            }
        }
    }
}

fn is_occupied(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::DirectoryNotEmpty | std::io::ErrorKind::AlreadyExists
    )
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(out: &Path, replace: Replace, file: &str) -> Result<PathBuf> {
        let s = Staging::new(out, OutputKind::Labels)?;
        std::fs::create_dir_all(s.path().join("charts")).unwrap();
        std::fs::write(s.path().join(file), file).unwrap();
        std::fs::write(s.path().join("charts/a.png"), b"png").unwrap();
        s.publish(replace, &Protected::default(), "--out")
    }

    #[test]
    fn replaces_only_an_earlier_output_of_its_own() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("run");
        publish(&out, Replace::Never, "one.csv").unwrap();
        assert!(matches!(
            publish(&out, Replace::Never, "two.csv"),
            Err(Error::Exists { .. })
        ));
        publish(&out, Replace::EarlierOutput, "two.csv").unwrap();
        assert!(!out.join("one.csv").exists() && out.join("two.csv").exists());
        // A file the run did not write blocks the replacement and survives.
        std::fs::write(out.join("mine.xlsx"), b"keep").unwrap();
        let err = publish(&out, Replace::EarlierOutput, "three.csv").unwrap_err();
        assert!(err.to_string().contains("mine.xlsx"), "{err}");
        assert_eq!(std::fs::read(out.join("mine.xlsx")).unwrap(), b"keep");
        // Nothing hidden is left beside it.
        let names: Vec<_> = std::fs::read_dir(t.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn refuses_foreign_directories_files_and_protected_paths() {
        let t = tempfile::tempdir().unwrap();
        let foreign = t.path().join("analysis");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("my.xlsx"), b"x").unwrap();
        let file = t.path().join("notes.txt");
        std::fs::write(&file, b"x").unwrap();
        let none = Protected::default();
        for target in [&foreign, &file] {
            let err = check_target(
                target,
                OutputKind::Labels,
                Replace::EarlierOutput,
                &none,
                "--out",
            );
            assert!(matches!(err, Err(Error::UnsafeOutput { .. })), "{err:?}");
        }
        let data = t.path().join("data/month");
        let protected = Protected::default().with("the data directory", &data);
        for target in [
            t.path().join("data/month"),
            t.path().join("data"),
            t.path().join("data/./month/.."),
        ] {
            assert!(
                protected.check("--out", &target).is_err(),
                "{}",
                target.display()
            );
        }
        assert!(protected
            .check("--out", &t.path().join("data/month/run"))
            .is_ok());
        assert!(protected
            .check("--out", &t.path().join("elsewhere"))
            .is_ok());
    }

    #[test]
    fn dead_runs_are_cleaned_and_an_interrupted_replacement_is_restored() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("run");
        publish(&out, Replace::Never, "one.csv").unwrap();
        // A replacement killed between its two renames: the earlier output sits aside.
        let dead = u32::MAX - 7;
        std::fs::rename(&out, t.path().join(format!(".run.old-{dead}"))).unwrap();
        let stale = t.path().join(format!(".run.tmp-{dead}"));
        std::fs::create_dir(&stale).unwrap();
        std::fs::write(stale.join(STAGING_MARKER), b"").unwrap();
        std::fs::write(t.path().join(format!(".latest.tmp-{dead}")), b"x").unwrap();
        // Killed between creating its staging directory and writing the marker.
        std::fs::create_dir(t.path().join(format!(".quality.tmp-{dead}"))).unwrap();
        // Killed between writing the final marker and renaming into place.
        let marked = t.path().join(format!(".charts.tmp-{dead}"));
        std::fs::create_dir(&marked).unwrap();
        std::fs::write(marked.join(MARKER), b"{}").unwrap();
        std::fs::write(marked.join("a.png"), b"png").unwrap();
        // Someone else's hidden directory that happens to look like ours is kept.
        let foreign = t.path().join(format!(".notes.tmp-{dead}"));
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("mine.txt"), b"keep").unwrap();
        clean_stale(t.path());
        assert!(foreign.join("mine.txt").exists());
        std::fs::remove_dir_all(&foreign).unwrap();
        assert!(out.join("one.csv").exists());
        let names: Vec<_> = std::fs::read_dir(t.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn temp_names_parse() {
        assert_eq!(temp_name(".run.tmp-12"), Some(("run", "tmp", 12)));
        assert_eq!(
            temp_name(".2026-01-31.old-3"),
            Some(("2026-01-31", "old", 3))
        );
        assert_eq!(temp_name("run.tmp-12"), None);
        assert_eq!(temp_name(".run-12"), None);
    }
}
