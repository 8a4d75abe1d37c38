//! The deployment files in deploy/ are checked, not just written: the Kubernetes
//! manifests against the Kubernetes API schemas (strict: an unknown or misplaced
//! field fails), the config inside the ConfigMap with streetwatch's own config
//! loader, and the systemd unit with `systemd-analyze verify`. No cluster runs here,
//! so applying them is not tested; these checks are what can run without one.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cache() -> PathBuf {
    std::env::var_os("STREETWATCH_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/streetwatch"))
}

fn k8s(file: &str) -> PathBuf {
    repo().join("deploy/k8s").join(file)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The block scalar under `key: |` in a YAML file, dedented (enough YAML for the
/// ConfigMap's one multi-line value).
fn block_scalar(yaml: &str, key: &str) -> String {
    let mut lines = yaml.lines().skip_while(|l| l.trim() != format!("{key}: |"));
    let header = lines.next().unwrap_or_else(|| panic!("no `{key}: |` block"));
    let key_indent = header.len() - header.trim_start().len();
    let body: Vec<&str> =
        lines.take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > key_indent).collect();
    let indent = body.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap();
    body.iter().map(|l| l.get(indent..).unwrap_or("")).collect::<Vec<_>>().join("\n")
}

#[test]
fn kubernetes_manifests_match_the_kubernetes_api_schemas() {
    let tool = cache().join("venv/bin/kubernetes-validate");
    assert!(tool.is_file(), "{} not found: run deploy/setup.sh", tool.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("deploy/k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "manifests: {files:?}");
    // The tool reports resources by `metadata.name`, which the assign Job leaves to
    // `generateName` (kubectl create): such a file is checked as a named copy.
    let named = tempfile::tempdir().unwrap();
    let checked: Vec<PathBuf> = files
        .iter()
        .filter(|f| !f.ends_with("servicemonitor.yaml"))
        .map(|f| {
            let text = read(f);
            if !text.contains("generateName: ") {
                return f.clone();
            }
            let copy = named.path().join(f.file_name().unwrap());
            std::fs::write(&copy, text.replace("generateName: ", "name: ")).unwrap();
            copy
        })
        .collect();
    let out = Command::new(&tool).args(["--strict", "--kubernetes-version", "1.32.0"]).args(&checked).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "kubernetes-validate failed:\n{text}");
    assert!(!text.contains("ERROR") && !text.contains("WARN"), "{text}");
    let documents: usize = checked.iter().map(|f| 1 + read(f).matches("\n---\n").count()).sum();
    assert_eq!(text.matches(" passed for resource ").count(), documents, "{text}");
    // The ServiceMonitor is the Prometheus operator's resource, not in the API
    // schemas: its selector must pick the Service, and its port be the Service's.
    let monitor = read(&k8s("servicemonitor.yaml"));
    let service = read(&k8s("service.yaml"));
    assert!(monitor.contains("kind: ServiceMonitor") && monitor.contains("apiVersion: monitoring.coreos.com/v1"));
    assert!(monitor.contains("{port: metrics, path: /metrics"), "{monitor}");
    assert!(service.contains("{name: metrics, port: 9600, targetPort: metrics}"), "{service}");
    let selector = "{app.kubernetes.io/name: streetwatch, app.kubernetes.io/component: worker}";
    assert!(
        monitor.contains(&format!("matchLabels: {selector}")) && service.contains(&format!("selector: {selector}"))
    );
}

#[test]
fn the_configmap_config_loads_with_the_pods_environment() {
    let configmap = read(&k8s("configmap.yaml"));
    let text = block_scalar(&configmap, "streetwatch.toml");
    // The image's paths, mapped to this checkout and cache.
    let text = text
        .replace("/opt/streetwatch/models/", &format!("{}/models/", repo().display()))
        .replace("/var/cache/streetwatch/models", &cache().join("models").display().to_string());
    // What the pods set: POD_NAME (downward API, or fixed), the rest from the Secret.
    let secret = read(&k8s("secret.yaml"));
    for var in ["KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "CAMERA_USER", "CAMERA_PASSWORD"] {
        assert!(secret.contains(&format!("{var}:")), "secret.yaml lacks {var}");
    }
    let workers = read(&k8s("statefulset.yaml"));
    let console = read(&k8s("console.yaml"));
    for manifest in [&workers, &console] {
        assert!(manifest.contains("name: POD_NAME") && manifest.contains("secretRef: {name: streetwatch}"));
    }
    // One test in this file touches the environment, so no other thread reads it.
    for (var, value) in [
        ("POD_NAME", "streetwatch-worker-0"),
        ("KAFKA_SASL_USERNAME", "streetwatch"),
        ("KAFKA_SASL_PASSWORD", "secret"),
        ("CAMERA_USER", "viewer"),
        ("CAMERA_PASSWORD", "secret"),
    ] {
        std::env::set_var(var, value);
    }
    let config = streetwatch::config::load_str(&text, &repo().join("deploy/k8s/configmap.yaml"))
        .unwrap_or_else(|e| panic!("the ConfigMap's streetwatch.toml does not load:\n{e}"));
    assert!(config.cluster.enabled, "workers need [cluster] enabled");
    assert!(!config.cameras.is_empty(), "`streetwatch assign` publishes the ConfigMap's cameras");
    // The probes and the scrape annotations point at the config's HTTP port.
    let port = config.http_listen.expect("the workers serve /metrics and the probes").port();
    for manifest in [&workers, &console] {
        assert!(manifest.contains(&format!("containerPort: {port}")), "a container port is not http.listen's {port}");
        assert!(manifest.contains(&format!("prometheus.io/port: \"{port}\"")));
    }
    // The shared console reads the workers' protobuf incidents.
    let shared = &config.console.shared;
    assert!(config.console.enabled, "the console Deployment serves [console]");
    let source =
        config.router.destinations.iter().find(|d| d.topic.as_deref() == Some(shared.incidents_topic.as_str()));
    let source = source.unwrap_or_else(|| panic!("no worker destination writes {}", shared.incidents_topic));
    assert_eq!(source.encoding, router::encoding::Encoding::Protobuf, "the console reads protobuf");
    let console_port = config.console_listen.expect("console.listen").port();
    assert!(console.contains(&format!("{{name: http, containerPort: {console_port}}}")), "{console}");
    // What is accepted must outlive the pod: the data directory is each worker's own
    // claim and the console's claim, never an emptyDir.
    let data_dir = config.data_dir.display().to_string();
    for manifest in [&workers, &console] {
        assert!(
            manifest.contains(&format!("{{name: data, mountPath: {data_dir}}}")),
            "data_dir {data_dir} not mounted"
        );
        assert!(manifest.contains("ephemeral-storage:"), "resource requests name ephemeral storage");
    }
    assert!(workers.contains("kind: StatefulSet") && workers.contains("volumeClaimTemplates:"));
    assert!(
        workers.contains("  volumeClaimTemplates:\n    - metadata:\n        name: data\n"),
        "the claim template is the data volume"
    );
    assert!(console.contains("persistentVolumeClaim: {claimName: streetwatch-console}"));
    assert!(console.contains("kind: PersistentVolumeClaim\nmetadata:\n  name: streetwatch-console\n"));
    assert!(!workers.contains("name: data\n          emptyDir") && !console.contains("name: data\n          emptyDir"));
    // The image the manifests name is the Containerfile's: same paths.
    let containerfile = read(&repo().join("deploy/Containerfile"));
    for path in
        ["/opt/streetwatch/lib/libonnxruntime.so.1.32.0", "/opt/streetwatch/models/", "/var/cache/streetwatch/models"]
    {
        assert!(containerfile.contains(path), "deploy/Containerfile does not provide {path}");
    }
    assert!(workers.contains("/opt/streetwatch/lib/libonnxruntime.so.1.32.0"));
}

#[test]
fn the_systemd_unit_verifies() {
    let Ok(analyze) = which("systemd-analyze") else {
        eprintln!("systemd-analyze is not installed here: the unit was not verified");
        return;
    };
    // The unit names the installed binary; point it at this build's for the check.
    let unit = read(&repo().join("deploy/systemd/streetwatch.service"))
        .replace("/usr/local/bin/streetwatch", env!("CARGO_BIN_EXE_streetwatch"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("streetwatch.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new(analyze).arg("verify").arg(&path).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && !text.contains("streetwatch.service:"), "systemd-analyze verify:\n{text}");
    // The sandbox's exposure score (0 to 10; 1.2 when written): fails above 1.5.
    let out = Command::new(which("systemd-analyze").unwrap())
        .args(["security", "--offline=true", "--threshold=15"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let score = text.lines().find(|l| l.contains("Overall exposure level")).unwrap_or("no score");
    println!("{score}");
    assert!(out.status.success(), "the unit's sandbox got weaker: {score}\n{text}");
    let sysusers = read(&repo().join("deploy/systemd/streetwatch.sysusers"));
    assert!(sysusers.lines().any(|l| l.starts_with("u streetwatch ")), "the service user is declared");
}

fn which(tool: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(tool)).find(|p| p.is_file()))
        .ok_or(())
}
