//! Writing generated files so that a failure leaves nothing behind.
//!
//! [`create_dir`] stages the whole tree in a temporary directory next to the target and
//! renames it into place: the target appears complete or not at all. [`replace_files`]
//! writes each file to a temporary sibling and renames it over the old one, for outputs
//! that go into a directory the user already has (`obskit alerts --out`).

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Prefix of the staging directories and files, so stray ones are recognisable.
const STAGING_PREFIX: &str = ".obskit-";

/// A file to write: a relative path and its bytes.
pub type FileRef<'a> = (&'a Path, &'a [u8]);

/// What to do when the target directory exists and is not empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse, and write nothing.
    Refuse,
    /// Write the files into it, replacing files of the same name and keeping the others.
    Merge,
}

/// Why the files could not be written; nothing was left behind unless it says so.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A file path is absolute or leaves the target directory.
    #[error("refusing to write `{}`: generated paths must be relative and stay inside the target", path.display())]
    UnsafePath {
        /// The offending path.
        path: PathBuf,
    },
    /// The same path appears twice.
    #[error("`{}` would be written twice; each generated path must be unique", path.display())]
    DuplicatePath {
        /// The offending path.
        path: PathBuf,
    },
    /// The target exists and is not empty, and merging was not asked for.
    #[error("`{}` already exists and is not empty; choose another name or --path, or pass --force to write into it", path.display())]
    NotEmpty {
        /// The target.
        path: PathBuf,
    },
    /// Something that must be a directory is a file (or the reverse).
    #[error("`{}` is in the way: {expected}; move it or choose another target", path.display())]
    InTheWay {
        /// The offending path.
        path: PathBuf,
        /// What was expected there.
        expected: &'static str,
    },
    /// A file system operation failed.
    #[error("could not {action} `{}`", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// Merging into an existing directory failed after some files were replaced.
    #[error("could not finish writing into `{}`: {written} of {total} files were written before the failure; rerun with --force to finish", path.display())]
    PartiallyMerged {
        /// The target.
        path: PathBuf,
        /// Files written.
        written: usize,
        /// Files to write.
        total: usize,
        /// The failure.
        source: Box<WriteError>,
    },
}

/// Shorthand for an [`WriteError::Io`] constructor.
fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> WriteError {
    let path = path.to_path_buf();
    move |source| WriteError::Io {
        action,
        path,
        source,
    }
}

