"""Subprocess for the kill-and-resume test: starts a conversation, leaves a question pending, then waits to die."""

from __future__ import annotations

import sys
import time

from agent.runtime import build_services, open_conversation
from kb.db import Database


def main(url: str, thread_id: str) -> None:
    database = Database(url)
    with open_conversation(database, build_services(database, llm_enabled=False)) as conversation:
        conversation.create_thread("alice", thread_id=thread_id)
        conversation.send(thread_id, "alice", "We need an LLM for our team")
        conversation.send(thread_id, "alice", "a customer support chatbot, only L4s")
        print("READY", flush=True)
        time.sleep(600)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
