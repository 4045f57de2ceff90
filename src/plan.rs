//! The plan: what `run` would do, in order. The wasm module previews it; the native commands
//! execute exactly this. Serialized deterministically (ordered maps, no clock, no randomness).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::flake::FlakeSummary;

/// Where something was written in the package: `file` relative to the package root, 1-based
/// line and column (in characters).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The package name from `kurtosis.yml`.
    pub package: String,
    /// The Nix system images are built for.
    pub system: String,
    /// Every instruction `run` issues, in order.
    pub steps: Vec<Step>,
    /// Every image the steps use, once per image name, in order of first use.
    pub images: Vec<Image>,
    /// The value `run` returned, as JSON (future references stay as `{{kurtosis:...}}` strings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub at: Location,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(flatten)]
    pub instruction: Instruction,
}

/// One `plan.*` call. Field names follow Kurtosis's argument names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "instruction", rename_all = "snake_case")]
pub enum Instruction {
    AddService {
        name: String,
        config: ServiceConfig,
        #[serde(default, skip_serializing_if = "is_false")]
        force_update: bool,
    },
    SetService {
        name: String,
        config: ServiceConfig,
    },
    RemoveService {
        name: String,
    },
    StartService {
        name: String,
    },
    StopService {
        name: String,
    },
    GetService {
        name: String,
    },
    GetServices,
    GetFilesArtifact {
        name: String,
    },
    Exec {
        service_name: String,
        recipe: Recipe,
        #[serde(skip_serializing_if = "Option::is_none")]
        acceptable_codes: Option<Vec<i64>>,
        #[serde(default, skip_serializing_if = "is_false")]
        skip_code_check: bool,
    },
    Request {
        service_name: String,
        recipe: Recipe,
        #[serde(skip_serializing_if = "Option::is_none")]
        acceptable_codes: Option<Vec<i64>>,
        #[serde(default, skip_serializing_if = "is_false")]
        skip_code_check: bool,
    },
    Wait {
        #[serde(skip_serializing_if = "Option::is_none")]
        service_name: Option<String>,
        recipe: Recipe,
        field: String,
        assertion: String,
        target_value: serde_json::Value,
        interval: String,
        timeout: String,
    },
    Verify {
        value: serde_json::Value,
        assertion: String,
        target_value: serde_json::Value,
    },
    Print {
        msg: String,
    },
    UploadFiles {
        src: String,
        /// The source path relative to the package root, when it is local.
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        name: String,
    },
    RenderTemplates {
        name: String,
        config: BTreeMap<String, Template>,
    },
    StoreServiceFiles {
        service_name: String,
        src: String,
        name: String,
    },
    RunSh {
        run: String,
        image: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        files: BTreeMap<String, FilesMount>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        store: Vec<StoreSpec>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        env_vars: BTreeMap<String, String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        wait: Option<String>,
    },
    RunPython {
        run: String,
        image: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        args: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        packages: Vec<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        files: BTreeMap<String, FilesMount>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        store: Vec<StoreSpec>,
        #[serde(skip_serializing_if = "Option::is_none")]
        wait: Option<String>,
    },
    GetClusterType,
}

