"""A thread survives `kill -9` of the process and resumes by id with its whole state, on both databases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from agent.runtime import build_services, open_conversation
from kb.db import Database
from tests.conftest import REPO_ROOT


def test_a_killed_process_leaves_a_resumable_thread(seeded_db: Database) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.agent.resume_worker", seeded_db.url, "thread-kill-9"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        assert line.strip() == "READY", worker.stderr.read() if worker.stderr else line
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL

    with open_conversation(seeded_db, build_services(seeded_db, llm_enabled=False)) as conversation:
        state = conversation.state("thread-kill-9", "alice")
        assert state.pending is not None and state.pending.slot == "scale"
        assert state.values["intent"]["use_case"] == "chatbot_conversational"
        result = conversation.send("thread-kill-9", "alice", "about 2k users")
        assert result.has_recommendation and result.pending is None
        final = conversation.state("thread-kill-9", "alice")
        assert [m.role for m in final.messages][:2] == ["user", "assistant"]
        options = final.values["recommendation"]["options"]
        assert options and {o["gpu"] for o in options} == {"L4"}
        assert len(conversation.history("thread-kill-9", "alice")) > 4
