//! LIST requests to a Kubernetes API server, as an agent makes them but without a
//! watch: nothing lives between two runs, so each run takes a fresh, paginated
//! snapshot (`limit` + `continue`), filtered on the server by the configured label
//! and field selectors. Objects are decoded one by one and handed on at once, so a
//! malformed object is skipped and counted instead of failing its whole list, and
//! no more than one page of objects is ever held (a 10,000-pod cluster is 20 pages).

use std::time::Instant;

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::{Client, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Objects per LIST page: the page size client-go's pager uses.
pub const PAGE_SIZE: u32 = 500;

/// A Kubernetes API server, reached with one client and one `Authorization` header.
pub struct KubeApi {
    base: Url,
    http: Client,
    authorization: Option<HeaderValue>,
}

/// One kind of object to list: its collection path, optionally in one namespace.
#[derive(Debug, Clone, Copy)]
pub struct Resource {
    /// `/api/v1` or `/apis/<group>/<version>`.
    pub prefix: &'static str,
    /// The plural name (`pods`, `endpointslices`).
    pub plural: &'static str,
    /// Cluster-scoped objects (nodes) are never listed per namespace.
    pub namespaced: bool,
}

/// What a paginated LIST did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Listed {
    /// HTTP requests made (pages).
    pub calls: u64,
}

/// One listed object: decoded, or why it is not the kind (`pods ns/name: ...`).
pub type Item<T> = Result<T, String>;

/// Why a LIST failed. Names the request and keeps the cause.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// No answer: connection, TLS, timeout.
    #[error("GET {url}: request failed")]
    Request {
        /// The request URL (without credentials: they go in a header).
        url: String,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status (401, 403, 404, 410, 5xx).
    #[error("GET {url}: HTTP {status}: {message}")]
    Status {
        /// The request URL.
        url: String,
        /// The status code.
        status: u16,
        /// The `message` of the Kubernetes Status body, or the start of the body.
        message: String,
    },
    /// The body is not a list of objects.
    #[error("GET {url}: not a Kubernetes list")]
    Decode {
        /// The request URL.
        url: String,
        /// Where the JSON went wrong.
        #[source]
        source: serde_json::Error,
    },
    /// The discovery time budget ran out between pages.
    #[error("GET {url}: the discovery time budget ran out after {pages} pages")]
    Budget {
        /// The next page's URL.
        url: String,
        /// Pages read before.
        pages: u64,
    },
}

/// A list page: items are kept raw, to be decoded one at a time.
#[derive(Deserialize)]
struct Page<'a> {
    #[serde(default)]
    metadata: PageMeta,
    #[serde(borrow, default)]
    items: Vec<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct PageMeta {
    #[serde(default, rename = "continue")]
    next: Option<String>,
}

/// The `message` of a Kubernetes Status error body.
#[derive(Deserialize)]
struct Status {
    message: Option<String>,
}

impl KubeApi {
    /// A server at `base` (its URL, without a trailing path beyond a prefix).
    pub fn new(base: Url, http: Client, authorization: Option<HeaderValue>) -> KubeApi {
        KubeApi {
            base,
            http,
            authorization,
        }
    }

