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

/// Sorts samples' series, remembering the order it found for the last sample's label
/// names. Why: a family's lines name the same labels in the same order, so nearly
/// every sample can reuse the order of the one before it; sorting and merging each
/// sample's labels anew was a tenth of a scrape's instructions. One sorter per target:
/// the target's labels are part of the order it remembers.
#[derive(Debug, Default)]
pub struct SeriesSorter {
    /// The remembered sample's exposed label names, back to back.
    names: Vec<u8>,
    /// Where each of those names ends in `names`.
    ends: Vec<usize>,
    /// Whether `names` and `ends` describe a sample yet.
    known: bool,
    /// Whether the remembered names can take this path (unique, no `__name__`, none
    /// the target sets too).
    plain: bool,
    /// The series' labels in name order, each by source: 0 is `__name__`, `1..=k`
    /// the sample's k labels, then the target's.
    order: Vec<usize>,
    /// Counts the orders learnt, so that what a caller derives from the label names
    /// alone (the series hash's names part) is worked out again only when they change.
    generation: u64,
}

impl SeriesSorter {
    /// Fills `out` with the series of a sample named `name` with labels `exposed`
    /// scraped from a target with labels `target`: sorted by name, names unique, no
    /// empty value. `false` (and `out` unspecified) when the sample needs the owned
    /// path.
    pub fn sort<'a>(
        &mut self,
        name: &'a str,
        exposed: &'a [(Cow<'a, str>, Cow<'a, str>)],
        target: &'a Labels,
        out: &mut Vec<(&'a str, &'a str)>,
    ) -> bool {
        out.clear();
        if name.is_empty() {
            return false;
        }
        if !self.remembers(exposed) {
            self.learn(exposed, target);
        }
        if !self.plain {
            return false;
        }
        let target = target.as_slice();
        out.reserve(self.order.len());
        for &source in &self.order {
            let pair = match source {
                0 => (METRIC_NAME, name),
                i if i <= exposed.len() => match exposed.get(i - 1) {
                    // An empty value means the label is absent: the owned path's rule.
                    Some((label, value)) if !value.is_empty() => (&**label, &**value),
                    _ => return false,
                },
                i => match target.get(i - 1 - exposed.len()) {
                    Some(label) => (label.name.as_str(), label.value.as_str()),
                    // Unreachable while the order matches the names; refuse rather
                    // than send a series with a label missing.
                    None => return false,
                },
            };
            out.push(pair);
        }
        true
    }

    /// Changes whenever the remembered label names (hence the sorted series' names)
    /// change.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether `exposed` names the remembered labels in the remembered order.
    fn remembers(&self, exposed: &[(Cow<'_, str>, Cow<'_, str>)]) -> bool {
        if !self.known || self.ends.len() != exposed.len() {
            return false;
        }
        let mut start = 0;
        for ((label, _), &end) in exposed.iter().zip(&self.ends) {
            if self.names.get(start..end) != Some(label.as_bytes()) {
                return false;
            }
            start = end;
        }
        true
    }

    /// Remembers `exposed`'s names and the order of their series with `target`.
    fn learn(&mut self, exposed: &[(Cow<'_, str>, Cow<'_, str>)], target: &Labels) {
        self.names.clear();
        self.ends.clear();
        for (label, _) in exposed {
            self.names.extend_from_slice(label.as_bytes());
            self.ends.push(self.names.len());
        }
        self.known = true;
        self.generation = self.generation.wrapping_add(1);
        self.plain = false;
        self.order.clear();
        if exposed.iter().any(|(label, _)| label == METRIC_NAME) {
            return;
        }
        let target = target.as_slice();
        let count = exposed.len();
        let name_of = |source: usize| -> &str {
            match source {
                0 => METRIC_NAME,
                i if i <= count => exposed.get(i - 1).map_or("", |(n, _)| n),
                i => target.get(i - 1 - count).map_or("", |l| &l.name),
            }
        };
        self.order.extend(0..=count);
        // Expositions mostly list labels sorted (Go's client library does), where this
        // takes one comparison per label.
        self.order
            .sort_unstable_by(|&a, &b| name_order(name_of(a), name_of(b)));
        if self.order.windows(2).any(|pair| match pair {
            [a, b] => name_of(*a) == name_of(*b),
            _ => false,
        }) {
            return;
        }
        for (index, label) in target.iter().enumerate() {
            match self
                .order
                .binary_search_by(|&p| name_order(name_of(p), &label.name))
            {
                Ok(_) => return,
                Err(at) => self.order.insert(at, count + 1 + index),
            }
        }
        self.plain = true;
    }
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
        SeriesSorter::default()
            .sort(name, &exposed, target, &mut out)
            .then(|| {
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
    fn a_sorter_remembering_orders_answers_as_a_fresh_one() {
        // Repeats (the remembered order reused), changes of names, of their order and
        // of their count, and samples refused between accepted ones.
        let target = Labels::from_pairs([("job", "node"), ("instance", "h:9100")]);
        let samples: &[(&str, &[(&str, &str)])] = &[
            ("m", &[("pod", "p-1"), ("code", "200")]),
            ("m", &[("pod", "p-2"), ("code", "404")]),
            ("m", &[("pod", "p-2"), ("code", "")]),
            ("m", &[("pod", "p-3"), ("code", "500")]),
            ("m", &[("code", "500"), ("pod", "p-3")]),
            ("m", &[("code", "500")]),
            ("m", &[("code", "500"), ("job", "exposed")]),
            ("m", &[("code", "501"), ("job", "exposed")]),
            ("n", &[("code", "500"), ("pod", "p-3")]),
            ("", &[("code", "500"), ("pod", "p-3")]),
            ("m", &[("a", "1"), ("a", "2")]),
            ("m", &[("a", "1"), ("a", "2")]),
            ("m", &[("a", "1"), ("b", "2")]),
            ("m", &[("__name__", "x")]),
            ("up", &[]),
            ("up", &[]),
        ];
        let mut sorter = SeriesSorter::default();
        for (name, exposed) in samples {
            let cows: Vec<(Cow<'_, str>, Cow<'_, str>)> = exposed
                .iter()
                .map(|(n, v)| (Cow::Borrowed(*n), Cow::Borrowed(*v)))
                .collect();
            let mut out = Vec::new();
            let got = sorter.sort(name, &cows, &target, &mut out).then(|| {
                out.iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect::<Vec<_>>()
            });
            // A fresh sorter's answer (the two tests above hold it to the owned path).
            assert_eq!(got, borrowed(name, exposed, &target), "{name} {exposed:?}");
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
