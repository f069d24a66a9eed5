"""The Compass conversation graph: `builder` (compile it with your checkpointer) and `graph` for langgraph.json."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agent.context import Context
from agent.nodes import clarify, deploy, explore, recommend, route_after_understand, understand
from agent.state import AgentState, InputState

builder = StateGraph(AgentState, context_schema=Context, input_schema=InputState)
builder.add_node("understand", understand)
builder.add_node("clarify", clarify)
builder.add_node("recommend", recommend)
builder.add_node("explore", explore)
builder.add_node("deploy", deploy)
builder.add_edge(START, "understand")
builder.add_conditional_edges(
    "understand", route_after_understand, {"clarify": "clarify", "explore": "explore", "__end__": END}
)
builder.add_edge("recommend", END)

graph = builder.compile()
graph.name = "compass"
