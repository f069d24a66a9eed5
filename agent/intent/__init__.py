"""Intent extraction: turn what a user types into a `DeploymentIntent` the planner's `DeploymentSpec` is built from.

`rules.extract` is the deterministic extractor (always available); `llm.understand` / `llm.extract_with_llm`
optionally ask a local Ollama model and merge its answer with the rules, falling back to them on any failure (import
`agent.intent.llm` explicitly; it pulls in LangChain). `schema.merge` folds each turn into the conversation's running
intent, and `schema.to_spec_values` hands it to the planner.
"""

from __future__ import annotations

from agent.intent.rules import Extraction, Finding, extract
from agent.intent.schema import DeploymentIntent, IntentUpdate, merge, to_spec_values

__all__ = ["DeploymentIntent", "Extraction", "Finding", "IntentUpdate", "extract", "merge", "to_spec_values"]
