"""Guards that the Dockerfile, the Kubernetes manifests and the server's settings agree.

Run by .ci/ops-checks with the project's venv (it imports server.core.settings). Schema checks are
kubernetes-validate's and hadolint's job; this checks what they cannot see: names, ports,
paths and timings that must match across files.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
CONFIG_PATH = "/etc/textstream/textstream.toml"
SERVICE = "textstream.v1.TextProcessor"

errors: list[str] = []


def check(ok: bool, message: str) -> None:
    if not ok:
        errors.append(message)


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    # Docker's .dockerignore rules: Go filepath.Match per segment, plus "**" for any depth.
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + "$")


def dockerignored(path: str, lines: list[str]) -> bool:
    """Whether .dockerignore keeps `path` (or a folder above it) out of the build context."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for line in lines:
        negate = line.startswith("!")
        regex = _ignore_regex(line.lstrip("!").strip("/"))
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not negate
    return excluded


def check_dockerfile() -> dict[str, dict[str, str]]:
    """Returns each profile-* stage's TEXTSTREAM_* environment."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    ignore = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied: set[str] = set()
    profiles: dict[str, dict[str, str]] = {}
    stage = ""
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "FROM":
            stage = words[3] if len(words) > 3 and words[2].upper() == "AS" else ""
            if stage.startswith("profile-"):
                profiles[stage.removeprefix("profile-")] = {}
        elif words[0] == "COPY" and not any(w.startswith("--from") for w in words):
            for source in [w for w in words[1:-1] if not w.startswith("--")]:
                copied.add(source.strip("./"))
                check((ROOT / source).exists(), f"Dockerfile copies {source}, which is missing")
                check(
                    not dockerignored(source, ignore),
                    f".dockerignore keeps {source} out of the build context",
                )
        elif words[0] == "ENV" and stage.startswith("profile-"):
            for key, value in re.findall(r"(TEXTSTREAM_\w+)=(\S+)", line):
                profiles[stage.removeprefix("profile-")][key] = value
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    # The server's packages (found by pattern, e.g. "server*") and the client distribution.
    found = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    for package in [*(pattern.rstrip("*") for pattern in found), "client"]:
        check(package in copied, f"Dockerfile does not copy package {package}/")
    check(set(profiles) == {"hub", "offline"}, f"profile stages: {sorted(profiles)}")
    return profiles


def load_yaml(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def check_settings(profiles: dict[str, dict[str, str]]) -> Any:
    sys.path.insert(0, str(ROOT))
    from server.core.settings import load_settings

    settings = None
    for profile, env in sorted(profiles.items()):
        saved = {k: v for k, v in os.environ.items() if k.startswith("TEXTSTREAM_")}
        for key in saved:
            del os.environ[key]
        os.environ.update(env)
        try:
            loaded = load_settings(K8S / "textstream.toml")
        except Exception as error:
            errors.append(f"textstream.toml with the {profile} image's env: {error}")
            continue
        finally:
            for key in env:
                del os.environ[key]
            os.environ.update(saved)
        check(loaded.models.profile == profile, f"{profile} image runs {loaded.models}")
        settings = loaded
    return settings


def check_kubernetes(settings: Any) -> None:
    kustomization = load_yaml("kustomization.yaml")[0]
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    check(listed == on_disk, f"kustomization resources {sorted(listed)} != files {sorted(on_disk)}")
    generated = {g["name"]: g for g in kustomization.get("configMapGenerator", [])}

    (deployment,) = [d for d in load_yaml("deployment.yaml") if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]
    spec = pod["spec"]
    (container,) = spec["containers"]
    check(spec.get("enableServiceLinks") is False, "enableServiceLinks must be false")
    check(container["args"][-2:] == ["--config", CONFIG_PATH], f"args: {container['args']}")
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    mount = mounts.get(str(Path(CONFIG_PATH).parent))
    check(mount is not None, f"nothing mounted at {Path(CONFIG_PATH).parent}")
    if mount is not None:
        source = volumes[mount["name"]]["configMap"]["name"]
        files = generated.get(source, {}).get("files", [])
        check(Path(CONFIG_PATH).name in files, f"ConfigMap {source} lacks {Path(CONFIG_PATH).name}")
    if settings is None:
        return
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    check(ports.get("grpc") == settings.port, f"grpc containerPort != port {settings.port}")
    check(ports.get("metrics") == settings.metrics_port, "metrics containerPort != metrics_port")
    annotations = pod["metadata"]["annotations"]
    check(
        annotations.get("prometheus.io/port") == str(settings.metrics_port),
        "prometheus.io/port != metrics_port",
    )
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        grpc = container[kind].get("grpc")
        if grpc is not None:
            check(grpc["port"] == settings.port, f"{kind} port != {settings.port}")
    for kind in ("startupProbe", "readinessProbe"):
        check(container[kind]["grpc"]["service"] == SERVICE, f"{kind} must ask for {SERVICE}")
    check(
        container["livenessProbe"].get("grpc", {}).get("service") != SERVICE,
        "livenessProbe must not follow model readiness",
    )
    drain = settings.shutdown_delay_seconds + settings.grace_period_seconds
    check(
        spec["terminationGracePeriodSeconds"] >= drain + 10,
        f"terminationGracePeriodSeconds < drain ({drain:g}s) + 10s",
    )
    dockerfile = (ROOT / "Dockerfile").read_text()
    user = re.search(r"^USER (\d+)", dockerfile, re.MULTILINE)
    check(
        user is not None and int(user.group(1)) == spec["securityContext"]["runAsUser"],
        "runAsUser != the Dockerfile's USER",
    )
    expose = re.search(r"^EXPOSE (.+)$", dockerfile, re.MULTILINE)
    exposed = set(expose.group(1).split()) if expose else set()
    check(
        {str(settings.port), str(settings.http_port), str(settings.metrics_port)} <= exposed,
        f"Dockerfile EXPOSE {exposed}",
    )
    for service in load_yaml("service.yaml"):
        for port in service["spec"]["ports"]:
            check(port["targetPort"] in ports, f"Service {service['metadata']['name']} targetPort")


def main() -> int:
    profiles = check_dockerfile()
    settings = check_settings(profiles)
    check_kubernetes(settings)
    for message in errors:
        print(f"check_deploy: {message}", file=sys.stderr)
    if not errors:
        print("check_deploy: Dockerfile, deploy/k8s and server settings agree")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
