//! Output directories a run may create or replace, and the paths it must never touch.
//!
//! A run writes its output into a hidden staging directory beside the target and renames
//! it into place, so the target appears complete or not at all. It replaces an existing
//! directory only when that directory is provably an earlier clientele output of the same
//! kind (a marker file, written by that run, lists every file it wrote) and holds nothing
//! else; then only the listed files are removed. It never writes over the data, the
//! model or the config it reads, `/`, the home directory or the current directory.
//!
//! A marker is bound to its directory: it records the directory's identity (device and
//! inode, kept by a rename) and each file's identity, size and modification time. A
//! marker copied into, or forged in, another directory does not match it, a file changed
//! since the run wrote it is not the run's any more, and removal never follows a
//! symbolic link (`beneath`). No output is ever written inside another output.
//!
//! Runs killed mid-way leave hidden `.clientele-tmp-<pid>.<name>` (staging) and
//! `.clientele-old-<pid>.<name>` (an earlier output being replaced) entries; the next run
//! in the same directory cleans them up once their process is gone, and puts an earlier
//! output back if its replacement never arrived. Only entries with that prefix and a
//! marker bound to them are touched (or, left by a run killed while creating or
//! removing one, an empty directory, or a staging directory holding only the start of
//! its own marker): a user's hidden files never match. Markers are removed last, so a
//! run killed while cleaning up leaves an entry the next run still recognises.

use super::beneath::{self, FileState};
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
    /// The directory the run wrote (device, inode). Absent in markers of older releases,
    /// which are never replaced.
    #[serde(default)]
    directory: Option<(u64, u64)>,
    /// Each listed file as written, in the order of `files`.
    #[serde(default)]
    written: Vec<FileState>,
}

impl Marker {
    /// True when this marker was written for `dir` itself.
    fn bound_to(&self, dir: &Path) -> bool {
        self.directory.is_some()
            && self.directory == beneath::dir_identity(dir)
            && self.written.len() == self.files.len()
    }
}

/// What a directory's marker says about it.
enum Ownership {
    /// No marker (or an unreadable one): not clientele's.
    None,
    /// A marker not written for this directory (copied, forged, or from an older release).
    Unbound,
    /// An output a run wrote here.
    Own(Marker),
}

fn ownership(dir: &Path) -> Ownership {
    let Some(marker) = read_marker(dir) else {
        return Ownership::None;
    };
    if marker.bound_to(dir) {
        Ownership::Own(marker)
    } else {
        Ownership::Unbound
    }
}

/// Temporary names: `.clientele-<tag>-<pid>.<name>`.
const TEMP_PREFIX: &str = ".clientele-";

/// The hidden name of a temporary entry (`tag` "tmp" or "old") for `name`.
pub(crate) fn temp_name_for(name: &str, tag: &str) -> String {
    format!("{TEMP_PREFIX}{tag}-{}.{name}", std::process::id())
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
    check_not_inside_output(out, flag)?;
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
            "{flag} names an existing file or link, not a directory: nothing was changed; \
             choose a new directory"
        )));
    }
    let mut entries = std::fs::read_dir(out).map_err(read_err(out))?;
    if entries.next().is_none() {
        return Ok(());
    }
    let marker = match ownership(out) {
        Ownership::Own(marker) => marker,
        Ownership::None => {
            return Err(unsafe_out(format!(
                "{flag} names a directory that clientele did not write: a run only ever \
                 replaces its own earlier output, so nothing was changed; choose a new directory"
            )))
        }
        Ownership::Unbound => {
            return Err(unsafe_out(format!(
                "{flag} names a directory whose {MARKER} was not written for it (a copy, a \
                 move from another file system, an edit, or an output of an older clientele): \
                 it cannot be told apart from files clientele did not write, so nothing was \
                 changed; remove it yourself or choose a new directory"
            )))
        }
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
            "this earlier clientele output also holds files it did not write, or files changed \
             since ({}): move them away first; nothing was changed",
            foreign.join(", ")
        )));
    }
    Ok(())
}

