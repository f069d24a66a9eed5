"""The `compass` command line: one Typer app with a sub-app per area."""

from __future__ import annotations

import typer

from agent.cli import (
    chat_commands,
    db_commands,
    deploy_commands,
    kb_commands,
    manifest_commands,
    plan_commands,
    simulate_command,
)
from agent.cli.eval_command import eval_command
from agent.cli.serve_command import serve

app = typer.Typer(
    name="compass",
    help="Compass: from 'we need a chatbot for 1000 users' to a costed, SLO-meeting LLM endpoint.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_commands.app, name="db")
app.add_typer(kb_commands.app, name="kb")
app.command("serve")(serve)
app.command("recommend")(plan_commands.recommend)
app.command("compare")(plan_commands.compare)
app.command("plan")(plan_commands.plan_command)
app.command("deploy")(deploy_commands.deploy)
app.add_typer(deploy_commands.app, name="deployments")
app.add_typer(manifest_commands.app, name="manifests")
app.command("chat")(chat_commands.chat)
app.command("simulate")(simulate_command.simulate)
app.add_typer(chat_commands.app, name="threads")
app.command("eval")(eval_command)