/// Creates `target` holding exactly `files`, atomically.
///
/// Missing parent directories are created, and removed again on failure. If `target`
/// exists and is empty it is replaced; if it is not empty, [`Existing`] decides. With
/// [`Existing::Merge`] each file is renamed into place on its own, and an error that
/// happens part-way reports how far it got ([`WriteError::PartiallyMerged`]).
pub fn create_dir(
    target: &Path,
    files: &[FileRef<'_>],
    existing: Existing,
) -> Result<(), WriteError> {
    check_paths(files)?;
    let state = inspect(target)?;
    if state == TargetState::NonEmpty && existing == Existing::Refuse {
        return Err(WriteError::NotEmpty {
            path: target.to_path_buf(),
        });
    }
    let parent = parent_of(target);
    let created = CreatedDirs::create(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .tempdir_in(parent)
        .map_err(io_error("create a staging directory in", parent))?;
    for (path, contents) in files {
        write_file(&staging.path().join(path), contents)?;
    }
    match state {
        TargetState::Missing | TargetState::Empty => {
            if state == TargetState::Empty {
                fs::remove_dir(target).map_err(io_error("replace the empty directory", target))?;
            }
            if let Err(err) = fs::rename(staging.path(), target) {
                if state == TargetState::Empty {
                    // Put back the empty directory the user had.
                    let _ = fs::create_dir(target);
                }
                return Err(io_error("move the generated files to", target)(err));
            }
        }
        TargetState::NonEmpty => merge(staging.path(), target, files)?,
    }
    created.keep();
    Ok(())
}

/// Writes `files` into `dir` (created if missing), replacing each file atomically and
/// keeping files that are not among them.
pub fn replace_files(dir: &Path, files: &[FileRef<'_>]) -> Result<(), WriteError> {
    check_paths(files)?;
    if dir.exists() && !dir.is_dir() {
        return Err(WriteError::InTheWay {
            path: dir.to_path_buf(),
            expected: "the output must be a directory",
        });
    }
    fs::create_dir_all(dir).map_err(io_error("create the directory", dir))?;
    for (path, contents) in files {
        let destination = dir.join(path);
        let parent = parent_of(&destination);
        fs::create_dir_all(parent).map_err(io_error("create the directory", parent))?;
        let mut staged = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .tempfile_in(parent)
            .map_err(io_error("create a temporary file in", parent))?;
        io::Write::write_all(&mut staged, contents).map_err(io_error("write", staged.path()))?;
        staged
            .persist(&destination)
            .map_err(|err| io_error("replace", &destination)(err.error))?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TargetState {
    Missing,
    Empty,
    NonEmpty,
}

fn inspect(target: &Path) -> Result<TargetState, WriteError> {
    match fs::symlink_metadata(target) {
        // Under a file: reported as in the way when its parents are created.
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(TargetState::Missing)
        }
        Err(err) => Err(io_error("inspect", target)(err)),
        Ok(meta) if !meta.is_dir() => Err(WriteError::InTheWay {
            path: target.to_path_buf(),
            expected: "the project directory would go there",
        }),
        Ok(_) => {
            let mut entries = fs::read_dir(target).map_err(io_error("read", target))?;
            Ok(if entries.next().is_some() {
                TargetState::NonEmpty
            } else {
                TargetState::Empty
            })
        }
    }
}

/// Rejects absolute, escaping, empty and duplicate paths before anything is written.
fn check_paths(files: &[FileRef<'_>]) -> Result<(), WriteError> {
    let mut seen = std::collections::BTreeSet::new();
    for (path, _) in files {
        let plain = path.components().next().is_some()
            && path.components().all(|c| matches!(c, Component::Normal(_)));
        if !plain {
            return Err(WriteError::UnsafePath {
                path: path.to_path_buf(),
            });
        }
        if !seen.insert(*path) {
            return Err(WriteError::DuplicatePath {
                path: path.to_path_buf(),
            });
        }
    }
    Ok(())
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn write_file(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    let parent = parent_of(path);
    fs::create_dir_all(parent).map_err(io_error("create the directory", parent))?;
    fs::write(path, contents).map_err(io_error("write", path))
}

/// Moves each staged file into the existing `target`, after checking that nothing is in
/// the way so that the usual failures happen before the first file moves.
fn merge(staging: &Path, target: &Path, files: &[FileRef<'_>]) -> Result<(), WriteError> {
    for (path, _) in files {
        let destination = target.join(path);
        if destination.is_dir() {
            return Err(WriteError::InTheWay {
                path: destination,
                expected: "a generated file would go there",
            });
        }
        for ancestor in path
            .ancestors()
            .skip(1)
            .filter(|a| !a.as_os_str().is_empty())
        {
            let dir = target.join(ancestor);
            if dir.exists() && !dir.is_dir() {
                return Err(WriteError::InTheWay {
                    path: dir,
                    expected: "a generated directory would go there",
                });
            }
        }
    }
    for (written, (path, _)) in files.iter().enumerate() {
        let destination = target.join(path);
        let moved = fs::create_dir_all(parent_of(&destination))
            .map_err(io_error("create the directory", parent_of(&destination)))
            .and_then(|()| {
                fs::rename(staging.join(path), &destination)
                    .map_err(io_error("write", &destination))
            });
        if let Err(source) = moved {
            return Err(WriteError::PartiallyMerged {
                path: target.to_path_buf(),
                written,
                total: files.len(),
                source: Box::new(source),
            });
        }
    }
    Ok(())
}

/// Parent directories created for the target, removed again unless kept.
struct CreatedDirs(Vec<PathBuf>);

impl CreatedDirs {
    fn create(dir: &Path) -> Result<Self, WriteError> {
        let missing: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .map(Path::to_path_buf)
            .collect();
        let created = Self(missing);
        // Created outermost first; on failure `created` removes what exists.
        for dir in created.0.iter().rev() {
            match fs::create_dir(dir) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
                Err(err) if err.kind() == io::ErrorKind::NotADirectory => {
                    return Err(WriteError::InTheWay {
                        path: dir.clone(),
                        expected: "a parent of the target must be a directory",
                    });
                }
                Err(err) => return Err(io_error("create the directory", dir)(err)),
            }
        }
        Ok(created)
    }

    fn keep(mut self) {
        self.0.clear();
    }
}

impl Drop for CreatedDirs {
    fn drop(&mut self) {
        // Innermost first; `remove_dir` leaves anything that is not empty.
        for dir in &self.0 {
            let _ = fs::remove_dir(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<(PathBuf, Vec<u8>)> {
        vec![
            (PathBuf::from("Cargo.toml"), b"[package]\n".to_vec()),
            (PathBuf::from("src/main.rs"), b"fn main() {}\n".to_vec()),
        ]
    }

    fn refs(files: &[(PathBuf, Vec<u8>)]) -> Vec<FileRef<'_>> {
        files
            .iter()
            .map(|(p, c)| (p.as_path(), c.as_slice()))
            .collect()
    }

    /// Every path under `dir`, relative, sorted.
    fn tree(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
                if path.is_dir() {
                    stack.push(path);
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn creates_the_target_with_missing_parents() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("a/b/svc");
        let files = files();
        create_dir(&target, &refs(&files), Existing::Refuse).unwrap();
        assert_eq!(
            fs::read(target.join("src/main.rs")).unwrap(),
            b"fn main() {}\n"
        );
        assert_eq!(
            tree(root.path()),
            [
                "a",
                "a/b",
                "a/b/svc",
                "a/b/svc/Cargo.toml",
                "a/b/svc/src",
                "a/b/svc/src/main.rs"
            ]
        );
    }

    #[test]
    fn replaces_an_empty_directory() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("svc");
        fs::create_dir(&target).unwrap();
        let files = files();
        create_dir(&target, &refs(&files), Existing::Refuse).unwrap();
        assert_eq!(tree(&target), ["Cargo.toml", "src", "src/main.rs"]);
    }

    #[test]
    fn refuses_a_non_empty_directory_and_leaves_it_alone() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("svc");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep.txt"), "mine").unwrap();
        let files = files();
        let err = create_dir(&target, &refs(&files), Existing::Refuse).unwrap_err();
        assert!(matches!(err, WriteError::NotEmpty { .. }), "{err}");
        assert!(err.to_string().contains("pass --force"), "{err}");
        assert_eq!(tree(root.path()), ["svc", "svc/keep.txt"]);
    }

    #[test]
    fn merges_into_a_non_empty_directory_when_asked() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("svc");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep.txt"), "mine").unwrap();
        fs::write(target.join("Cargo.toml"), "old").unwrap();
        let files = files();
        create_dir(&target, &refs(&files), Existing::Merge).unwrap();
        assert_eq!(
            tree(root.path()),
            [
                "svc",
                "svc/Cargo.toml",
                "svc/keep.txt",
                "svc/src",
                "svc/src/main.rs"
            ]
        );
        assert_eq!(fs::read(target.join("Cargo.toml")).unwrap(), b"[package]\n");
        assert_eq!(fs::read(target.join("keep.txt")).unwrap(), b"mine");
    }

    #[test]
    fn a_merge_that_would_fail_moves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("svc");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("src"), "a file where a directory must go").unwrap();
        let files = files();
        let err = create_dir(&target, &refs(&files), Existing::Merge).unwrap_err();
        assert!(matches!(err, WriteError::InTheWay { .. }), "{err}");
        assert_eq!(tree(root.path()), ["svc", "svc/src"]);
    }

    #[test]
    fn a_failure_while_staging_leaves_nothing_behind() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("new/parent/svc");
        // The second file cannot be written: its parent would be the first file.
        let files = vec![
            (PathBuf::from("a"), b"file".to_vec()),
            (PathBuf::from("a/b"), b"under a file".to_vec()),
        ];
        let err = create_dir(&target, &refs(&files), Existing::Refuse).unwrap_err();
        assert!(matches!(err, WriteError::Io { .. }), "{err}");
        assert!(tree(root.path()).is_empty(), "{:?}", tree(root.path()));
    }

    #[test]
    fn unsafe_and_duplicate_paths_are_rejected_before_writing() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("svc");
        for bad in ["/etc/passwd", "../escape", "a/../../b", ""] {
            let files = vec![(PathBuf::from(bad), b"x".to_vec())];
            let err = create_dir(&target, &refs(&files), Existing::Refuse).unwrap_err();
            assert!(matches!(err, WriteError::UnsafePath { .. }), "{bad}: {err}");
        }
        let files = vec![
            (PathBuf::from("a"), b"1".to_vec()),
            (PathBuf::from("a"), b"2".to_vec()),
        ];
        let err = create_dir(&target, &refs(&files), Existing::Refuse).unwrap_err();
        assert!(matches!(err, WriteError::DuplicatePath { .. }), "{err}");
        assert!(tree(root.path()).is_empty());
    }

    #[test]
    fn a_target_that_is_a_file_or_under_a_file_is_in_the_way() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("file");
        fs::write(&file, "x").unwrap();
        let files = files();
        let err = create_dir(&file, &refs(&files), Existing::Merge).unwrap_err();
        assert!(matches!(err, WriteError::InTheWay { .. }), "{err}");
        let err = create_dir(&file.join("sub/svc"), &refs(&files), Existing::Refuse).unwrap_err();
        assert!(matches!(err, WriteError::InTheWay { .. }), "{err}");
        assert_eq!(tree(root.path()), ["file"]);
    }

    #[test]
    fn replace_files_overwrites_and_keeps_the_rest() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("other.yml"), "kept").unwrap();
        fs::write(out.join("Cargo.toml"), "old").unwrap();
        let files = files();
        replace_files(&out, &refs(&files)).unwrap();
        assert_eq!(
            tree(&out),
            ["Cargo.toml", "other.yml", "src", "src/main.rs"]
        );
        assert_eq!(fs::read(out.join("Cargo.toml")).unwrap(), b"[package]\n");
        let err = replace_files(&out.join("other.yml"), &refs(&files)).unwrap_err();
        assert!(matches!(err, WriteError::InTheWay { .. }), "{err}");
    }
}
