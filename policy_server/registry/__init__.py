"""The agent registry: named agent definitions (files and store), the rules that enforce their
tool and MCP lists, their runs and their activity. Never holds a provider key or a token."""