/// Refuses a target inside an earlier output (a published model version, a labeling
/// run, a report): those directories hold exactly what their run wrote.
fn check_not_inside_output(target: &Path, flag: &str) -> Result<()> {
    let abs = absolute(target);
    for dir in abs.ancestors().skip(1) {
        if std::fs::symlink_metadata(dir.join(MARKER)).is_ok() {
            let what = read_marker(dir).map_or("a clientele output", |m| m.kind.describe());
            return Err(Error::UnsafeOutput {
                path: target.to_path_buf(),
                message: format!(
                    "{flag} lies inside {what} ({}): an output holds exactly what its run \
                     wrote and nothing is ever written inside it; choose a directory outside it",
                    dir.display()
                ),
            });
        }
    }
    Ok(())
}

/// Checks a models directory before training writes into it: not inside or itself
/// another output, a directory if it exists, and its `latest` (if any) clientele's own
/// pointer, which is the one file there a run replaces.
///
/// # Errors
/// `Error::UnsafeOutput` (exit 2) saying what is wrong and that nothing was changed.
pub fn check_models_dir(models: &Path, protected: &Protected, latest: &str) -> Result<()> {
    let flag = "--models";
    protected.check(flag, models)?;
    check_not_inside_output(models, flag)?;
    let unsafe_out = |message: String| Error::UnsafeOutput {
        path: models.to_path_buf(),
        message,
    };
    match std::fs::symlink_metadata(models) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(read_err(models)(e)),
        Ok(m) if !m.is_dir() => {
            return Err(unsafe_out(format!(
                "{flag} names an existing file, not a directory: nothing was changed"
            )))
        }
        Ok(_) => {}
    }
    if let Some(marker) = read_marker(models) {
        return Err(unsafe_out(format!(
            "{flag} names {}, not a models directory: nothing was changed; choose another \
             directory",
            marker.kind.describe()
        )));
    }
    check_pointer(&models.join(latest), flag)
}

/// A version name as `Bundle::publish` makes it: `<UTC stamp>-<8 hex digits>`.
pub fn is_version_name(s: &str) -> bool {
    let Some((stamp, hash)) = s.split_once('-') else {
        return false;
    };
    stamp.len() == 16
        && stamp
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'T' || b == b'Z')
        && hash.len() == 8
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Refuses to replace `path` unless it is absent or a pointer file clientele writes: a
/// small plain file holding one version name.
///
/// # Errors
/// `Error::UnsafeOutput` naming the file.
pub fn check_pointer(path: &Path, flag: &str) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(read_err(path)(e)),
        Ok(m) => m,
    };
    let ours = meta.is_file()
        && meta.len() <= 64
        && std::fs::read_to_string(path).is_ok_and(|t| is_version_name(t.trim()));
    if ours {
        return Ok(());
    }
    Err(Error::UnsafeOutput {
        path: path.to_path_buf(),
        message: format!(
            "{flag} holds a `{}` that is not clientele's pointer to a model version (it would \
             be replaced): nothing was changed; move it away or choose another models directory",
            path.file_name().unwrap_or_default().to_string_lossy()
        ),
    })
}

