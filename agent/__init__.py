"""The Compass agent: LangGraph conversation graph, REST service and `compass` CLI."""
