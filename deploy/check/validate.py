#!/usr/bin/python3
"""Checks of deploy/ that need no cluster, no Docker and no network, run by
scripts/deploy-check (and so by `make test`).

usage:
  validate.py yaml PATH...            every *.yml/*.yaml under PATH parses, with
                                      no duplicate mapping key (Helm templates
                                      are skipped: they are checked rendered)
  validate.py compose REPO            docker-compose.yml and its podman override
                                      against the repository (Dockerfile targets,
                                      mounted files, .env.example)
  validate.py manifests FILE [--expect-kind KIND=N]...
                                      rendered Helm output: object shapes and the
                                      references between objects
  validate.py terraform JSON_DIR      hcl2json output of deploy/terraform: every
                                      var.X is declared, variables have types and
                                      descriptions, providers are pinned

Exit status 1 with one line per problem when anything is wrong.
"""

import json
import os
import re
import sys

import yaml


class UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a mapping with the same key twice (PyYAML
    keeps the last one silently; Kubernetes and Compose disagree on which)."""


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"duplicate key {key!r} (first at line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_all(path):
    with open(path, encoding="utf-8") as f:
        return [doc for doc in yaml.load_all(f, Loader=UniqueKeyLoader)]


def load(path):
    docs = load_all(path)
    if len(docs) != 1:
        raise ValueError(f"{path}: expected one YAML document, found {len(docs)}")
    return docs[0]


PROBLEMS = []


def problem(msg):
    PROBLEMS.append(msg)


# --------------------------------------------------------------------------
# yaml


def cmd_yaml(paths):
    count = 0
    for top in paths:
        walk = [(os.path.dirname(top), [], [os.path.basename(top)])] if os.path.isfile(top) \
            else os.walk(top)
        for dirpath, dirnames, filenames in walk:
            dirnames[:] = [d for d in dirnames if d not in ("node_modules", ".terraform", "templates")]
            for name in sorted(filenames):
                if not name.endswith((".yml", ".yaml")):
                    continue
                path = os.path.join(dirpath, name)
                try:
                    load_all(path)
                    count += 1
                except (yaml.YAMLError, ValueError) as exc:
                    problem(f"{path}: {exc}")
    print(f"yaml: {count} files parsed")


# --------------------------------------------------------------------------
# compose

VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def dockerfile_targets(path):
    with open(path, encoding="utf-8") as f:
        return set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", f.read(), re.M | re.I))


def check_service_build(repo, where, name, build):
    context = os.path.join(repo, build.get("context", "."))
    dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
    if not os.path.isfile(dockerfile):
        problem(f"{where}: {name}: no Dockerfile {os.path.relpath(dockerfile, repo)}")
        return
    target = build.get("target")
    if target and target not in dockerfile_targets(dockerfile):
        problem(f"{where}: {name}: target {target!r} is not a stage of {os.path.relpath(dockerfile, repo)}")


def check_mounts(repo, where, name, svc):
    for vol in svc.get("volumes", []) or []:
        src = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
        if src.startswith("./") and not os.path.exists(os.path.join(repo, src)):
            problem(f"{where}: {name}: mounts {src}, which does not exist")


def cmd_compose(repo):
    base_path = os.path.join(repo, "docker-compose.yml")
    override_path = os.path.join(repo, "docker-compose.podman.yml")
    base, override = load(base_path), load(override_path)
    services = base.get("services", {})
    with open(os.path.join(repo, ".env.example"), encoding="utf-8") as f:
        documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", f.read(), re.M))
    for path in (base_path, override_path):
        with open(path, encoding="utf-8") as f:
            text = re.sub(r"^\s*#.*$", "", f.read(), flags=re.M)
            for var in sorted(set(VAR_RE.findall(text))):
                if var not in documented:
                    problem(f"{os.path.basename(path)}: ${{{var}}} is not documented in .env.example")
    for name, svc in services.items():
        if "build" in svc:
            check_service_build(repo, "docker-compose.yml", name, svc["build"])
        check_mounts(repo, "docker-compose.yml", name, svc)
        for dep in svc.get("depends_on", {}) or {}:
            if dep not in services:
                problem(f"docker-compose.yml: {name} depends on unknown service {dep}")
        # souk's own services: hardened and health-checked like the others.
        if svc.get("build", {}).get("dockerfile") == "deploy/docker/Dockerfile":
            for key in ("healthcheck", "read_only", "cap_drop", "security_opt", "restart"):
                if key not in svc:
                    problem(f"docker-compose.yml: {name} lacks {key}")
            port_var = name.upper().replace("-", "_") + "_PORT"
            env = svc.get("environment", {})
            if not isinstance(env, dict) or port_var not in env:
                problem(f"docker-compose.yml: {name} does not set {port_var}")
            url = env.get("DATABASE_URL", "") if isinstance(env, dict) else ""
            if url and not url.endswith(f"/souk_{name}"):
                problem(f"docker-compose.yml: {name}'s DATABASE_URL is not its own souk_{name}")
    for secret in (base.get("secrets") or {}).values():
        default = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", secret.get("file", ""))
        if default.startswith("./") and not os.path.exists(os.path.join(repo, default)):
            problem(f"docker-compose.yml: secret file {default} does not exist")
    # The override may only adjust services the base defines, and never with a
    # list where the base has a scalar or the reverse (podman-compose 1.0.3
    # refuses to merge those and appends lists).
    for name, svc in (override.get("services") or {}).items():
        if name not in services:
            problem(f"docker-compose.podman.yml: unknown service {name}")
            continue
        for key, value in svc.items():
            if key in services[name] and isinstance(value, list):
                problem(f"docker-compose.podman.yml: {name}.{key} is a list; podman-compose would append it")
            if key in services[name] and type(value) is not type(services[name][key]):
                problem(f"docker-compose.podman.yml: {name}.{key} changes type")
        if "build" in svc:
            check_service_build(repo, "docker-compose.podman.yml", name, svc["build"])
    for name in override.get("x-podman-left-out", []):
        if name not in services:
            problem(f"docker-compose.podman.yml: x-podman-left-out names unknown service {name}")
    print(f"compose: {len(services)} services checked")


# --------------------------------------------------------------------------
# rendered manifests

DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
KNOWN_KINDS = {
    "ConfigMap", "Secret", "Service", "ServiceAccount", "Deployment",
    "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress", "ServiceMonitor",
}


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_container(where, c, secrets, configmaps, volumes):
    for key in ("name", "image", "resources", "securityContext"):
        if key not in c:
            problem(f"{where}: container lacks {key}")
    sc = c.get("securityContext", {})
    if sc.get("allowPrivilegeEscalation") is not False:
        problem(f"{where}: allowPrivilegeEscalation must be false")
    if sc.get("readOnlyRootFilesystem") is not True:
        problem(f"{where}: readOnlyRootFilesystem must be true")
    if "ALL" not in (sc.get("capabilities", {}).get("drop") or []):
        problem(f"{where}: capabilities must drop ALL")
    res = c.get("resources", {})
    for kind in ("requests", "limits"):
        if not res.get(kind, {}).get("memory") or not res.get(kind, {}).get("cpu"):
            problem(f"{where}: resources.{kind} needs cpu and memory")
    if "readinessProbe" not in c or "livenessProbe" not in c:
        problem(f"{where}: readiness and liveness probes are required")
    port_names = {p.get("name") for p in c.get("ports", [])}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        port = c.get(probe, {}).get("httpGet", {}).get("port")
        if port is not None and isinstance(port, str) and port not in port_names:
            problem(f"{where}: {probe} uses port {port!r}, not a port of the container")
    names = [e.get("name") for e in c.get("env", [])]
    for dup in {n for n in names if names.count(n) > 1}:
        problem(f"{where}: env {dup} is set twice")
    for env in c.get("env", []):
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            keys = secrets.get(ref["name"])
            if keys is not None and ref["key"] not in keys:
                problem(f"{where}: env {env['name']}: Secret {ref['name']} has no key {ref['key']}")
        elif "value" in env and not isinstance(env["value"], str):
            problem(f"{where}: env {env['name']} must be a string, not {type(env['value']).__name__}")
    for src in c.get("envFrom", []):
        name = src.get("configMapRef", {}).get("name")
        if name and name not in configmaps:
            problem(f"{where}: envFrom ConfigMap {name} is not rendered")
    for mount in c.get("volumeMounts", []):
        if mount["name"] not in volumes:
            problem(f"{where}: volumeMount {mount['name']} has no volume")


def check_deployment(obj, secrets, configmaps, external_secrets):
    name = obj["metadata"]["name"]
    where = f"Deployment {name}"
    spec = obj.get("spec", {})
    selector = spec.get("selector", {}).get("matchLabels", {})
    tpl = spec.get("template", {})
    labels = tpl.get("metadata", {}).get("labels", {})
    if not matches(selector, labels):
        problem(f"{where}: selector {selector} does not match the pod labels")
    pod = tpl.get("spec", {})
    psc = pod.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True:
        problem(f"{where}: pod securityContext.runAsNonRoot must be true")
    volumes = {}
    for vol in pod.get("volumes", []):
        volumes[vol["name"]] = vol
        secret = vol.get("secret", {}).get("secretName")
        if secret and secret not in secrets and secret not in external_secrets:
            problem(f"{where}: volume {vol['name']} uses Secret {secret}, which is not rendered")
    known = dict(secrets)
    for ext in external_secrets:
        known.setdefault(ext, None)
    for c in pod.get("containers", []):
        check_container(f"{where}/{c.get('name')}", c, known, configmaps, volumes)
        for env in c.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["name"] not in known:
                problem(f"{where}: env {env['name']} uses Secret {ref['name']}, which is not rendered")
    return labels


def cmd_manifests(path, expectations, external_secrets):
    docs = [d for d in load_all(path) if d]
    by_kind = {}
    for doc in docs:
        for key in ("apiVersion", "kind", "metadata"):
            if key not in doc:
                problem(f"{path}: an object lacks {key}: {str(doc)[:120]}")
        kind, name = doc.get("kind"), doc.get("metadata", {}).get("name", "")
        if kind not in KNOWN_KINDS:
            problem(f"{path}: unexpected kind {kind}")
        if not DNS1123.match(name) or len(name) > 63:
            problem(f"{kind} {name!r}: not a valid name")
        if (kind, name) in {(k, n) for k, objs in by_kind.items() for n in objs}:
            problem(f"{kind} {name} is rendered twice")
        by_kind.setdefault(kind, {})[name] = doc
    secrets = {}
    for name, s in by_kind.get("Secret", {}).items():
        secrets[name] = set((s.get("data") or {}).keys()) | set((s.get("stringData") or {}).keys())
        for key, value in (s.get("data") or {}).items():
            if not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", value or ""):
                problem(f"Secret {name}: data.{key} is not base64")
    configmaps = by_kind.get("ConfigMap", {})
    for name, cm in configmaps.items():
        for key, value in (cm.get("data") or {}).items():
            if not isinstance(value, str):
                problem(f"ConfigMap {name}: data.{key} must be a string")
    pod_labels = {}
    for name, dep in by_kind.get("Deployment", {}).items():
        pod_labels[name] = check_deployment(dep, secrets, configmaps, external_secrets)
    services = by_kind.get("Service", {})
    for name, svc in services.items():
        selector = svc.get("spec", {}).get("selector", {})
        targets = [d for d, labels in pod_labels.items() if matches(selector, labels)]
        if len(targets) != 1:
            problem(f"Service {name}: selector {selector} matches {len(targets)} Deployments")
            continue
        dep = by_kind["Deployment"][targets[0]]
        ports = {p.get("name") for c in dep["spec"]["template"]["spec"]["containers"]
                 for p in c.get("ports", [])}
        for port in svc["spec"].get("ports", []):
            if isinstance(port.get("targetPort"), str) and port["targetPort"] not in ports:
                problem(f"Service {name}: targetPort {port['targetPort']} is not a container port")
    for name, hpa in by_kind.get("HorizontalPodAutoscaler", {}).items():
        ref = hpa["spec"]["scaleTargetRef"]
        if ref.get("kind") != "Deployment" or ref.get("name") not in by_kind.get("Deployment", {}):
            problem(f"HorizontalPodAutoscaler {name}: target {ref} is not rendered")
        elif "replicas" in by_kind["Deployment"][ref["name"]]["spec"]:
            problem(f"Deployment {ref['name']}: sets replicas although an HPA scales it")
        if hpa["spec"]["minReplicas"] > hpa["spec"]["maxReplicas"]:
            problem(f"HorizontalPodAutoscaler {name}: minReplicas > maxReplicas")
    for name, pdb in by_kind.get("PodDisruptionBudget", {}).items():
        selector = pdb["spec"]["selector"]["matchLabels"]
        if not any(matches(selector, labels) for labels in pod_labels.values()):
            problem(f"PodDisruptionBudget {name}: selects no Deployment")
    for name, ing in by_kind.get("Ingress", {}).items():
        for rule in ing["spec"].get("rules", []):
            for p in rule.get("http", {}).get("paths", []):
                backend = p["backend"]["service"]
                svc = services.get(backend["name"])
                if not svc:
                    problem(f"Ingress {name}: backend Service {backend['name']} is not rendered")
                elif backend["port"].get("name") not in {x.get("name") for x in svc["spec"]["ports"]}:
                    problem(f"Ingress {name}: Service {backend['name']} has no port {backend['port']}")
    for name, sm in by_kind.get("ServiceMonitor", {}).items():
        selector = sm["spec"]["selector"]["matchLabels"]
        picked = [s for s in services.values() if matches(selector, s["metadata"].get("labels", {}))]
        if not picked:
            problem(f"ServiceMonitor {name}: selects no Service")
        for s in picked:
            if "http" not in {p.get("name") for p in s["spec"]["ports"]}:
                problem(f"ServiceMonitor {name}: Service {s['metadata']['name']} has no http port")
    for exp in expectations:
        kind, _, count = exp.partition("=")
        have = len(by_kind.get(kind, {}))
        if have != int(count):
            problem(f"{path}: expected {count} {kind}, rendered {have}")
    summary = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_kind.items()))
    print(f"manifests: {os.path.basename(path)}: {summary}")


# --------------------------------------------------------------------------
# terraform (hcl2json output: one JSON file per .tf file)

TF_REF = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)")


def cmd_terraform(json_dir):
    declared, used, variables, providers = set(), set(), {}, {}
    files = sorted(f for f in os.listdir(json_dir) if f.endswith(".json"))
    if not files:
        problem(f"{json_dir}: no parsed Terraform files")
    for name in files:
        with open(os.path.join(json_dir, name), encoding="utf-8") as f:
            text = f.read()
        doc = json.loads(text)
        for var, blocks in (doc.get("variable") or {}).items():
            declared.add(var)
            variables[var] = blocks[0] if isinstance(blocks, list) else blocks
        for tf in doc.get("terraform", []) or []:
            for req in tf.get("required_providers", []) or []:
                providers.update(req)
        used.update(TF_REF.findall(text))
    for var in sorted(used - declared):
        problem(f"terraform: var.{var} is used but not declared")
    for var in sorted(declared - used):
        problem(f"terraform: variable {var} is declared but never used")
    for var, block in sorted(variables.items()):
        if "description" not in block or "type" not in block:
            problem(f"terraform: variable {var} needs a type and a description")
    if not providers:
        problem("terraform: no required_providers block")
    for name, spec in providers.items():
        if not isinstance(spec, dict) or "version" not in spec or "source" not in spec:
            problem(f"terraform: provider {name} needs a source and a version constraint")
    print(f"terraform: {len(files)} files, {len(declared)} variables, providers {sorted(providers)}")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "yaml":
        cmd_yaml(args)
    elif cmd == "compose":
        cmd_compose(args[0])
    elif cmd == "manifests":
        expectations, external = [], []
        path = args[0]
        rest = args[1:]
        while rest:
            flag, value, rest = rest[0], rest[1], rest[2:]
            if flag == "--expect-kind":
                expectations.append(value)
            elif flag == "--external-secret":
                external.append(value)
            else:
                print(f"unknown option {flag}", file=sys.stderr)
                return 2
        cmd_manifests(path, expectations, external)
    elif cmd == "terraform":
        cmd_terraform(args[0])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for msg in PROBLEMS:
        print(f"  {msg}", file=sys.stderr)
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
