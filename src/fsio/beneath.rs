//! File operations inside a directory that never follow a symbolic link: every
//! component below the directory is opened with `O_NOFOLLOW`, so a link planted in an
//! output (or swapped in while a run works) cannot lead a removal anywhere else.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A file's identity and state as a run wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileState {
    pub dev: u64,
    pub ino: u64,
    pub bytes: u64,
    pub mtime_ns: i64,
}

/// An open directory, closed on drop.
struct Dir(libc::c_int);

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: the descriptor was opened by `open_dir` and is closed once.
        unsafe { libc::close(self.0) };
    }
}

fn c_name(name: &[u8]) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

const DIR_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// Opens `root` itself (the caller named it; a link there is the caller's choice).
fn open_root(root: &Path) -> io::Result<Dir> {
    let path = c_name(root.as_os_str().as_bytes())?;
    // SAFETY: a valid NUL-terminated path; the result is checked.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Dir(fd))
}

fn open_child(parent: &Dir, name: &[u8]) -> io::Result<Dir> {
    let name = c_name(name)?;
    // SAFETY: a valid descriptor and NUL-terminated name; the result is checked.
    let fd = unsafe { libc::openat(parent.0, name.as_ptr(), DIR_FLAGS) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Dir(fd))
}

/// The directory holding `rel` (a `/`-separated relative path) and its last name, every
/// component opened without following links. `None` for an empty, absolute or `..` path.
fn parent_of(root: &Path, rel: &str) -> io::Result<Option<(Dir, Vec<u8>)>> {
    let parts: Vec<&str> = rel.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Ok(None);
    }
    let mut dir = open_root(root)?;
    for p in &parts[..parts.len() - 1] {
        dir = open_child(&dir, p.as_bytes())?;
    }
    Ok(Some((dir, parts[parts.len() - 1].as_bytes().to_vec())))
}

fn stat_at(dir: &Dir, name: &[u8]) -> io::Result<libc::stat> {
    let name = c_name(name)?;
    // SAFETY: `st` is written by fstatat before it is read; the result is checked.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::fstatat(dir.0, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

fn state_of(st: &libc::stat) -> FileState {
    FileState {
        dev: st.st_dev,
        ino: st.st_ino,
        bytes: u64::try_from(st.st_size).unwrap_or(0),
        mtime_ns: st
            .st_mtime
            .saturating_mul(1_000_000_000)
            .saturating_add(st.st_mtime_nsec),
    }
}

/// The state of the plain file `rel` under `root`; `None` when it is missing, is not a
/// regular file, or any component on the way is a link or not a directory.
pub fn plain_file(root: &Path, rel: &str) -> Option<FileState> {
    let (dir, name) = parent_of(root, rel).ok()??;
    let st = stat_at(&dir, &name).ok()?;
    ((st.st_mode & libc::S_IFMT) == libc::S_IFREG).then(|| state_of(&st))
}

/// Removes the plain file `rel` under `root` when it is still in the state `expected`
/// (same file, size and modification time). Returns whether it was removed.
pub fn remove_if_unchanged(root: &Path, rel: &str, expected: &FileState) -> bool {
    let Ok(Some((dir, name))) = parent_of(root, rel) else {
        return false;
    };
    let Ok(st) = stat_at(&dir, &name) else {
        return false;
    };
    if (st.st_mode & libc::S_IFMT) != libc::S_IFREG || state_of(&st) != *expected {
        return false;
    }
    let Ok(c) = c_name(&name) else {
        return false;
    };
    // SAFETY: a valid descriptor and NUL-terminated name; the result is checked.
    unsafe { libc::unlinkat(dir.0, c.as_ptr(), 0) == 0 }
}

/// Removes the empty directory `rel` under `root` (never through a link).
pub fn remove_empty_dir(root: &Path, rel: &str) -> bool {
    let Ok(Some((dir, name))) = parent_of(root, rel) else {
        return false;
    };
    let Ok(c) = c_name(&name) else {
        return false;
    };
    // SAFETY: a valid descriptor and NUL-terminated name; the result is checked.
    unsafe { libc::unlinkat(dir.0, c.as_ptr(), libc::AT_REMOVEDIR) == 0 }
}

/// The identity (device, inode) of the directory `path` itself, not through a link.
pub fn dir_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).ok()?;
    meta.is_dir().then(|| (meta.dev(), meta.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removals_never_go_through_a_link() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("out");
        let elsewhere = t.path().join("elsewhere");
        std::fs::create_dir_all(out.join("real")).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("victim.txt"), b"keep").unwrap();
        std::fs::write(out.join("real/a.csv"), b"a").unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join("sub")).unwrap();
        std::os::unix::fs::symlink(elsewhere.join("victim.txt"), out.join("link.txt")).unwrap();

        assert!(plain_file(&out, "sub/victim.txt").is_none());
        assert!(plain_file(&out, "link.txt").is_none());
        assert!(plain_file(&out, "../elsewhere/victim.txt").is_none());
        let state = plain_file(&t.path().join("elsewhere"), "victim.txt").unwrap();
        assert!(!remove_if_unchanged(&out, "sub/victim.txt", &state));
        assert!(elsewhere.join("victim.txt").exists());

        let a = plain_file(&out, "real/a.csv").unwrap();
        let changed = FileState { bytes: 9, ..a };
        assert!(!remove_if_unchanged(&out, "real/a.csv", &changed));
        assert!(remove_if_unchanged(&out, "real/a.csv", &a));
        assert!(!out.join("real/a.csv").exists());
        assert!(!remove_empty_dir(&out, "sub"));
        assert!(remove_empty_dir(&out, "real"));
        assert!(elsewhere.join("victim.txt").exists());
    }
}
