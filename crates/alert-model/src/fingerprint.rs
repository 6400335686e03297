//! Alert identity from labels only, so the same alert from two notifications (firing,
//! then resolved; or an SNS redelivery) has one fingerprint, as in Alertmanager.

use std::collections::BTreeMap;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const SEPARATOR: u8 = 0xff;

/// FNV-1a 64 over the labels sorted by name, each name and value followed by `0xff`
/// (Prometheus' `LabelSet.Fingerprint`), as 16 lower-case hex digits: the value
/// Alertmanager shows for the same label set.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    let mut hash = FNV_OFFSET;
    if labels.is_empty() {
        return format!("{hash:016x}");
    }
    for (name, value) in labels {
        for byte in name
            .bytes()
            .chain([SEPARATOR])
            .chain(value.bytes())
            .chain([SEPARATOR])
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn matches_prometheus_label_set_fingerprints() {
        // prometheus/common model TestLabelsToSignature: 14695981039346656037 and
        // 5799056148416392346, in hex.
        assert_eq!(fingerprint(&labels(&[])), "cbf29ce484222325");
        assert_eq!(
            fingerprint(&labels(&[
                ("name", "garland, briggs"),
                ("fear", "love is not enough")
            ])),
            format!("{:016x}", 5_799_056_148_416_392_346_u64)
        );
        // Independently computed FNV-1a of "a\xffb\xff".
        let mut h = FNV_OFFSET;
        for b in [b'a', 0xff, b'b', 0xff] {
            h ^= u64::from(b);
            h = h.wrapping_mul(FNV_PRIME);
        }
        assert_eq!(fingerprint(&labels(&[("a", "b")])), format!("{h:016x}"));
    }

    #[test]
    fn order_independent_and_separator_safe() {
        let one = labels(&[("alertname", "X"), ("job", "y")]);
        let two = labels(&[("job", "y"), ("alertname", "X")]);
        assert_eq!(fingerprint(&one), fingerprint(&two));
        // "ab"="c" and "a"="bc" must differ: the separator prevents the collision.
        assert_ne!(
            fingerprint(&labels(&[("ab", "c")])),
            fingerprint(&labels(&[("a", "bc")]))
        );
    }
}
