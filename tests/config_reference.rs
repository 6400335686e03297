//! The config reference in `docs/reference/` is generated from the doc comments of the
//! serde types that parse each config, so a field is documented once, next to the
//! code that reads it, and the docs cannot drift from it. The tests parse those
//! sources with `syn`, take every struct and enum deriving `Deserialize`, compute the
//! YAML key serde reads for each field (`rename`, the container's `rename_all`,
//! `skip`, `flatten`) and render one Markdown file per function. They fail when a
//! reference file differs from what the sources give, or when a field has no doc
//! comment. `UPDATE_REFERENCE=1 cargo test -p pipeline-tests --test pipeline
//! config_reference` rewrites the files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use syn::ext::IdentExt as _;
use syn::punctuated::Punctuated;
use syn::{Attribute, Fields, GenericArgument, Item, PathArguments, Token, Type};

const REGENERATE: &str =
    "UPDATE_REFERENCE=1 cargo test -p pipeline-tests --test pipeline config_reference";

/// One generated reference file.
struct Reference {
    /// Where it is written, from the repository root.
    output: &'static str,
    /// Its title.
    title: &'static str,
    /// The sources whose types it documents, in the order of its sections.
    sources: &'static [&'static str],
    /// The types a reader starts from, each with the YAML path it sits at (empty: the
    /// top of the file) and how to say where that is.
    roots: &'static [(&'static str, &'static str, &'static str)],
}

const REFERENCES: &[Reference] = &[
    Reference {
        output: "docs/reference/scraper.md",
        title: "Scraper config reference",
        sources: &[
            "functions/scraper/src/config/file.rs",
            "functions/scraper/src/config/http.rs",
            "functions/scraper/src/config/kubernetes_sd.rs",
            "functions/scraper/src/config/aws_sd.rs",
            "functions/scraper/src/config/state.rs",
            "crates/prom/src/relabel/config.rs",
            "crates/eks-access/src/cluster.rs",
            "functions/scraper/src/discovery/shard.rs",
        ],
        roots: &[
            ("ConfigFile", "", "the top of the config file"),
            ("Shard", "shard", "the invocation event's `shard` field"),
        ],
    },
    Reference {
        output: "docs/reference/cloudwatch.md",
        title: "Scraper `cloudwatch:` (YACE) config reference",
        sources: &["functions/scraper/src/cloudwatch/config/file.rs"],
        roots: &[(
            "YaceConfigFile",
            "cloudwatch",
            "the scraper config's `cloudwatch:` block",
        )],
    },
    Reference {
        output: "docs/reference/alarm-handler.md",
        title: "Alarm-handler config reference",
        sources: &[
            "functions/alarm-handler/src/config/file.rs",
            "functions/alarm-handler/src/config/receiver_file.rs",
            "crates/alert-routing/src/route.rs",
            "crates/alert-routing/src/inhibit.rs",
            "crates/alert-routing/src/time_interval.rs",
        ],
        roots: &[("ConfigFile", "", "the top of the config file")],
    },
    Reference {
        output: "docs/reference/scaler.md",
        title: "Scaler config reference",
        sources: &[
            "functions/scaler/src/config/file.rs",
            "functions/scaler/src/config/cluster_file.rs",
            "crates/eks-access/src/cluster.rs",
        ],
        roots: &[("ConfigFile", "", "the top of the config file")],
    },
];

/// Files under `functions/*/src` that derive `Deserialize` for something that is not
/// user config, with the reason.
const NOT_CONFIG: &[(&str, &str)] = &[
    (
        "functions/scraper/src/discovery/kube_api.rs",
        "Kubernetes API responses",
    ),
    (
        "functions/alarm-handler/src/secret.rs",
        "`SecretRef` is a plain string; the fields using it say what it may be",
    ),
    (
        "functions/alarm-handler/src/aggregation/decision.rs",
        "what a flush recorded in the state table, not config",
    ),
    (
        "functions/alarm-handler/src/api/models.rs",
        "Alertmanager v2 API bodies (docs/alarm-handler.md, checked against its OpenAPI spec)",
    ),
    (
        "functions/alarm-handler/src/silences/model.rs",
        "silences as the Alertmanager API takes and stores them, not config",
    ),
];

