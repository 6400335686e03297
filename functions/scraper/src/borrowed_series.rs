//! A scraped sample's series as borrowed label pairs, sorted by name: the scrape's
//! fast path when the job has no `metric_relabel_configs`.
//!
//! Why: building every sample in an owned label set copied each name and value into
//! it and searched it once per label, a quarter of the instructions of a big scrape.
//! Without metric relabeling nothing rewrites a sample's labels, so its series is the
//! exposition's labels merged with the target's: both can be borrowed (from the body
//! and from the target), sorted, checked, hashed and encoded without a copy.
//!
//! Only the plain case is taken here. A sample that names a label the target also
//! sets (the `honor_labels` / `exported_*` rules), repeats a name, names `__name__`
//! in its label set or has an empty value gets `None`, and the owned path applies
//! Prometheus' rules to it, so both paths give the same series and the same errors.

use std::borrow::Cow;

use prom::labels::name_order;
use prom::{Labels, METRIC_NAME};

/// Fills `out` with the series of a sample named `name` with labels `exposed`
/// scraped from a target with labels `target`: sorted by name, names unique, no
/// empty value. `false` (and `out` unspecified) when the sample needs the owned path.
pub fn sorted_series<'a>(
    name: &'a str,
    exposed: &'a [(Cow<'a, str>, Cow<'a, str>)],
    target: &'a Labels,
    out: &mut Vec<(&'a str, &'a str)>,
) -> bool {
    out.clear();
    if name.is_empty() {
        return false;
    }
    out.push((METRIC_NAME, name));
    for (label, value) in exposed {
        if value.is_empty() || label == METRIC_NAME {
            return false;
        }
        out.push((label, value));
    }
    // Expositions mostly list labels sorted (Go's client library does), where this
    // takes one comparison per label.
    out.sort_unstable_by(|a, b| name_order(a.0, b.0));
    if out.windows(2).any(|pair| match pair {
        [a, b] => a.0 == b.0,
        _ => false,
    }) {
        return false;
    }
    for label in target {
        match out.binary_search_by(|p| name_order(p.0, &label.name)) {
            Ok(_) => return false,
            Err(at) => out.insert(at, (&label.name, &label.value)),
        }
    }
    true
}

/// A vector emptied, its items' lifetime changed, its allocation kept: the scrape
/// reuses one vector for every sample's borrowed pairs, which live only as long as
/// their sample. (Nothing crosses over: every item is dropped; an in-place `collect`
/// into items of the same layout keeps the allocation.)
// `filter` (clippy's suggestion) cannot change the items' lifetime; this does.
#[allow(clippy::unnecessary_filter_map)]
pub fn recycle<'from, 'to>(vec: Vec<(&'from str, &'from str)>) -> Vec<(&'to str, &'to str)> {
    vec.into_iter().filter_map(|_| None).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample_labels::attach_target_labels;

    /// The owned path's series, as the scrape builds it.
    fn owned(name: &str, exposed: &[(&str, &str)], target: &Labels) -> Option<Labels> {
        let mut labels = Labels::new();
        labels.set_str(METRIC_NAME, name);
        for (n, v) in exposed {
            if *n == METRIC_NAME || !labels.insert_new_str(n, v) {
                return None;
            }
        }
        attach_target_labels(&mut labels, target, false);
        Some(labels)
    }

    fn borrowed(
        name: &str,
        exposed: &[(&str, &str)],
        target: &Labels,
    ) -> Option<Vec<(String, String)>> {
        let exposed: Vec<(Cow<'_, str>, Cow<'_, str>)> = exposed
            .iter()
            .map(|(n, v)| (Cow::Borrowed(*n), Cow::Borrowed(*v)))
            .collect();
        let mut out = Vec::new();
        sorted_series(name, &exposed, target, &mut out).then(|| {
            out.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        })
    }

    fn pairs(labels: &Labels) -> Vec<(String, String)> {
        labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect()
    }

    #[test]
    fn plain_samples_give_the_owned_paths_series() {
        let target = Labels::from_pairs([("job", "node"), ("instance", "h:9100"), ("zone", "a")]);
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("up", &[]),
            (
                "m",
                &[("pod", "p-1"), ("namespace", "team"), ("container", "app")],
            ),
            ("m", &[("a", "1"), ("b", "2"), ("c", "3")]),
            (
                "zzz",
                &[("__meta", "x"), ("Z", "upper"), ("_", "u"), ("é", "utf8")],
            ),
            (
                "http_requests_total",
                &[("le", "+Inf"), ("code", "200"), ("method", "GET")],
            ),
        ];
        for (name, exposed) in cases {
            let expected = owned(name, exposed, &target).map(|l| pairs(&l));
            assert_eq!(
                borrowed(name, exposed, &target),
                expected,
                "{name} {exposed:?}"
            );
        }
    }

    #[test]
    fn unusual_samples_are_left_to_the_owned_path() {
        let target = Labels::from_pairs([("job", "node"), ("instance", "h:9100")]);
        let cases: &[(&str, &[(&str, &str)])] = &[
            // the target's label exposed too: honor_labels / exported_ rules
            ("m", &[("job", "exposed")]),
            ("m", &[("instance", "x"), ("a", "1")]),
            // a repeated name (the owned path words the error)
            ("m", &[("a", "1"), ("a", "2")]),
            // `__name__` in the label set
            ("m", &[("__name__", "n")]),
            // an empty value means absent
            ("m", &[("a", "")]),
            // no name
            ("", &[("a", "1")]),
        ];
        for (name, exposed) in cases {
            assert_eq!(borrowed(name, exposed, &target), None, "{name} {exposed:?}");
        }
    }

    #[test]
    fn recycled_vectors_keep_their_room() {
        let mut long: Vec<(&'static str, &'static str)> = Vec::with_capacity(32);
        long.push(("a", "b"));
        let room = long.capacity();
        let line = String::from("x");
        let mut short = recycle(long);
        assert!(short.is_empty());
        assert_eq!(short.capacity(), room);
        short.push((&line, &line));
        assert_eq!(short.len(), 1);
    }
}
