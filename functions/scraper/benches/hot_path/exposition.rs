//! The expositions the workloads serve. W1's realism matters: the 156 MB for
//! 1M samples came from an exporter with more and longer labels than
//! `vs_prometheus_agent`'s three short ones (~72 bytes a sample), and both the
//! parser's and the encoder's cost grow with label bytes. So each sample here looks
//! like one from a Kubernetes service's exporter: five labels (namespace, pod,
//! container, node, code), pod names with a ReplicaSet hash, counters with values of
//! up to seven digits: about 150 bytes a sample.

use std::fmt::Write;

/// Series per metric family (each family has its own `# HELP` and `# TYPE`).
const SERIES_PER_FAMILY: usize = 500;
/// Status codes; one series per (pod, code).
const CODES: [&str; 5] = ["200", "201", "404", "429", "503"];
/// Pods per family: `SERIES_PER_FAMILY / CODES.len()`.
const PODS_PER_FAMILY: usize = SERIES_PER_FAMILY / CODES.len();
const APPS: [&str; 6] = [
    "orders-api",
    "checkout",
    "payments",
    "catalog",
    "inventory",
    "search",
];
const METRICS: [&str; 4] = [
    "http_server_requests",
    "grpc_server_handled",
    "queue_messages_done",
    "cache_lookups",
];

/// A text-format (0.0.4) exposition of `samples` counter samples, varied by
/// `target` so that targets of one job differ in label values as real ones do.
pub struct Exposition {
    pub body: Vec<u8>,
    pub samples: usize,
}

impl Exposition {
    pub fn bytes_per_sample(&self) -> f64 {
        self.body.len() as f64 / self.samples.max(1) as f64
    }
}

/// A cheap deterministic mix (SplitMix64's finaliser), so label values look random
/// but every run serves the same bytes.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Five lowercase alphanumerics from `x`, like a pod name's random suffix.
fn pod_suffix(x: u64, out: &mut String) {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x = x;
    for _ in 0..5 {
        out.push(char::from(ALPHABET[(x % ALPHABET.len() as u64) as usize]));
        x /= ALPHABET.len() as u64;
    }
}

/// The W1-shaped exposition (see the module comment).
pub fn realistic(samples: usize, target: usize) -> Exposition {
    let mut text = String::with_capacity(samples * 160);
    let mut written = 0;
    let mut family = 0;
    while written < samples {
        let metric = METRICS[family % METRICS.len()];
        let name = format!("app_{metric}_{family}_total");
        let _ = write!(
            text,
            "# HELP {name} Requests handled, by pod and status code.\n# TYPE {name} counter\n"
        );
        for series in 0..SERIES_PER_FAMILY {
            if written == samples {
                break;
            }
            let pod = series / CODES.len();
            let pod_seed = mix((target * PODS_PER_FAMILY + pod) as u64);
            let app = APPS[pod % APPS.len()];
            let _ = write!(
                text,
                "{name}{{namespace=\"team-{}-prod\",pod=\"{app}-{:010x}-",
                pod_seed % 12,
                pod_seed >> 24 & 0xff_ffff_ffff
            );
            pod_suffix(pod_seed >> 8, &mut text);
            let _ = writeln!(
                text,
                "\",container=\"{app}\",node=\"ip-10-{}-{}-{}\",code=\"{}\"}} {}",
                pod_seed % 8,
                (pod_seed >> 3) % 256,
                (pod_seed >> 11) % 254 + 1,
                CODES[series % CODES.len()],
                mix((written + target) as u64) % 10_000_000
            );
            written += 1;
        }
        family += 1;
    }
    Exposition {
        body: text.into_bytes(),
        samples,
    }
}