/// A field (or enum variant) as the config is written.
struct Field {
    /// The YAML key (or enum value).
    key: String,
    /// The Rust type, rendered simply; empty for a unit variant.
    ty: String,
    /// The doc comment, lines joined by `\n`; empty when there is none.
    doc: String,
    /// `#[serde(flatten)]`: the type's fields sit at this level.
    flatten: bool,
    /// The type's wrappers and the config type it names, if any, for the paths.
    inner: Option<(String, String)>,
}

/// A struct or enum deriving `Deserialize`.
struct ConfigType {
    name: String,
    source: String,
    doc: String,
    is_enum: bool,
    fields: Vec<Field>,
}

#[derive(Default)]
struct SerdeAttrs {
    rename: Option<String>,
    rename_all: Option<String>,
    skip: bool,
    flatten: bool,
}

fn serde_attrs(attrs: &[Attribute]) -> Result<SerdeAttrs, String> {
    let mut out = SerdeAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            let name = meta
                .path
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_default();
            match name.as_str() {
                "rename" | "rename_all" if meta.input.peek(Token![=]) => {
                    let value: syn::LitStr = meta.value()?.parse()?;
                    if name == "rename" {
                        out.rename = Some(value.value());
                    } else {
                        out.rename_all = Some(value.value());
                    }
                }
                "rename" | "rename_all" => {
                    // `rename(deserialize = "..")`: only the deserialize name matters.
                    meta.parse_nested_meta(|inner| {
                        let value: syn::LitStr = inner.value()?.parse()?;
                        if inner.path.is_ident("deserialize") {
                            if name == "rename" {
                                out.rename = Some(value.value());
                            } else {
                                out.rename_all = Some(value.value());
                            }
                        }
                        Ok(())
                    })?;
                }
                "skip" | "skip_deserializing" => out.skip = true,
                "flatten" => out.flatten = true,
                _ if meta.input.peek(Token![=]) => {
                    let _: syn::Expr = meta.value()?.parse()?;
                }
                _ if meta.input.peek(syn::token::Paren) => {
                    meta.parse_nested_meta(|inner| {
                        if inner.input.peek(Token![=]) {
                            let _: syn::Expr = inner.value()?.parse()?;
                        }
                        Ok(())
                    })?;
                }
                _ => {}
            }
            Ok(())
        })
        .map_err(|e| format!("#[serde(..)]: {e}"))?;
    }
    Ok(out)
}

fn derives_deserialize(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("derive"))
        .filter_map(|a| {
            a.parse_args_with(Punctuated::<syn::Path, Token![,]>::parse_terminated)
                .ok()
        })
        .any(|paths| {
            paths
                .iter()
                .any(|p| p.segments.last().is_some_and(|s| s.ident == "Deserialize"))
        })
}

fn doc_comment(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| {
            line.strip_prefix(' ')
                .unwrap_or(&line)
                .trim_end()
                .to_string()
        })
        .collect();
    lines.join("\n").trim().to_string()
}

/// Splits a snake_case field name or a PascalCase variant name into lowercase words.
fn words(name: &str, is_variant: bool) -> Vec<String> {
    if !is_variant {
        return name.split('_').map(str::to_lowercase).collect();
    }
    let mut out: Vec<String> = Vec::new();
    for c in name.chars() {
        if c.is_uppercase() || out.is_empty() {
            out.push(String::new());
        }
        if let Some(last) = out.last_mut() {
            last.extend(c.to_lowercase());
        }
    }
    out
}