    /// Lists every object of `resource` (in `namespace`, or all namespaces when
    /// `None`) matching the selectors, page by page, before `deadline`, handing
    /// each object to `each` as soon as its page has arrived.
    pub async fn list<T: DeserializeOwned>(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        label_selector: Option<&str>,
        field_selector: Option<&str>,
        deadline: Instant,
        mut each: impl FnMut(Item<T>),
    ) -> Result<Listed, ListError> {
        let mut listed = Listed::default();
        let mut next: Option<String> = None;
        loop {
            let url = self.page_url(
                resource,
                namespace,
                label_selector,
                field_selector,
                next.as_deref(),
            );
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ListError::Budget {
                    url: url.to_string(),
                    pages: listed.calls,
                });
            }
            let mut request = self
                .http
                .get(url.clone())
                .header(ACCEPT, "application/json")
                .timeout(remaining);
            if let Some(authorization) = &self.authorization {
                request = request.header(AUTHORIZATION, authorization.clone());
            }
            listed.calls += 1;
            let failed = |source| ListError::Request {
                url: url.to_string(),
                source,
            };
            let response = request.send().await.map_err(failed)?;
            let status = response.status();
            let body = response.bytes().await.map_err(failed)?;
            if !status.is_success() {
                return Err(ListError::Status {
                    url: url.to_string(),
                    status: status.as_u16(),
                    message: status_message(&body),
                });
            }
            let page: Page = serde_json::from_slice(&body).map_err(|source| ListError::Decode {
                url: url.to_string(),
                source,
            })?;
            for raw in &page.items {
                each(
                    serde_json::from_str::<T>(raw.get())
                        .map_err(|e| format!("{} {}: {e}", resource.plural, object_name(raw))),
                );
            }
            match page.metadata.next.filter(|token| !token.is_empty()) {
                Some(token) => next = Some(token),
                None => return Ok(listed),
            }
        }
    }

    fn page_url(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        label_selector: Option<&str>,
        field_selector: Option<&str>,
        next: Option<&str>,
    ) -> Url {
        let mut url = self.base.clone();
        let base_path = url.path().trim_end_matches('/').to_string();
        let path = match namespace.filter(|_| resource.namespaced) {
            Some(ns) => format!(
                "{base_path}{}/namespaces/{ns}/{}",
                resource.prefix, resource.plural
            ),
            None => format!("{base_path}{}/{}", resource.prefix, resource.plural),
        };
        url.set_path(&path);
        {
            let mut query = url.query_pairs_mut();
            query.clear();
            query.append_pair("limit", &PAGE_SIZE.to_string());
            if let Some(selector) = label_selector {
                query.append_pair("labelSelector", selector);
            }
            if let Some(selector) = field_selector {
                query.append_pair("fieldSelector", selector);
            }
            if let Some(token) = next {
                query.append_pair("continue", token);
            }
        }
        url
    }
}

/// `namespace/name` of an object that did not decode, as far as it can be read.
fn object_name(raw: &RawValue) -> String {
    #[derive(Deserialize, Default)]
    struct Meta {
        namespace: Option<String>,
        name: Option<String>,
    }
    #[derive(Deserialize)]
    struct Named {
        #[serde(default)]
        metadata: Meta,
    }
    match serde_json::from_str::<Named>(raw.get()) {
        Ok(Named { metadata }) => match (metadata.namespace, metadata.name) {
            (Some(ns), Some(name)) => format!("{ns}/{name}"),
            (None, Some(name)) => name,
            _ => "(no name)".into(),
        },
        Err(_) => "(not an object)".into(),
    }
}

/// The Status body's message, or the start of a body that is not one.
fn status_message(body: &[u8]) -> String {
    match serde_json::from_slice::<Status>(body) {
        Ok(Status {
            message: Some(message),
        }) => message,
        _ => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_urls_carry_selectors_namespace_and_continue() {
        let api = KubeApi::new(
            Url::parse("https://k8s.example:6443/prefix/").expect("url"),
            Client::new(),
            None,
        );
        let pods = Resource {
            prefix: "/api/v1",
            plural: "pods",
            namespaced: true,
        };
        let url = api.page_url(
            pods,
            Some("mesh"),
            Some("app in (a,b)"),
            None,
            Some("tok=="),
        );
        assert_eq!(
            url.as_str(),
            "https://k8s.example:6443/prefix/api/v1/namespaces/mesh/pods?limit=500&labelSelector=app+in+%28a%2Cb%29&continue=tok%3D%3D"
        );
        let nodes = Resource {
            prefix: "/api/v1",
            plural: "nodes",
            namespaced: false,
        };
        let url = api.page_url(
            nodes,
            Some("mesh"),
            None,
            Some("spec.unschedulable=false"),
            None,
        );
        assert_eq!(
            url.as_str(),
            "https://k8s.example:6443/prefix/api/v1/nodes?limit=500&fieldSelector=spec.unschedulable%3Dfalse"
        );
    }

    #[test]
    fn a_status_body_gives_its_message() {
        let body = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods is forbidden: User \"x\" cannot list resource \"pods\"","reason":"Forbidden","code":403}"#;
        assert!(status_message(body).starts_with("pods is forbidden"));
        assert_eq!(
            status_message(b"<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
    }
}
