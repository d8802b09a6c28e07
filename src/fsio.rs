//! Writing output files atomically: a temporary file in the same directory, renamed into place
//! only when complete, never over an existing file unless asked.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `path` through `write`, atomically: the bytes go to a temporary file beside `path`,
/// which is renamed to `path` only when `write` succeeds. Without `overwrite`, an existing
/// `path` is an [`Error::OutputExists`] and is left as it was (checked before any work and again,
/// atomically, at the rename). Errors name `path`.
pub fn write_atomic<T>(
    path: &Path,
    overwrite: bool,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<T>,
) -> Result<T> {
    let run = || -> Result<T> {
        if !overwrite && path.exists() {
            return Err(Error::OutputExists);
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".arrstore-").suffix(".tmp");
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
            Ok(()) => Ok(out),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::OutputExists),
            Err(e) => Err(e.into()),
        }
    };
    run().map_err(|e| e.in_file(path))
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
}
