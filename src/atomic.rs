//! Writing output files atomically: a temporary file in the same directory, renamed into place
//! only when complete, never over an existing file unless asked; and removing the temporaries
//! that a killed writer left behind.
//!
//! Temporaries are named `.arrstore-<pid>-<random>.tmp` (a file or a store's directory being
//! built) and `.arrstore-old-<pid>-<random>.tmp` (a replaced store on its way out), `<pid>` the
//! writing process. [`remove_stale_temporaries`] removes those of processes that no longer run.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result, ResultExt};

/// The start of every temporary's name.
pub const TEMP_PREFIX: &str = ".arrstore-";

/// The end of every temporary's name.
pub const TEMP_SUFFIX: &str = ".tmp";

/// The prefix of this process's temporaries: `.arrstore-<pid>-`, or `.arrstore-old-<pid>-` for
/// a replaced store (`old`).
pub(crate) fn temp_prefix(old: bool) -> String {
    let kind = if old { "old-" } else { "" };
    format!("{TEMP_PREFIX}{kind}{}-", std::process::id())
}

/// The directory `path` is in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Flushes `dir`'s entries to disk, so that a rename into it survives a power loss (unix; a
/// no-op elsewhere). File systems that cannot sync a directory (`EINVAL`) are let be.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        match File::open(dir).and_then(|d| d.sync_all()) {
            Err(e) if e.kind() != std::io::ErrorKind::InvalidInput => return Err(e),
            _ => {}
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// What a temporary's name says: the writer's pid and whether it is a replaced store.
fn parse_temp_name(name: &str) -> Option<(u32, bool)> {
    let rest = name.strip_prefix(TEMP_PREFIX)?.strip_suffix(TEMP_SUFFIX)?;
    let (old, rest) = match rest.strip_prefix("old-") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let (pid, random) = rest.split_once('-')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) || random.is_empty() {
        return None;
    }
    let pid: u32 = pid.parse().ok().filter(|&p| p > 0)?;
    Some((pid, old))
}

/// Whether the process `pid` is known not to run: on Linux, `/proc/<pid>` is missing (while
/// `/proc/self` is there); elsewhere nothing is known, so nothing is stale.
fn is_dead(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc/self").exists() && !Path::new("/proc").join(pid.to_string()).exists()
    } else {
        false
    }
}

/// Removes the temporaries in `dir` that writers killed before they finished left behind:
/// entries named `.arrstore-<pid>-<random>.tmp` or `.arrstore-old-<pid>-<random>.tmp` whose
/// process no longer runs. Returns how many were removed.
///
/// Never removed: an entry of any other name, a temporary of a live process (this one's
/// included), and a replaced store's temporary that still holds the store (`store` inside it:
/// its writer was killed between moving the old store away and moving the new one in, so it
/// is the only copy; it is left for its owner). Whether a process runs is known on Linux only
/// (`/proc`); elsewhere nothing is removed. Processes are those of this pid namespace: a
/// directory shared with writers in other containers should not be cleaned from here.
pub fn remove_stale_temporaries(dir: &Path) -> Result<usize> {
    let go = || -> Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some((pid, old)) = name.to_str().and_then(parse_temp_name) else {
                continue;
            };
            if !is_dead(pid) {
                continue;
            }
            let path = entry.path();
            let gone = match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => {
                    if old && path.join("store").symlink_metadata().is_ok() {
                        continue;
                    }
                    std::fs::remove_dir_all(&path)
                }
                Ok(_) => std::fs::remove_file(&path),
                Err(e) => Err(e),
            };
            match gone {
                Ok(()) => removed += 1,
                // Another writer cleaning the same directory got there first.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::from(e).in_file(path.as_path())),
            }
        }
        Ok(removed)
    };
    go().in_file(dir)
}