/// The name serde reads under `rename_all = rule`.
fn apply_rename_all(name: &str, rule: &str, is_variant: bool) -> Result<String, String> {
    let w = words(name, is_variant);
    let capitalized = |s: &String| {
        let mut chars = s.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect::<String>())
            .unwrap_or_default()
    };
    Ok(match rule {
        "lowercase" => w.concat(),
        "UPPERCASE" => w.concat().to_uppercase(),
        "snake_case" => w.join("_"),
        "SCREAMING_SNAKE_CASE" => w.join("_").to_uppercase(),
        "kebab-case" => w.join("-"),
        "SCREAMING-KEBAB-CASE" => w.join("-").to_uppercase(),
        "PascalCase" => w.iter().map(capitalized).collect(),
        "camelCase" => w
            .iter()
            .enumerate()
            .map(|(i, s)| if i == 0 { s.clone() } else { capitalized(s) })
            .collect(),
        other => return Err(format!("unknown rename_all rule {other:?}")),
    })
}

/// The type as a reader would write it: last path segments with their arguments.
fn render_type(ty: &Type) -> String {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|seg| {
                let mut out = seg.ident.to_string();
                if let PathArguments::AngleBracketed(args) = &seg.arguments {
                    let inner: Vec<String> = args
                        .args
                        .iter()
                        .filter_map(|a| match a {
                            GenericArgument::Type(t) => Some(render_type(t)),
                            _ => None,
                        })
                        .collect();
                    out = format!("{out}<{}>", inner.join(", "));
                }
                out
            })
            .unwrap_or_default(),
        Type::Reference(r) => render_type(&r.elem),
        Type::Array(a) => format!("[{}]", render_type(&a.elem)),
        Type::Slice(s) => format!("[{}]", render_type(&s.elem)),
        Type::Tuple(t) => format!(
            "({})",
            t.elems
                .iter()
                .map(render_type)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => "?".into(),
    }
}

