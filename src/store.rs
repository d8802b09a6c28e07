//! A store: a directory of arrstore files, one per named array, with an index.
//!
//! Spec card (store format 1.0):
//! - the directory holds one arrstore Parquet file per array and `store.json`;
//! - `store.json` is `{"format_version": "1.0", "arrays": [{"name": "...", "file": "..."}]}`,
//!   arrays in insertion order; `name` is any string (an `.npz` key), `file` a plain file name
//!   in the directory derived from it (`[A-Za-z0-9._-]` kept, other characters `_`, made unique);
//! - every file is an ordinary arrstore file: it opens on its own, in any Parquet reader.
//!
//! ```
//! use arrstore::store::Store;
//! use arrstore::{DynArray, WriteOptions};
//! let dir = tempfile::tempdir()?;
//! let mut store = Store::create(dir.path().join("s"))?;
//! store.add("counts", &DynArray::from(ndarray::arr1(&[1u32, 2, 3]).into_dyn()), &WriteOptions::default())?;
//! let store = Store::open(dir.path().join("s"))?;
//! assert_eq!(store.names(), vec!["counts"]);
//! assert_eq!(store.read_dyn("counts")?.len(), 3);
//! # Ok::<(), arrstore::Error>(())
//! ```

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::coo::DynCoo;
use crate::dynarray::DynArray;
use crate::error::{Error, Result, ResultExt};
use crate::options::WriteOptions;
use crate::read::ArrayFile;
use crate::sizes::SizeReport;
use crate::write::WriteSummary;

/// The index file of a store.
pub const STORE_INDEX: &str = "store.json";

/// The store format version this library writes.
pub const STORE_FORMAT_VERSION: &str = "1.0";

/// One array of a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreEntry {
    /// The array's name (an `.npz` key).
    pub name: String,
    /// Its file, in the store's directory.
    pub file: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoreIndex {
    format_version: String,
    arrays: Vec<StoreEntry>,
}

/// An opened store.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    index: StoreIndex,
}