/// Writes `path` through `write`, atomically: the bytes go to a temporary file beside `path`
/// (`.arrstore-<pid>-<random>.tmp`), which is renamed to `path` only when `write` succeeds, and
/// the directory is synced after the rename. Without `overwrite`, an existing `path` is an
/// [`Error::OutputExists`] and is left as it was (checked before any work and again,
/// atomically, at the rename). Stale temporaries of killed writers in the directory are
/// removed first ([`remove_stale_temporaries`]; a failure there is not this write's). Errors
/// name `path`.
pub fn write_atomic<T>(
    path: &Path,
    overwrite: bool,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<T>,
) -> Result<T> {
    let run = || -> Result<T> {
        if !overwrite && path.exists() {
            return Err(Error::OutputExists);
        }
        let dir = parent_dir(path);
        let _ = remove_stale_temporaries(dir);
        let prefix = temp_prefix(false);
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(TEMP_SUFFIX);
        #[cfg(unix)]
        {
            // The mode an ordinary new file gets (0o666 less the umask), not the private 0o600
            // of temporary files: the rename keeps it.
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder.tempfile_in(dir)?;
        let (file, tmp_path) = tmp.into_parts();
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let out = write(&mut w)?;
        w.flush()?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        let persisted = if overwrite {
            tmp_path.persist(path).map_err(|e| e.error)
        } else {
            tmp_path.persist_noclobber(path).map_err(|e| e.error)
        };
        match persisted {
            Ok(()) => {
                sync_dir(dir)?;
                Ok(out)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::OutputExists),
            Err(e) => Err(e.into()),
        }
    };
    run().in_file(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_clobber_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.bin");
        write_atomic(&p, false, |w| Ok(w.write_all(b"one")?)).unwrap();
        let e = write_atomic(&p, false, |w| Ok(w.write_all(b"two")?)).unwrap_err();
        assert!(matches!(e.kind(), Error::OutputExists), "{e}");
        assert!(e.to_string().contains("out.bin"));
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        let e = write_atomic(&p, true, |_| -> Result<()> {
            Err(Error::CorruptData("boom".into()))
        });
        assert!(e.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        write_atomic(&p, true, |w| Ok(w.write_all(b"three")?)).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"three");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temporary_names_carry_the_pid() {
        let me = std::process::id();
        assert_eq!(
            parse_temp_name(&format!("{}ab12C3.tmp", temp_prefix(false))),
            Some((me, false))
        );
        assert_eq!(
            parse_temp_name(&format!("{}ab12C3.tmp", temp_prefix(true))),
            Some((me, true))
        );
        for other in [
            ".arrstore-ab12C3.tmp",
            ".arrstore-12-.tmp",
            ".arrstore-12-x",
            ".arrstore--x.tmp",
            ".arrstore-0-x.tmp",
            ".arrstore-1x-y.tmp",
            ".arrstore-99999999999-y.tmp",
            "arrstore-12-x.tmp",
            ".arrstore-old-x.tmp",
        ] {
            assert_eq!(parse_temp_name(other), None, "{other}");
        }
    }

    /// The pid of a process that has exited.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn stale_temporaries_of_dead_processes_only_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let dead = dead_pid();
        let me = std::process::id();
        let dead_file = format!(".arrstore-{dead}-aaaaaa.tmp");
        let dead_dir = format!(".arrstore-{dead}-bbbbbb.tmp");
        let dead_old_empty = format!(".arrstore-old-{dead}-cccccc.tmp");
        let dead_old_store = format!(".arrstore-old-{dead}-dddddd.tmp");
        let live = format!(".arrstore-{me}-eeeeee.tmp");
        let unrelated = [".arrstore-x.tmp", "out.parquet", ".arrstore-12-x.bak"];
        std::fs::write(d.join(&dead_file), b"x").unwrap();
        std::fs::create_dir_all(d.join(&dead_dir).join("sub")).unwrap();
        std::fs::write(d.join(&dead_dir).join("sub/f"), b"x").unwrap();
        std::fs::create_dir_all(d.join(&dead_old_empty).join("replaced")).unwrap();
        std::fs::create_dir_all(d.join(&dead_old_store).join("store")).unwrap();
        std::fs::write(d.join(&live), b"x").unwrap();
        for u in unrelated {
            std::fs::write(d.join(u), b"x").unwrap();
        }
        assert_eq!(remove_stale_temporaries(d).unwrap(), 3);
        let mut left: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut expected = vec![dead_old_store, live];
        expected.extend(unrelated.iter().map(|u| u.to_string()));
        expected.sort();
        assert_eq!(left, expected);
        assert_eq!(remove_stale_temporaries(d).unwrap(), 0);
        let e = remove_stale_temporaries(&d.join("missing")).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_write_removes_stale_temporaries_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(format!(".arrstore-{}-zzzzzz.tmp", dead_pid()));
        std::fs::write(&stale, b"half").unwrap();
        write_atomic(&dir.path().join("out.bin"), false, |w| Ok(w.write_all(b"one")?)).unwrap();
        assert!(!stale.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