fn is_false(value: &bool) -> bool {
    !*value
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceConfig {
    /// The image name the container starts from; its source is in [`Plan::images`].
    pub image: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ports: BTreeMap<String, PortSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub public_ports: BTreeMap<String, PortSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, FilesMount>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env_vars: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_ip_address_placeholder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_cpu: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_cpu: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_memory: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_memory: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_conditions: Option<ReadyCondition>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selectors: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files_to_be_moved: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tini_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_udp: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_pid_namespace: Option<bool>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bind_mounts: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    pub number: i64,
    pub transport_protocol: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub application_protocol: String,
    /// A duration such as `"2m"`; `None` disables the wait.
    pub wait: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// What a path in `files` mounts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FilesMount {
    Artifact(String),
    Directory {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        artifact_names: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        persistent_key: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        size: Option<i64>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recipe {
    Exec {
        command: Vec<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        extract: BTreeMap<String, String>,
    },
    GetHttp {
        port_id: String,
        endpoint: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        extract: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
    },
    PostHttp {
        port_id: String,
        endpoint: String,
        body: String,
        content_type: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        extract: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadyCondition {
    pub recipe: Recipe,
    pub field: String,
    pub assertion: String,
    pub target_value: serde_json::Value,
    pub interval: String,
    pub timeout: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub uid: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub template: String,
    pub data: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreSpec {
    pub src: String,
    pub name: String,
}

/// Where an image comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub name: String,
    pub defined_at: Location,
    #[serde(flatten)]
    pub source: ImageSource,
    /// Where a NixBuildSpec image will live once pushed (`--push REGISTRY`):
    /// `REGISTRY/<image_name>`, tagged `latest` when the name has no tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_to: Option<String>,
}

impl Image {
    /// The image with `push_to` set when it is a Nix image and there is a push registry.
    pub fn pushed_to(self, registry: Option<&str>) -> Image {
        let push_to = match (&self.source, registry) {
            (ImageSource::Nix(_), Some(registry)) => Some(push_reference(registry, &self.name)),
            _ => None,
        };
        Image { push_to, ..self }
    }
}

/// `REGISTRY/<image_name>`, tagged `latest` when the name has no tag.
pub fn push_reference(registry: &str, image_name: &str) -> String {
    let registry = registry.trim_end_matches('/');
    match crate::imageref::parse(image_name) {
        Ok(parsed) if parsed.digest.is_none() => format!(
            "{registry}/{}:{}",
            parsed.repository,
            parsed.tag_or_latest()
        ),
        _ => format!("{registry}/{image_name}"),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum ImageSource {
    /// Pulled by name (or used when already present locally).
    Registry,
    /// `ImageSpec(image=..., registry=...)`.
    RegistrySpec {
        #[serde(skip_serializing_if = "Option::is_none")]
        registry: Option<String>,
        #[serde(default, skip_serializing_if = "is_false")]
        has_credentials: bool,
    },
    /// `ImageBuildSpec`: a Dockerfile build.
    Dockerfile {
        context_dir: String,
        dockerfile: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        target_stage: Option<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        build_args: BTreeMap<String, String>,
    },
    /// `NixBuildSpec`: a flake output built with `nix build`.
    Nix(NixBuild),
}

/// One `nix build`, fully resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NixBuild {
    /// The folder holding `flake.nix`, relative to the package root.
    pub flake_dir: String,
    /// `build_context_dir`, relative to the package root.
    pub context_dir: String,
    /// `flake_output` as written; `None` means Nix's default lookup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flake_output: Option<String>,
    /// The attributes Nix tries, in order, for this system (empty when the fragment cannot be
    /// parsed).
    pub attribute_candidates: Vec<String>,
    /// The flake reference given to `nix build`, relative to the package root.
    pub installable: String,
    /// The exact command line, to run in the package root.
    pub command: Vec<String>,
    /// What a static reading of `flake.nix` finds; `None` when it has syntax errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flake: Option<FlakeSummary>,
}

impl NixBuild {
    /// The `nix build` invocation for a flake folder; works on Nix 2.8 (no `--print-out-paths`)
    /// and on current Nix. `path:` keeps Git from hiding untracked files.
    pub fn new(
        flake_dir: &str,
        context_dir: &str,
        flake_output: Option<&str>,
        system: &str,
        flake: Option<FlakeSummary>,
    ) -> Self {
        let dir = if flake_dir.is_empty() {
            ".".to_owned()
        } else {
            format!("./{flake_dir}")
        };
        let installable = match flake_output {
            Some(output) => format!("path:{dir}#{output}"),
            None => format!("path:{dir}"),
        };
        let command = [
            "nix",
            "--extra-experimental-features",
            "nix-command flakes",
            "build",
            "--no-link",
            "--json",
            "--log-format",
            "internal-json",
            "--system",
            system,
            &installable,
        ]
        .map(str::to_owned)
        .to_vec();
        NixBuild {
            flake_dir: flake_dir.to_owned(),
            context_dir: context_dir.to_owned(),
            flake_output: flake_output.map(str::to_owned),
            attribute_candidates: crate::flake::candidate_attr_paths(flake_output, system),
            installable,
            command,
            flake,
        }
    }
}

/// The plan as text for a terminal (and the playground's terminal tab).
pub fn render_human(plan: &Plan) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan for {} ({} steps, images for {})",
        plan.package,
        plan.steps.len(),
        plan.system
    );
    for (index, step) in plan.steps.iter().enumerate() {
        let summary = match &step.instruction {
            Instruction::AddService { name, config, .. } => {
                let ports: Vec<String> = config
                    .ports
                    .iter()
                    .map(|(id, port)| {
                        format!(
                            "{id}={}/{}",
                            port.number,
                            port.transport_protocol.to_lowercase()
                        )
                    })
                    .collect();
                let ports = if ports.is_empty() {
                    String::new()
                } else {
                    format!(" ports {}", ports.join(", "))
                };
                format!("add_service {name} image {}{ports}", config.image)
            }
            other => {
                let json = serde_json::to_value(other).unwrap_or_default();
                let kind = json
                    .get("instruction")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?")
                    .to_owned();
                let name = ["name", "service_name", "msg", "src"]
                    .iter()
                    .find_map(|key| json.get(*key).and_then(|v| v.as_str()))
                    .map(|value| format!(" {value}"))
                    .unwrap_or_default();
                format!("{kind}{name}")
            }
        };
        let _ = writeln!(out, "{:>3}. {summary}  ({})", index + 1, step.at);
    }
    if !plan.images.is_empty() {
        let _ = writeln!(out, "\nimages:");
        for image in &plan.images {
            let origin = match &image.source {
                ImageSource::Registry => "from a registry or the local image store".to_owned(),
                ImageSource::RegistrySpec { registry, .. } => {
                    format!(
                        "from registry {}",
                        registry.as_deref().unwrap_or("(default)")
                    )
                }
                ImageSource::Dockerfile { dockerfile, .. } => {
                    format!("docker build of {dockerfile}")
                }
                ImageSource::Nix(build) => format!(
                    "nix build of {} (tries {})",
                    build.installable,
                    build.attribute_candidates.join(", then ")
                ),
            };
            let _ = writeln!(out, "  {}: {origin}  ({})", image.name, image.defined_at);
            if let ImageSource::Nix(build) = &image.source {
                if let Some(flake) = &build.flake {
                    let _ = writeln!(out, "    {}", describe_flake(flake));
                }
                let _ = writeln!(out, "    $ {}", shell_words(&build.command));
            }
            if let Some(reference) = &image.push_to {
                let _ = writeln!(out, "    pushed to {reference}");
            }
        }
    }
    out
}

/// One line on what the flake says of itself: its description and the outputs it has.
pub fn describe_flake(flake: &FlakeSummary) -> String {
    const SHOWN: usize = 8;
    let mut line = match &flake.description {
        Some(description) => format!("flake \"{description}\": "),
        None => "flake: ".to_owned(),
    };
    if flake.outputs.is_empty() {
        line.push_str("no outputs known statically");
    } else {
        line.push_str("outputs ");
        line.push_str(&flake.outputs[..flake.outputs.len().min(SHOWN)].join(", "));
        if flake.outputs.len() > SHOWN {
            line.push_str(&format!(" and {} more", flake.outputs.len() - SHOWN));
        }
        if flake.dynamic {
            line.push_str(", and more that only Nix can evaluate");
        }
    }
    line
}

/// A command line as a shell would need it quoted.
pub fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|word| {
            if !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:#=@+,".contains(c))
            {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
