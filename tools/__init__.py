"""Typed tools the agent calls: each a plain, testable function plus a LangChain tool with a Pydantic schema."""
