//! The label rules Prometheus applies to every scraped sample before storing it:
//! attaching target labels (with `honor_labels` and `exported_*` conflict handling)
//! and the per-scrape label limits.

use prom::{DisplayLabels, LabelPair, Labels};

/// Attaches the target's labels to a scraped series.
///
/// With `honor_labels`, labels exposed by the target win and target labels only fill
/// gaps. Without it, target labels win and a clashing exposed label is kept as
/// `exported_<name>` (prefixed again while that name is taken), shortest names first.
pub fn attach_target_labels(series: &mut Labels, target: &Labels, honor_labels: bool) {
    if honor_labels {
        for label in target {
            series.insert_new_str(&label.name, &label.value);
        }
        return;
    }
    let mut conflicts: Vec<(String, String)> = Vec::new();
    for label in target {
        if let Some(existing) = series.replace_str(&label.name, &label.value) {
            conflicts.push((label.name.clone(), existing));
        }
    }
    conflicts.sort_by_key(|(name, _)| name.len());
    for (name, value) in conflicts {
        let mut exported = name;
        loop {
            exported.insert_str(0, "exported_");
            if !series.contains(&exported) {
                series.set(exported, value);
                break;
            }
        }
    }
}

/// `label_limit`, `label_name_length_limit`, `label_value_length_limit` of a scrape
/// config; 0 means no limit, as in Prometheus.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LabelLimits {
    /// Most labels a series may have; 0 = no limit.
    pub label_limit: u64,
    /// Longest label name; 0 = no limit.
    pub label_name_length_limit: u64,
    /// Longest label value; 0 = no limit.
    pub label_value_length_limit: u64,
}

impl LabelLimits {
    /// Why a series (its labels sorted by name, a [`Labels`] set's or a sample's
    /// borrowed pairs) breaks the limits, if it does. Prometheus fails the whole
    /// scrape then.
    pub fn check<L: LabelPair>(&self, series: &[L]) -> Option<String> {
        if self.label_limit > 0 && series.len() as u64 > self.label_limit {
            return Some(format!(
                "label_limit exceeded: series {} has {} labels, limit {}",
                DisplayLabels(series),
                series.len(),
                self.label_limit
            ));
        }
        if self.label_name_length_limit == 0 && self.label_value_length_limit == 0 {
            return None;
        }
        for label in series {
            let (name, value) = (label.name(), label.value());
            if self.label_name_length_limit > 0 && name.len() as u64 > self.label_name_length_limit
            {
                return Some(format!(
                    "label_name_length_limit exceeded: label name {:?} is {} bytes, limit {}",
                    name,
                    name.len(),
                    self.label_name_length_limit
                ));
            }
            if self.label_value_length_limit > 0
                && value.len() as u64 > self.label_value_length_limit
            {
                return Some(format!(
                    "label_value_length_limit exceeded: value of label {:?} is {} bytes, limit {}",
                    name,
                    value.len(),
                    self.label_value_length_limit
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(l: &Labels) -> Vec<(String, String)> {
        l.iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect()
    }

    #[test]
    fn target_labels_win_and_clashes_become_exported() {
        let mut s = Labels::from_pairs([
            ("__name__", "m"),
            ("job", "exposed"),
            ("exported_job", "taken"),
            ("instance", "i-exposed"),
        ]);
        let t = Labels::from_pairs([("job", "node"), ("instance", "h:1")]);
        attach_target_labels(&mut s, &t, false);
        assert_eq!(
            pairs(&s),
            Labels::from_pairs([
                ("__name__", "m"),
                ("job", "node"),
                ("instance", "h:1"),
                ("exported_job", "taken"),
                ("exported_exported_job", "exposed"),
                ("exported_instance", "i-exposed"),
            ])
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect::<Vec<_>>()
        );
    }

    #[test]
    fn honor_labels_keeps_exposed_values() {
        let mut s = Labels::from_pairs([("__name__", "m"), ("job", "exposed")]);
        let t = Labels::from_pairs([("job", "node"), ("instance", "h:1")]);
        attach_target_labels(&mut s, &t, true);
        assert_eq!(s.get("job"), Some("exposed"));
        assert_eq!(s.get("instance"), Some("h:1"));
        assert!(!s.contains("exported_job"));
    }

    #[test]
    fn limits() {
        let s = Labels::from_pairs([("__name__", "m"), ("a", "12345")]);
        let none = LabelLimits::default();
        assert_eq!(none.check(s.as_slice()), None);
        let count = LabelLimits {
            label_limit: 1,
            ..none
        };
        assert!(count
            .check(s.as_slice())
            .is_some_and(|e| e.contains("label_limit")));
        let value = LabelLimits {
            label_value_length_limit: 4,
            ..none
        };
        assert!(value
            .check(s.as_slice())
            .is_some_and(|e| e.contains("label_value_length_limit")));
    }
}
