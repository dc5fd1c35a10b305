//! Where generated artifacts go: files under `--out DIR`, or standard output as one
//! stream a tool can read (a multi-document YAML stream, or a sequence of JSON documents
//! as `jq` reads them).

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use obskit_artifacts::GeneratedFile;
use obskit_cli::write;

/// Writes `files` under `out` (reporting each path), or prints them when `out` is `None`.
pub(crate) fn emit(
    files: &[GeneratedFile],
    out: Option<&Path>,
    stdout: &mut impl Write,
) -> anyhow::Result<()> {
    match out {
        Some(dir) => {
            let refs: Vec<_> = files
                .iter()
                .map(|f| (f.path.as_path(), f.contents.as_bytes()))
                .collect();
            write::replace_files(dir, &refs)
                .with_context(|| format!("could not write the files under `{}`", dir.display()))?;
            let noun = if files.len() == 1 { "file" } else { "files" };
            let count = files.len();
            writeln!(stdout, "Wrote {count} {noun} under {}:", dir.display())?;
            for file in files {
                writeln!(stdout, "  {}", dir.join(&file.path).display())?;
            }
        }
        None => print_stream(files, stdout)?,
    }
    Ok(())
}

/// YAML files as documents of one stream, each after `---` and a comment naming its path;
/// other files (JSON) one after the other.
fn print_stream(files: &[GeneratedFile], stdout: &mut impl Write) -> std::io::Result<()> {
    for file in files {
        let yaml = file
            .path
            .extension()
            .is_some_and(|ext| ext == "yml" || ext == "yaml");
        if yaml {
            writeln!(stdout, "---\n# {}", file.path.display())?;
        }
        stdout.write_all(file.contents.as_bytes())?;
        if !file.contents.ends_with('\n') {
            writeln!(stdout)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn file(path: &str, contents: &str) -> GeneratedFile {
        GeneratedFile {
            path: PathBuf::from(path),
            contents: contents.to_owned(),
        }
    }

    #[test]
    fn yaml_files_print_as_one_multi_document_stream() {
        let mut out = Vec::new();
        let files = [
            file("alerts/a.yml", "# header\ngroups: []\n"),
            file("alerts/b.yml", "x: 1"),
        ];
        emit(&files, None, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "---\n# alerts/a.yml\n# header\ngroups: []\n---\n# alerts/b.yml\nx: 1\n"
        );
    }

    #[test]
    fn json_files_print_one_after_the_other() {
        let mut out = Vec::new();
        let files = [
            file("dashboards/a.json", "{\"a\": 1}\n"),
            file("dashboards/b.json", "{\"b\": 2}\n"),
        ];
        emit(&files, None, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "{\"a\": 1}\n{\"b\": 2}\n");
    }

    #[test]
    fn out_writes_the_files_under_the_directory_and_lists_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        let files = [file("alerts/a.yml", "x: 1\n")];
        emit(&files, Some(dir.path()), &mut out).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("alerts/a.yml")).unwrap(),
            "x: 1\n"
        );
        let listed = String::from_utf8(out).unwrap();
        assert!(listed.starts_with("Wrote 1 file under "), "{listed}");
        assert!(listed.contains("alerts/a.yml"), "{listed}");
    }
}
