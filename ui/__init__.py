"""The Chainlit chat UI: a thin adapter over `agent.conversation`, mounted on the API service at /chat."""
