"""Intent extraction: turn what a user types into a `DeploymentIntent` the planner's `DeploymentSpec` is built from.

`rules.extract` is the deterministic extractor (always available); `llm.extract_with_llm` optionally asks a local
Ollama model and merges its answer with the rules, falling back to them on any failure. `schema.merge` folds each
turn's intent into the conversation's running intent, and `schema.to_spec_values` hands it to the planner.
"""

from __future__ import annotations

from agent.intent.schema import DeploymentIntent, IntentUpdate, merge, to_spec_values

__all__ = ["DeploymentIntent", "IntentUpdate", "merge", "to_spec_values"]
