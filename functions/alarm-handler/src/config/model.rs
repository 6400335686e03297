//! The validated config: the file as written (receivers are used as written), with
//! the routing tree, the inhibitor and the time intervals compiled, and the template
//! files read.

use alert_routing::{Inhibitor, Route, TimeIntervals};

use super::file::ConfigFile;
use super::receiver_file::ReceiverConfig;

/// The validated, compiled config; made by [`Config::parse`].
#[derive(Debug)]
pub struct Config {
    /// The file as written, with `*_file` secrets already read into their literal
    /// fields, so senders see one form.
    pub file: ConfigFile,
    /// The compiled routing tree.
    pub route: Route,
    /// The compiled inhibit rules.
    pub inhibitor: Inhibitor,
    /// `time_intervals` and `mute_time_intervals` together, by name.
    pub time_intervals: TimeIntervals,
    /// Contents of the files `templates` names, in order, each with its path.
    pub template_sources: Vec<(String, String)>,
    /// The config text as loaded (the Alertmanager API's `GET /api/v2/status` shows
    /// it, with secrets masked).
    pub original: String,
}

impl Config {
    /// Receiver by name (validation guarantees every routed name exists).
    pub fn receiver(&self, name: &str) -> Option<&ReceiverConfig> {
        self.file.receivers.iter().find(|r| r.name == name)
    }
}
