"""KubernetesSettings from the environment, and clients built from a real kubeconfig file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from kb.errors import ConfigurationError
from tools.deploy_errors import ClusterAuthenticationError
from tools.k8s.client import KubeClient
from tools.k8s.settings import KubernetesSettings
from tools.k8s.standin import StandInApiServer, StandInCluster


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)
    for name in (
        "KUBECONFIG",
        "CONTEXT",
        "ALLOWED_NAMESPACES",
        "FIELD_MANAGER",
        "READINESS_TIMEOUT_S",
        "POLL_INTERVAL_S",
    ):
        monkeypatch.delenv(f"COMPASS_K8S_{name}", raising=False)


def test_defaults_allow_only_the_compass_namespace() -> None:
    settings = KubernetesSettings()

    assert settings.allowed_namespaces == ["compass"]
    assert (settings.field_manager, settings.readiness_timeout_s, settings.poll_interval_s) == ("compass", 600, 2)
    assert settings.kubeconfig is None and settings.context is None


def test_allowed_namespaces_read_from_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPASS_K8S_ALLOWED_NAMESPACES", "compass, llm-serving")

    assert KubernetesSettings().allowed_namespaces == ["compass", "llm-serving"]


def test_allowed_namespaces_read_from_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPASS_K8S_ALLOWED_NAMESPACES", '["a", "b"]')

    assert KubernetesSettings().allowed_namespaces == ["a", "b"]


def test_an_invalid_namespace_on_the_allow_list_is_rejected() -> None:
    with pytest.raises(ValidationError, match="allowed_namespaces entry 'Team_A' is not a valid DNS-1123 label"):
        KubernetesSettings(allowed_namespaces=["Team_A"])


def test_a_poll_interval_longer_than_the_timeout_is_rejected() -> None:
    with pytest.raises(ValidationError, match="poll_interval_s"):
        KubernetesSettings(readiness_timeout_s=1, poll_interval_s=5)


def kubeconfig(tmp_path: Path, server: str, contexts: dict[str, str]) -> Path:
    """A kubeconfig with one user (token) per context, all pointing at `server`; the first is current."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "standin", "cluster": {"server": server}}],
        "users": [{"name": name, "user": {"token": token}} for name, token in contexts.items()],
        "contexts": [{"name": name, "context": {"cluster": "standin", "user": name}} for name in contexts],
        "current-context": next(iter(contexts)),
    }
    path = tmp_path / "kubeconfig.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_a_client_from_a_kubeconfig_uses_its_current_context(
    tmp_path: Path, server: StandInApiServer, cluster: StandInCluster
) -> None:
    path = kubeconfig(tmp_path, server.url, {"dev": str(cluster.token), "stale": "expired"})

    with KubeClient.from_settings(KubernetesSettings(kubeconfig=path)) as client:
        assert client.server == server.url
        assert client.find_resource_type("v1", "ConfigMap") is not None


def test_a_client_from_a_kubeconfig_uses_the_chosen_context(
    tmp_path: Path, server: StandInApiServer, cluster: StandInCluster
) -> None:
    path = kubeconfig(tmp_path, server.url, {"dev": str(cluster.token), "stale": "expired"})

    with (
        KubeClient.from_settings(KubernetesSettings(kubeconfig=path, context="stale")) as client,
        pytest.raises(ClusterAuthenticationError),
    ):
        client.find_resource_type("v1", "ConfigMap")


def test_the_kubeconfig_variable_is_used_when_no_path_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: StandInApiServer, cluster: StandInCluster
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path, server.url, {"dev": str(cluster.token)})))

    with KubeClient.from_settings(KubernetesSettings()) as client:
        assert client.server == server.url


def test_a_missing_kubeconfig_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist; set COMPASS_K8S_KUBECONFIG"):
        KubeClient.from_settings(KubernetesSettings(kubeconfig=tmp_path / "nope.yaml"))


def test_an_unknown_context_is_a_configuration_error(tmp_path: Path, server: StandInApiServer) -> None:
    path = kubeconfig(tmp_path, server.url, {"dev": "t"})

    with pytest.raises(ConfigurationError, match="context 'prod'"):
        KubeClient.from_settings(KubernetesSettings(kubeconfig=path, context="prod"))


def test_no_kubeconfig_outside_a_pod_is_a_configuration_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))

    with pytest.raises(ConfigurationError, match="no Kubernetes credentials"):
        KubeClient.from_settings(KubernetesSettings())


def test_a_client_makes_no_request_until_it_is_used(server: StandInApiServer, cluster: StandInCluster) -> None:
    with KubeClient.for_host(server.url, token=cluster.token):
        pass

    assert cluster.requests == []