impl Store {
    /// Creates an empty store in `dir`, which must not exist or be empty.
    pub fn create(dir: impl AsRef<Path>) -> Result<Store> {
        let dir = dir.as_ref();
        let go = || -> Result<Store> {
            if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
                return Err(Error::OutputExists);
            }
            std::fs::create_dir_all(dir)?;
            let store = Store {
                dir: dir.to_path_buf(),
                index: StoreIndex {
                    format_version: STORE_FORMAT_VERSION.into(),
                    arrays: Vec::new(),
                },
            };
            store.save_index()?;
            Ok(store)
        };
        go().in_file(dir)
    }

    /// Opens the store in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        let dir = dir.as_ref();
        let path = dir.join(STORE_INDEX);
        let go = || -> Result<Store> {
            let text = std::fs::read_to_string(&path)?;
            let index: StoreIndex = serde_json::from_str(&text)
                .map_err(|e| Error::CorruptMetadata(format!("{STORE_INDEX}: {e}")))?;
            let major = index
                .format_version
                .split('.')
                .next()
                .and_then(|m| m.parse::<u32>().ok());
            if major != Some(1) {
                return Err(Error::UnsupportedVersion {
                    found: index.format_version,
                    supported: STORE_FORMAT_VERSION.into(),
                });
            }
            for e in &index.arrays {
                if !is_plain_file_name(&e.file) {
                    return Err(Error::CorruptMetadata(format!(
                        "{STORE_INDEX}: array '{}' has the file name '{}', which leaves the store",
                        e.name, e.file
                    )));
                }
            }
            Ok(Store {
                dir: dir.to_path_buf(),
                index,
            })
        };
        go().in_file(path.as_path())
    }

    /// True when `dir` holds a store index.
    pub fn is_store(dir: impl AsRef<Path>) -> bool {
        dir.as_ref().join(STORE_INDEX).is_file()
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The arrays, in insertion order.
    pub fn entries(&self) -> &[StoreEntry] {
        &self.index.arrays
    }

    /// The arrays' names, in insertion order.
    pub fn names(&self) -> Vec<&str> {
        self.index.arrays.iter().map(|e| e.name.as_str()).collect()
    }

    /// The path of the file holding `name`.
    pub fn path_of(&self, name: &str) -> Result<PathBuf> {
        self.index
            .arrays
            .iter()
            .find(|e| e.name == name)
            .map(|e| self.dir.join(&e.file))
            .ok_or_else(|| Error::File {
                path: self.dir.clone(),
                error: Box::new(Error::CorruptData(format!(
                    "the store has no array '{name}' (it has: {})",
                    self.names().join(", ")
                ))),
            })
    }

    /// Opens the array `name`.
    pub fn file(&self, name: &str) -> Result<ArrayFile<File>> {
        ArrayFile::open(self.path_of(name)?)
    }

    /// Reads the array `name` with its original dtype.
    pub fn read_dyn(&self, name: &str) -> Result<DynArray> {
        self.file(name)?.read_dyn()
    }

    /// The size report of every array, in insertion order.
    pub fn sizes(&self) -> Result<Vec<(String, SizeReport)>> {
        self.index
            .arrays
            .iter()
            .map(|e| Ok((e.name.clone(), ArrayFile::open(self.dir.join(&e.file))?.sizes())))
            .collect()
    }

    /// Adds (or, with `opts.overwrite()`, replaces) the array `name`.
    pub fn add(&mut self, name: &str, array: &DynArray, opts: &WriteOptions) -> Result<WriteSummary> {
        let file = self.file_for(name, opts.overwrite())?;
        let summary = crate::write::write_dyn(self.dir.join(&file), array, opts)?;
        self.record(name, file)?;
        Ok(summary)
    }

    /// Adds (or replaces) the sparse array `name`.
    pub fn add_coo(&mut self, name: &str, coo: &DynCoo, opts: &WriteOptions) -> Result<WriteSummary> {
        let file = self.file_for(name, opts.overwrite())?;
        let path = self.dir.join(&file);
        let summary = crate::with_dyn_coo!(coo, c => crate::write::write_coo(&path, c, opts))?;
        self.record(name, file)?;
        Ok(summary)
    }

    /// The file for `name`: its current one, or a new unique one.
    fn file_for(&self, name: &str, overwrite: bool) -> Result<String> {
        if let Some(e) = self.index.arrays.iter().find(|e| e.name == name) {
            if !overwrite {
                return Err(Error::File {
                    path: self.dir.join(&e.file),
                    error: Box::new(Error::OutputExists),
                });
            }
            return Ok(e.file.clone());
        }
        let stem: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let stem = if stem.is_empty() || stem.starts_with('.') {
            format!("_{stem}")
        } else {
            stem
        };
        let taken = |f: &str| self.index.arrays.iter().any(|e| e.file == f) || f == STORE_INDEX;
        let mut file = format!("{stem}.parquet");
        let mut k = 1;
        while taken(&file) {
            file = format!("{stem}~{k}.parquet");
            k += 1;
        }
        Ok(file)
    }

    fn record(&mut self, name: &str, file: String) -> Result<()> {
        if !self.index.arrays.iter().any(|e| e.name == name) {
            self.index.arrays.push(StoreEntry {
                name: name.to_string(),
                file,
            });
        }
        self.save_index()
    }

    fn save_index(&self) -> Result<()> {
        let text = serde_json::to_string_pretty(&self.index).expect("the index serializes");
        crate::atomic::write_atomic(&self.dir.join(STORE_INDEX), true, |w| {
            use std::io::Write;
            Ok(w.write_all(text.as_bytes())?)
        })
    }
}

