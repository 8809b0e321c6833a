"""The Dockerfile and the 4-bank Kubernetes manifests: parsed, schema-checked, references resolved.

Neither can run here (no Docker daemon, no cluster); what can be checked is that every name one
object points at exists, that probes and ports agree with the node's own settings, and that the
files a node needs in its home are all mounted.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from genesis.builder import GENESIS_FILE, NODE_CONFIG_FILE, P2P_KEY_FILE, VALIDATOR_KEY_FILE
from node.config import CONFIG_FILE, load_settings
from node.health import peers_needed
from node.p2p.network import load_p2p_config

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((REPO / "deploy" / "kubernetes").glob("*.yaml"))
BANKS = ("bank-a", "bank-b", "bank-c", "bank-d")
HOME = "/var/lib/qenex"
KUBERNETES_VERSION = "1.30.0"


def load_all() -> list[dict]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.mark.parametrize("doc", load_all(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_object_passes_the_kubernetes_schema(doc):
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert doc["kind"] == "Namespace" or doc["metadata"]["namespace"] == "qenex"


def test_each_bank_has_a_statefulset_with_a_volume_headless_service_config_and_keys():
    docs = load_all()
    sets, services = by_kind(docs, "StatefulSet"), by_kind(docs, "Service")
    config_maps, secrets = by_kind(docs, "ConfigMap"), by_kind(docs, "Secret")
    assert sorted(sets) == list(BANKS)
    for bank, statefulset in sets.items():
        spec = statefulset["spec"]
        pod = spec["template"]["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items()
        service = services[spec["serviceName"]]
        assert service["spec"]["clusterIP"] == "None" and service["spec"]["selector"].items() <= labels.items()
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        (container,) = pod["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports.keys()
        assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "rpc"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "rpc"}

        volumes = {v["name"]: v for v in pod["volumes"]}
        claims = {c["metadata"]["name"] for c in spec["volumeClaimTemplates"]}
        mounted = {}
        for mount in container["volumeMounts"]:
            assert mount["name"] in volumes or mount["name"] in claims, mount
            mounted[mount["mountPath"]] = mount
            volume = volumes.get(mount["name"], {})
            if "configMap" in volume:
                assert mount["subPath"] in config_maps[volume["configMap"]["name"]]["data"], mount
            if "secret" in volume:
                assert mount["subPath"] in secrets[volume["secret"]["secretName"]]["stringData"], mount
        for name in (GENESIS_FILE, VALIDATOR_KEY_FILE, P2P_KEY_FILE, NODE_CONFIG_FILE, CONFIG_FILE):
            assert f"{HOME}/{name}" in mounted, f"{bank}: {name} is not mounted in the node's home"
        assert mounted[f"{HOME}/data"]["name"] in claims  # the chain lives on a persistent volume


def test_node_settings_in_each_config_map_load_and_match_the_container_ports(tmp_path):
    docs = load_all()
    sets, config_maps, services = by_kind(docs, "StatefulSet"), by_kind(docs, "ConfigMap"), by_kind(docs, "Service")
    for bank, statefulset in sets.items():
        container = statefulset["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        home = tmp_path / bank
        home.mkdir()
        for name, text in config_maps[f"{bank}-node"]["data"].items():
            (home / name).write_text(text)
        settings = load_settings(home, environ={e["name"]: e["value"] for e in container.get("env", [])})
        assert settings["rpc.host"] == "0.0.0.0" and settings["rpc.port"] == ports["rpc"]
        p2p = load_p2p_config(home)
        assert p2p.port == ports["p2p"]
        assert sorted(peer.name for peer in p2p.peers) == sorted(b for b in BANKS if b != bank)
        for peer in p2p.peers:  # <pod>.<headless service>.<namespace>: the peer's StatefulSet pod 0
            pod, service, namespace = peer.host.split(".")[:3]
            assert (pod, namespace) == (f"{service}-0", "qenex") and service in sets
            assert peer.port in [p["port"] for p in services[service]["spec"]["ports"]]


def test_the_disruption_budget_keeps_a_quorum_of_the_validators():
    docs = load_all()
    (budget,) = by_kind(docs, "PodDisruptionBudget").values()
    selector = budget["spec"]["selector"]["matchLabels"]
    covered = [s for s in by_kind(docs, "StatefulSet").values()
               if selector.items() <= s["spec"]["template"]["metadata"]["labels"].items()]  # fmt: skip
    assert len(covered) == len(BANKS)
    quorum = peers_needed([1] * len(BANKS), True, True) + 1
    assert budget["spec"]["minAvailable"] == quorum == 3


def test_no_key_material_is_committed():
    for secret in by_kind(load_all(), "Secret").values():
        for value in secret["stringData"].values():
            assert value.startswith("REPLACE") and not re.search(r"[0-9a-fA-F]{64}|BEGIN .*PRIVATE KEY", value)


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck_and_copies_every_package():
    text = (REPO / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    user = re.findall(r"^USER (\S+)", text, re.M)[-1]
    assert user.split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/health", text, re.M)
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.M) + re.findall(r"^COPY \S+ (\S+) \./$", text, re.M):
        assert (REPO / source).exists(), f"COPY {source}: no such path"
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = set(re.findall(r"^COPY (\w+) \./\w+$", text, re.M))
    assert {p.rstrip("*") for p in packages} <= copied
    entry = json.loads(re.search(r"^ENTRYPOINT (.+)$", text, re.M).group(1))
    assert entry[:3] == ["qenex", "node", "run"] and entry[entry.index("--home") + 1] == HOME
    exposed = {int(p) for p in re.search(r"^EXPOSE (.+)$", text, re.M).group(1).split()}
    container = next(iter(by_kind(load_all(), "StatefulSet").values()))["spec"]["template"]["spec"]["containers"][0]
    assert {p["containerPort"] for p in container["ports"]} == exposed
    assert container["image"].startswith("qenex:")
