"""Which intent extractor the agent uses, read from the environment.

`COMPASS_LLM` picks the extractor: `rules` (default, no model needed) or `ollama` (a local Ollama server, with the
rules as fallback). `OLLAMA_HOST`, `COMPASS_LLM_MODEL` and `COMPASS_LLM_TIMEOUT_S` configure the Ollama client.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LLMSettings(BaseSettings):
    """Intent-extraction backend settings (environment variables named on each field)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    backend: Literal["rules", "ollama"] = Field(
        default="rules",
        validation_alias=AliasChoices("COMPASS_LLM", "backend"),
        description="rules: built-in extractor only; ollama: ask a local model, fall back to the rules",
    )
    ollama_host: str = Field(
        default="http://127.0.0.1:11434",
        validation_alias=AliasChoices("OLLAMA_HOST", "ollama_host"),
        description="Base URL of the Ollama server",
    )
    model: str = Field(
        default="llama3.1:8b",
        min_length=1,
        validation_alias=AliasChoices("COMPASS_LLM_MODEL", "model"),
        description="Ollama model tag",
    )
    timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=600,
        validation_alias=AliasChoices("COMPASS_LLM_TIMEOUT_S", "timeout_s"),
        description="Longest wait for the model's answer before the rules are used instead",
    )

    @property
    def label(self) -> str:
        """How the model is named to the user: 'ollama llama3.1:8b at http://127.0.0.1:11434'."""
        return f"ollama {self.model} at {self.ollama_host}"
