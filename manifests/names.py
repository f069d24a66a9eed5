"""Kubernetes naming rules (DNS-1123/1035 names, label keys and values) as checks that explain what is wrong.

Each check returns ``None`` when the value is fine, or one sentence saying what is wrong and how to fix it, so
the deployment context (before rendering) and the manifest validator (after rendering) report the same words.
"""

from __future__ import annotations

import re

MAX_LABEL_LENGTH = 63
"""DNS-1123/1035 labels: namespaces, Service names and every label value."""
MAX_SUBDOMAIN_LENGTH = 253
"""DNS-1123 subdomains: most other object names (ConfigMap, Ingress, HPA, Secret...)."""

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def suggest_name(value: str) -> str:
    """A lower-case, dash-separated form of `value` that has a chance of being a valid name."""
    slug = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")
    slug = re.sub(r"-{2,}", "-", slug)
    slug = slug.lstrip("0123456789-")
    return slug[:MAX_LABEL_LENGTH].rstrip("-") or "my-deployment"


def check_dns1123_label(value: str, what: str) -> str | None:
    """Namespaces and other names that must be a single DNS label (lower case, digits, '-', ≤ 63)."""
    if not value:
        return f"{what} is empty; give a name such as 'llm-serving'"
    if len(value) > MAX_LABEL_LENGTH:
        over = len(value) - MAX_LABEL_LENGTH
        return f"{what} {value!r} is {len(value)} characters, {over} over the Kubernetes limit of {MAX_LABEL_LENGTH}"
    if not _DNS1123_LABEL.match(value):
        return (
            f"{what} {value!r} is not a valid DNS-1123 label: use only lower-case letters, digits and '-', "
            f"starting and ending with a letter or digit (e.g. {suggest_name(value)!r})"
        )
    return None


def check_dns1035_label(value: str, what: str) -> str | None:
    """Names that become Service names (InferenceService, predictor): a DNS-1123 label starting with a letter."""
    problem = check_dns1123_label(value, what)
    if problem is not None:
        return problem
    if not _DNS1035_LABEL.match(value):
        return (
            f"{what} {value!r} must start with a letter, because Kubernetes uses it as a Service name "
            f"(e.g. {suggest_name(value)!r})"
        )
    return None


def check_dns1123_subdomain(value: str, what: str) -> str | None:
    """Object names such as ConfigMaps, Secrets and Ingresses: dot-separated DNS labels, ≤ 253 characters."""
    if not value:
        return f"{what} is empty"
    if len(value) > MAX_SUBDOMAIN_LENGTH:
        over = len(value) - MAX_SUBDOMAIN_LENGTH
        return f"{what} is {len(value)} characters, {over} over the Kubernetes limit of {MAX_SUBDOMAIN_LENGTH}"
    if not _DNS1123_SUBDOMAIN.match(value):
        return (
            f"{what} {value!r} is not a valid Kubernetes name: use lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit"
        )
    return None


def check_host(value: str, what: str) -> str | None:
    """An Ingress host: a DNS-1123 subdomain, optionally with a leading '*.' wildcard."""
    bare = value[2:] if value.startswith("*.") else value
    problem = check_dns1123_subdomain(bare, what)
    if problem is not None:
        return problem
    if "." not in bare:
        return f"{what} {value!r} is not a fully qualified host name (e.g. 'llm.example.com')"
    return None


def check_qualified_name(value: str, what: str) -> str | None:
    """Label and annotation keys, extended resource names: optional DNS-subdomain prefix + '/' + name (≤ 63)."""
    prefix, slash, name = value.rpartition("/")
    if slash and not prefix:
        return f"{what} {value!r} has an empty prefix before '/'"
    if slash:
        problem = check_dns1123_subdomain(prefix, f"{what} prefix")
        if problem is not None:
            return f"{problem} (in {value!r})"
    if not name or len(name) > MAX_LABEL_LENGTH or not _LABEL_NAME.match(name):
        return (
            f"{what} {value!r} is not a valid key: the part after the optional 'prefix/' must be 1-63 letters, "
            "digits, '-', '_' or '.', starting and ending with a letter or digit"
        )
    return None


def check_label_value(value: str, what: str) -> str | None:
    """Label values: empty, or ≤ 63 letters, digits, '-', '_', '.', starting and ending alphanumeric."""
    if len(value) > MAX_LABEL_LENGTH:
        over = len(value) - MAX_LABEL_LENGTH
        return f"{what} {value!r} is {len(value)} characters, {over} over the label-value limit of {MAX_LABEL_LENGTH}"
    if not _LABEL_VALUE.match(value):
        return (
            f"{what} {value!r} is not a valid label value: use letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit"
        )
    return None


def check_secret_key(value: str, what: str) -> str | None:
    """A key inside a Secret or ConfigMap."""
    if not value or len(value) > MAX_SUBDOMAIN_LENGTH or not _SECRET_KEY.match(value):
        return f"{what} {value!r} is not a valid Secret key: use letters, digits, '-', '_' and '.'"
    return None