/// How a field's value reaches a named type: the path suffix its wrappers add
/// (`[]` for a list, `.<name>` for a map) and the innermost type's name.
fn unwrap_type(ty: &Type) -> Option<(String, String)> {
    let Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    let args: Vec<&Type> = match &seg.arguments {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let name = seg.ident.to_string();
    match (name.as_str(), args.as_slice()) {
        ("Option" | "Box", [inner]) => unwrap_type(inner),
        ("Vec", [inner]) => unwrap_type(inner).map(|(suffix, t)| (format!("[]{suffix}"), t)),
        ("BTreeMap" | "HashMap", [_, inner]) => {
            unwrap_type(inner).map(|(suffix, t)| (format!(".<name>{suffix}"), t))
        }
        (_, []) => Some((String::new(), name)),
        _ => None,
    }
}

fn parse_source(root: &Path, source: &str) -> Result<Vec<ConfigType>, String> {
    let text = std::fs::read_to_string(root.join(source)).map_err(|e| format!("{source}: {e}"))?;
    let file = syn::parse_file(&text).map_err(|e| format!("{source}: {e}"))?;
    let mut out = Vec::new();
    for item in &file.items {
        let (attrs, name, fields, is_enum) = match item {
            Item::Struct(s) if derives_deserialize(&s.attrs) => {
                let fields: Vec<(&[Attribute], String, Option<&Type>)> = match &s.fields {
                    Fields::Named(named) => named
                        .named
                        .iter()
                        .filter_map(|f| {
                            f.ident
                                .as_ref()
                                .map(|i| (f.attrs.as_slice(), i.unraw().to_string(), Some(&f.ty)))
                        })
                        .collect(),
                    // A newtype or tuple struct is read as its contents: no keys.
                    _ => Vec::new(),
                };
                (&s.attrs, s.ident.to_string(), fields, false)
            }
            Item::Enum(e) if derives_deserialize(&e.attrs) => {
                let variants = e
                    .variants
                    .iter()
                    .map(|v| {
                        let ty = match &v.fields {
                            Fields::Unnamed(u) if u.unnamed.len() == 1 => {
                                u.unnamed.first().map(|f| &f.ty)
                            }
                            _ => None,
                        };
                        (v.attrs.as_slice(), v.ident.unraw().to_string(), ty)
                    })
                    .collect();
                (&e.attrs, e.ident.to_string(), variants, true)
            }
            _ => continue,
        };
        let container = serde_attrs(attrs).map_err(|e| format!("{source}: {name}: {e}"))?;
        let mut config = ConfigType {
            name: name.clone(),
            source: source.to_string(),
            doc: doc_comment(attrs),
            is_enum,
            fields: Vec::new(),
        };
        for (field_attrs, field_name, ty) in fields {
            let serde = serde_attrs(field_attrs)
                .map_err(|e| format!("{source}: {name}.{field_name}: {e}"))?;
            if serde.skip {
                continue;
            }
            let key = match (&serde.rename, &container.rename_all) {
                (Some(rename), _) => rename.clone(),
                (None, Some(rule)) => apply_rename_all(&field_name, rule, is_enum)
                    .map_err(|e| format!("{source}: {name}: {e}"))?,
                (None, None) => field_name.clone(),
            };
            config.fields.push(Field {
                key,
                ty: ty.map(render_type).unwrap_or_default(),
                doc: doc_comment(field_attrs),
                flatten: serde.flatten,
                inner: ty.and_then(unwrap_type),
            });
        }
        out.push(config);
    }
    Ok(out)
}

/// `[`Name`]` intra-doc links become code spans; Markdown table cells get `|`
/// escaped and newlines joined.
fn markdown_text(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("[`") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find("`]") {
            Some(end) if !after[end + 2..].starts_with('(') => {
                out.push_str(&after[..end + 1]);
                rest = &after[end + 2..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn first_paragraph(doc: &str) -> String {
    let paragraph: Vec<&str> = doc
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect();
    markdown_text(&paragraph.join(" ")).replace('|', "\\|")
}

/// Every YAML path at which each type sits, from the reference's roots.
fn paths(reference: &Reference, types: &[ConfigType]) -> BTreeMap<String, Vec<String>> {
    let by_name: BTreeMap<&str, &ConfigType> = types.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    fn walk<'a>(
        by_name: &BTreeMap<&str, &'a ConfigType>,
        name: &'a str,
        path: String,
        chain: &mut Vec<&'a str>,
        out: &mut BTreeMap<String, Vec<String>>,
    ) {
        let Some(config) = by_name.get(name) else {
            return;
        };
        let seen = out.entry(name.to_string()).or_default();
        if !seen.contains(&path) {
            seen.push(path.clone());
        }
        if chain.contains(&name) || config.is_enum {
            return;
        }
        chain.push(name);
        for field in &config.fields {
            if let Some((suffix, inner)) = &field.inner {
                let child = if field.flatten {
                    path.clone()
                } else if path.is_empty() {
                    format!("{}{suffix}", field.key)
                } else {
                    format!("{path}.{}{suffix}", field.key)
                };
                walk(by_name, inner, child, chain, out);
            }
        }
        chain.pop();
    }
    for (root, path, _) in reference.roots {
        walk(&by_name, root, path.to_string(), &mut Vec::new(), &mut out);
    }
    out
}

fn render(reference: &Reference, types: &[ConfigType]) -> String {
    let mut out = String::new();
    let sources: Vec<String> = reference.sources.iter().map(|s| format!("`{s}`")).collect();
    let _ = writeln!(out, "# {}\n", reference.title);
    let _ = writeln!(
        out,
        "Generated from the doc comments in {}; do not edit by hand. Regenerate with \
         `{REGENERATE}`.\n",
        sources.join(", ")
    );
    let paths = paths(reference, types);
    let root_names: BTreeMap<&str, &str> = reference
        .roots
        .iter()
        .map(|(name, _, place)| (*name, *place))
        .collect();
    let mut written = BTreeSet::new();
    for config in types {
        // A type shared by two sources of the same reference is written once.
        if !written.insert(config.name.clone()) {
            continue;
        }
        let _ = writeln!(out, "## `{}`\n", config.name);
        let mut places: Vec<String> = Vec::new();
        if let Some(place) = root_names.get(config.name.as_str()) {
            places.push((*place).to_string());
        }
        for path in paths.get(&config.name).into_iter().flatten() {
            if !path.is_empty() && !root_names.contains_key(config.name.as_str()) {
                places.push(format!("`{path}`"));
            }
        }
        if places.is_empty() {
            places.push("not reached from this file's top".into());
        }
        let _ = writeln!(
            out,
            "Where: {}. Source: `{}`.\n",
            places.join(", "),
            config.source
        );
        if !config.doc.is_empty() {
            let paragraphs: Vec<String> = config
                .doc
                .split("\n\n")
                .map(|p| markdown_text(&p.lines().map(str::trim).collect::<Vec<_>>().join(" ")))
                .collect();
            let _ = writeln!(out, "{}\n", paragraphs.join("\n\n"));
        }
        if config.fields.is_empty() {
            continue;
        }
        if config.is_enum {
            let _ = writeln!(out, "| value | meaning |\n|---|---|");
        } else {
            let _ = writeln!(out, "| field | type | meaning |\n|---|---|---|");
        }
        for field in &config.fields {
            let key = if field.flatten {
                "*(flattened: its fields sit here)*".to_string()
            } else {
                format!("`{}`", field.key)
            };
            let meaning = first_paragraph(&field.doc);
            if config.is_enum {
                let _ = writeln!(out, "| {key} | {meaning} |");
            } else {
                let _ = writeln!(out, "| {key} | `{}` | {meaning} |", field.ty);
            }
        }
        out.push('\n');
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out.push('\n');
    out
}

fn reference_types(root: &Path, reference: &Reference) -> Result<Vec<ConfigType>, String> {
    let mut types = Vec::new();
    for source in reference.sources {
        types.extend(parse_source(root, source)?);
    }
    Ok(types)
}

#[test]
fn config_reference_matches_the_doc_comments() {
    let root = crate::repository_root();
    let update = std::env::var_os("UPDATE_REFERENCE").is_some_and(|v| v == "1");
    let mut problems = Vec::new();
    let mut undocumented = BTreeSet::new();
    for reference in REFERENCES {
        let types = reference_types(&root, reference).unwrap_or_else(|e| panic!("{e}"));
        for config in &types {
            for field in config.fields.iter().filter(|f| f.doc.is_empty()) {
                undocumented.insert(format!("{}: {}.{}", config.source, config.name, field.key));
            }
        }
        let rendered = render(reference, &types);
        let path = root.join(reference.output);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == rendered {
            continue;
        }
        if update {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).unwrap();
            }
            std::fs::write(&path, rendered).unwrap();
        } else {
            problems.push(format!(
                "{} differs from the doc comments of its sources; run `{REGENERATE}`",
                reference.output
            ));
        }
    }
    if !undocumented.is_empty() {
        problems.push(format!(
            "config fields without a doc comment:\n  {}",
            undocumented.into_iter().collect::<Vec<_>>().join("\n  ")
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every file under `functions/*/src` that derives `Deserialize` is a reference's
/// source or named in `NOT_CONFIG`, so a new config type cannot go undocumented.
#[test]
fn config_reference_covers_every_config_source() {
    let root = crate::repository_root();
    let known: BTreeSet<&str> = REFERENCES
        .iter()
        .flat_map(|r| r.sources.iter().copied())
        .chain(NOT_CONFIG.iter().map(|(path, _)| *path))
        .collect();
    let mut stack = vec![root.join("functions")];
    let mut missing = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if path.is_dir() {
                if !relative.ends_with("/target") && !relative.ends_with("/tests") {
                    stack.push(path);
                }
                continue;
            }
            if !relative.contains("/src/") || !relative.ends_with(".rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{relative}: {e}"));
            let derives = file.items.iter().any(|item| match item {
                Item::Struct(s) => derives_deserialize(&s.attrs),
                Item::Enum(e) => derives_deserialize(&e.attrs),
                _ => false,
            });
            if derives && !known.contains(relative.as_str()) {
                missing.push(relative);
            }
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "these files derive Deserialize but are in no config reference (add them to \
         REFERENCES, or to NOT_CONFIG with the reason):\n  {}",
        missing.join("\n  ")
    );
}