fn read_marker(dir: &Path) -> Option<Marker> {
    beneath::plain_file(dir, MARKER)?;
    let text = std::fs::read_to_string(dir.join(MARKER)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Every file and directory under `dir`, relative and `/`-separated, directories last.
/// Links are listed as files and never followed.
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

/// Entries of an earlier output that its marker does not list, or that changed since
/// the run wrote them (a link, another file, another size or time).
fn foreign_entries(dir: &Path, marker: &Marker) -> Result<Vec<String>> {
    let (files, dirs) = walk(dir)?;
    let unchanged = |f: &String| {
        marker
            .files
            .iter()
            .position(|m| m == f)
            .is_some_and(|i| beneath::plain_file(dir, f) == Some(marker.written[i]))
    };
    let listed = |f: &String| f == MARKER || unchanged(f);
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

/// Removes the files an earlier output's marker lists (each only while it is the very
/// file the run wrote, never through a link), then its emptied directories. Anything
/// else stays, and so does the directory holding it. A directory whose marker is not
/// bound to it is left alone.
fn remove_listed(dir: &Path) {
    let Ownership::Own(marker) = ownership(dir) else {
        return;
    };
    for (f, state) in marker.files.iter().zip(&marker.written) {
        beneath::remove_if_unchanged(dir, f, state);
    }
    if let Ok((_, dirs)) = walk(dir) {
        for d in dirs {
            beneath::remove_empty_dir(dir, &d);
        }
    }
    // The marker goes last: a run killed before this point leaves a directory the next
    // run still knows as its own, and after it an empty one (`clean_stale`).
    if let Some(state) = beneath::plain_file(dir, MARKER) {
        beneath::remove_if_unchanged(dir, MARKER, &state);
    }
    let _ = std::fs::remove_dir(dir);
}

/// One step of removing a staging directory (`staging_removal`).
#[derive(Debug)]
enum Removal {
    /// A subdirectory and everything beneath it (never through a link).
    Tree(PathBuf),
    File(PathBuf),
    /// The emptied staging directory itself.
    Dir(PathBuf),
}

impl Removal {
    /// Whether the entry is gone (already gone counts).
    fn apply(&self) -> bool {
        let removed = match self {
            Removal::Tree(p) => std::fs::remove_dir_all(p),
            Removal::File(p) => std::fs::remove_file(p),
            Removal::Dir(p) => std::fs::remove_dir(p),
        };
        match removed {
            Ok(()) => true,
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        }
    }
}

/// The steps that remove a staging directory, in an order that a kill at any moment
/// leaves a directory the next run still recognises as its own (`is_own_staging`):
/// everything but the markers, then the staging marker, then the final marker (each
/// alone proves ownership), then the emptied directory. No step at all when the
/// directory cannot be listed in full: it is left, markers included, for a later run.
fn staging_removal(dir: &Path) -> Vec<Removal> {
    let mut steps = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return steps;
    };
    for entry in entries {
        let Ok(entry) = entry else {
            return Vec::new();
        };
        let name = entry.file_name();
        if name == STAGING_MARKER || name == MARKER {
            continue;
        }
        let Ok(file_type) = entry.file_type() else {
            return Vec::new();
        };
        steps.push(if file_type.is_dir() {
            Removal::Tree(entry.path())
        } else {
            Removal::File(entry.path())
        });
    }
    for marker in [STAGING_MARKER, MARKER] {
        steps.push(Removal::File(dir.join(marker)));
    }
    steps.push(Removal::Dir(dir.to_path_buf()));
    steps
}

/// Removes a staging directory (`staging_removal`'s order), stopping at a step that
/// fails: the markers stay while anything else does.
fn remove_staging(dir: &Path) {
    for step in staging_removal(dir) {
        if !step.apply() {
            return;
        }
    }
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

/// Splits `.clientele-<tag>-<pid>.<name>` into name, tag and pid.
fn temp_name(entry: &str) -> Option<(&str, &str, u32)> {
    let inner = entry.strip_prefix(TEMP_PREFIX)?;
    let (tag, rest) = inner.split_once('-')?;
    let (pid, name) = rest.split_once('.')?;
    let pid = pid.parse().ok()?;
    (!name.is_empty() && matches!(tag, "tmp" | "old")).then_some((name, tag, pid))
}

/// Cleans up after runs in `dir` that died: removes their staging directories and
/// temporary files, and restores an earlier output whose replacement never arrived.
/// Only clientele's temporary names are looked at, and a directory only when it carries
/// a marker bound to it (or is empty, or holds only the start of its staging marker).
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
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        match tag {
            "tmp" if file_type.is_dir() && is_own_staging(&path) => remove_staging(&path),
            "tmp" if file_type.is_file() => {
                let _ = std::fs::remove_file(&path);
            }
            "old" if file_type.is_dir() => {
                if is_empty_dir(&path) {
                    // Killed after its marker went, last (`remove_listed`).
                    let _ = std::fs::remove_dir(&path);
                    continue;
                }
                if !matches!(ownership(&path), Ownership::Own(_)) {
                    continue;
                }
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

/// A dead run's staging directory: it carries a staging marker or a final marker bound
/// to it, or it holds nothing but a staging marker (the run died between creating it
/// and finishing the marker). Anything else is not ours and is left alone.
fn is_own_staging(dir: &Path) -> bool {
    let staging_bound = beneath::plain_file(dir, STAGING_MARKER).is_some()
        && std::fs::read_to_string(dir.join(STAGING_MARKER))
            .ok()
            .and_then(|t| serde_json::from_str::<(u64, u64)>(&t).ok())
            .is_some_and(|id| Some(id) == beneath::dir_identity(dir));
    staging_bound || matches!(ownership(dir), Ownership::Own(_)) || holds_at_most_its_marker(dir)
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none())
}

/// A directory itself (never through a link) that is empty, or holds only the start of
/// its own staging marker: the run died creating it, or while writing the marker
/// (`Staging::new` writes the directory's identity; a staging directory is never renamed).
fn holds_at_most_its_marker(dir: &Path) -> bool {
    let Some(identity) = beneath::dir_identity(dir) else {
        return false;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut entries = entries.flatten();
    match (entries.next(), entries.next()) {
        (None, _) => true,
        (Some(only), None) => {
            let whole = serde_json::to_vec(&identity).unwrap_or_default();
            only.file_name() == STAGING_MARKER
                && beneath::plain_file(dir, STAGING_MARKER).is_some()
                && std::fs::read(only.path()).is_ok_and(|start| whole.starts_with(&start))
        }
        (Some(_), Some(_)) => false,
    }
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
        let dir = parent.join(temp_name_for(&name_of(out), "tmp"));
        if is_own_staging(&dir) {
            remove_staging(&dir);
        }
        std::fs::create_dir(&dir).map_err(write_err(&dir))?;
        // The staging marker names the directory it was made for (see `is_own_staging`).
        let id = beneath::dir_identity(&dir).unwrap_or_default();
        let id = serde_json::to_vec(&id)
            .map_err(|e| Error::Runtime(format!("cannot encode the staging marker: {e}")))?;
        std::fs::write(dir.join(STAGING_MARKER), id).map_err(write_err(&dir))?;
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
        let written = files
            .iter()
            .map(|f| {
                beneath::plain_file(&self.dir, f).ok_or_else(|| {
                    Error::Runtime(format!(
                        "{} is not a plain file in the staged output",
                        self.dir.join(f).display()
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let marker = Marker {
            kind: self.kind,
            files,
            directory: beneath::dir_identity(&self.dir),
            written,
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
        let old = parent_of(&self.out).join(temp_name_for(&name_of(&self.out), "old"));
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
            remove_staging(&self.dir);
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

    /// Writes a marker bound to `dir` listing every file in it, as a run's publish does.
    fn bind(dir: &Path, kind: OutputKind) {
        let (files, _) = walk(dir).unwrap();
        let written = files
            .iter()
            .map(|f| beneath::plain_file(dir, f).unwrap())
            .collect();
        let marker = Marker {
            kind,
            files,
            directory: beneath::dir_identity(dir),
            written,
        };
        std::fs::write(dir.join(MARKER), serde_json::to_vec(&marker).unwrap()).unwrap();
    }

    #[test]
    fn dead_runs_are_cleaned_and_an_interrupted_replacement_is_restored() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("run");
        publish(&out, Replace::Never, "one.csv").unwrap();
        // A replacement killed between its two renames: the earlier output sits aside.
        let dead = u32::MAX - 7;
        std::fs::rename(&out, t.path().join(format!(".clientele-old-{dead}.run"))).unwrap();
        let stale = t.path().join(format!(".clientele-tmp-{dead}.run"));
        std::fs::create_dir(&stale).unwrap();
        let id = serde_json::to_vec(&beneath::dir_identity(&stale).unwrap()).unwrap();
        std::fs::write(stale.join(STAGING_MARKER), id).unwrap();
        std::fs::write(stale.join("labels.csv"), b"half").unwrap();
        std::fs::write(t.path().join(format!(".clientele-tmp-{dead}.latest")), b"x").unwrap();
        // Killed between creating its staging directory and writing the marker.
        std::fs::create_dir(t.path().join(format!(".clientele-tmp-{dead}.quality"))).unwrap();
        // Killed between writing the final marker and renaming into place.
        let marked = t.path().join(format!(".clientele-tmp-{dead}.charts"));
        std::fs::create_dir(&marked).unwrap();
        std::fs::write(marked.join("a.png"), b"png").unwrap();
        bind(&marked, OutputKind::TrainingCharts);
        clean_stale(t.path());
        assert!(out.join("one.csv").exists());
        let names: Vec<_> = std::fs::read_dir(t.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);
    }

    /// A dead run's staging directory holding both markers, files and a subdirectory.
    fn dead_staging(parent: &Path, dead: u32) -> PathBuf {
        let dir = parent.join(format!(".clientele-tmp-{dead}.run"));
        std::fs::create_dir_all(dir.join("charts")).unwrap();
        std::fs::write(dir.join("charts/a.svg"), b"svg").unwrap();
        std::fs::write(dir.join("labels.csv"), b"half").unwrap();
        bind(&dir, OutputKind::Labels);
        let id = serde_json::to_vec(&beneath::dir_identity(&dir).unwrap()).unwrap();
        std::fs::write(dir.join(STAGING_MARKER), id).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_cleanup_killed_at_any_step_is_finished_by_the_next_run() {
        let dead = u32::MAX - 7;
        let steps = {
            let t = tempfile::tempdir().unwrap();
            staging_removal(&dead_staging(t.path(), dead)).len()
        };
        assert_eq!(steps, 5, "labels.csv, charts/, two markers, the directory");
        for killed_after in 0..=steps {
            let t = tempfile::tempdir().unwrap();
            let dir = dead_staging(t.path(), dead);
            for step in &staging_removal(&dir)[..killed_after] {
                step.apply();
            }
            clean_stale(t.path());
            assert_eq!(entries(t.path()), Vec::<String>::new(), "{killed_after}");
        }
        // An earlier output being removed after its replacement was placed: killed with
        // only its marker left, or once emptied.
        for marker_left in [true, false] {
            let t = tempfile::tempdir().unwrap();
            let out = t.path().join("run");
            publish(&out, Replace::Never, "one.csv").unwrap();
            let old = t.path().join(format!(".clientele-old-{dead}.run"));
            std::fs::create_dir(&old).unwrap();
            if marker_left {
                bind(&old, OutputKind::Labels);
            }
            clean_stale(t.path());
            assert_eq!(entries(t.path()), ["run"], "{marker_left}");
            assert!(out.join("one.csv").exists());
        }
        // Killed while writing its staging marker: the marker is all it holds.
        let t = tempfile::tempdir().unwrap();
        let half = t.path().join(format!(".clientele-tmp-{dead}.run"));
        std::fs::create_dir(&half).unwrap();
        let id = serde_json::to_vec(&beneath::dir_identity(&half).unwrap()).unwrap();
        std::fs::write(half.join(STAGING_MARKER), &id[..id.len() / 2]).unwrap();
        // ...but a marker-only directory whose marker is not the start of its own
        // identity is not provably ours.
        let other = t.path().join(format!(".clientele-tmp-{dead}.other"));
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join(STAGING_MARKER), b"{").unwrap();
        clean_stale(t.path());
        assert_eq!(entries(t.path()), [format!(".clientele-tmp-{dead}.other")]);
    }

    #[test]
    fn hidden_entries_that_are_not_provably_ours_are_never_removed() {
        let t = tempfile::tempdir().unwrap();
        let dead = u32::MAX - 7;
        let keep = |rel: &str| {
            let p = t.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"keep").unwrap();
            p
        };
        // A user's own hidden files in the old temporary-name pattern.
        let notes = keep(&format!(".notes.tmp-{dead}"));
        let old_style = keep(&format!(".run.tmp-{dead}/mine.txt"));
        // Our prefix, but no marker, or a staging marker made for another directory.
        let unmarked = keep(&format!(".clientele-tmp-{dead}.x/mine.txt"));
        let forged = keep(&format!(".clientele-tmp-{dead}.y/mine.txt"));
        std::fs::write(forged.parent().unwrap().join(STAGING_MARKER), b"[1,2]").unwrap();
        // A planted "earlier output" with a copied marker is neither restored nor removed.
        let planted = keep(&format!(".clientele-old-{dead}.run/victim.txt"));
        let real = t.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(real.join("victim.txt"), b"x").unwrap();
        bind(&real, OutputKind::Labels);
        std::fs::copy(real.join(MARKER), planted.parent().unwrap().join(MARKER)).unwrap();
        clean_stale(t.path());
        for p in [&notes, &old_style, &unmarked, &forged, &planted] {
            assert_eq!(std::fs::read(p).unwrap(), b"keep", "{}", p.display());
        }
        assert!(!t.path().join("run").exists());
    }

    #[test]
    fn a_forged_marker_never_deletes_through_a_link_or_outside_its_directory() {
        let t = tempfile::tempdir().unwrap();
        let elsewhere = t.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("victim.txt"), b"keep").unwrap();
        let out = t.path().join("run");
        publish(&out, Replace::Never, "one.csv").unwrap();
        // The marker rewritten to list a linked directory and a file through it.
        std::os::unix::fs::symlink(&elsewhere, out.join("sub")).unwrap();
        let mut marker = read_marker(&out).unwrap();
        let victim = beneath::plain_file(&elsewhere, "victim.txt").unwrap();
        marker
            .files
            .extend(["sub".to_string(), "sub/victim.txt".to_string()]);
        marker.written.extend([victim, victim]);
        std::fs::write(out.join(MARKER), serde_json::to_vec(&marker).unwrap()).unwrap();
        let err = publish(&out, Replace::EarlierOutput, "two.csv").unwrap_err();
        assert!(err.to_string().contains("sub"), "{err}");
        remove_listed(&out);
        assert_eq!(
            std::fs::read(elsewhere.join("victim.txt")).unwrap(),
            b"keep"
        );

        // A copy of an output (marker included) is not the output its marker was made for.
        let copy = t.path().join("copy");
        std::fs::create_dir(&copy).unwrap();
        std::fs::write(copy.join("two.csv"), b"mine").unwrap();
        std::fs::write(copy.join("one.csv"), b"one.csv").unwrap();
        let orig = t.path().join("orig");
        publish(&orig, Replace::Never, "one.csv").unwrap();
        std::fs::copy(orig.join(MARKER), copy.join(MARKER)).unwrap();
        let err = check_target(
            &copy,
            OutputKind::Labels,
            Replace::EarlierOutput,
            &Protected::default(),
            "--out",
        )
        .unwrap_err();
        assert!(err.to_string().contains("not written for it"), "{err}");
        // A file edited since the run wrote it blocks the replacement.
        let fresh = t.path().join("fresh");
        publish(&fresh, Replace::Never, "one.csv").unwrap();
        std::fs::write(fresh.join("one.csv"), b"edited by hand").unwrap();
        let err = publish(&fresh, Replace::EarlierOutput, "two.csv").unwrap_err();
        assert!(err.to_string().contains("one.csv"), "{err}");
        assert_eq!(
            std::fs::read(fresh.join("one.csv")).unwrap(),
            b"edited by hand"
        );
    }

    #[test]
    fn nothing_is_written_inside_an_output_and_latest_is_replaced_only_when_ours() {
        let t = tempfile::tempdir().unwrap();
        let run = t.path().join("run");
        publish(&run, Replace::Never, "one.csv").unwrap();
        let none = Protected::default();
        let inside = run.join("charts/deeper");
        let err =
            check_target(&inside, OutputKind::Labels, Replace::Never, &none, "--out").unwrap_err();
        assert!(err.to_string().contains("inside a labeling run"), "{err}");
        for models in [run.clone(), run.join("models")] {
            assert!(
                check_models_dir(&models, &none, "latest").is_err(),
                "{}",
                models.display()
            );
        }
        let models = t.path().join("models");
        std::fs::create_dir(&models).unwrap();
        assert!(check_models_dir(&models, &none, "latest").is_ok());
        std::fs::write(models.join("latest"), "20261101T000000Z-0123abcd\n").unwrap();
        assert!(check_models_dir(&models, &none, "latest").is_ok());
        std::fs::write(models.join("latest"), "my notes on the latest model\n").unwrap();
        let err = check_models_dir(&models, &none, "latest").unwrap_err();
        assert!(err.to_string().contains("latest"), "{err}");
        assert!(is_version_name("20261101T000000Z-0123abcd"));
        assert!(!is_version_name("20261101T000000Z-0123abc"));
        assert!(!is_version_name("../x-0123abcd"));
    }

    #[test]
    fn temp_names_parse() {
        assert_eq!(temp_name(".clientele-tmp-12.run"), Some(("run", "tmp", 12)));
        assert_eq!(
            temp_name(".clientele-old-3.2026-01-31"),
            Some(("2026-01-31", "old", 3))
        );
        assert_eq!(temp_name(".run.tmp-12"), None);
        assert_eq!(temp_name(".clientele-tmp-12."), None);
        assert_eq!(temp_name(".clientele-new-12.run"), None);
        assert_eq!(
            temp_name_for("run", "tmp"),
            format!(".clientele-tmp-{}.run", std::process::id())
        );
    }
}