/// Writes named arrays as a new store at `dir`, atomically: the store is built in a temporary
/// directory beside `dir` (`.arrstore-<pid>-<random>.tmp`) and renamed into place when
/// complete, and the parent directory is synced. An existing `dir` is an
/// [`Error::OutputExists`] unless `opts.overwrite()`, in which case it is replaced whole: on
/// Linux the new and the old directory are exchanged in one step (`renameat2` with
/// `RENAME_EXCHANGE`), so `dir` always holds one complete store, and the old one is removed
/// after; where that is not available, the old store is first moved aside (into
/// `.arrstore-old-<pid>-<random>.tmp`) and the new one moved in, two renames. Stale
/// temporaries of killed writers beside `dir` are removed first
/// ([`crate::atomic::remove_stale_temporaries`]).
pub fn write_store(
    dir: impl AsRef<Path>,
    arrays: &[(&str, &DynArray)],
    opts: &WriteOptions,
) -> Result<Store> {
    let dir = dir.as_ref();
    let go = || -> Result<Store> {
        if dir.exists() && !opts.overwrite() {
            return Err(Error::OutputExists);
        }
        for (_, a) in arrays {
            crate::limits::check_shape(a.shape())?;
        }
        let parent = crate::atomic::parent_dir(dir);
        let _ = crate::atomic::remove_stale_temporaries(parent);
        let tmp = tempfile::Builder::new()
            .prefix(&crate::atomic::temp_prefix(false))
            .suffix(crate::atomic::TEMP_SUFFIX)
            .tempdir_in(parent)?;
        let mut store = Store::create(tmp.path())?;
        let inner = opts.clone().with_overwrite(false);
        for (name, a) in arrays {
            store.add(name, a, &inner)?;
        }
        let built = tmp.keep();
        let placed = if opts.overwrite() && dir.symlink_metadata().is_ok() {
            replace(&built, dir, parent)
        } else {
            std::fs::rename(&built, dir).and_then(|()| crate::atomic::sync_dir(parent))
        };
        if let Err(e) = placed {
            let _ = std::fs::remove_dir_all(&built);
            return Err(e.into());
        }
        store.dir = dir.to_path_buf();
        Ok(store)
    };
    go().in_file(dir)
}

/// Puts the complete store `built` in the place of the existing `dir` (both in `parent`) and
/// removes the old one: exchanged in one step where the system can, else two renames.
fn replace(built: &Path, dir: &Path, parent: &Path) -> std::io::Result<()> {
    if exchange(built, dir)? {
        // `built` now holds the old store.
        crate::atomic::sync_dir(parent)?;
        return remove_any(built);
    }
    replace_by_renames(built, dir, parent)
}

/// Puts `built` in the place of `dir` by two renames (the old store moved aside, the new one
/// moved in), then removes the old one. A kill between the two renames leaves no store at
/// `dir`, and the old one in `.arrstore-old-<pid>-<random>.tmp/store`.
fn replace_by_renames(built: &Path, dir: &Path, parent: &Path) -> std::io::Result<()> {
    let old = tempfile::Builder::new()
        .prefix(&crate::atomic::temp_prefix(true))
        .suffix(crate::atomic::TEMP_SUFFIX)
        .tempdir_in(parent)?
        .keep();
    // While the old store is at `old/store`, it is the only copy: stale-temporary removal
    // leaves such a directory alone. Once the new one is in place it is renamed `replaced`.
    std::fs::rename(dir, old.join("store"))?;
    if let Err(e) = std::fs::rename(built, dir) {
        // Put the old store back, so that a failed write leaves it as it was.
        let _ = std::fs::rename(old.join("store"), dir).and_then(|()| std::fs::remove_dir(&old));
        return Err(e);
    }
    crate::atomic::sync_dir(parent)?;
    std::fs::rename(old.join("store"), old.join("replaced"))?;
    std::fs::remove_dir_all(&old)
}

/// Removes a directory with its contents, or a file.
fn remove_any(path: &Path) -> std::io::Result<()> {
    if path.symlink_metadata()?.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

/// Exchanges `a` and `b` atomically (Linux's `renameat2` with `RENAME_EXCHANGE`). `Ok(false)`
/// when the kernel or the file system cannot (`ENOSYS`, `EINVAL`, `ENOTSUP`) or elsewhere than
/// Linux; nothing was changed then.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both paths are NUL-terminated strings that live across the call; the system call
    // only reads them. Called through `syscall`, as glibc before 2.28 has no wrapper.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENOSYS | libc::EINVAL | libc::ENOTSUP) => Ok(false),
        _ => Err(e),
    }
}

