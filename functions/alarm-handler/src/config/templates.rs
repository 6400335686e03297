//! Alertmanager's `templates:` entries to files. Alertmanager expands each entry
//! with Go's `filepath.Glob`: a pattern may be in any path component, `*` and `?`
//! do not cross `/`, `[...]` is a class, results are sorted and a pattern matching
//! nothing is not an error. The `glob` crate with `require_literal_separator` has the
//! same semantics.

use std::path::{Path, PathBuf};

use config_error::FieldError;
use glob::{MatchOptions, Pattern};

/// Go's `filepath.Match`: `*` stays within one path component and matches a leading
/// dot, case matters.
const GO_GLOB: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// The files `entry` names, relative to `base` (the config file's directory, or
/// empty for the working directory), in sorted order. An entry without glob
/// characters names one file, which is returned whether or not it exists, so that
/// reading it reports a typo (Alertmanager would skip it silently and render
/// without the templates). Errors are `FieldError`s without a path; the caller puts
/// it `under` the entry's.
pub fn template_paths(base: &Path, entry: &str) -> Result<Vec<PathBuf>, FieldError> {
    if !entry.contains(['*', '?', '[']) {
        return Ok(vec![base.join(entry)]);
    }
    let pattern = if Path::new(entry).is_absolute() || base.as_os_str().is_empty() {
        entry.to_string()
    } else {
        // The base directory is a path, not a pattern: a `[` in it is literal.
        let base = base.to_str().ok_or_else(|| {
            FieldError::new(
                "",
                format!("the config's directory {} is not UTF-8", base.display()),
            )
        })?;
        format!("{}/{entry}", Pattern::escape(base.trim_end_matches('/')))
    };
    let matches = glob::glob_with(&pattern, GO_GLOB).map_err(|e| {
        FieldError::new("", format!("{entry:?} is not a glob pattern")).caused_by(e)
    })?;
    let mut found = Vec::new();
    for path in matches {
        let path = path.map_err(|e| {
            let reason = format!("cannot list {}", e.path().display());
            FieldError::new("", reason).caused_by(std::io::Error::from(e))
        })?;
        // Directories match patterns too; only files hold templates.
        if path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        dir
    }

    fn names(base: &Path, entry: &str) -> Vec<String> {
        template_paths(base, entry)
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(base).unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn star_matches_within_one_component_in_order() {
        let dir = tree(&["t/b.tmpl", "t/a.tmpl", "t/c.txt", "t/sub/d.tmpl", "t/x-y-z"]);
        assert_eq!(names(dir.path(), "t/*.tmpl"), ["t/a.tmpl", "t/b.tmpl"]);
        assert_eq!(names(dir.path(), "t/x*y*z"), ["t/x-y-z"]);
        assert_eq!(
            names(dir.path(), "t/*"),
            ["t/a.tmpl", "t/b.tmpl", "t/c.txt", "t/x-y-z"]
        );
        assert!(
            names(dir.path(), "t/ab*ba").is_empty(),
            "no match is no error"
        );
    }

    #[test]
    fn a_pattern_may_be_in_a_directory_component() {
        let dir = tree(&["dir1/x.tmpl", "dir2/x.tmpl", "dir2/y.tmpl", "other/x.tmpl"]);
        assert_eq!(
            names(dir.path(), "dir*/x.tmpl"),
            ["dir1/x.tmpl", "dir2/x.tmpl"]
        );
    }

    #[test]
    fn question_mark_and_classes_match_one_character() {
        let dir = tree(&["t/a1.tmpl", "t/a2.tmpl", "t/a10.tmpl", "t/b1.tmpl"]);
        assert_eq!(names(dir.path(), "t/a?.tmpl"), ["t/a1.tmpl", "t/a2.tmpl"]);
        assert_eq!(
            names(dir.path(), "t/[ab]1.tmpl"),
            ["t/a1.tmpl", "t/b1.tmpl"]
        );
    }

    #[test]
    fn the_base_directory_is_literal() {
        let dir = tree(&["odd[1]/t/a.tmpl"]);
        let base = dir.path().join("odd[1]");
        assert_eq!(names(&base, "t/*.tmpl"), ["t/a.tmpl"]);
    }

    #[test]
    fn a_literal_path_is_returned_as_is_and_a_bad_pattern_is_refused() {
        let base = Path::new("/etc/alarm-handler");
        assert_eq!(
            template_paths(base, "missing.tmpl").unwrap(),
            [base.join("missing.tmpl")]
        );
        let e = template_paths(base, "t/[a.tmpl").unwrap_err();
        assert!(std::error::Error::source(&e).is_some(), "{e}");
    }
}
