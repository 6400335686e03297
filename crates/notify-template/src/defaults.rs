//! Default notification templates, written to read like Alertmanager's defaults so
//! notifications look familiar: `[FIRING:2] <group label values> (<other common
//! labels>)` subjects, label/annotation lists per alert, a link back to the source.

pub const DEFAULTS: &str = r#"
{{ define "__alertmanager" }}alarm-handler{{ end }}

{{ define "__alertmanagerURL" }}{{ .ExternalURL }}{{ end }}

{{ define "__subject" -}}
[{{ toUpper .Status }}{{ if eq .Status "firing" }}:{{ len .Alerts.Firing }}{{ end }}]
{{- range .GroupLabels.SortedPairs }} {{ .Value }}{{ end }}
{{- $extra := .CommonLabels.Remove .GroupLabels.Names }}
{{- if $extra }} ({{ join " " $extra.Values }}){{ end }}
{{- end }}

{{ define "__description" }}{{ end }}

{{ define "__text_alert_list" }}{{ range . }}Labels:
{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Annotations:
{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Source: {{ .GeneratorURL }}
{{ end }}{{ end }}

{{ define "sns.default.subject" }}{{ template "__subject" . }}{{ end }}

{{ define "sns.default.message" -}}
{{ join " " .CommonAnnotations.Values }}
{{ with .Alerts.Firing }}
Alerts Firing:
{{ template "__text_alert_list" . }}{{ end }}
{{- with .Alerts.Resolved }}
Alerts Resolved:
{{ template "__text_alert_list" . }}{{ end }}
{{- end }}

{{ define "slack.default.title" }}{{ template "__subject" . }}{{ end }}
{{ define "slack.default.username" }}{{ template "__alertmanager" . }}{{ end }}
{{ define "slack.default.fallback" }}{{ template "slack.default.title" . }} | {{ template "slack.default.titlelink" . }}{{ end }}
{{ define "slack.default.titlelink" }}{{ template "__alertmanagerURL" . }}{{ end }}
{{ define "slack.default.text" -}}
{{ range .Alerts }}*{{ .Status | toUpper }}* {{ .Labels.alertname }}{{ with .Annotations.summary }}: {{ . }}{{ end }}
{{ with .Annotations.description }}{{ . }}
{{ end }}{{ end }}
{{- end }}

{{ define "pagerduty.default.description" }}{{ template "__subject" . }}{{ end }}
{{ define "pagerduty.default.client" }}{{ template "__alertmanager" . }}{{ end }}
{{ define "pagerduty.default.clientURL" }}{{ template "__alertmanagerURL" . }}{{ end }}
"#;