/// Exchanges `a` and `b` atomically: not available here, so `Ok(false)`.
#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// A file name without directories, `..`, or a leading dot (store and dataset indexes).
pub(crate) fn is_plain_file_name(f: &str) -> bool {
    !f.is_empty()
        && !f.starts_with('.')
        && !f.contains(['/', '\\'])
        && Path::new(f).file_name() == Some(f.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_safe_unique_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::create(dir.path().join("s")).unwrap();
        let a = DynArray::from(ndarray::arr1(&[1i8]).into_dyn());
        let o = WriteOptions::default();
        s.add("a/b", &a, &o).unwrap();
        s.add("a_b", &a, &o).unwrap();
        s.add("../x", &a, &o).unwrap();
        let files: Vec<&str> = s.entries().iter().map(|e| e.file.as_str()).collect();
        assert_eq!(files, ["a_b.parquet", "a_b~1.parquet", "_.._x.parquet"]);
        let e = s.add("a/b", &a, &o).unwrap_err();
        assert!(matches!(e.kind(), Error::OutputExists), "{e}");
        s.add("a/b", &a, &o.clone().with_overwrite(true)).unwrap();
        let reopened = Store::open(dir.path().join("s")).unwrap();
        assert_eq!(reopened.names(), ["a/b", "a_b", "../x"]);
        assert!(reopened
            .read_dyn("nope")
            .unwrap_err()
            .to_string()
            .contains("no array 'nope'"));
    }

    #[test]
    fn write_store_is_atomic_and_never_clobbers() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("s");
        let a = DynArray::from(ndarray::arr1(&[1u16, 2]).into_dyn());
        let b = DynArray::from(ndarray::arr1(&[0.5f32]).into_dyn());
        write_store(&out, &[("a", &a), ("b", &b)], &WriteOptions::default()).unwrap();
        let e = write_store(&out, &[("c", &a)], &WriteOptions::default()).unwrap_err();
        assert!(matches!(e.kind(), Error::OutputExists), "{e}");
        assert_eq!(Store::open(&out).unwrap().names(), ["a", "b"]);
        write_store(&out, &[("c", &a)], &WriteOptions::default().with_overwrite(true)).unwrap();
        assert_eq!(Store::open(&out).unwrap().names(), ["c"]);
        assert_eq!(names_in(dir.path()), ["s"]);
    }

    /// The names in `dir`.
    fn names_in(dir: &Path) -> Vec<std::ffi::OsString> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect()
    }

    #[test]
    fn replacing_by_renames_leaves_one_store_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("s");
        let a = DynArray::from(ndarray::arr1(&[1u16, 2]).into_dyn());
        write_store(&out, &[("a", &a)], &WriteOptions::default()).unwrap();
        let built = dir.path().join("built");
        write_store(&built, &[("b", &a)], &WriteOptions::default()).unwrap();
        replace_by_renames(&built, &out, dir.path()).unwrap();
        assert_eq!(Store::open(&out).unwrap().names(), ["b"]);
        assert_eq!(names_in(dir.path()), ["s"]);
        // A failed second rename puts the old store back.
        let e = replace_by_renames(&dir.path().join("missing"), &out, dir.path());
        assert!(e.is_err());
        assert_eq!(Store::open(&out).unwrap().names(), ["b"]);
        assert_eq!(names_in(dir.path()), ["s"]);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn exchange_swaps_two_directories() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir(&a).unwrap();
        std::fs::write(a.join("x"), b"").unwrap();
        std::fs::create_dir(&b).unwrap();
        std::fs::write(b.join("y"), b"").unwrap();
        if exchange(&a, &b).unwrap() {
            assert!(a.join("y").exists() && b.join("x").exists());
        } else {
            assert!(a.join("x").exists() && b.join("y").exists());
        }
    }

    #[test]
    fn refuses_non_empty_directories_and_escaping_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x"), b"").unwrap();
        assert!(matches!(
            Store::create(dir.path()).unwrap_err().kind(),
            Error::OutputExists
        ));
        std::fs::write(
            dir.path().join(STORE_INDEX),
            r#"{"format_version":"1.0","arrays":[{"name":"a","file":"../etc/passwd"}]}"#,
        )
        .unwrap();
        let e = Store::open(dir.path()).unwrap_err();
        assert!(e.to_string().contains("leaves the store"), "{e}");
    }
}
